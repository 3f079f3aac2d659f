"""Durability: a population run killed with SIGKILL at any point resumes to exactly the
folder an uninterrupted run writes, with no encounter lost or run twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
from crashing import command
from popkit import WriteConfig, folder_bytes, run_cli

ENCOUNTERS = 9  # the small config: 3 generations of 3 encounters


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    import yaml
    from popkit import SMALL

    folder = tmp_path_factory.mktemp("reference")
    (folder / "config.yaml").write_text(yaml.safe_dump(SMALL))
    assert run_cli("population", "run", str(folder / "config.yaml"), "--out",
                   str(folder / "out"), "--quiet") == 0
    return folder_bytes(folder / "out")


def killed_run(config: Path, out: Path, point: str, at: int) -> None:
    """Run the CLI in a child process that SIGKILLs itself at the crash point."""
    child = subprocess.run(
        command(point, at, "population", "run", str(config), "--out", str(out), "--quiet"),
        capture_output=True, timeout=300)
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()


def recorded(out: Path) -> list[str]:
    return [json.loads(line)["name"] for line in
            (out / "population.jsonl").read_text().splitlines()]


# 2: mid-generation; 3: the generation's encounters recorded, its ledger entries not yet;
# 9: every encounter recorded, metrics and report not yet written.
@pytest.mark.parametrize("at", [2, 3, ENCOUNTERS])
def test_killed_after_an_encounter_resumes_to_the_same_bytes(
        write_config: WriteConfig, tmp_path: Path, reference: dict[str, bytes],
        at: int) -> None:
    out = tmp_path / "out"
    killed_run(write_config(), out, "encounters_recorded", at)
    assert len(recorded(out)) == at
    assert not (out / "metrics.json").exists()
    assert run_cli("population", "resume", str(out), "--quiet") == 0
    assert folder_bytes(out) == reference


def test_a_written_lineage_is_not_run_again(
        write_config: WriteConfig, tmp_path: Path, reference: dict[str, bytes]) -> None:
    """Killed between writing the 5th lineage and recording it: resume reads that lineage
    (the same file, untouched) instead of negotiating the encounter a second time."""
    out = tmp_path / "out"
    killed_run(write_config(), out, "before_recording", 5)
    assert len(recorded(out)) == 4
    fifth = out / "lineages" / "g0001-e0001.jsonl"
    before = os.stat(fifth)
    assert run_cli("population", "resume", str(out), "--quiet") == 0
    after = os.stat(fifth)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert folder_bytes(out) == reference
    assert recorded(out) == sorted(set(recorded(out)))  # each encounter once, in order


def test_a_line_cut_short_by_the_kill_is_dropped_and_redone(
        write_config: WriteConfig, tmp_path: Path, reference: dict[str, bytes]) -> None:
    out = tmp_path / "out"
    killed_run(write_config(), out, "encounters_recorded", 4)
    with (out / "population.jsonl").open("a") as handle:
        handle.write('{"generation": 1, "encou')  # what a kill mid-write leaves
    assert run_cli("population", "resume", str(out), "--quiet") == 0
    assert folder_bytes(out) == reference


def test_an_edited_record_is_refused_on_resume(
        write_config: WriteConfig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
        ) -> None:
    out = tmp_path / "out"
    killed_run(write_config(), out, "encounters_recorded", 4)
    ledger = out / "credibility.jsonl"
    lines = ledger.read_text().splitlines()
    lines[1] = lines[1].replace('"flags":[]', '"flags":["need-abandoned"]', 1)
    ledger.write_text("\n".join(lines) + "\n")
    assert run_cli("population", "resume", str(out), "--quiet") == 2
    assert f"{ledger}: line 2: differs from what the run re-derives" in \
        capsys.readouterr().err


def test_resume_of_a_folder_that_is_not_a_run(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("population", "resume", str(tmp_path), "--quiet") == 2
    assert "not a population run folder (no config.json in it)" in capsys.readouterr().err


def test_a_second_writer_is_refused_while_the_first_holds_the_folder(
        write_config: WriteConfig, tmp_path: Path, capsys: pytest.CaptureFixture[str]
        ) -> None:
    import fcntl

    out = tmp_path / "out"
    killed_run(write_config(), out, "encounters_recorded", 2)
    with (out / ".lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert run_cli("population", "resume", str(out), "--quiet") == 2
    assert "another process is running this population" in capsys.readouterr().err
    assert len(recorded(out)) == 2  # nothing was written by the refused one
    assert run_cli("population", "resume", str(out), "--quiet") == 0
