"""What got in a new user's way at the command line (issue 20), each pinned by a test."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from valuesneg.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "moral_graphs" / "scenarios"
CAMPSITE = SCENARIOS / "campsite_supplies.yaml"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("first-hour") / "run"
    assert main(["run", str(CAMPSITE), "--backend", "scripted", "--out", str(out),
                 "--quiet"]) == 0
    return out


def options_without_help(parser: argparse.ArgumentParser, path: str) -> list[str]:
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                missing += options_without_help(sub, f"{path} {name}")
        elif not action.help:
            missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    return missing


def test_every_option_and_argument_has_a_help_line() -> None:
    assert options_without_help(build_parser(), "valuesneg") == []


def test_run_help_states_the_default_out_and_the_rule(capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default runs/SCENARIO;" in text and "is never written over" in text


def test_check_names_the_full_envelope_version_to_paste_back(
        tmp_path: Path, run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = (run_dir / "lineage.jsonl").read_text().splitlines()
    (tmp_path / "lineage.jsonl").write_text("\n".join(lines[:2]) + "\n")
    version = json.loads(lines[0])["genesis"]["bound"]["envelope:ben"]
    body = {"kind": "accept", "negotiation": "neg:campsite-supplies", "sender": "ben",
            "seq": 2, "tick": 2, "reply_to": 1, "rationale": ["card:lasting-goodwill"]}
    record = tmp_path / "record.json"
    record.write_text(json.dumps(body))
    assert main(["check", str(tmp_path), str(record)]) == 1
    assert capsys.readouterr().out == (f"refused: stale_envelope at envelope_version: missing; "
                                       f"'ben' is at {version}\n")
    record.write_text(json.dumps({**body, "envelope_version": "0" * 64}))
    assert main(["check", str(tmp_path), str(record)]) == 1
    assert f"stale; 'ben' is at {version}\n" in capsys.readouterr().out
    record.write_text(json.dumps({**body, "envelope_version": version}))  # pasted back
    assert main(["check", str(tmp_path), str(record)]) == 0


def test_the_record_schema_says_parties_must_send_their_envelope_version(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    described = json.loads(capsys.readouterr().out)["accept"]["properties"]["envelope_version"]
    assert "Every record a party sends must carry it" in described["description"]


def test_verify_accepts_a_run_folder(run_dir: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(run_dir)]) == 0
    assert capsys.readouterr().out.startswith(f"{run_dir / 'lineage.jsonl'}: OK, ")
    # the folder's outcome.json is read too: a dropped tail is caught from the folder alone
    copy = tmp_path / "copy"
    copy.mkdir()
    kept = (run_dir / "lineage.jsonl").read_text().splitlines()[:-1]
    (copy / "lineage.jsonl").write_text("\n".join(kept) + "\n")
    (copy / "outcome.json").write_text((run_dir / "outcome.json").read_text())
    assert main(["verify", str(copy)]) == 1
    assert "dropped or appended" in capsys.readouterr().err
    assert main(["verify", str(tmp_path / "nothing-here")]) == 2  # a missing path
    (tmp_path / "empty").mkdir()
    assert main(["verify", str(tmp_path / "empty")]) == 2
    assert "not a run folder (no lineage.jsonl in it)" in capsys.readouterr().err


def test_verify_on_outcome_json_says_it_is_not_a_lineage(
        run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(run_dir / "outcome.json")]) == 1
    err = capsys.readouterr().err
    assert "line 1: not a lineage: this is one JSON document" in err and "not JSON" not in err


def test_resume_of_a_finished_run_says_so_and_rewrites_nothing(
        run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in run_dir.iterdir()}
    assert main(["resume", str(run_dir)]) == 0
    assert "the run is already finished" in capsys.readouterr().err
    assert {p.name: p.stat().st_mtime_ns for p in run_dir.iterdir()} == before


def test_a_run_off_a_terminal_prints_one_progress_line_per_turn(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(CAMPSITE), "--backend", "scripted", "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err.splitlines()
    turns = (tmp_path / "turns.jsonl").read_text().splitlines()
    answered = [line for line in err if " answered (" in line]
    assert len(answered) == len(turns) > 2
    assert answered[0].startswith("campsite-supplies: ana answered (0/6 rounds spent, ")
    assert err[-1].startswith("campsite-supplies: agreement (")
    assert main(["run", str(CAMPSITE), "--backend", "scripted", "--out",
                 str(tmp_path / "quiet"), "--quiet"]) == 0
    assert " answered (" not in capsys.readouterr().err


def test_ctrl_c_says_how_to_resume(tmp_path: Path) -> None:
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "valuesneg", "run", str(SCENARIOS / "supervised_operation.yaml"),
         "--backend", "scripted", "--human", "supervisor", "--out", str(out), "--quiet"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env, cwd=tmp_path)
    deadline = time.monotonic() + 60
    while not (out / "lineage.jsonl").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # the human prompt is waiting on stdin
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == (f"valuesneg: interrupted; continue with: "
                                            f"valuesneg resume {out}")
    assert main(["verify", str(out), "--partial"]) == 0


def test_postgres_checkpoints_without_the_extra_name_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # The postgres extra is optional (issue 20, item 6): as if it were not installed.
    monkeypatch.setitem(sys.modules, "langgraph.checkpoint.postgres", None)
    assert main(["run", str(CAMPSITE), "--backend", "scripted", "--out", str(tmp_path),
                 "--checkpoint", "postgresql://me:secret@localhost/db"]) == 2
    assert capsys.readouterr().err == (
        "valuesneg: error: checkpoint postgresql://me@localhost/db: PostgreSQL checkpoints need "
        "the postgres extra: pip install 'valuesneg[postgres]'\n")
    assert not (tmp_path / "lineage.jsonl").exists()
