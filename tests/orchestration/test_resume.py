"""Crash and resume: a run SIGKILLed at an exact lineage entry, then `valuesneg resume`.

The kill is the lineage writer's crash point (``lineage_entries``, armed by
``tests/crashing.py``): the process dies right after the file reaches N entries, which
covers a kill between any two entries, including between a party's record and the entries
the core appends because of it.
"""

from __future__ import annotations

import json
import signal
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from crashing import command

from valuesneg.cli import main
from valuesneg.core import CORE, verify_lines

SCENARIOS = Path(__file__).resolve().parents[2] / "moral_graphs" / "scenarios"
KilledRun = Callable[..., "subprocess.Popen[bytes]"]


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory, run_keys: Path) -> dict[str, list[str]]:
    """Uninterrupted runs: what every resumed run must end up with, line for line (all of
    them signed with the same keys, so the bytes can be the same)."""
    runs = {}
    for name in ("campsite_supplies", "supervised_operation"):
        out = tmp_path_factory.mktemp(name)
        assert main(["run", str(SCENARIOS / f"{name}.yaml"), "--backend", "scripted",
                     "--out", str(out), "--keys", str(run_keys)]) == 0
        runs[name] = (out / "lineage.jsonl").read_text().splitlines()
    return runs


def kill_points(lines: list[str]) -> dict[str, int]:
    """Where to stop a run, by entry count, found in the clean run's lineage."""
    records = [json.loads(line).get("record", {}) for line in lines]
    senders = [r.get("sender") for r in records]
    kinds = [r.get("kind") for r in records]
    outcome = kinds.index("outcome")
    # a party's record whose consequences (grants, the outcome) the core appends after it
    split = next(i for i in range(1, len(lines) - 1)
                 if senders[i] not in (None, CORE) and senders[i + 1] == CORE)
    return {"genesis": 1, "first-record": 2, "before-consequences": split + 1,
            "at-outcome": outcome + 1, "wind-down": (outcome + len(lines)) // 2 + 1,
            "last-entry": len(lines)}


def decided_seqs(lines: list[str]) -> list[int]:
    """The seqs of the parties' records before the outcome: each was one agent decision."""
    records = [json.loads(line).get("record", {}) for line in lines]
    return [r["seq"] for r in records[: kill_points(lines)["at-outcome"]]
            if r.get("sender") not in (None, CORE)]


