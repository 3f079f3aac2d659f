"""`valuesneg serve` in a real headless Chromium, against the server as a real subprocess.

People play negotiations by clicking: one against the scripted agent, two against each
other in two browser contexts. A party's token opens its own party only, on the page and on
the API; bad requests change nothing; and a server killed mid-run resumes the run, with the
page still open, when it starts again.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import Browser, Page, browser

from valuesneg.cli import main

CAMPSITE = "campsite_supplies"
ANSWERS = ("request", "accept", "counter", "refuse", "defer")


class Server:
    """`python -m valuesneg serve` on a port of its own, restartable on the same port."""

    def __init__(self, runs: Path, log: Path) -> None:
        with socket.socket() as probe:  # a free port, kept across a restart
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.runs, self.log = runs, log
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "valuesneg", "serve", "--port", str(self.port),
             "--runs", str(self.runs)], stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(self.url + "/", timeout=5).close()
                return
            except OSError:
                assert self.proc.poll() is None, self.log.read_text()
                assert time.monotonic() < deadline, "the server never answered"
                time.sleep(0.2)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)

    def request(self, method: str, path: str, body: bytes | None = None,
                token: str | None = None, kind: str = "application/json",
                host: str | None = None) -> tuple[int, Any]:
        headers = {"Content-Type": kind, **({"Host": host} if host else {})}
        if token is not None:
            headers["X-Valuesneg-Token"] = token
        request = urllib.request.Request(self.url + path, body, headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path / "runs", tmp_path / "server.log")
    running.start()
    yield running
    running.stop()
    assert "Traceback" not in running.log.read_text(), running.log.read_text()


@pytest.fixture(scope="module")
def chrome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    with browser(tmp_path_factory.mktemp("chromium-profile")) as running:
        yield running


def start_run(page: Page, server: Server, humans: list[str]) -> dict[str, str]:
    """Start a campsite run from the home page by clicking; each human party's link."""
    page.open(server.url + "/")
    page.wait_for("!!document.querySelector('#party-list input')")
    assert page.evaluate("document.querySelector('#scenario').value") == CAMPSITE
    for party in humans:
        page.click(f'#party-list input[value="{party}"]')
    assert page.evaluate("document.querySelector('#backend').value") == "scripted"
    page.click("#start-button")
    page.wait_for("!document.querySelector('#links').hidden")
    links = json.loads(page.evaluate("""JSON.stringify(Object.fromEntries(
        [...document.querySelectorAll('a.party-link')].map(a => [a.dataset.party, a.href])))"""))
    assert sorted(links) == sorted(humans)
    return {p: link.removeprefix(server.url) for p, link in links.items()}


def token_of(link: str) -> str:
    return link.rsplit("/", 1)[1]


def prompt_of(server: Server, link: str) -> dict[str, Any]:
    run, party = link.split("/")[2:4]
    status, state = server.request("GET", f"/api/play/{run}/{party}", token=token_of(link))
    assert status == 200, state
    return state


TURN_OR_END = """(() => {
  if (document.querySelector('#outcome')) return 'over';
  const form = document.querySelector('#answer');
  return form && form.dataset.turn !== %s ? form.dataset.turn : null;
})()"""


def choose(prompt: dict[str, Any]) -> dict[str, Any]:
    """What the person in the test decides: ask for what it values most, concede later."""
    weights, units = prompt["weights"], prompt["units"]
    ranked = sorted(units, key=lambda d: -weights.get(d, 0))
    reasons = [r["id"] for r in prompt["rationale"] if r["own"]][:2]
    if "request" in prompt["actions"]:
        mine = {d: [3, 2, 0][i] if i < 3 else 0 for i, d in enumerate(ranked)}
        return {"action": "request", "my_units": mine, "rationale": reasons}
    table = prompt["table"]
    top = ranked[0]
    if (prompt["round"] < 3 and table["allocation"][top].get(prompt["party"], 0) < units[top]
            and "counter" in prompt["actions"]):
        return {"action": "counter", "dimension": top, "my_units": units[top],
                "rationale": reasons[:1]}
    return {"action": "accept", "rationale": reasons[:1]}


