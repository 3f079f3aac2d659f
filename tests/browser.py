"""Headless Chromium for report tests: Debian's Chromium driven over the DevTools protocol,
with every console error, exception and failed load it reports."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import websocket


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


@contextmanager
def chromium(profile: Path) -> Iterator[Page]:
    """A tab of a fresh headless Chromium (skips the test when there is none)."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.skip("Chromium is not installed (`.ci/run` installs Debian's chromium)")
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


