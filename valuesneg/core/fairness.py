"""Fairness properties of an allocation, as computable magnitudes.

Outcome properties of a fair division can conflict, so an outcome does not claim them: it
records, for each property, how much of it was sacrificed. Every magnitude is 0 when the
property holds and grows with the sacrifice; all are rounded to 9 places so they hash
canonically, and a property counts as satisfied when its magnitude is at most 1e-9.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType

from valuesneg.core.division import (
    Allocation,
    DivisionProblem,
    maximise,
    utility,
    validate_allocation,
)
from valuesneg.core.fallback import nash_bargaining

SATISFIED_TOLERANCE = 1e-9

Property = Callable[[DivisionProblem, Allocation], float]


def needs_coverage(problem: DivisionProblem, allocation: Allocation) -> float:
    """Property needs_coverage: the fraction of total declared need left unmet.

    magnitude = sum over parties p and dimensions d of max(0, need[p][d] - units[d][p])
                / sum of need[p][d]; 0 when no need is declared. In [0, 1].
    """
    validate_allocation(problem, allocation)
    declared = unmet = 0
    for dim in problem.dimensions:
        for party in problem.parties:
            need = problem.need(party, dim)
            declared += need
            unmet += max(0, need - allocation[dim][party])
    return round(unmet / declared, 9) if declared else 0.0


def _deviation(held: int, share: Fraction) -> int:
    # Distance from the integers that round the share: floor(share)..ceil(share).
    return max(math.floor(share) - held, held - math.ceil(share), 0)


def proportionality(problem: DivisionProblem, allocation: Allocation) -> float:
    """Property proportionality: shares proportional to contribution.

    Party p's proportional share of dimension d is units[d] * c_p / sum(c), computed exactly.
    It is satisfied when every party holds floor(share) or ceil(share) units of every
    dimension (always achievable). magnitude = max over d (units[d] > 0) and p of
    (distance from units[d][p] to the interval [floor(share), ceil(share)]) / units[d].
    0 when no contribution is declared (all zero). In [0, 1].
    """
    validate_allocation(problem, allocation)
    contributions = {p: Fraction(problem.contribution(p)) for p in problem.parties}
    total = sum(contributions.values(), Fraction(0))
    if total == 0:
        return 0.0
    worst = Fraction(0)
    for dim in problem.dimensions:
        units = problem.units[dim]
        for party in problem.parties if units else ():
            share = units * contributions[party] / total
            worst = max(worst, Fraction(_deviation(allocation[dim][party], share), units))
    return round(float(worst), 9)


def equal_split(problem: DivisionProblem, allocation: Allocation) -> float:
    """Property equal_split: every dimension divided as evenly as integers allow.

    magnitude = max over d (units[d] > 0) of max(0, max_p units[d][p] - min_p units[d][p] - 1)
                / units[d]. 0 iff every dimension's counts differ by at most one. In [0, 1).
    """
    validate_allocation(problem, allocation)
    worst = Fraction(0)
    for dim in problem.dimensions:
        counts = allocation[dim].values()
        if problem.units[dim]:
            spread = max(0, max(counts) - min(counts) - 1)
            worst = max(worst, Fraction(spread, problem.units[dim]))
    return round(float(worst), 9)


def _pool_value(problem: DivisionProblem) -> float:
    # Joint utility is linear in each dimension, so its maximum gives every unit to a party
    # valuing it most: no enumeration needed.
    total = 0.0
    for dim in problem.dimensions:
        total += problem.units[dim] * max(problem.weight(p, dim) for p in problem.parties)
    return total


def best_joint_utility(problem: DivisionProblem) -> float:
    """The largest sum of utilities (fixed utility included) over the whole discrete space."""
    fixed = 0.0
    for party in problem.parties:
        fixed += problem.fixed(party)
    return round(fixed + _pool_value(problem), 9)


def _utility_vector(problem: DivisionProblem, allocation: Allocation) -> tuple[float, ...]:
    return tuple(utility(problem, allocation, p) for p in problem.parties)


def _best_improvement(problem: DivisionProblem, allocation: Allocation) -> float:
    # The largest total gain over allocations no worse for anyone; 0 when none gains.
    validate_allocation(problem, allocation)
    current = _utility_vector(problem, allocation)

    def gain(values: tuple[float, ...]) -> float | None:
        diffs = [new - old for new, old in zip(values, current, strict=True)]
        return math.fsum(diffs) if min(diffs, default=0.0) >= 0 else None

    # The allocation itself is feasible, so there is always a maximum.
    best = maximise(problem, gain)
    return best[1] if best is not None else 0.0


def is_pareto_optimal(problem: DivisionProblem, allocation: Allocation) -> bool:
    """True when no allocation is at least as good for every party and better for one.
    Raises DivisionTooLarge past MAX_SPACE."""
    return _best_improvement(problem, allocation) <= 0


def pareto_efficiency(problem: DivisionProblem, allocation: Allocation) -> float:
    """Property pareto_efficiency: joint utility left on the table by a Pareto improvement.

    magnitude = max, over allocations that give every party at least its utility here and some
    party strictly more, of the sum of utility gains, divided by the best joint utility of the
    divisible units (best_joint_utility minus the fixed utilities; 1 if that is <= 0).
    0 iff Pareto-efficient. In [0, 1] when weights are non-negative. Exact on the discrete
    space; raises DivisionTooLarge past MAX_SPACE.
    """
    gain = _best_improvement(problem, allocation)
    pool = _pool_value(problem)
    return round(gain / (pool if pool > SATISFIED_TOLERANCE else 1.0), 9)


def _bundle_value(
    problem: DivisionProblem, viewer: str, holder: str, allocation: Allocation
) -> float:
    value = 0.0
    for dim in problem.dimensions:
        value += problem.weight(viewer, dim) * allocation[dim][holder]
    return value


def _scale(problem: DivisionProblem, party: str) -> float:
    scale = 0.0
    for dim in problem.dimensions:
        scale += abs(problem.weight(party, dim)) * problem.units[dim]
    return max(SATISFIED_TOLERANCE, scale)


def envy_freeness(problem: DivisionProblem, allocation: Allocation) -> float:
    """Property envy_freeness: no party prefers another's bundle to its own.

    v_i(B) = sum over divisible dimensions of weight[i][d] * B[d] (fixed utility excluded).
    envy(i, j) = v_i(bundle_j) - v_i(bundle_i).
    magnitude = max(0, max over i != j of envy(i, j) / max(1e-9, sum_d |weight[i][d]| * units[d])).
    With non-negative weights the denominator is v_i of the whole pool. In [0, 1].
    """
    validate_allocation(problem, allocation)
    worst = 0.0
    for viewer in problem.parties:
        own = _bundle_value(problem, viewer, viewer, allocation)
        for holder in problem.parties:
            if holder != viewer:
                envy = _bundle_value(problem, viewer, holder, allocation) - own
                worst = max(worst, envy / _scale(problem, viewer))
    return round(worst, 9)


PROPERTIES: Mapping[str, Property] = MappingProxyType(
    {
        "needs_coverage": needs_coverage,
        "proportionality": proportionality,
        "equal_split": equal_split,
        "pareto_efficiency": pareto_efficiency,
        "envy_freeness": envy_freeness,
    }
)
"""Fairness properties by the id rationales cite."""


@dataclass(frozen=True)
class PropertyMeasure:
    """One property's magnitude (rounded to 9 places) and whether it counts as satisfied."""

    property: str
    magnitude: float
    satisfied: bool


def measure(
    problem: DivisionProblem, allocation: Allocation, property_ids: Iterable[str]
) -> tuple[PropertyMeasure, ...]:
    """Measure the named properties, in the order given. Unknown id -> KeyError naming it."""
    results: list[PropertyMeasure] = []
    for property_id in property_ids:
        if property_id not in PROPERTIES:
            raise KeyError(f"unknown fairness property {property_id!r}")
        magnitude = round(PROPERTIES[property_id](problem, allocation), 9)
        results.append(PropertyMeasure(property_id, magnitude, magnitude <= SATISFIED_TOLERANCE))
    return tuple(results)


def nash_point(problem: DivisionProblem) -> Allocation:
    """The allocation the "nash" fallback would impose (see fallback.nash_bargaining)."""
    return nash_bargaining(problem).allocation