def click_answer(page: Page, answer: dict[str, Any], keyboard: bool = False) -> None:
    page.click(f'input[name="action"][value="{answer["action"]}"]')
    if answer["action"] == "request":
        for dim, n in answer["my_units"].items():
            page.click(f'input[name="units-{dim}"][value="{n}"]')
    elif answer["action"] == "counter":
        page.click(f'input[name="dimension"][value="{answer["dimension"]}"]')
        page.click(f'input[name="counter-units"][value="{answer["my_units"]}"]')
    for reason in answer["rationale"]:
        selector = f'input[name="reason"][value="{reason}"]'
        if keyboard:  # focus it and press the space bar, as a keyboard user does
            page.evaluate(f"document.querySelector('{selector}').focus()")
            page.press(" ")
        else:
            page.click(selector)
    assert page.wait_for("!document.querySelector('#send').disabled")
    page.click("#send")
    page.wait_for("!!document.querySelector('#send').disabled")


def play_turn(page: Page, server: Server, link: str, last: str, keyboard: bool = False
              ) -> tuple[str, dict[str, Any] | None]:
    """Wait for this party's next turn (or the end) and answer it by clicking."""
    turn = page.wait_for(TURN_OR_END % json.dumps(last), timeout=90)
    if turn == "over":
        return turn, None
    state = prompt_of(server, link)
    assert state["turn"] == turn
    prompt = state["prompt"]
    shows_own_view(page, prompt)
    answer = choose(prompt)
    click_answer(page, answer, keyboard)
    return turn, answer


def shows_own_view(page: Page, prompt: dict[str, Any]) -> None:
    """The page shows this party's view: its worth per unit, no-deal value, the table."""
    worth = page.evaluate("[...document.querySelectorAll('#dimensions tbody tr')].map("
                          "r => [r.cells[0].innerText, Number(r.cells[2].innerText)])")
    assert dict(worth) == {d: prompt["weights"].get(d, 0) for d in prompt["units"]}
    assert float(page.text("#no-deal")) == prompt["reservation"]
    for card in prompt["cards"]:
        assert card in page.text("#cards")
    if prompt["table"] is not None:
        assert float(page.text("#table-worth")) == prompt["table"]["utility_to_me"]
    shown = page.evaluate("[...document.querySelectorAll('input[name=reason]')].map(i => i.value)")
    own = [r["id"] for r in prompt["rationale"] if r["own"]]
    assert shown[:len(own)] == own and sorted(shown) == sorted(r["id"] for r in
                                                               prompt["rationale"])
    for peer in prompt["revealed_by_peers"]:
        assert peer in page.text("#revealed")


def party_records(folder: Path, party: str) -> list[dict[str, Any]]:
    """The party's negotiating records (not the grant housekeeping after the outcome)."""
    entries = [json.loads(line) for line in (folder / "lineage.jsonl").read_text().splitlines()]
    return [e["record"] for e in entries if e.get("record", {}).get("sender") == party
            and e["record"]["kind"] in ANSWERS]


def matches(record: dict[str, Any], answer: dict[str, Any]) -> bool:
    reasons = record.get("rationale", record.get("reasons"))
    return record["kind"] == answer["action"] and list(reasons) == answer["rationale"]


def check_finished(page: Page, server: Server, run: str) -> dict[str, Any]:
    folder = server.runs / run
    outcome = json.loads((folder / "outcome.json").read_text())
    assert page.text("#terminal") == outcome["terminal"]
    assert main(["verify", str(folder)]) == 0
    page.open(f"{server.url}/runs/{run}")
    assert page.text("#verify").startswith("OK:")
    assert page.text("#terminal") == outcome["terminal"]
    assert len(page.text("#replay").splitlines()) == len(
        (folder / "lineage.jsonl").read_text().splitlines()) - 1
    page.click("#report-link")
    page.wait_for("document.querySelectorAll('#transcript tr').length > 0")
    return outcome


