"""One cell of a tournament, as a self-contained job any executor can run, and its score.

A cell's score is read on the original game's utilities (as the winwin suite reads them):
each seat's utility ``u``, its *advantage* ``(u - d) / (best - d)`` (the share of what it
could gain over no deal that it got; NegMAS's advantage), and where the outcome lies from
the Pareto frontier and from the Nash point, in utility space with each axis divided by
that party's best utility.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from valuesneg.agents.base import Agent
from valuesneg.agents.factory import with_dependencies
from valuesneg.agents.llm import LLMAgent, card_texts, describe_terminal_rules
from valuesneg.agents.menu import Guard
from valuesneg.agents.models import ChatModel
from valuesneg.agents.scripted import make_scripted
from valuesneg.core.division import allocations, check_space
from valuesneg.core.division import utilities as division_utilities
from valuesneg.corpora import DivisionSpace, UtilitySpace
from valuesneg.evals.winwin import Case, Result, negotiate

from .setup import Cell


@dataclass(frozen=True)
class LLMPlayer:
    """An LLM competitor in a seat: the model it speaks through (at the cell's seed) and
    its guard (``sound``: it picks among moves sound for it; ``none``: the raw model)."""

    model: ChatModel
    guard: Guard


Player = str | LLMPlayer  # a scripted competitor's strategy, or an LLM competitor
SEAT = ("competitor", "role", "utility", "advantage")
# scores.csv's columns, in order (a cell read back from its JSON file keeps no order).
COLUMNS = ("cell", "scenario", "rep", "seed", *(f"{k}_{s}" for s in (1, 2) for k in SEAT),
           "terminal", "agreed", "rounds", "pareto_distance", "nash_distance",
           "lineage_verified", "lineage_head")


@dataclass(frozen=True)
class CellJob:
    """One cell to play: the case and the two players in their seats."""

    cell: Cell
    case: Case
    players: tuple[Player, Player]  # in the scenario's party order, like ``cell.seats``


def play_cell(job: CellJob) -> tuple[dict[str, Any], str]:
    """Play one cell: its row for ``scores.csv`` and its lineage (JSON lines)."""
    result, ledger = negotiate(job.case, seat_agents(job.case, job.players))
    lineage = "".join(e.line() + "\n" for e in ledger.entries)
    return row(job, result, ledger.head), lineage


def seat_agents(case: Case, players: tuple[Player, Player]) -> dict[str, Agent]:
    """Each seat's agent: a scripted strategy, or the LLM negotiator on the player's model."""
    terms = case.scenario.terms
    agents: dict[str, Agent] = {}
    for party, player in zip(terms.party_ids, players, strict=True):
        if isinstance(player, str):
            agents[party] = make_scripted(party, player)
        else:
            agents[party] = LLMAgent(name=party, model=player.model,
                                     cards=card_texts(case.scenario),
                                     terminal_rules=describe_terminal_rules(
                                         terms.policy.terminal),
                                     guard=player.guard)
    # A shipped scenario's waits and deliberation apply to whoever sits in the role.
    return with_dependencies(case.shipped, agents) if case.shipped is not None else agents


def row(job: CellJob, result: Result, head: str) -> dict[str, Any]:
    """One cell's scores row: the players, their utilities and advantages, the terminal and the
    lineage head."""
    space = job.case.scenario.space
    parties = job.case.scenario.terms.party_ids
    cell = job.cell
    gains = advantages(space, result.utilities)
    out: dict[str, Any] = {"cell": cell.id, "scenario": job.case.scenario.name, "rep": cell.rep,
                           "seed": cell.seed}
    for seat, (party, competitor) in enumerate(zip(parties, cell.seats, strict=True), 1):
        out |= {f"competitor_{seat}": competitor, f"role_{seat}": party,
                f"utility_{seat}": round(result.utilities[party], 6),
                f"advantage_{seat}": round(gains[party], 6)}
    return out | {"terminal": result.terminal, "agreed": result.agreed,
                  "rounds": result.rounds,
                  "pareto_distance": round(pareto_distance(space, result.utilities), 6),
                  "nash_distance": round(result.nash_distance, 6),
                  "lineage_verified": result.verified, "lineage_head": head}


def advantages(space: UtilitySpace, utilities: dict[str, float]) -> dict[str, float]:
    """Per party, the share of its possible gain over no deal that it got (0 when it could
    gain nothing; negative below its no-deal value)."""
    best, floor = space.best(), space.disagreement()
    return {p: (utilities[p] - floor[p]) / (best[p] - floor[p]) if best[p] > floor[p] else 0.0
            for p in space.parties}


def pareto_distance(space: UtilitySpace, utilities: dict[str, float]) -> float:
    """Euclidean distance from ``utilities`` to the nearest Pareto-optimal outcome, each
    axis divided by that party's best utility (0 for an outcome on the frontier)."""
    best = space.best()
    scale = [best[p] if best[p] > 0 else 1.0 for p in space.parties]
    point = [utilities[p] for p in space.parties]
    return min(math.dist([x / s for x, s in zip(point, scale, strict=True)],
                         [x / s for x, s in zip(vector, scale, strict=True)])
               for vector in frontier(space))


def frontier(space: UtilitySpace) -> list[tuple[float, float]]:
    """The utility vectors of the Pareto-optimal outcomes of a two-party ``space``."""
    if not isinstance(space, DivisionSpace):  # a Genius space keeps its own frontier
        return list(space.frontier)  # type: ignore[attr-defined]
    problem = space.problem
    check_space(problem)
    vectors = {(u[0], u[1]) for u in (tuple(division_utilities(problem, a).values())
                                       for a in allocations(problem))}
    kept: list[tuple[float, float]] = []
    for vector in sorted(vectors, key=lambda v: (-v[0], -v[1])):  # a staircase: y must rise
        if not kept or vector[1] > kept[-1][1]:
            kept.append(vector)
    return kept
