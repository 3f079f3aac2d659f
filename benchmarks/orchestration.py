"""Orchestration overhead: what the langgraph graph and its checkpoints add to each turn.

The same negotiation (a shipped scenario, scripted agents, so no model time hides anything)
runs over and over: through the plain driver loop, which asks each agent and applies its
record to the core directly, and through the graph with the SQLite checkpointer a run uses
(``orchestration.run.sqlite_saver``: a checkpoint per decision, ``durability="sync"``, no
fsyncs), a checkpoint file of its own per run, as each run folder has. All paths write the
same lineage, in memory only, so the difference per turn is the graph and the checkpointing
alone; the lineage's own fsyncs are the same with or without the graph and are not counted.
Also timed: the graph with the in-memory checkpointer (graph cost without disk), and with
SQLite as it was opened before (``synchronous=NORMAL``, which fsyncs when the schema is made
and when the file is closed), to split the cost of the graph from that of the fsyncs.

Every path runs once per round, rounds interleaved, so drift in the machine's load hits every
path alike. ``--against DIR`` also measures the package of another checkout DIR (e.g. of the
commit before a change) the same way, in a process of its own, alternating rounds with this
tree's, and prints both.

    python benchmarks/orchestration.py [--quick] [--against DIR [--rounds N]]
"""

from __future__ import annotations

import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver

from valuesneg.agents.factory import scripted_agents
from valuesneg.orchestration.driver import Driver
from valuesneg.orchestration.graph import drive
from valuesneg.orchestration.run import sqlite_saver
from valuesneg.scenario import Scenario, load_scenario

SCENARIO = Path(__file__).resolve().parents[1] / "moral_graphs" / "scenarios" / \
    "campsite_supplies.yaml"


def _driver(scenario: Scenario) -> Driver:
    return Driver.of(scenario, scripted_agents(scenario))


def _timed(run: Callable[[Driver], None], scenario: Scenario) -> tuple[float, int, list[str]]:
    driver = _driver(scenario)
    started = time.perf_counter()
    run(driver)
    return (time.perf_counter() - started, len(driver.turns),
            [e.line() for e in driver.ledger.entries])


def _direct(driver: Driver) -> None:
    driver.run()


@contextmanager
def _fsyncing_saver(path: Path) -> Iterator[SqliteSaver]:
    """SQLite as runs opened it before: the schema made with SQLite's default fsyncs, then
    ``synchronous=NORMAL`` (the close still fsyncs, to copy the log into the file)."""
    with SqliteSaver.from_conn_string(str(path)) as saver:
        saver.setup()
        saver.conn.execute("PRAGMA synchronous=NORMAL")
        yield saver


def _on_sqlite(folder: Path, opened: Callable[[Path], Any]) -> Callable[[Driver], None]:
    """Each run with a checkpoint file of its own, as each run folder has; the folder is
    made before the clock starts and emptied after, as a run's out folder is not timed."""
    runs = itertools.count()
    folder.mkdir()

    def run(driver: Driver) -> None:
        with opened(folder / f"{next(runs)}.sqlite") as saver:
            drive(driver, saver)
    return run


def measure(quick: bool = False) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        return _measure(Path(folder), quick)


def _measure(folder: Path, quick: bool) -> dict[str, float]:
    scenario = load_scenario(SCENARIO)
    repeats = 5 if quick else 25
    paths: dict[str, Callable[[Driver], None]] = {
        "direct": _direct,
        "memory": lambda d: drive(d, InMemorySaver()),
        "sqlite": _on_sqlite(folder / "sqlite", sqlite_saver),
        "fsyncing": _on_sqlite(folder / "fsyncing", _fsyncing_saver),
    }
    seconds: dict[str, list[float]] = {name: [] for name in paths}
    lineages, turns = set(), 0
    for _ in range(repeats):  # interleaved, so drift in machine load hits every path alike
        for name, run in paths.items():
            spent, turns, lines = _timed(run, scenario)
            seconds[name].append(spent)
            lineages.add(tuple(lines))
    assert len(lineages) == 1, "the graph must write the lineage the plain loop does"
    per_turn = {name: statistics.median(s) / turns * 1000 for name, s in seconds.items()}
    return {
        "orchestration_overhead_ms_per_turn": round(per_turn["sqlite"] - per_turn["direct"], 3),
        "orchestration_overhead_in_memory_ms_per_turn":
            round(per_turn["memory"] - per_turn["direct"], 3),
        "orchestration_overhead_fsyncing_sqlite_ms_per_turn":
            round(per_turn["fsyncing"] - per_turn["direct"], 3),
        "direct_ms_per_turn": round(per_turn["direct"], 3),
        "turns_per_negotiation": turns,
    }


def _other(checkout: Path, quick: bool) -> dict[str, float]:
    """This benchmark's figures for the package in ``checkout``, measured the same way in a
    process of its own with that checkout first on the path."""
    done = subprocess.run([sys.executable, __file__, *(["--quick"] if quick else [])],
                          capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(checkout)}, cwd=checkout)
    return {key: float(value) for key, value in
            (line.split() for line in done.stdout.splitlines() if line.strip())}


def against(checkout: Path, quick: bool, rounds: int = 3) -> dict[str, dict[str, float]]:
    """This tree's figures and ``checkout``'s, in alternating rounds; medians of each."""
    runs: dict[str, list[dict[str, float]]] = {"this": [], "other": []}
    for _ in range(rounds):
        runs["this"].append(measure(quick))
        runs["other"].append(_other(checkout, quick))
    return {side: {key: round(statistics.median(r[key] for r in results), 3)
                   for key in results[0]} for side, results in runs.items()}


def _print(figures: dict[str, float]) -> None:
    for key, value in figures.items():
        print(f"{key:<50} {value}")


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    if "--against" in sys.argv:
        other = Path(sys.argv[sys.argv.index("--against") + 1]).resolve()
        rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 3
        for side, figures in against(other, quick, rounds).items():
            print(f"# {side}: {Path.cwd() if side == 'this' else other}")
            _print(figures)
    else:
        _print(measure(quick))
