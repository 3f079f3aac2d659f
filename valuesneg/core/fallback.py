"""Fallback mechanisms: the default allocation a policy imposes when talks fail.

A fallback is the credible default both sides would rather avoid, so it must be computable by
anyone replaying the log: every mechanism here is pure, deterministic and exact.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from valuesneg.core.division import (
    Allocation,
    DivisionProblem,
    Objective,
    allocation_of,
    maximise,
    utilities,
)

DetailValue = str | int | float
Detail = tuple[tuple[str, DetailValue], ...]

BRANCH_NASH = "nash_product"
BRANCH_MAX_SUM = "max_sum"
BRANCH_EQUAL_SPLIT = "equal_split"


@dataclass(frozen=True)
class FallbackResult:
    """What a fallback mechanism decided.

    `utilities` maps each party (in priority order) to its rounded utility. `detail` holds
    (key, value) pairs of structured numbers and fixed identifiers, in a fixed order per
    mechanism, so that a replay can re-check them.
    """

    mechanism: str
    allocation: Allocation
    utilities: Mapping[str, float]
    detail: Detail = ()


def _result(
    mechanism: str, problem: DivisionProblem, allocation: Allocation, detail: Detail
) -> FallbackResult:
    return FallbackResult(mechanism, allocation, utilities(problem, allocation), detail)


def _nash_objective(reservations: tuple[float, ...]) -> Objective:
    def objective(values: tuple[float, ...]) -> float | None:
        gains = list(map(operator.sub, values, reservations))
        return math.prod(gains) if min(gains) > 0 else None

    return objective


def _sum_objective(reservations: tuple[float, ...]) -> Objective:
    def objective(values: tuple[float, ...]) -> float | None:
        if any(map(operator.lt, values, reservations)):
            return None
        return math.fsum(values)

    return objective


def nash_bargaining(problem: DivisionProblem) -> FallbackResult:
    """Exact discrete Nash bargaining solution over declared utilities.

    Branches, tried in order and recorded in detail as ("branch", id):
    - "nash_product": maximise the product of (utility - disagreement) over allocations where
      every party gets strictly more than its disagreement utility;
    - "max_sum": if there is none, maximise the sum of utilities subject to every party getting
      at least its disagreement utility;
    - "equal_split": if there is none either, equal_split().
    Ties go to the allocation first in `allocations()` order; the result equals brute force over
    that order. Raises DivisionTooLarge past MAX_SPACE.
    """
    reservations = tuple(problem.reservation(p) for p in problem.parties)
    nash = maximise(problem, _nash_objective(reservations))
    if nash is not None:
        detail: Detail = (("branch", BRANCH_NASH), ("nash_product", round(nash[1], 9)))
        return _result("nash", problem, allocation_of(problem, nash[0].choice), detail)
    utilitarian = maximise(problem, _sum_objective(reservations))
    if utilitarian is not None:
        detail = (("branch", BRANCH_MAX_SUM), ("joint_utility", round(utilitarian[1], 9)))
        return _result("nash", problem, allocation_of(problem, utilitarian[0].choice), detail)
    even = equal_split(problem)
    return _result("nash", problem, even.allocation, (("branch", BRANCH_EQUAL_SPLIT),))


def _even_row(parties: tuple[str, ...], units: int) -> dict[str, int]:
    base, remainder = divmod(units, len(parties))
    return {party: base + (1 if index < remainder else 0) for index, party in enumerate(parties)}


def equal_split(problem: DivisionProblem) -> FallbackResult:
    """Each dimension divided as evenly as integers allow; the remainder units go one each to
    parties in priority order. detail: ("remainder_units", total units handed out that way)."""
    parties = problem.parties
    allocation = {dim: _even_row(parties, problem.units[dim]) for dim in problem.dimensions}
    remainder = sum(problem.units[dim] % len(parties) for dim in problem.dimensions)
    return _result("equal_split", problem, allocation, (("remainder_units", remainder),))


def _priority_row(problem: DivisionProblem, dim: str) -> tuple[dict[str, int], int]:
    left = problem.units[dim]
    row: dict[str, int] = {}
    unmet = 0
    for party in problem.parties:
        need = problem.need(party, dim)
        row[party] = min(need, left)
        unmet += need - row[party]
        left -= row[party]
    wanting = [p for p in problem.parties if problem.weight(p, dim) > 0]
    row[wanting[0] if wanting else problem.parties[0]] += left
    return row, unmet


def priority_rule(problem: DivisionProblem) -> FallbackResult:
    """Parties in priority order each take up to their need per dimension; what is left goes to
    the highest-priority party with a positive weight for the dimension (else the first party).
    detail: ("unmet_need", total units of need the pool could not cover)."""
    rows = {dim: _priority_row(problem, dim) for dim in problem.dimensions}
    allocation = {dim: row for dim, (row, _) in rows.items()}
    unmet = sum(unmet for _, unmet in rows.values())
    return _result("priority", problem, allocation, (("unmet_need", unmet),))


FALLBACKS: Mapping[str, Callable[[DivisionProblem], FallbackResult]] = MappingProxyType(
    {
        "nash": nash_bargaining,
        "equal_split": equal_split,
        "priority": priority_rule,
    }
)
"""Fallback mechanisms by the id a policy declares."""
