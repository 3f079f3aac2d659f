"""Page latency per turn of `valuesneg serve`, beside the same turn over `--answers json`.

A person plays ana in campsite_supplies against the scripted agent. Per turn, the web side
times what a player waits for: from sending the answer (POST) until the page has its next
state (the server-sent event arrives and the panel is fetched again, rendered on the server),
the way play.js does it. The same negotiation is played over `valuesneg run --human ana
--answers json`, timing from writing the answer line to reading the next prompt line. Runs
alternate (web, json, web, json ...) so that load on the machine falls on both alike.

    python benchmarks/web_latency.py [--runs 5] [--json FILE]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "moral_graphs" / "scenarios" / "campsite_supplies.yaml"
PYTHON = [sys.executable, "-m", "valuesneg"]


def decide(prompt: dict[str, Any]) -> dict[str, Any]:
    """Ask for what ana values most, counter on it twice, then accept."""
    ranked = sorted(prompt["units"], key=lambda d: -prompt["weights"].get(d, 0))
    reason = [r["id"] for r in prompt["rationale"] if r["own"]][:1]
    if "request" in prompt["actions"]:
        return {"action": "request", "rationale": reason,
                "my_units": {d: [3, 2, 0][i] for i, d in enumerate(ranked)}}
    if prompt["round"] < 3 and "counter" in prompt["actions"]:
        return {"action": "counter", "dimension": ranked[0], "my_units": 3,
                "rationale": reason}
    return {"action": "accept", "rationale": reason}


class Web:
    def __init__(self, runs: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.proc = subprocess.Popen([*PYTHON, "serve", "--port", str(self.port), "--runs",
                                      str(runs)], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)

    def call(self, method: str, path: str, body: Any = None, token: str | None = None
             ) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Content-Type": "application/json"}
        if token:
            headers["X-Valuesneg-Token"] = token
        conn.request(method, path, None if body is None else json.dumps(body), headers)
        response = conn.getresponse()
        data = response.read()
        conn.close()
        return response.status, data

    def play(self) -> tuple[list[float], list[float]]:
        """One negotiation: seconds per turn (answer to next page state), and page loads."""
        _, raw = self.call("POST", "/api/runs", {"scenario": "campsite_supplies",
                                                 "humans": ["ana"], "backend": "scripted"})
        link = json.loads(raw)["links"]["ana"]
        run, token = link.split("/")[2], link.rsplit("/", 1)[1]
        events = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        events.request("GET", link + "/events")
        stream = events.getresponse()
        turns, loads = [], []
        state = self._state(run, token)
        while state["prompt"] is None and not state["finished"]:
            stream.readline()
            state = self._state(run, token)
        while not state["finished"]:
            began = time.perf_counter()
            status, _ = self.call("POST", f"/api/play/{run}/ana",
                                  {"turn": state["turn"], "answer": decide(state["prompt"])},
                                  token)
            assert status == 202, status
            while True:  # the page's refresh: an event, then the panel again
                line = stream.readline()
                if not line.startswith(b"event: change"):
                    continue
                _, panel = self.call("GET", link + "/panel")
                if b'id="answer"' in panel or b'id="outcome"' in panel:
                    break
            turns.append(time.perf_counter() - began)
            began = time.perf_counter()
            status, _ = self.call("GET", link)
            loads.append(time.perf_counter() - began)
            assert status == 200, status
            state = self._state(run, token)
            while state["prompt"] is None and not state["finished"]:
                time.sleep(0.01)
                state = self._state(run, token)
        events.close()
        return turns, loads

    def _state(self, run: str, token: str) -> dict[str, Any]:
        _, raw = self.call("GET", f"/api/play/{run}/ana", token=token)
        state: dict[str, Any] = json.loads(raw)
        return state

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def play_json(out: Path) -> list[float]:
    proc = subprocess.Popen([*PYTHON, "run", str(SCENARIO), "--backend", "scripted",
                             "--human", "ana", "--answers", "json", "--quiet", "--out",
                             str(out)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    turns = []
    message = json.loads(proc.stdout.readline())
    while message["type"] == "human_turn":
        began = time.perf_counter()
        proc.stdin.write(json.dumps(decide(message)) + "\n")
        proc.stdin.flush()
        message = json.loads(proc.stdout.readline())
        turns.append(time.perf_counter() - began)
    proc.wait(timeout=60)
    return turns


def summary(seconds: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    return {"median_ms": round(statistics.median(ms), 1),
            "p95_ms": round(ms[min(len(ms) - 1, int(0.95 * len(ms)))], 1), "n": len(ms)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="negotiations per side")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        web = Web(Path(tmp) / "runs")
        try:
            web_turns, loads, json_turns = [], [], []
            for n in range(args.runs):
                turns, pages = web.play()
                web_turns += turns
                loads += pages
                json_turns += play_json(Path(tmp) / f"json-{n}")
        finally:
            web.close()
    figures = {
        "web_turn": summary(web_turns), "web_page_load": summary(loads),
        "json_turn": summary(json_turns),
        "web_over_json_median": round(statistics.median(web_turns)
                                      / statistics.median(json_turns), 2),
        "load_average": os.getloadavg(), "cpus": os.cpu_count(),
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
