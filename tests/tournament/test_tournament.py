"""``valuesneg tournament``: the cells it plans, what it writes and how it scores, bad input,
identical results across executors, and resuming after a real kill."""

from __future__ import annotations

import csv
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from valuesneg.cli import main
from valuesneg.core import verify_lines
from valuesneg.corpora import load_casino_scenarios
from valuesneg.evals.winwin import Case
from valuesneg.tournament.play import COLUMNS, advantages, frontier, pareto_distance
from valuesneg.tournament.setup import plan

ROOT = Path(__file__).resolve().parents[2]
CASINO = ROOT / "tests" / "evals" / "data" / "casino_two.json"
SCENARIOS = ROOT / "moral_graphs" / "scenarios"
THREE = """competitors:
  - {name: values, strategy: values}
  - {name: boulware, strategy: boulware}
  - {name: conceder, backend: scripted, strategy: conceder}
"""


def tournament(tmp_path: Path, *args: str, competitors: str = THREE,
               wait: bool = True) -> subprocess.CompletedProcess[str] | subprocess.Popen[str]:
    """``valuesneg tournament`` in a fresh interpreter running this checkout's code."""
    path = tmp_path / "competitors.yaml"
    path.write_text(competitors)
    argv = [sys.executable, "-m", "valuesneg.cli", "tournament", "--competitors", str(path),
            "--no-progress", *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if not wait:
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env)
    return subprocess.run(argv, capture_output=True, text=True, env=env, check=False)


def in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str,
               competitors: str = THREE) -> tuple[int, str, str]:
    """``valuesneg tournament`` through ``main`` in this process (no interpreter start-up)."""
    path = tmp_path / "competitors.yaml"
    path.write_text(competitors)
    code = main(["tournament", "--competitors", str(path), "--no-progress", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def rows(out: Path) -> list[dict[str, str]]:
    with (out / "scores.csv").open() as handle:
        return list(csv.DictReader(handle))


def test_plan_seats_every_pair_in_every_role_for_every_rep() -> None:
    cases = [Case(s) for s in load_casino_scenarios(CASINO)]
    names = ["a", "b", "c"]
    plain = plan(cases, names, reps=2, rotate=False, self_play=False, seed=5)
    assert len(plain) == 2 * 3 * 2  # scenarios x pairs x reps
    assert {c.seats for c in plain} == {("a", "b"), ("a", "c"), ("b", "c")}
    assert sorted({c.seed for c in plain}) == [5, 6]
    rotated = plan(cases, names, reps=2, rotate=True, self_play=True, seed=0)
    assert len(rotated) == 2 * (6 + 3) * 2  # both seatings of 3 pairs, plus 3 self-plays
    assert ("b", "a") in {c.seats for c in rotated}
    assert len({c.id for c in rotated}) == len(rotated)


def test_scores_leaderboard_and_lineages_of_a_rotated_tournament(tmp_path: Path) -> None:
    out = tmp_path / "t"
    done = tournament(tmp_path, "--dataset", f"casino:{CASINO}", "--rotate", "--reps", "2",
                      "--out", str(out))
    assert done.returncode == 0, done.stderr
    table = rows(out)
    assert len(table) == 2 * 6 * 2 and tuple(table[0]) == COLUMNS
    spaces = {s.name: s for s in load_casino_scenarios(CASINO)}
    for row in table:
        # The lineage verifies, ends at the head the row names, and its outcome gives the
        # row's utilities and advantages on the original game.
        verified = verify_lines((out / "lineages" / f"{row['cell']}.jsonl").read_text()
                                .splitlines(), require_outcome=True)
        assert verified.head == row["lineage_head"] and row["lineage_verified"] == "True"
        outcome = verified.outcome
        assert outcome is not None and outcome.terminal == row["terminal"]
        space = spaces[row["scenario"]].space
        got = space.utilities(outcome.allocation) if outcome.terminal == "agreement" \
            else space.disagreement()
        gains = advantages(space, got)
        for seat in ("1", "2"):
            party = row[f"role_{seat}"]
            assert float(row[f"utility_{seat}"]) == pytest.approx(got[party], abs=1e-6)
            assert float(row[f"advantage_{seat}"]) == pytest.approx(gains[party], abs=1e-6)
    board = json.loads((out / "leaderboard.json").read_text())
    assert board["cells"] == 24 and board["lineages_verified"] == 24
    for entry in board["competitors"]:
        mine = [float(r[f"advantage_{s}"]) for r in table for s in ("1", "2")
                if r[f"competitor_{s}"] == entry["name"]]
        assert entry["seats"] == 16
        assert entry["mean_advantage"] == pytest.approx(statistics.fmean(mine), abs=1e-6)
        assert entry["ci95"][0] <= entry["mean_advantage"] <= entry["ci95"][1]
    duel = next(d for d in board["pairwise"]
                if (d["competitor"], d["opponent"]) == ("values", "boulware"))
    shared = [r for r in table if {r["competitor_1"], r["competitor_2"]} == {"values", "boulware"}]
    wins = sum(1 for r in shared if _advantage(r, "values") > _advantage(r, "boulware"))
    assert (duel["cells"], duel["wins"]) == (8, wins)
    report = (out / "report.html").read_text()
    assert "Pairwise win rates" in report and "Mean advantage per competitor" in report


def _advantage(row: dict[str, str], name: str) -> float:
    seat = "1" if row["competitor_1"] == name else "2"
    return float(row[f"advantage_{seat}"])


def test_results_are_the_same_bytes_locally_and_on_a_process_pool(tmp_path: Path) -> None:
    outputs = []
    for executor in ("local", "process:2"):
        out = tmp_path / executor.replace(":", "")
        done = tournament(tmp_path, "--scenarios", str(SCENARIOS), "--rotate",
                          "--executor", executor, "--out", str(out))
        assert done.returncode == 0, done.stderr
        assert "skipped three-labs-gpus: 3 parties" in done.stdout
        outputs.append([(out / name).read_bytes() for name in ("scores.csv",
                                                               "leaderboard.json")])
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize(("competitors", "message"), [
    ("competitors:\n  - {name: a, strategy: values}\n  - {name: a, strategy: boulware}\n",
     "competitors.1.name: 'a' is entered twice"),
    ("competitors:\n  - {name: a, strategy: values}\n  - {name: b, strategy: sly}\n",
     "competitors.1.strategy: unknown scripted strategy 'sly'"),
    ("competitors:\n  - {name: a}\n  - {name: b, backend: local, guard: loose}\n",
     "competitors.1.guard: Input should be 'sound' or 'none'"),
    ("competitors:\n  - {name: a}\n  - {name: b, backend: vllm}\n", "competitors.1.backend: "),
    ("competitors:\n  - {name: a}\n", "competitors: List should have at least 2 items"),
    ("competitors: [\n", "not YAML: line 2:"),
    ("competitors:\n  - {name: a}\n  - {name: a}\n  - &x {name: b}\n  - *x\n", "not YAML"),
])
def test_bad_competitors_get_one_line_and_nothing_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], competitors: str, message: str
) -> None:
    out = tmp_path / "t"
    code, _, err = in_process(tmp_path, capsys, "--dataset", f"casino:{CASINO}", "--out",
                              str(out), competitors=competitors)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "competitors.yaml: " in lines[0] and message in lines[0]
    assert not out.exists()


