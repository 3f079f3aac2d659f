"""Headless Chromium for browser tests: Debian's Chromium driven over the DevTools protocol,
with every console error, exception and failed load it reports; real mouse clicks and key
presses, and separate browser contexts (like two people on two machines: no shared cookies
or storage)."""

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

    def __init__(self, socket: websocket.WebSocket,
                 domains: tuple[str, ...] = ("Runtime", "Log", "Page")) -> None:
        self.socket = socket
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        for domain in domains:
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
        self.events = [e for e in self.events if e.get("method") != "Page.loadEventFired"]
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + 30
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            assert time.monotonic() < deadline, "the page never finished loading"
            self.events.append(json.loads(self.socket.recv()))

    def evaluate(self, expression: str) -> Any:
        return self.call("Runtime.evaluate", expression=expression,
                         returnByValue=True)["result"].get("value")  # none: undefined

    def wait_for(self, expression: str, timeout: float = 30.0) -> Any:
        """The value of ``expression`` once it is truthy (polled), or a failed test."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            assert time.monotonic() < deadline, f"timed out waiting for {expression}"
            time.sleep(0.05)

    def text(self, selector: str) -> str:
        value = self.evaluate(f"document.querySelector({json.dumps(selector)})?.innerText")
        return value if isinstance(value, str) else ""

    def click(self, selector: str) -> None:
        """A real mouse click (pressed and released) at the middle of the element."""
        box = self.wait_for(f"""(() => {{
            const e = document.querySelector({json.dumps(selector)});
            if (!e) return null;
            e.scrollIntoView({{block: "center"}});
            const r = e.getBoundingClientRect();
            return r.width > 0 ? [r.x + r.width / 2, r.y + r.height / 2] : null;
        }})()""")
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1],
                      button="left", clickCount=1)

    def upload(self, selector: str, path: Path) -> None:
        """Choose ``path`` in the file input ``selector``, as a person picking the file."""
        node = self.call("Runtime.evaluate",
                         expression=f"document.querySelector({json.dumps(selector)})")
        self.call("DOM.setFileInputFiles", files=[str(path)],
                  objectId=node["result"]["objectId"])

    def press(self, key: str) -> None:
        """A key pressed and released on the focused element (" ", "Tab", "Enter")."""
        codes = {" ": ("Space", 32), "Tab": ("Tab", 9), "Enter": ("Enter", 13)}
        code, number = codes[key]
        text = {" ": " ", "Enter": "\r"}.get(key)
        self.call("Input.dispatchKeyEvent", type="keyDown", key=key, code=code,
                  windowsVirtualKeyCode=number, **({"text": text} if text else {}))
        self.call("Input.dispatchKeyEvent", type="keyUp", key=key, code=code,
                  windowsVirtualKeyCode=number)

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


class Browser:
    """A running headless Chromium; ``page()`` opens a tab in a fresh browser context."""

    def __init__(self, port: str) -> None:
        self.port = port
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/version", timeout=10) as r:
            url = json.load(r)["webSocketDebuggerUrl"]
        # The browser itself, not a tab: it has no page domains to enable.
        self.control = Page(websocket.create_connection(url, timeout=30), domains=())
        self.sockets: list[websocket.WebSocket] = [self.control.socket]

    def page(self) -> Page:
        context = self.control.call("Target.createBrowserContext")["browserContextId"]
        target = self.control.call("Target.createTarget", url="about:blank",
                                   browserContextId=context)["targetId"]
        socket = websocket.create_connection(
            f"ws://127.0.0.1:{self.port}/devtools/page/{target}", timeout=30)
        self.sockets.append(socket)
        return Page(socket)

    def close(self) -> None:
        for socket in self.sockets:
            socket.close()


@contextmanager
def browser(profile: Path) -> Iterator[Browser]:
    """A fresh headless Chromium (skips the test when there is none)."""
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
        running = Browser(port_file.read_text().split()[0])
        yield running
        running.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextmanager
def chromium(profile: Path) -> Iterator[Page]:
    """A tab of a fresh headless Chromium (skips the test when there is none)."""
    with browser(profile) as running:
        with urllib.request.urlopen(f"http://127.0.0.1:{running.port}/json/list",
                                    timeout=10) as r:
            tabs = json.load(r)
        url = next(t["webSocketDebuggerUrl"] for t in tabs if t["type"] == "page")
        socket = websocket.create_connection(url, timeout=30)
        running.sockets.append(socket)
        yield Page(socket)
