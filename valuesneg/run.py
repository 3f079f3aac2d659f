"""Running a scenario end to end: agents, the turn loop, and the files a run leaves behind."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from valuesneg.agents.base import Agent
from valuesneg.core import Ledger, Outcome
from valuesneg.io.files import LineageWriter, UserError, write_atomic
from valuesneg.orchestration.driver import Driver, Turn
from valuesneg.report import render_report
from valuesneg.scenario import Scenario

LINEAGE = "lineage.jsonl"
OUTCOME = "outcome.json"
REPORT = "report.html"
TURNS = "turns.jsonl"  # non-binding trace: attempts, refusals, latency; never read by the core
CALLS = "calls.jsonl"  # non-binding trace of every model call: prompt version, tokens, reply


@dataclass(frozen=True)
class RunResult:
    out: Path
    ledger: Ledger
    turns: tuple[Turn, ...]

    @property
    def outcome(self) -> Outcome:
        outcome = self.ledger.negotiation.outcome
        assert outcome is not None
        return outcome


def run_scenario(scenario: Scenario, agents: Mapping[str, Agent], out: Path,
                 meta: Mapping[str, Any] | None = None) -> RunResult:
    """Run to a terminal outcome; the lineage is written entry by entry as the core appends."""
    out.mkdir(parents=True, exist_ok=True)
    lineage = out / LINEAGE
    if lineage.exists():
        raise UserError(f"{lineage}: already exists; choose another --out or remove it")
    with LineageWriter(lineage) as writer, (out / TURNS).open("w") as turns_file:
        def log_turn(turn: Turn) -> None:
            turns_file.write(json.dumps(turn.__dict__) + "\n")
            turns_file.flush()

        driver = Driver(scenario.terms, agents, on_entries=writer.write, on_turn=log_turn,
                        envelope_changes=scenario.envelope_changes())
        ledger = driver.run()
    result = RunResult(out, ledger, tuple(driver.turns))
    write_calls(out / CALLS, agents)
    write_outputs(scenario, result, meta or {})
    return result


def write_calls(path: Path, agents: Mapping[str, Agent]) -> None:
    calls = [c for agent in agents.values() for c in getattr(agent, "calls", [])]
    if calls:
        write_atomic(path, "".join(json.dumps(asdict(c)) + "\n" for c in calls))


def write_outputs(scenario: Scenario, result: RunResult, meta: Mapping[str, Any]) -> None:
    outcome = result.outcome
    summary = {
        "scenario": scenario.spec.scenario,
        "negotiation": scenario.terms.negotiation,
        "terminal": outcome.terminal,
        "allocation": outcome.allocation,
        "satisfied": list(outcome.satisfied),
        "sacrificed": [s.model_dump() for s in outcome.sacrificed],
        "justification": outcome.justification.model_dump(mode="json"),
        "lineage_head": result.ledger.head,
        "lineage_entries": len(result.ledger.entries),
        **meta,
    }
    write_atomic(result.out / OUTCOME, json.dumps(summary, indent=2, sort_keys=True) + "\n")
    html = render_report(scenario, result.ledger.records, result.turns)
    write_atomic(result.out / REPORT, html)
