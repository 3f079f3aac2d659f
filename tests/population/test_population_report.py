"""The population report in headless Chromium: it loads with no errors, self-contained,
and shows the summary, the three plots with their series, and the event tables."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import Page, chromium
from popkit import WriteConfig, run_cli

FACTS = """JSON.stringify({
  summaryRows: document.querySelectorAll('#summary tr').length,
  plots: ['shares', 'payoffs', 'values'].map(id =>
    document.querySelector('#' + id + ' svg')?.getBoundingClientRect().width ?? 0),
  shareLines: document.querySelectorAll('#shares svg g[id^="line2d"] path').length,
  tables: document.querySelectorAll('table').length,
  text: document.body.innerText,
  external: [...document.querySelectorAll('[src], link[href]')].length,
})"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as page:
        yield page


def test_the_population_report_opens_and_shows_its_parts(
        browser: Page, write_config: WriteConfig, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli("population", "run", str(write_config(generations=4)), "--out", str(out),
                   "--quiet") == 0
    metrics = json.loads((out / "metrics.json").read_text())
    browser.events.clear()
    browser.open((out / "report.html").as_uri())
    facts = json.loads(browser.evaluate(FACTS))
    assert browser.errors() == []
    assert facts["external"] == 0  # nothing fetched: the page stands alone
    assert facts["summaryRows"] == 1 + len(metrics["first_generation"])
    assert all(width > 300 for width in facts["plots"]), facts["plots"]
    assert facts["shareLines"] >= 3  # one line per strategy at least
    assert f"{metrics['encounters']} encounters" in facts["text"]
    assert metrics["credibility_ledger"]["head"] in facts["text"]
    assert "Card adoptions" in facts["text"] and "Strategy switches" in facts["text"]
    shot = Path(__file__).resolve().parents[2] / "build" / "report-population.png"
    shot.parent.mkdir(exist_ok=True)
    browser.screenshot(shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
