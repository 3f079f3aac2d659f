"""Fairness properties: hand-computed magnitudes, brute-force Pareto checks, measure()."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from valuesneg.core.division import (
    MAX_SPACE,
    Allocation,
    DivisionProblem,
    DivisionTooLarge,
    allocations,
    utility,
)
from valuesneg.core.fairness import (
    PROPERTIES,
    PropertyMeasure,
    best_joint_utility,
    envy_freeness,
    equal_split,
    is_pareto_optimal,
    measure,
    nash_point,
    needs_coverage,
    pareto_efficiency,
    proportionality,
)
from valuesneg.core.fallback import nash_bargaining


def casino(**extra: object) -> DivisionProblem:
    # a values food 5, water 4, firewood 3; b values them 3, 5, 4.
    return DivisionProblem(
        parties=("a", "b"),
        units={"food": 3, "water": 3, "firewood": 3},
        weights={
            "a": {"food": 5.0, "water": 4.0, "firewood": 3.0},
            "b": {"food": 3.0, "water": 5.0, "firewood": 4.0},
        },
        **extra,  # type: ignore[arg-type]
    )


def rows(**dims: tuple[int, ...]) -> Allocation:
    return {d: dict(zip("abc", units, strict=False)) for d, units in dims.items()}


NASH = rows(food=(3, 0), water=(1, 2), firewood=(0, 3))  # utilities (19, 22)
EVEN = rows(food=(2, 1), water=(2, 1), firewood=(2, 1))  # utilities (24, 12)
ALL_TO_A = rows(food=(3, 0), water=(3, 0), firewood=(3, 0))


# --- needs_coverage ---------------------------------------------------------------------------


def test_needs_coverage_by_hand() -> None:
    # Needs: a water 1; b water 2, food 1 (4 in all). NASH gives b no food: 1 of 4 unmet.
    problem = casino(needs={"a": {"water": 1}, "b": {"water": 2, "food": 1}})
    assert needs_coverage(problem, NASH) == 0.25
    assert needs_coverage(problem, rows(food=(2, 1), water=(1, 2), firewood=(3, 0))) == 0.0
    assert needs_coverage(problem, ALL_TO_A) == 0.75  # b's 3 units all unmet


def test_needs_coverage_is_zero_without_declared_needs() -> None:
    assert needs_coverage(casino(), ALL_TO_A) == 0.0


# --- proportionality --------------------------------------------------------------------------


def test_proportionality_by_hand() -> None:
    # Contributions 2 : 1 on 3 units: shares exactly 2 and 1 in every dimension.
    problem = casino(contributions={"a": 2.0, "b": 1.0})
    assert proportionality(problem, EVEN) == 0.0
    # NASH: firewood (0, 3) is 2 units off both shares: 2 / 3.
    assert proportionality(problem, NASH) == 0.666666667


def test_proportionality_allows_either_rounding_of_a_fractional_share() -> None:
    problem = casino(contributions={"a": 1.0, "b": 1.0})  # shares 1.5: 1 or 2 is fine
    assert proportionality(problem, EVEN) == 0.0
    assert proportionality(problem, rows(food=(1, 2), water=(2, 1), firewood=(1, 2))) == 0.0
    assert proportionality(problem, NASH) == 0.333333333  # 3 vs ceil 2: 1 unit of 3


def test_proportionality_uses_exact_shares() -> None:
    # 0.1 : 0.2 on 3 units is exactly 1 : 2; float arithmetic would make 3 * 0.1 / 0.3 != 1.
    problem = casino(contributions={"a": 0.1, "b": 0.2})
    assert proportionality(problem, rows(food=(1, 2), water=(1, 2), firewood=(1, 2))) == 0.0


def test_proportionality_is_zero_without_contributions() -> None:
    assert proportionality(casino(), ALL_TO_A) == 0.0
    # A zero contribution is owed nothing.
    assert proportionality(casino(contributions={"a": 4.0}), ALL_TO_A) == 0.0


# --- equal_split ------------------------------------------------------------------------------


def test_equal_split_by_hand() -> None:
    problem = casino()
    assert equal_split(problem, EVEN) == 0.0
    # food (3, 0) and firewood (0, 3): a spread of 3 is 2 past the allowed 1, over 3 units.
    assert equal_split(problem, NASH) == 0.666666667
    odd = DivisionProblem(parties=("a", "b", "c"), units={"x": 4, "y": 0})
    assert equal_split(odd, rows(x=(2, 1, 1), y=(0, 0, 0))) == 0.0
    assert equal_split(odd, rows(x=(3, 1, 0), y=(0, 0, 0))) == 0.5  # spread 3 - 1 = 2 of 4


# --- pareto_efficiency ------------------------------------------------------------------------


def test_pareto_efficiency_by_hand() -> None:
    # EVEN gives (24, 12). Joint utility is at most 42 (each unit to whoever values it most:
    # a food 15, b water 15 and firewood 12). From (24, 12), keeping a >= 24 and b >= 12:
    # food is a's (+2 joint per unit vs b); each water unit a keeps adds 4 to a but costs 1
    # joint, each firewood unit 3 and 1. a needs 24 - 15 = 9 more, so 3 such units: best
    # joint 39, gain 3 (e.g. food 3 + water 3 for a: (27, 12)). 3 / 42.
    problem = casino()
    assert pareto_efficiency(problem, EVEN) == 0.071428571
    assert not is_pareto_optimal(problem, EVEN)
    assert pareto_efficiency(problem, NASH) == 0.0
    assert is_pareto_optimal(problem, NASH)


def test_pareto_magnitude_ignores_fixed_utility() -> None:
    problem = casino(fixed_utility={"a": 100.0})
    assert best_joint_utility(problem) == 142.0
    assert pareto_efficiency(problem, EVEN) == 0.071428571


def test_weak_improvement_counts_as_pareto_gain() -> None:
    # b does not care about x: moving it to a helps a and costs b nothing.
    problem = DivisionProblem(parties=("a", "b"), units={"x": 2}, weights={"a": {"x": 1.0}})
    assert not is_pareto_optimal(problem, rows(x=(1, 1)))
    assert pareto_efficiency(problem, rows(x=(1, 1))) == 0.5
    assert is_pareto_optimal(problem, rows(x=(2, 0)))


def brute_gain(problem: DivisionProblem, allocation: Allocation) -> float:
    current = [utility(problem, allocation, p) for p in problem.parties]
    best = 0.0
    for other in allocations(problem):
        diffs = [
            utility(problem, other, p) - c for p, c in zip(problem.parties, current, strict=True)
        ]
        if min(diffs) >= 0 and max(diffs) > 0:
            best = max(best, math.fsum(diffs))
    return best


@st.composite
def problem_and_allocation(draw: st.DrawFn) -> tuple[DivisionProblem, Allocation]:
    count = draw(st.integers(1, 3))
    parties = tuple(["p", "q", "r"][:count])
    units = draw(st.dictionaries(st.sampled_from(["x", "y", "z"]), st.integers(0, 3)))
    weight = st.one_of(st.integers(0, 5).map(float), st.sampled_from([0.5, 0.1, 1 / 3]))
    problem = DivisionProblem(
        parties=parties,
        units=units,
        weights={p: {d: draw(weight) for d in units} for p in parties},
        fixed_utility={p: draw(weight) for p in parties},
    )
    every = list(allocations(problem))
    return problem, every[draw(st.integers(0, len(every) - 1))]


@settings(max_examples=150, deadline=None)
@given(case=problem_and_allocation())
def test_pareto_equals_brute_force(case: tuple[DivisionProblem, Allocation]) -> None:
    problem, allocation = case
    gain = brute_gain(problem, allocation)
    # utility() rounds to 9 places and fixed() does not, so the pool here carries up to
    # ~1e-9 per party of rounding; divided by a pool as small as 0.1 that is ~1e-8.
    pool = max(
        math.fsum(utility(problem, a, p) - problem.fixed(p) for p in problem.parties)
        for a in allocations(problem)
    )
    assert is_pareto_optimal(problem, allocation) == (gain == 0)
    expected = gain / (pool if pool > 1e-9 else 1.0)
    assert pareto_efficiency(problem, allocation) == pytest.approx(expected, abs=5e-8)
    joint = max(
        math.fsum(utility(problem, a, p) for p in problem.parties) for a in allocations(problem)
    )
    assert best_joint_utility(problem) == pytest.approx(joint, abs=2e-9)


def test_pareto_refuses_a_space_past_the_guard() -> None:
    problem = DivisionProblem(parties=("a", "b"), units={"x": MAX_SPACE})
    allocation = {"x": {"a": MAX_SPACE, "b": 0}}
    with pytest.raises(DivisionTooLarge):
        pareto_efficiency(problem, allocation)
    with pytest.raises(DivisionTooLarge):
        is_pareto_optimal(problem, allocation)
    assert best_joint_utility(problem) == 0.0  # closed form: no search needed


# --- envy_freeness ----------------------------------------------------------------------------


def test_envy_freeness_by_hand() -> None:
    problem = casino()
    # NASH: a holds food 3 + water 1 (19 to a); b's bundle is worth 4*2 + 3*3 = 17 to a.
    # b holds water 2 + firewood 3 (22 to b); a's bundle is worth 3*3 + 5 = 14 to b.
    assert envy_freeness(problem, NASH) == 0.0
    # EVEN: b holds one of each (12 to b) and a's bundle is worth 24 to b: envy 12 over b's
    # value of the whole pool, 3 * (3 + 5 + 4) = 36.
    assert envy_freeness(problem, EVEN) == 0.333333333
    # ALL_TO_A: b's envy is its whole pool value.
    assert envy_freeness(problem, ALL_TO_A) == 1.0


def test_envy_ignores_fixed_utility_and_indifferent_parties() -> None:
    problem = DivisionProblem(
        parties=("a", "b"), units={"x": 2}, weights={"a": {"x": 1.0}}, fixed_utility={"b": -50}
    )
    assert envy_freeness(problem, rows(x=(2, 0))) == 0.0  # b values nothing in the pool
    assert envy_freeness(problem, rows(x=(0, 2))) == 1.0  # a would rather hold b's 2


# --- measure ----------------------------------------------------------------------------------


def test_measure_in_the_order_given() -> None:
    problem = casino(needs={"a": {"water": 1}, "b": {"water": 2, "food": 1}})
    ids = ["envy_freeness", "needs_coverage", "equal_split", "pareto_efficiency"]
    assert measure(problem, NASH, ids) == (
        PropertyMeasure("envy_freeness", 0.0, True),
        PropertyMeasure("needs_coverage", 0.25, False),
        PropertyMeasure("equal_split", 0.666666667, False),
        PropertyMeasure("pareto_efficiency", 0.0, True),
    )
    assert measure(problem, NASH, iter([])) == ()


def test_measure_unknown_property_is_a_key_error_naming_it() -> None:
    with pytest.raises(KeyError, match="fair:nope"):
        measure(casino(), NASH, ["needs_coverage", "fair:nope"])


def test_properties_are_keyed_by_id() -> None:
    assert list(PROPERTIES) == [
        "needs_coverage", "proportionality", "equal_split", "pareto_efficiency", "envy_freeness",
    ]  # fmt: skip
    assert PROPERTIES["needs_coverage"] is needs_coverage


@pytest.mark.parametrize("property_id", sorted(PROPERTIES))
def test_properties_refuse_a_malformed_allocation(property_id: str) -> None:
    with pytest.raises(ValueError, match=r"^allocation:"):
        PROPERTIES[property_id](casino(), rows(food=(3, 0), water=(1, 1), firewood=(0, 3)))


@pytest.mark.parametrize("property_id", sorted(PROPERTIES))
def test_properties_are_deterministic_and_ignore_insertion_order(property_id: str) -> None:
    extra = {"needs": {"b": {"food": 1}}, "contributions": {"a": 2.0, "b": 1.0}}
    reordered = DivisionProblem(
        parties=("a", "b"),
        units={"water": 3, "firewood": 3, "food": 3},
        weights={
            "b": {"firewood": 4.0, "water": 5.0, "food": 3.0},
            "a": {"water": 4.0, "firewood": 3.0, "food": 5.0},
        },
        contributions={"b": 1.0, "a": 2.0},
        needs={"b": {"food": 1}},
    )
    allocation = rows(food=(2, 1), water=(3, 0), firewood=(0, 3))
    shuffled = {d: dict(reversed(list(allocation[d].items()))) for d in reversed(allocation)}
    first = PROPERTIES[property_id](casino(**extra), allocation)
    assert PROPERTIES[property_id](casino(**extra), allocation) == first
    assert PROPERTIES[property_id](reordered, shuffled) == first


def test_nash_point_is_the_nash_fallback() -> None:
    problem = casino(disagreement={"a": 20.0, "b": 10.0})
    assert nash_point(problem) == nash_bargaining(problem).allocation


def test_satisfied_means_magnitude_at_most_one_billionth() -> None:
    # On 10^9 units a spread of 2 is 1 past the allowed 1 (1e-9); a spread of 4 is 3e-9.
    problem = DivisionProblem(parties=("a", "b"), units={"x": 10**9})
    at_tolerance = {"x": {"a": 500_000_001, "b": 499_999_999}}
    past_tolerance = {"x": {"a": 500_000_002, "b": 499_999_998}}
    assert measure(problem, at_tolerance, ["equal_split"]) == (
        PropertyMeasure("equal_split", 1e-9, True),
    )
    assert measure(problem, past_tolerance, ["equal_split"]) == (
        PropertyMeasure("equal_split", 3e-9, False),
    )