def kill_campsite_at(point: str, seq: int, out: Path, run_keys: Path) -> None:
    """Run the campsite scenario, scripted, into ``out`` and SIGKILL it at crash point
    ``point`` of record ``seq``; the lineage then holds exactly ``seq`` entries."""
    proc = subprocess.Popen(
        command(point, seq, "run", str(SCENARIOS / "campsite_supplies.yaml"),
                "--backend", "scripted", "--out", str(out), "--quiet", "--keys", str(run_keys)),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert proc.wait(timeout=120) == -signal.SIGKILL, seq
    assert len((out / "lineage.jsonl").read_text().splitlines()) == seq, seq


@pytest.mark.parametrize("scenario", ["campsite_supplies", "supervised_operation"])
def test_a_run_killed_anywhere_resumes_to_the_clean_lineage(
        scenario: str, clean: dict[str, list[str]], tmp_path: Path,
        killed_run: KilledRun, decisions_per_seq: Callable[[Path], Counter[int]],
        run_keys: Path) -> None:
    expected = clean[scenario]
    points = kill_points(expected)
    procs = {name: killed_run(scenario, tmp_path / name, after, "--keys", str(run_keys))
             for name, after in points.items()}
    for name, proc in procs.items():
        assert proc.wait(timeout=120) == -signal.SIGKILL, name
    for name, after in points.items():
        out = tmp_path / name
        assert len((out / "lineage.jsonl").read_text().splitlines()) == after, name
        assert main(["resume", str(out)]) == 0, name
        assert (out / "lineage.jsonl").read_text().splitlines() == expected, name
        assert main(["verify", str(out / "lineage.jsonl")]) == 0, name
        turns = [json.loads(line) for line in (out / "turns.jsonl").read_text().splitlines()]
        assert len({t["seq"] for t in turns}) == len(turns), name
        # No turn was decided twice, the one cut off before its consequences included.
        assert decisions_per_seq(out) == dict.fromkeys(decided_seqs(expected), 1), name


def test_a_run_killed_between_deciding_and_applying_resumes_without_asking_again(
        clean: dict[str, list[str]], tmp_path: Path,
        decisions_per_seq: Callable[[Path], Counter[int]], run_keys: Path) -> None:
    """The other crash point of a turn: its record decided and checkpointed, not yet in the
    lineage. The resumed run applies the checkpointed record; the agent is not asked again."""
    expected = clean["campsite_supplies"]
    decided = decided_seqs(expected)
    for seq in (decided[0], decided[len(decided) // 2], decided[-1]):
        out = tmp_path / f"before-{seq}"
        kill_campsite_at("before_applying", seq, out, run_keys)
        assert main(["resume", str(out)]) == 0, seq
        assert (out / "lineage.jsonl").read_text().splitlines() == expected, seq
        assert decisions_per_seq(out) == dict.fromkeys(decided, 1), seq


def test_a_run_killed_between_deciding_and_checkpointing_asks_that_turn_once(
        clean: dict[str, list[str]], tmp_path: Path,
        decisions_per_seq: Callable[[Path], Counter[int]], run_keys: Path) -> None:
    """The boundary inside a superstep: the previous record applied and in the lineage, the
    next party's record decided, and the process killed before its checkpoint is written.
    The decision was never saved, so the resumed run asks for it (once); nothing the lineage
    holds is asked for or written again."""
    expected = clean["campsite_supplies"]
    decided = decided_seqs(expected)
    for seq in (decided[1], decided[-1]):
        out = tmp_path / f"decided-{seq}"
        kill_campsite_at("decided", seq, out, run_keys)
        assert decisions_per_seq(out)[seq] == 0, seq  # the killed process saved no decision
        assert main(["resume", str(out)]) == 0, seq
        assert (out / "lineage.jsonl").read_text().splitlines() == expected, seq
        assert decisions_per_seq(out) == dict.fromkeys(decided, 1), seq


def test_a_damaged_checkpoint_is_set_aside_and_the_lineage_carries_the_run_on(
        clean: dict[str, list[str]], tmp_path: Path, killed_run: KilledRun,
        run_keys: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Checkpoints are written without fsyncs, so a power loss may damage the file (a kill
    cannot). Resume moves it aside and goes on from the lineage alone."""
    expected = clean["campsite_supplies"]
    out = tmp_path / "damaged"
    after = kill_points(expected)["before-consequences"]
    assert killed_run("campsite_supplies", out, after, "--keys", str(run_keys)
                      ).wait(timeout=120) == -signal.SIGKILL
    # What a power cut may leave of a file written without fsyncs: torn pages, no log.
    (out / "checkpoint.sqlite-wal").unlink()
    (out / "checkpoint.sqlite").write_bytes(b"torn by a power cut " * 400)
    assert main(["resume", str(out)]) == 0
    assert "checkpoint.sqlite: damaged" in capsys.readouterr().err
    assert (out / "checkpoint.sqlite.damaged").exists()
    assert (out / "lineage.jsonl").read_text().splitlines() == expected
    assert main(["verify", str(out / "lineage.jsonl")]) == 0


def test_a_torn_last_line_is_dropped_and_written_again(
        clean: dict[str, list[str]], tmp_path: Path, killed_run: KilledRun,
        run_keys: Path) -> None:
    expected = clean["campsite_supplies"]
    after = kill_points(expected)["before-consequences"]
    out = tmp_path / "torn"
    assert killed_run("campsite_supplies", out, after, "--keys", str(run_keys)
                      ).wait(timeout=120) == -signal.SIGKILL
    with (out / "lineage.jsonl").open("a") as handle:
        handle.write(expected[after][: len(expected[after]) // 2])  # a write cut mid-line
    assert main(["resume", str(out)]) == 0
    assert (out / "lineage.jsonl").read_text().splitlines() == expected
    verify_lines(expected)


def test_resume_refuses_an_edited_lineage(clean: dict[str, list[str]], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str],
                                          killed_run: KilledRun) -> None:
    out = tmp_path / "edited"
    assert killed_run("campsite_supplies", out, 6).wait(timeout=120) == -signal.SIGKILL
    lines = (out / "lineage.jsonl").read_text().splitlines()
    lines[2] = lines[2].replace('"tick":2', '"tick":3')
    (out / "lineage.jsonl").write_text("\n".join(lines) + "\n")
    assert main(["resume", str(out)]) == 2
    assert "line 3:" in capsys.readouterr().err


def test_resume_needs_a_run_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                      ) -> None:
    assert main(["resume", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err
