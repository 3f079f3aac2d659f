"""The report in a real browser: Debian's Chromium, headless, driven over the DevTools
protocol. The page must load with no console errors and show the transcript, the concession
plot and the outcome; a screenshot is kept for a person to look at."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import Page, chromium

from valuesneg.cli import main

SCENARIOS = Path(__file__).resolve().parents[2] / "moral_graphs" / "scenarios"

FACTS = """JSON.stringify({
  rows: document.querySelectorAll('#transcript tr.party, #transcript tr.core').length,
  cited: document.querySelectorAll('#transcript td.cited span.value').length,
  series: document.querySelectorAll('#concession polyline.series').length,
  plotWidth: document.querySelector('#concession')?.getBoundingClientRect().width ?? 0,
  terminal: document.querySelector('#terminal strong')?.textContent,
  satisfied: document.querySelectorAll('#satisfied li').length,
  sacrificed: document.querySelectorAll('#sacrificed li').length,
  explanation: document.querySelector('#explanation')?.innerText ?? '',
})"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as page:
        yield page


@pytest.mark.parametrize("scenario", ["campsite_supplies", "supervised_operation"])
def test_the_report_opens_without_errors_and_shows_its_parts(
        browser: Page, scenario: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["run", str(SCENARIOS / f"{scenario}.yaml"), "--backend", "scripted",
                 "--out", str(out), "--quiet"]) == 0
    outcome = json.loads((out / "outcome.json").read_text())
    entries = len((out / "lineage.jsonl").read_text().splitlines())
    browser.events.clear()
    browser.open((out / "report.html").as_uri())
    facts = json.loads(browser.evaluate(FACTS))
    assert browser.errors() == []
    assert facts["rows"] == entries - 1  # every record after the genesis entry
    assert facts["cited"] > 0  # values cards shown by their titles
    assert facts["series"] == len(outcome["allocation"][next(iter(outcome["allocation"]))])
    assert facts["plotWidth"] > 300
    assert facts["terminal"] == outcome["terminal"]
    assert facts["satisfied"] == max(1, len(outcome["satisfied"]))
    assert facts["sacrificed"] == max(1, len(outcome["sacrificed"]))
    if outcome["terminal"] == "tier_break":
        assert "Tier-breaks:" in facts["explanation"]
    shot = Path(__file__).resolve().parents[2] / "build" / f"report-{scenario}.png"
    shot.parent.mkdir(exist_ok=True)
    browser.screenshot(shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_a_page_with_errors_is_caught(browser: Page, tmp_path: Path) -> None:
    """The check above would see an error: a page that logs one and fails a load."""
    page = tmp_path / "broken.html"
    page.write_text("<!doctype html><title>x</title><img src='missing.png'>"
                    "<script>console.error('boom')</script>")
    browser.events.clear()
    browser.open(page.as_uri())
    kinds = {e["method"] for e in browser.errors()}
    assert kinds == {"Runtime.consoleAPICalled", "Log.entryAdded"}