def test_a_person_plays_a_whole_campsite_negotiation_against_the_scripted_agent(
        chrome: Browser, server: Server) -> None:
    page = chrome.page()
    links = start_run(page, server, ["ana"])
    run = links["ana"].split("/")[2]
    page.open(server.url + links["ana"])
    first = page.wait_for(TURN_OR_END % '""')
    assert first != "over"
    # A refused answer (through the API, as a program might send) comes back on the page
    # with the core's typed error, and the same turn is asked again.
    status, body = server.request(
        "POST", f"/api/play/{run}/ana", json.dumps({"turn": first, "answer": {
            "action": "request", "my_units": {"dim:water": 9}, "rationale": ["card:x"]}}
        ).encode(), token=token_of(links["ana"]))
    assert status == 202, body
    page.wait_for("!!document.querySelector('#feedback')")
    assert "schema" in page.text("#feedback") and "Choose again" in page.text("#feedback")
    shot = Path(__file__).resolve().parents[2] / "build" / "serve-turn.png"
    shot.parent.mkdir(exist_ok=True)
    page.screenshot(shot)  # for a person to look at
    answers, last = [], first
    for step in range(12):
        last, answer = play_turn(page, server, links["ana"], last, keyboard=step == 0)
        if answer is None:
            break
        answers.append(answer)
    assert last == "over" and answers
    records = party_records(server.runs / run, "ana")
    assert len(records) == len(answers)
    assert all(matches(r, a) for r, a in zip(records, answers, strict=True))
    assert records[0]["proposal"]["dim:water"]["ana"] == answers[0]["my_units"]["dim:water"]
    check_finished(page, server, run)
    assert page.errors() == []


def test_two_people_play_each_other_in_two_browser_contexts(
        chrome: Browser, server: Server) -> None:
    host, ana_page, ben_page = chrome.page(), chrome.page(), chrome.page()
    links = start_run(host, server, ["ana", "ben"])
    run = links["ana"].split("/")[2]
    ana_page.open(server.url + links["ana"])
    ben_page.open(server.url + links["ben"])
    pages = {"ana": ana_page, "ben": ben_page}
    last = {"ana": '""', "ben": '""'}
    answers: dict[str, list[dict[str, Any]]] = {"ana": [], "ben": []}
    over: set[str] = set()
    deadline = time.monotonic() + 240
    while over != {"ana", "ben"}:
        assert time.monotonic() < deadline, "the negotiation did not end"
        for party, page in pages.items():
            ready = page.evaluate(TURN_OR_END % json.dumps(last[party]))
            if ready == "over":
                over.add(party)
            elif ready:
                last[party], answer = play_turn(page, server, links[party], last[party])
                if answer is not None:
                    answers[party].append(answer)
        time.sleep(0.05)
    assert answers["ana"] and answers["ben"]
    for party in pages:
        records = party_records(server.runs / run, party)
        assert all(matches(r, a) for r, a in zip(records, answers[party], strict=True))
        assert len(records) == len(answers[party])
    outcome = check_finished(ana_page, server, run)
    assert ben_page.text("#terminal") == outcome["terminal"]
    for page in (host, ana_page, ben_page):
        assert page.errors() == [], [e["params"]["entry"].get("url") for e in page.errors()]


