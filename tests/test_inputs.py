"""Input files are read within bounds: special files, loops and oversized files are refused
from stat, in bounded time, with one line naming the file; nothing is written."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

from valuesneg.cli import main
from valuesneg.io.inputs import LINEAGE_BYTES, RECORD_BYTES, InputError, read_bounded

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "core" / "golden" / "campsite_supplies.jsonl"


def special(kind: str, tmp_path: Path) -> Path:
    if kind == "dev-zero":
        return Path("/dev/zero")
    path = tmp_path / kind
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "symlink-loop":
        path.symlink_to(tmp_path / "other")
        (tmp_path / "other").symlink_to(path)
    elif kind == "directory":
        path.mkdir()
    elif kind == "oversized":
        with path.open("wb") as handle:  # sparse: the size is real, the disk is not used
            handle.truncate(LINEAGE_BYTES + 1)
    return path


REASONS = {"dev-zero": "is a character device, not a regular file",
           "fifo": "is a FIFO (named pipe), not a regular file",
           "symlink-loop": "a symbolic link loop",
           "directory": "is a directory, not a regular file",
           "oversized": "too large (268,435,457 bytes"}


def one_clear_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "internal error" not in err
    return err


@pytest.mark.parametrize("kind", sorted(REASONS))
def test_read_bounded_refuses_what_is_not_a_regular_file(kind: str, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=re.escape(REASONS[kind])):
        read_bounded(special(kind, tmp_path), LINEAGE_BYTES)


def test_a_file_past_its_bound_is_refused_and_one_within_is_read(tmp_path: Path) -> None:
    path = tmp_path / "record.json"
    path.write_bytes(b" " * RECORD_BYTES)
    assert len(read_bounded(path, RECORD_BYTES)) == RECORD_BYTES
    path.write_bytes(b" " * (RECORD_BYTES + 1))
    with pytest.raises(InputError, match="too large"):
        read_bounded(path, RECORD_BYTES)


@pytest.mark.parametrize("kind", sorted(REASONS))
@pytest.mark.parametrize("command", ["verify", "check-record", "import-mai", "run"])
def test_every_entry_point_refuses_special_files_fast(
        kind: str, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, out = special(kind, tmp_path), tmp_path / "out"
    argv = {"verify": ["verify", str(path)],
            "check-record": ["check", str(GOLDEN), str(path)],
            "import-mai": ["graph", "import-mai", str(path), "-o", str(out)],
            "run": ["run", str(path), "--backend", "scripted", "--out", str(out)]}[command]
    started = time.monotonic()
    assert main(argv) == 2
    assert time.monotonic() - started < 5
    err = one_clear_line(capsys)
    # The oversized lineage bound is the largest; smaller inputs say their own bound.
    reason = REASONS[kind].split(" (")[0] if kind == "oversized" else REASONS[kind]
    if (command, kind) == ("run", "directory"):  # a folder of scenarios, here an empty one
        reason = "no scenario files (*.yaml) in this folder"
    if (command, kind) == ("verify", "directory"):  # a run folder, here an empty one
        reason = "not a run folder (no lineage.jsonl in it)"
    assert str(path) in err and reason in err, err
    assert not out.exists()


def _run_copy(tmp_path: Path, outcome: object) -> Path:
    lineage = tmp_path / "lineage.jsonl"
    lineage.write_bytes(GOLDEN.read_bytes())
    (tmp_path / "outcome.json").write_text(json.dumps(outcome))
    return lineage


@pytest.mark.parametrize(("outcome", "code", "says"), [
    ([1, 2], 2, "not a run's outcome (a JSON object)"),
    ({"lineage_entries": "abc"}, 1, "lineage does not end where outcome.json says"),
    ({"lineage_entries": [3]}, 1, "lineage does not end where outcome.json says"),
    ({"lineage_entries": 2, "lineage_entries ": 2}, 1, "lineage does not end where"),
])
def test_verify_reads_a_hostile_outcome_file_without_crashing(
        outcome: object, code: int, says: str, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--unsigned", str(_run_copy(tmp_path, outcome))]) == code
    assert says in one_clear_line(capsys)


def test_verify_refuses_an_outcome_file_with_a_key_twice(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lineage = _run_copy(tmp_path, {})
    (tmp_path / "outcome.json").write_text('{"lineage_entries": 1, "lineage_entries": 2}')
    assert main(["verify", "--unsigned", str(lineage)]) == 2
    assert "key 'lineage_entries' appears twice" in one_clear_line(capsys)


def test_resume_reads_its_lineage_within_bounds(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    scenario = ROOT / "moral_graphs" / "scenarios" / "campsite_supplies.yaml"
    assert main(["run", str(scenario), "--backend", "scripted", "--out", str(out),
                 "--quiet"]) == 0
    capsys.readouterr()
    for written_last in ("outcome.json", "report.html"):  # as if the run were cut short
        (out / written_last).unlink()
    lineage = out / "lineage.jsonl"
    lineage.write_bytes(lineage.read_bytes().replace(b'"ana"', b'"an\xff"', 1))
    assert main(["resume", str(out), "--quiet"]) == 2
    assert f"{lineage}: not UTF-8 text" in one_clear_line(capsys)
