"""A human party: prompts answered as JSON lines over stdin, and at a real pseudo-terminal.

The supervisor of ``supervised_operation`` is played by a person here; the ops agent is
scripted. Every answer becomes a record the core judges; a bad answer comes back with the
core's typed error; a run killed or left waiting at a human turn resumes there, without
asking any other party again.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pexpect
import pytest

from valuesneg.agents.human import record_from
from valuesneg.cli import main
from valuesneg.core import CORE, ProtocolViolation
from valuesneg.core.view import view_for
from valuesneg.orchestration.humans import parse_selection
from valuesneg.orchestration.run import recover_lineage

SCENARIO = Path(__file__).resolve().parents[2] / "moral_graphs" / "scenarios" / \
    "supervised_operation.yaml"
RUN = [sys.executable, "-m", "valuesneg.cli"]
HUMAN = ["--backend", "scripted", "--human", "supervisor", "--answers", "json"]


def json_run(out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([*RUN, "run", str(SCENARIO), *HUMAN, "--out", str(out)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def read_prompt(stream: IO[str]) -> dict[str, Any]:
    prompt: dict[str, Any] = json.loads(stream.readline())
    assert prompt["type"] == "human_turn"
    return prompt


def answer(proc: subprocess.Popen[str], decision: object) -> None:
    assert proc.stdin is not None
    proc.stdin.write((decision if isinstance(decision, str) else json.dumps(decision)) + "\n")
    proc.stdin.flush()


def party_records(out: Path, party: str) -> list[dict[str, Any]]:
    lines = (out / "lineage.jsonl").read_text().splitlines()
    records = [json.loads(line).get("record", {}) for line in lines]
    return [r for r in records if r.get("sender") == party]


def test_json_answers_are_judged_re_asked_and_survive_a_kill(
        tmp_path: Path, decisions_per_seq: Callable[[Path], Counter[int]]) -> None:
    out = tmp_path / "run"
    proc = json_run(out)
    assert proc.stdout is not None
    first = read_prompt(proc.stdout)
    # The prompt is the supervisor's view: what is legal now, and every id it may cite.
    ledger = recover_lineage(out / "lineage.jsonl")
    assert ledger is not None
    view = view_for(ledger.negotiation, "supervisor")
    assert (first["party"], first["seq"]) == ("supervisor", view.next_seq)
    assert first["actions"] == [k for k in ("accept", "counter", "refuse", "defer")
                                if k in view.legal_kinds]
    assert [r["id"] for r in first["rationale"]] == [c.id for c in view.citable]
    assert first["table"]["proposer"] == "ops-agent" and first["feedback"] is None

    answer(proc, {"action": "defer", "rationale": ["card:no-such-card"]})
    refused = read_prompt(proc.stdout)
    assert refused["seq"] == first["seq"]
    assert refused["feedback"]["code"] == "unknown_id"
    assert refused["feedback"]["field"] == "rationale[0]"
    answer(proc, "this is not JSON")
    malformed = read_prompt(proc.stdout)
    assert malformed["seq"] == first["seq"] and malformed["feedback"]["code"] == "schema"
    answer(proc, {"action": "defer", "rationale": ["card:human-final-say"]})
    waiting = read_prompt(proc.stdout)
    assert waiting["seq"] == first["seq"] + 1
    proc.send_signal(signal.SIGKILL)  # killed while the person thinks
    assert proc.wait(timeout=30) == -signal.SIGKILL

    answers = [{"action": "refuse", "rationale": ["card:human-final-say",
                                                  "ap:human-final-say.1"]},
               {"action": "refuse", "rationale": ["card:reversibility-first"]}]
    resumed = subprocess.run([*RUN, "resume", str(out), "--answers", "json"],
                             input="".join(json.dumps(a) + "\n" for a in answers),
                             capture_output=True, text=True, timeout=120, check=False)
    assert resumed.returncode == 0, resumed.stderr
    lines = [json.loads(line) for line in resumed.stdout.splitlines()]
    assert [p["seq"] for p in lines[:-1]] == [waiting["seq"], waiting["seq"] + 2]
    assert lines[0] == waiting  # asked again exactly as before the kill
    assert lines[-1]["type"] == "outcome" and lines[-1]["terminal"] == "tier_break"

    mine = [(r["kind"], r.get("rationale") or r.get("reasons"))
            for r in party_records(out, "supervisor") if r["kind"] != "commit"
            and r["kind"] != "ack"]
    assert mine == [("defer", ["card:human-final-say"]),
                    ("refuse", ["card:human-final-say", "ap:human-final-say.1"]),
                    ("refuse", ["card:reversibility-first"])]
    assert main(["verify", str(out / "lineage.jsonl")]) == 0
    # Nobody else was asked twice: one decision per ops-agent turn, and for the human's
    # first turn one per answer that became a record (the unknown id and the defer).
    ops = {r["seq"] for r in party_records(out, "ops-agent") if r["kind"] == "request"}
    asked = decisions_per_seq(out)
    assert {seq: asked[seq] for seq in ops} == dict.fromkeys(ops, 1)
    assert asked[first["seq"]] == 2


def test_a_run_left_without_an_answer_pauses_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    paused = subprocess.run([*RUN, "run", str(SCENARIO), *HUMAN, "--out", str(out)],
                            input="", capture_output=True, text=True, timeout=120,
                            check=False)
    assert paused.returncode == 4
    assert f"valuesneg resume {out} --answers json" in paused.stderr
    assert not (out / "outcome.json").exists()
    entries = (out / "lineage.jsonl").read_text().splitlines()
    assert json.loads(entries[-1])["record"]["sender"] == "ops-agent"
    answers = [{"action": "accept", "rationale": ["card:human-final-say"]}]
    done = subprocess.run([*RUN, "resume", str(out), "--answers", "json"],
                          input=json.dumps(answers[0]) + "\n", capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads((out / "outcome.json").read_text())["terminal"] == "agreement"


def test_a_human_turn_at_a_real_terminal(tmp_path: Path) -> None:
    out = tmp_path / "run"
    child = pexpect.spawn(sys.executable, ["-m", "valuesneg.cli", "run", str(SCENARIO),
                                           "--backend", "scripted", "--human", "supervisor",
                                           "--out", str(out)],
                          encoding="utf-8", timeout=60, dimensions=(60, 200))
    # The live progress table is drawn on a terminal, then paused for the prompt.
    child.expect("elapsed")
    child.expect(r"waiting for supervisor \(human\)")
    child.expect("supervisor.*your turn")
    child.expect("Choose an action")
    child.sendline("4")  # defer
    child.expect("Pick 1 to 16 reasons")
    child.sendline("99")
    child.expect("each number must be between 1 and")
    child.expect("Pick 1 to 16 reasons")
    citable = view_for(_ledger(out).negotiation, "supervisor").citable
    number = {c.id: str(i) for i, c in enumerate(citable, 1)}
    child.sendline(number["card:human-final-say"])
    child.expect("Choose an action")
    child.sendline("2")  # counter
    child.expect("Which dimension to change")
    child.sendline("2")  # dim:run-migration
    child.expect("Your units of dim:run-migration")
    child.sendline("1")
    child.expect("Pick 1 to 16 reasons")
    child.sendline(f"{number['card:reversibility-first']} {number['ap:human-final-say.2']}")
    # The ops agent's answer comes next, then the human may be asked again.
    while child.expect(["Choose an action", pexpect.EOF]) == 0:
        child.sendline("3")  # refuse
        child.expect("Pick 1 to 16 reasons")
        child.sendline(number["card:human-final-say"])
    child.close()
    assert child.exitstatus == 0
    mine = [r for r in party_records(out, "supervisor") if r["sender"] != CORE]
    assert mine[0]["kind"] == "defer" and mine[0]["rationale"] == ["card:human-final-say"]
    assert mine[1]["kind"] == "counter" and mine[1]["dimension"] == "dim:run-migration"
    assert mine[1]["value"] == {"supervisor": 1, "ops-agent": 0}
    assert mine[1]["rationale"] == ["card:reversibility-first", "ap:human-final-say.2"]
    assert main(["verify", str(out / "lineage.jsonl")]) == 0


def _ledger(out: Path) -> Any:
    ledger = recover_lineage(out / "lineage.jsonl")
    assert ledger is not None
    return ledger


def test_selections_and_answers_are_checked() -> None:
    assert parse_selection("3, 1", options=5, most=3) == [3, 1]
    assert parse_selection("1 1", options=5, most=3) == "each reason once"
    assert parse_selection("1 2 3 4", options=5, most=3) == "at most 3 reasons"
    assert parse_selection("water", options=5, most=3) == "type the numbers of the reasons, " \
        "e.g. 1 3"


def test_an_answer_with_free_text_is_refused(tmp_path: Path) -> None:
    assert main(["run", str(SCENARIO), "--backend", "scripted", "--out", str(tmp_path),
                 "--quiet"]) == 0
    view = view_for(_ledger(tmp_path).negotiation, "ops-agent")
    with pytest.raises(ProtocolViolation) as refused:
        record_from(view, {"action": "refuse", "rationale": ["clause:agreement"],
                           "reasoning": "trust me"})
    assert refused.value.code.value == "schema"
    with pytest.raises(ProtocolViolation) as unknown:
        record_from(view, {"action": "shout", "rationale": ["clause:agreement"]})
    assert unknown.value.field == "answer.action"