def test_a_token_opens_its_own_party_only_and_bad_requests_change_nothing(
        chrome: Browser, server: Server) -> None:
    page = chrome.page()
    links = start_run(page, server, ["ana", "ben"])
    run = links["ana"].split("/")[2]
    ana, ben = token_of(links["ana"]), token_of(links["ben"])
    page.open(server.url + links["ana"])
    turn = page.wait_for(TURN_OR_END % '""')
    lineage = (server.runs / run / "lineage.jsonl").read_bytes()
    # ana's token on ben's page and ben's API: refused, and nothing of ben's shows.
    for path in (f"/play/{run}/ben/{ana}", f"/play/{run}/ben/{ana}/panel",
                 f"/play/{run}/ben/{ana}/events"):
        status, body = server.request("GET", path)
        assert status == 403 and "does not give access" in body
        assert "dim:firewood</td><td>3</td><td>5" not in body  # ben's worth per unit
    page.open(f"{server.url}/play/{run}/ben/{ana}")
    assert "403" in page.text("h1") and page.evaluate("!document.querySelector('#answer')")
    assert server.request("GET", f"/api/play/{run}/ben", token=ana)[0] == 403
    answer = json.dumps({"turn": turn, "answer": {"action": "request", "rationale": ["x"]}})
    assert server.request("POST", f"/api/play/{run}/ben", answer.encode(), token=ana)[0] == 403
    assert server.request("POST", f"/api/play/{run}/ana", answer.encode(), token=ben)[0] == 403
    assert server.request("POST", f"/api/play/{run}/ana", answer.encode())[0] == 403
    assert server.request("GET", f"/api/play/{run}/ana", token=ana[:-1] + "x")[0] == 403
    assert server.request("GET", "/api/play/no-such-run/ana", token=ana)[0] == 404
    # ben is not to move: his own answer to ana's turn is stale.
    status, body = server.request("POST", f"/api/play/{run}/ben", answer.encode(), token=ben)
    assert status == 409 and "not ben's turn" in body["error"]
    status, body = server.request("POST", f"/api/play/{run}/ana", json.dumps(
        {"turn": "0" * 16, "answer": {}}).encode(), token=ana)
    assert status == 409 and "stale" in body["error"]
    for bad in (b"{not json", b"[1]", json.dumps({"turn": turn}).encode(),
                json.dumps({"turn": turn, "answer": "accept"}).encode()):
        status, body = server.request("POST", f"/api/play/{run}/ana", bad, token=ana)
        assert status == 422 and body["error"], bad
    status, body = server.request("POST", f"/api/play/{run}/ana", b" " * (2 << 20), token=ana)
    assert status == 413 and "too large" in body["error"]
    yaml = "application/yaml"
    status, body = server.request("POST", "/api/scenarios", b"#" * (1 << 20), kind=yaml)
    assert status == 413 and "too large" in body["error"]
    status, body = server.request("POST", "/api/scenarios", b"scenario: [unclosed", kind=yaml)
    assert status == 422 and "uploaded scenario" in body["error"]
    # What a page of another site could send without asking (CORS): refused.
    start = json.dumps({"scenario": CAMPSITE, "humans": ["ana"], "backend": "scripted"})
    status, body = server.request("POST", "/api/runs", start.encode(), kind="text/plain")
    assert status == 415 and "application/json" in body["error"]
    assert server.request("POST", "/api/scenarios", b"x: 1", kind="text/plain")[0] == 415
    status, _ = server.request("POST", "/api/runs", start.encode(), host="evil.example")
    assert status == 400  # a DNS name rebound to 127.0.0.1
    assert sorted(p.name for p in server.runs.iterdir() if p.name != ".uploads") == [run]
    # Nothing changed: the same turn is open, the lineage is as it was, the page shows it.
    assert prompt_of(server, links["ana"])["turn"] == turn
    assert (server.runs / run / "lineage.jsonl").read_bytes() == lineage
    assert ana not in server.log.read_text() and ben not in server.log.read_text()


def test_the_server_restarts_mid_run_and_the_run_resumes(
        chrome: Browser, server: Server) -> None:
    page = chrome.page()
    links = start_run(page, server, ["ana"])
    run = links["ana"].split("/")[2]
    page.open(server.url + links["ana"])
    last, first = play_turn(page, server, links["ana"], '""')
    assert first is not None
    turn = page.wait_for(TURN_OR_END % json.dumps(last), timeout=90)
    assert turn != "over", "the scripted agent accepted at once; nothing left to resume"
    before = party_records(server.runs / run, "ben")
    server.kill()  # SIGKILL while ana is choosing: no shutdown code runs
    server.start()
    # The open page reconnects by itself and shows the same turn under a fresh id.
    page.wait_for(TURN_OR_END % json.dumps(turn), timeout=60)
    assert party_records(server.runs / run, "ben") == before  # nobody was asked again
    answers = [first]
    last = '""'
    for _ in range(12):
        last, answer = play_turn(page, server, links["ana"], last)
        if answer is None:
            break
        answers.append(answer)
    assert last == "over"
    records = party_records(server.runs / run, "ana")
    assert all(matches(r, a) for r, a in zip(records, answers, strict=True))
    seqs = [r["seq"] for r in party_records(server.runs / run, "ana") +
            party_records(server.runs / run, "ben")]
    assert len(seqs) == len(set(seqs))  # no record lost or applied twice
    check_finished(page, server, run)


