"""The report in a real browser: Debian's Chromium, headless, driven over the DevTools
protocol. The page must load with no console errors and show the transcript, the concession
plot and the outcome; a screenshot is kept for a person to look at."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websocket

from valuesneg.cli import main

SCENARIOS = Path(__file__).resolve().parents[2] / "moral_graphs" / "scenarios"
ERROR_EVENTS = ("Runtime.exceptionThrown", "Runtime.consoleAPICalled", "Log.entryAdded")

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


class Page:
    """One Chromium tab over the DevTools protocol, with every error it reports."""

    def __init__(self, socket: websocket.WebSocket) -> None:
        self.socket = socket
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        for domain in ("Runtime", "Log", "Page"):
            self.call(f"{domain}.enable")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                result: dict[str, Any] = message["result"]
                return result
            self.events.append(message)

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + 30
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            assert time.monotonic() < deadline, "the page never finished loading"
            self.events.append(json.loads(self.socket.recv()))

    def evaluate(self, expression: str) -> Any:
        return self.call("Runtime.evaluate", expression=expression,
                         returnByValue=True)["result"]["value"]

    def errors(self) -> list[dict[str, Any]]:
        def bad(event: dict[str, Any]) -> bool:
            params = event.get("params", {})
            return (event.get("method") == "Runtime.exceptionThrown"
                    or (event.get("method") == "Runtime.consoleAPICalled"
                        and params.get("type") in ("error", "assert"))
                    or (event.get("method") == "Log.entryAdded"
                        and params.get("entry", {}).get("level") == "error"))
        return [e for e in self.events if bad(e)]

    def screenshot(self, path: Path) -> None:
        shot = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(shot["data"]))


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.skip("Chromium is not installed (`.ci/run` installs Debian's chromium)")
    profile = tmp_path_factory.mktemp("chromium-profile")
    proc = subprocess.Popen(
        [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--no-default-browser-check", "--remote-debugging-port=0",
         "--remote-allow-origins=*", f"--user-data-dir={profile}", "--window-size=1280,900",
         "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.skip(f"Chromium did not start ({binary}, exit {proc.poll()})")
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            tabs = json.load(r)
        url = next(t["webSocketDebuggerUrl"] for t in tabs if t["type"] == "page")
        socket = websocket.create_connection(url, timeout=30)
        yield Page(socket)
        socket.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


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
