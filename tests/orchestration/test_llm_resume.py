"""A run on the embedded local model, SIGKILLed at seeded random moments while the model is
answering, and right after a model's record reached the lineage; each resumed run must end
with the very lineage of an uninterrupted run.

That comparison is exact because llama.cpp at temperature 0 with a fixed seed gives the same
reply to the same prompt on one machine, and the embedded server cuts every prompt into blocks
at the same positions and reuses only whole blocks of a cached prefix (agents/llama_child.py),
so the reply does not depend on what that server answered before: a turn cut off mid-answer
and asked again of a fresh server yields the same record. (Reusing the previous prompt's
cached prefix as llama-cpp-python does, cut wherever it ended, flipped one rationale id here.)
And a turn already in the lineage is never asked again: calls.jsonl holds exactly one model
call per model-made record, even across the kill.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from crashing import command

from valuesneg.cli import main
from valuesneg.core import content_hash, parse_record, verify_lines

pytestmark = pytest.mark.llm

SCENARIO = Path(__file__).resolve().parents[2] / "moral_graphs" / "scenarios" / \
    "campsite_supplies.yaml"  # both parties LLM-driven: the model is asked on most turns
MODEL_PARTIES = ("ana", "ben")
SEED = 20240607
DECISIONS = ("request", "accept", "counter", "refuse", "defer")  # what the model chooses;
# the rest of its party's records (commits, acks) the driver makes after the outcome


def start(out: Path, keys: Path, crash_after: int | None = None
          ) -> subprocess.Popen[bytes]:
    """The run in a child process; with ``crash_after`` it SIGKILLs itself once its lineage
    holds that many entries (``tests/crashing.py``)."""
    # One key set for every run: a resumed run must end with the very same signed bytes.
    args = ["run", str(SCENARIO), "--backend", "local", "--out", str(out), "--quiet",
            "--keys", str(keys)]
    argv = [sys.executable, "-m", "valuesneg.cli", *args] if crash_after is None \
        else command("lineage_entries", crash_after, *args)
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def entries(out: Path) -> int:
    lineage = out / "lineage.jsonl"
    return lineage.read_text().count("\n") if lineage.exists() else 0


def kill_while_thinking(out: Path, keys: Path, before_entries: int, delay: float) -> None:
    """Kill ``delay`` seconds after the lineage holds ``before_entries`` entries: the model
    is then working on the next record."""
    proc = start(out, keys)
    deadline = time.monotonic() + 300
    while entries(out) < before_entries:
        assert proc.poll() is None and time.monotonic() < deadline, "run ended too early"
        time.sleep(0.05)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL
    assert entries(out) == before_entries, "the model answered before the kill"


def model_records(lines: list[str]) -> list[dict[str, object]]:
    records = [json.loads(line).get("record", {}) for line in lines]
    return [r for r in records if r.get("sender") in MODEL_PARTIES and r["kind"] in DECISIONS]


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory, run_keys: Path) -> Path:
    out = tmp_path_factory.mktemp("clean")
    assert start(out, run_keys).wait(timeout=600) == 0
    return out


@pytest.fixture(scope="module")
def clean(clean_run: Path) -> list[str]:
    return (clean_run / "lineage.jsonl").read_text().splitlines()


def asked(run: Path) -> set[str]:
    """Hashes of the records a model was asked for (a lone sound move is taken without)."""
    calls = [json.loads(c) for c in (run / "calls.jsonl").read_text().splitlines()]
    return {c["record_hash"] for c in calls if c["valid"] and c["prompt"] != "guard:forced"}


def test_killed_local_runs_resume_to_the_uninterrupted_lineage(
        clean: list[str], clean_run: Path, tmp_path: Path, run_keys: Path) -> None:
    made = model_records(clean)
    assert len(made) >= 2
    thought = asked(clean_run)
    seqs = [int(str(r["seq"])) for r in made if content_hash(parse_record(r)) in thought][:2]
    assert seqs  # at least one record the model was asked for, to kill it while it thinks
    rng = random.Random(SEED)
    # Entries before a model record = its seq (the genesis entry is entry 1).
    plans = {f"thinking-on-{seq}": ("think", seq, rng.uniform(0.3, 2.5)) for seq in seqs}
    plans["after-first-model-record"] = ("hook", seqs[0] + 1, 0.0)
    for name, (how, at, delay) in plans.items():
        out = tmp_path / name
        if how == "think":
            kill_while_thinking(out, run_keys, at, delay)
        else:
            proc = start(out, run_keys, crash_after=at)
            assert proc.wait(timeout=600) == -signal.SIGKILL, name
        assert main(["resume", str(out), "--quiet"]) == 0, name
        lines = (out / "lineage.jsonl").read_text().splitlines()
        assert lines == clean, name
        assert len(set(lines)) == len(lines), name
        verify_lines(lines)
        # One usable model call per model-made record in the lineage, none more.
        calls = [json.loads(c) for c in (out / "calls.jsonl").read_text().splitlines()]
        used = Counter(c["record_hash"] for c in calls if c["valid"])
        wanted = {content_hash(parse_record(r)) for r in model_records(lines)}
        assert used == dict.fromkeys(wanted, 1), name