def test_an_uploaded_scenario_runs_and_the_folder_is_browsed(
        chrome: Browser, server: Server, tmp_path: Path) -> None:
    shipped = Path(__file__).resolve().parents[2] / "moral_graphs" / "scenarios"
    mine = tmp_path / "my_campsite.yaml"
    mine.write_text((shipped / f"{CAMPSITE}.yaml").read_text().replace(
        "title: Two campers share food, water and firewood", "title: Our own campsite"))
    # Runs written elsewhere into the folder: one by `valuesneg run`, one tampered with,
    # and an eval's report.
    for name in ("by-cli", "tampered"):
        assert main(["run", str(shipped / f"{CAMPSITE}.yaml"), "--backend", "scripted",
                     "--out", str(server.runs / name), "--quiet"]) == 0
    lineage = server.runs / "tampered" / "lineage.jsonl"
    lineage.write_text(lineage.read_text().replace('"ana":1', '"ana":2', 1))
    assert main(["eval", "winwin", "--limit", "1", "--out", str(server.runs / "evals" / "winwin"),
                 "--no-progress"]) == 0
    page = chrome.page()
    page.open(server.url + "/")
    page.upload("#upload", mine)
    page.wait_for("document.querySelector('#scenario').value.startsWith('upload:')")
    assert "Our own campsite" in page.evaluate(
        "document.querySelector('#scenario').selectedOptions[0].text")
    page.click('#party-list input[value="ben"]')
    page.click("#start-button")
    page.wait_for("!document.querySelector('#links').hidden")
    link = page.evaluate("document.querySelector('a.party-link').getAttribute('href')")
    run = link.split("/")[2]
    page.open(server.url + link)
    assert page.wait_for(TURN_OR_END % '""') != "over"  # ben answers ana's opening request
    how = json.loads((server.runs / run / "run.json").read_text())
    assert Path(how["scenario"]).parent == (server.runs / ".uploads").resolve()
    assert how["humans"] == ["ben"] and how["backend"] == "scripted"
    assert "#" in page.text("#records")
    # The folder: every run, the unfinished one without its lineage, and the eval's report.
    page.open(server.url + "/")
    listed = page.evaluate("[...document.querySelectorAll('#main table.list tbody tr')]"
                           ".map(r => r.cells[0].innerText)")
    assert sorted(listed) == sorted(["by-cli", "tampered", run])
    page.open(f"{server.url}/runs/{run}")
    assert page.evaluate("!document.querySelector('#replay')")
    status, _ = server.request("GET", f"/runs/{run}/report.html")
    assert status == 404
    page.open(f"{server.url}/runs/by-cli")
    assert page.text("#verify").startswith("OK:")
    page.open(f"{server.url}/runs/tampered")
    assert page.text("#verify").startswith("FAILED at line")
    page.open(server.url + "/")
    page.click('a[href="/reports/evals/winwin/report.html"]')
    page.wait_for("document.title.length > 0 && location.pathname.endsWith('report.html')")
    assert server.request("GET", "/reports/../outside/report.html")[0] == 404
    assert server.request("GET", "/runs/..%2Fsecret")[0] == 404
    assert page.errors() == []


@pytest.mark.parametrize("host", [None, "0.0.0.0"])
def test_serve_binds_loopback_unless_told_and_then_warns(tmp_path: Path, host: str | None
                                                         ) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "valuesneg", "serve", "--port", "0", "--runs",
         str(tmp_path / "runs"), *(["--host", host] if host else [])],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stderr is not None
        line = proc.stdout.readline()
        assert line.startswith(f"valuesneg serve: http://{host or '127.0.0.1'}:")
        port = int(line.split(":")[3].split("/")[0])
        assert port > 0
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30).close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    warning = proc.stderr.read()
    assert ("WARNING: listening on 0.0.0.0" in warning) == (host is not None), warning


@pytest.mark.llm
def test_a_person_plays_against_the_embedded_model(chrome: Browser, server: Server) -> None:
    """The `local` backend from the start form: ben speaks through the embedded model."""
    page = chrome.page()
    page.open(server.url + "/")
    page.wait_for("!!document.querySelector('#party-list input')")
    page.click('#party-list input[value="ana"]')
    page.evaluate("document.querySelector('#backend').value = 'local'")
    page.click("#start-button")
    page.wait_for("!document.querySelector('#links').hidden")
    link = page.evaluate("document.querySelector('a.party-link').getAttribute('href')")
    run = link.split("/")[2]
    page.open(server.url + link)
    last, first = play_turn(page, server, link, '""')
    assert first is not None
    # The model's reply lands on the page by itself: a new turn for ana, or the outcome.
    assert page.wait_for(TURN_OR_END % json.dumps(last), timeout=300)
    assert party_records(server.runs / run, "ben")
    how = json.loads((server.runs / run / "run.json").read_text())
    assert how["backend"] == "local" and how["parties"]["ben"]["guard"] == "sound"
