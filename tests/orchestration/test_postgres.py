"""Checkpoints in PostgreSQL: a real server (started by the ``postgres_url`` fixture), one
negotiation run on it, and one killed mid-way and resumed from it."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from valuesneg.cli import main

SCENARIO = Path(__file__).resolve().parents[2] / "moral_graphs" / "scenarios" / \
    "campsite_supplies.yaml"


def scripted_run(out: Path, *extra: str) -> list[str]:
    """A scripted run signed with the keys in ``extra`` (``--keys DIR``), so that two runs
    can write the same bytes."""
    assert main(["run", str(SCENARIO), "--backend", "scripted", "--out", str(out),
                 *extra]) == 0
    return (out / "lineage.jsonl").read_text().splitlines()


def checkpoints(url: str, thread: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM checkpoints WHERE thread_id = %s",
                           (thread,)).fetchone()
    assert row is not None
    return int(row[0])


def test_a_negotiation_checkpoints_in_postgres(postgres_url: str, tmp_path: Path,
                                               run_keys: Path) -> None:
    expected = scripted_run(tmp_path / "sqlite", "--keys", str(run_keys))
    out = tmp_path / "pg"
    assert scripted_run(out, "--checkpoint", postgres_url, "--keys", str(run_keys)) == expected
    assert not (out / "checkpoint.sqlite").exists()
    how = json.loads((out / "run.json").read_text())
    assert how["checkpoint"] == postgres_url
    # A checkpoint per decision at least: each turn's record is saved before it is applied.
    turns = len((out / "turns.jsonl").read_text().splitlines())
    assert checkpoints(postgres_url, how["thread"]) > turns
    assert main(["verify", str(out / "lineage.jsonl")]) == 0


def test_a_run_killed_mid_way_resumes_from_postgres(
        postgres_url: str, tmp_path: Path, killed_run: Callable[..., object],
        run_keys: Path) -> None:
    expected = scripted_run(tmp_path / "clean", "--keys", str(run_keys))
    out = tmp_path / "killed"
    proc = killed_run("campsite_supplies", out, len(expected) // 2, "--checkpoint",
                      postgres_url, "--keys", str(run_keys))
    assert proc.wait(timeout=120) == -signal.SIGKILL  # type: ignore[attr-defined]
    thread = json.loads((out / "run.json").read_text())["thread"]
    before = checkpoints(postgres_url, thread)
    assert before > 0
    assert main(["resume", str(out)]) == 0  # run.json names the server
    assert (out / "lineage.jsonl").read_text().splitlines() == expected
    assert checkpoints(postgres_url, thread) > before


def test_an_unreachable_server_is_a_clear_error(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql://someone:secret@127.0.0.1:1/nowhere"
    assert main(["run", str(SCENARIO), "--backend", "scripted", "--out", str(tmp_path),
                 "--checkpoint", url]) == 2
    err = capsys.readouterr().err
    assert "checkpoint postgresql://someone@127.0.0.1:1/nowhere" in err
    assert "secret" not in err
