"""Orchestration overhead: what the langgraph graph and its checkpoints add to each turn.

The same negotiation (a shipped scenario, scripted agents, so no model time hides anything)
runs twice over: through the plain driver loop, which asks each agent and applies its record
to the core directly, and through the graph with a SQLite checkpoint saved after every node
(``durability="sync"``, as ``valuesneg run`` does). Both write the same lineage, in memory
only, so the difference per turn is the graph and the checkpointing alone. The in-memory
checkpointer is timed too, to split graph cost from disk cost.

    python benchmarks/orchestration.py [--quick]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from langgraph.checkpoint.memory import InMemorySaver

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


def _on_sqlite(driver: Driver) -> None:
    with tempfile.TemporaryDirectory() as tmp, \
            sqlite_saver(Path(tmp) / "checkpoint.sqlite") as saver:
        drive(driver, saver)


def measure(quick: bool = False) -> dict[str, float]:
    scenario = load_scenario(SCENARIO)
    repeats = 5 if quick else 25
    paths: dict[str, Callable[[Driver], None]] = {
        "direct": _direct,
        "memory": lambda d: drive(d, InMemorySaver()),
        "sqlite": _on_sqlite,
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
        "direct_ms_per_turn": round(per_turn["direct"], 3),
        "turns_per_negotiation": turns,
    }


if __name__ == "__main__":
    for key, value in measure(quick="--quick" in sys.argv).items():
        print(f"{key:<46} {value}")