def test_another_tournament_is_not_mixed_into_a_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t"
    assert in_process(tmp_path, capsys, "--dataset", f"casino:{CASINO}", "--out", str(out)
                      )[0] == 0
    code, _, err = in_process(tmp_path, capsys, "--dataset", f"casino:{CASINO}", "--reps", "2",
                              "--out", str(out))
    assert code == 2
    assert "holds a different tournament (its reps differs)" in err


FIVE = "competitors:\n" + "".join(f"  - {{name: {s}, strategy: {s}}}\n" for s in
                                  ("values", "boulware", "conceder", "linear", "tit-for-tat"))


def test_a_killed_tournament_resumes_playing_only_the_unfinished_cells(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "t"
    args = ("--dataset", f"casino:{CASINO}", "--rotate", "--reps", "4", "--out", str(out))
    running = tournament(tmp_path, *args, competitors=FIVE, wait=False)
    assert isinstance(running, subprocess.Popen)
    cells = out / "cells"
    deadline = time.monotonic() + 120
    while len(list(cells.glob("*.json"))) < 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    running.send_signal(signal.SIGKILL)
    running.wait()
    kept = {p.name: p.stat().st_mtime_ns for p in cells.glob("*.json")}
    assert 10 <= len(kept) < 160 and not (out / "scores.csv").exists()

    resumed = tournament(tmp_path, *args, competitors=FIVE)
    assert resumed.returncode == 0, resumed.stderr
    assert (f"160 cells (5 competitors, 2 scenarios, 4 rep(s)); {len(kept)} already done, "
            f"{160 - len(kept)} to play") in resumed.stdout
    assert {p.name: p.stat().st_mtime_ns for p in cells.glob("*.json")
            if p.name in kept} == kept  # the cells done before the kill were not played again
    fresh = tmp_path / "fresh"
    assert in_process(tmp_path, capsys, *args[:-1], str(fresh), competitors=FIVE)[0] == 0
    assert (out / "scores.csv").read_bytes() == (fresh / "scores.csv").read_bytes()
    assert (out / "leaderboard.json").read_bytes() == (fresh / "leaderboard.json").read_bytes()
    assert len(list((out / "lineages").glob("*.jsonl"))) == 160


def test_pareto_distance_is_zero_on_the_frontier_and_measured_to_it_elsewhere() -> None:
    space = load_casino_scenarios(CASINO)[0].space
    parties = space.parties
    edge = frontier(space)
    assert edge and all(pareto_distance(space, dict(zip(parties, v, strict=True))) == 0
                        for v in edge)
    # Independently: the frontier is exactly the utilities of the allocations the core's own
    # Pareto check accepts.
    from valuesneg.core.division import allocations

    optimal = {tuple(space.utilities(a).values()) for a in allocations(space.problem)
               if space.pareto_optimal(a)}
    assert set(edge) == optimal
    walk = space.disagreement()
    best = space.best()
    expected = min(((walk[parties[0]] - a) / best[parties[0]]) ** 2
                   + ((walk[parties[1]] - b) / best[parties[1]]) ** 2 for a, b in optimal) ** 0.5
    assert pareto_distance(space, walk) == pytest.approx(expected) and expected > 0
