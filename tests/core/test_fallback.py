"""Fallback mechanisms: hand-computed answers, brute-force equality, determinism."""

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
from valuesneg.core.fallback import (
    FALLBACKS,
    FallbackResult,
    equal_split,
    nash_bargaining,
    priority_rule,
)

CASINO_WEIGHTS = {
    "a": {"food": 5.0, "water": 4.0, "firewood": 3.0},
    "b": {"food": 3.0, "water": 5.0, "firewood": 4.0},
}


def casino(**extra: object) -> DivisionProblem:
    return DivisionProblem(
        parties=("a", "b"),
        units={"food": 3, "water": 3, "firewood": 3},
        weights=CASINO_WEIGHTS,
        **extra,  # type: ignore[arg-type]
    )


def rows(**dims: tuple[int, ...]) -> Allocation:
    """rows(food=(3, 0)) -> {"food": {"a": 3, "b": 0}} for parties a, b(, c)."""
    return {d: dict(zip("abc", units, strict=False)) for d, units in dims.items()}


# --- Nash bargaining, by hand -----------------------------------------------------------------


def test_nash_casino_by_hand() -> None:
    # a values food 5, water 4, firewood 3; b values them 3, 5, 4. Ratios a/b: food 5/3,
    # water 4/5, firewood 3/4, so the Pareto path hands a food first, then water, then
    # firewood. Along it (u_a, u_b, product): food 3 -> (15, 27) 405; + water 1 -> (19, 22)
    # 418; + water 2 -> (23, 17) 391. Off-path points are lower (food 3 + firewood 1:
    # (18, 23) 414). So a: food 3, water 1; b: water 2, firewood 3; product 418.
    result = nash_bargaining(casino())
    assert result.mechanism == "nash"
    assert result.allocation == rows(food=(3, 0), water=(1, 2), firewood=(0, 3))
    assert result.utilities == {"a": 19.0, "b": 22.0}
    assert result.detail == (("branch", "nash_product"), ("nash_product", 418.0))


def test_nash_with_reservation_values_by_hand() -> None:
    # Disagreement a 20, b 10: maximise (u_a - 20)(u_b - 10) with u_a > 20, u_b > 10.
    # food 3 + water 2 -> (23, 17): 3 * 7 = 21. Rivals: food 3 + water 1 + firewood 2
    # -> (25, 14): 20; food 3 + firewood 3 -> (24, 15): 20; food 3 + water 3 -> (27, 12): 14;
    # food 3 + water 2 + firewood 1 -> (26, 13): 18. The reservation pulls water toward a.
    result = nash_bargaining(casino(disagreement={"a": 20.0, "b": 10.0}))
    assert result.allocation == rows(food=(3, 0), water=(2, 1), firewood=(0, 3))
    assert result.utilities == {"a": 23.0, "b": 17.0}
    assert result.detail == (("branch", "nash_product"), ("nash_product", 21.0))


def test_nash_falls_back_to_max_sum_when_no_strict_gain_exists() -> None:
    # Disagreement a 27, b 12 is itself the Pareto point food 3 + water 3 for a, (27, 12):
    # a gets more only by giving b firewood's 4/unit for 3/unit, so nobody can beat both
    # strictly. The only allocation meeting both weakly is (27, 12): sum 39.
    result = nash_bargaining(casino(disagreement={"a": 27.0, "b": 12.0}))
    assert result.allocation == rows(food=(3, 0), water=(3, 0), firewood=(0, 3))
    assert result.detail == (("branch", "max_sum"), ("joint_utility", 39.0))


def test_nash_falls_back_to_equal_split_when_reservations_are_out_of_reach() -> None:
    # a >= 30 forces a to hold firewood or cede food, leaving b at most 8 < 10.
    problem = casino(disagreement={"a": 30.0, "b": 10.0})
    result = nash_bargaining(problem)
    assert result.allocation == equal_split(problem).allocation
    assert result.utilities == {"a": 24.0, "b": 12.0}
    assert result.detail == (("branch", "equal_split"),)


def test_nash_three_parties_with_ties_by_hand() -> None:
    # x: 3 units, y: 2. a values x 2, y 1; b values x 1, y 3; c values x 1, y 1.
    # Product 24 is the maximum and is reached three ways: x (2,0,1) y (0,2,0) -> (4, 6, 1);
    # x (2,0,1) y (0,1,1) -> (4, 3, 2); x (1,0,2) y (0,2,0) -> (2, 6, 2). Compositions run
    # lexicographically descending and x varies slowest, so the first is chosen. Earlier
    # x rows fall short: x (3,0,0) at best 18 (y (0,1,1)); x (2,1,0) at best 16.
    problem = DivisionProblem(
        parties=("a", "b", "c"),
        units={"x": 3, "y": 2},
        weights={"a": {"x": 2, "y": 1}, "b": {"x": 1, "y": 3}, "c": {"x": 1, "y": 1}},
    )
    result = nash_bargaining(problem)
    assert result.allocation == rows(x=(2, 0, 1), y=(0, 2, 0))
    assert result.utilities == {"a": 4.0, "b": 6.0, "c": 1.0}
    assert result.detail == (("branch", "nash_product"), ("nash_product", 24.0))
    tied = [rows(x=(2, 0, 1), y=(0, 1, 1)), rows(x=(1, 0, 2), y=(0, 2, 0))]
    for other in tied:
        assert math.prod(utility(problem, other, p) for p in problem.parties) == 24.0


def test_nash_counts_fixed_utility() -> None:
    # a already holds 20 from indivisible scope: with disagreement 0, a's factor is 20 + 5f
    # and b's 3(3 - f) on one food dimension. f = 0: 20 * 9 = 180; f = 1: 25 * 6 = 150.
    problem = DivisionProblem(
        parties=("a", "b"),
        units={"food": 3},
        weights={"a": {"food": 5}, "b": {"food": 3}},
        fixed_utility={"a": 20.0},
    )
    result = nash_bargaining(problem)
    assert result.allocation == rows(food=(0, 3))
    assert result.utilities == {"a": 20.0, "b": 9.0}


# --- equal split and priority, by hand --------------------------------------------------------


def test_equal_split_casino_by_hand() -> None:
    # 3 units, 2 parties: one each, the remainder unit to a (priority order) in every dim.
    result = equal_split(casino())
    assert result.mechanism == "equal_split"
    assert result.allocation == rows(firewood=(2, 1), food=(2, 1), water=(2, 1))
    assert result.utilities == {"a": 24.0, "b": 12.0}
    assert result.detail == (("remainder_units", 3),)


def test_equal_split_three_parties_by_hand() -> None:
    problem = DivisionProblem(parties=("c", "a", "b"), units={"x": 3, "y": 2, "z": 7})
    result = equal_split(problem)
    assert result.allocation == {
        "x": {"c": 1, "a": 1, "b": 1},
        "y": {"c": 1, "a": 1, "b": 0},
        "z": {"c": 3, "a": 2, "b": 2},
    }
    assert result.detail == (("remainder_units", 3),)


def test_priority_rule_casino_by_hand() -> None:
    # Needs: a water 2; b water 2, food 1. firewood: no needs, all 3 to a (first positive
    # weight). food: b takes its 1, the 2 left go to a. water: a takes 2, b gets the 1 left
    # (1 unmet). u_a = 3*3 + 5*2 + 4*2 = 27, u_b = 3*1 + 5*1 = 8.
    problem = casino(needs={"a": {"water": 2}, "b": {"water": 2, "food": 1}})
    result = priority_rule(problem)
    assert result.mechanism == "priority"
    assert result.allocation == rows(firewood=(3, 0), food=(2, 1), water=(2, 1))
    assert result.utilities == {"a": 27.0, "b": 8.0}
    assert result.detail == (("unmet_need", 1),)


def test_priority_leftover_skips_parties_that_do_not_want_it() -> None:
    problem = DivisionProblem(
        parties=("a", "b", "c"),
        units={"x": 4, "y": 2},
        weights={"a": {"x": 0.0, "y": -1.0}, "b": {"x": 2.0}, "c": {"x": 1.0}},
        needs={"c": {"x": 1}},
    )
    result = priority_rule(problem)
    # x: c needs 1; the 3 left go to b, the first with a positive weight. y: nobody wants
    # it, so it goes to the first party.
    assert result.allocation == rows(x=(0, 3, 1), y=(2, 0, 0))
    assert result.detail == (("unmet_need", 0),)


def test_fallbacks_are_keyed_by_mechanism_id() -> None:
    assert set(FALLBACKS) == {"nash", "equal_split", "priority"}
    problem = casino(needs={"b": {"food": 1}})
    for mechanism, fallback in FALLBACKS.items():
        assert fallback(problem).mechanism == mechanism
    assert FALLBACKS["nash"](problem) == nash_bargaining(problem)
    assert FALLBACKS["equal_split"](problem) == equal_split(problem)
    assert FALLBACKS["priority"](problem) == priority_rule(problem)


# --- Nash equals brute force ------------------------------------------------------------------


def brute_force_nash(problem: DivisionProblem) -> tuple[Allocation, str]:
    """The definition, written plainly: first maximiser in allocations() order."""
    best: tuple[Allocation, float] | None = None
    for allocation in allocations(problem):
        gains = [utility(problem, allocation, p) - problem.reservation(p) for p in problem.parties]
        if all(g > 0 for g in gains):
            product = 1.0
            for g in gains:
                product *= g
            if best is None or product > best[1]:
                best = (allocation, product)
    if best is not None:
        return best[0], "nash_product"
    for allocation in allocations(problem):
        values = [utility(problem, allocation, p) for p in problem.parties]
        if all(v >= problem.reservation(p) for v, p in zip(values, problem.parties, strict=True)):
            total = math.fsum(values)
            if best is None or total > best[1]:
                best = (allocation, total)
    if best is not None:
        return best[0], "max_sum"
    return equal_split(problem).allocation, "equal_split"


numbers = st.one_of(
    st.integers(-1, 6).map(float),
    st.sampled_from([0.0, 0.5, 0.1, 1 / 3, 1e-10, 3e-10]),
)


@st.composite
def tiny_problems(draw: st.DrawFn) -> DivisionProblem:
    count = draw(st.integers(1, 3))
    parties = tuple(draw(st.permutations(["p", "q", "r"]))[:count])
    units = draw(st.dictionaries(st.sampled_from(["x", "y", "z"]), st.integers(0, 3)))
    return DivisionProblem(
        parties=parties,
        units=units,
        weights={p: {d: draw(numbers) for d in units} for p in parties},
        fixed_utility={p: draw(numbers) for p in parties if draw(st.booleans())},
        disagreement={p: draw(st.integers(-2, 12).map(float)) for p in parties},
    )


@settings(max_examples=200, deadline=None)
@given(problem=tiny_problems())
def test_nash_equals_brute_force(problem: DivisionProblem) -> None:
    allocation, branch = brute_force_nash(problem)
    result = nash_bargaining(problem)
    assert result.allocation == allocation
    assert dict(result.detail)["branch"] == branch
    assert result.utilities == {p: utility(problem, allocation, p) for p in problem.parties}


# --- determinism and the guard ----------------------------------------------------------------


def reversed_casino() -> DivisionProblem:
    flipped = {p: dict(reversed(list(w.items()))) for p, w in reversed(CASINO_WEIGHTS.items())}
    return DivisionProblem(
        parties=("a", "b"),
        units={"water": 3, "food": 3, "firewood": 3},
        weights=flipped,
        needs={"b": {"water": 2, "food": 1}, "a": {"water": 2}},
        disagreement={"b": 1.0, "a": 2.0},
    )


@pytest.mark.parametrize("mechanism", sorted(FALLBACKS))
def test_fallbacks_are_deterministic_and_ignore_insertion_order(mechanism: str) -> None:
    ordered = casino(
        needs={"a": {"water": 2}, "b": {"food": 1, "water": 2}},
        disagreement={"a": 2.0, "b": 1.0},
    )
    first: FallbackResult = FALLBACKS[mechanism](ordered)
    assert FALLBACKS[mechanism](ordered) == first
    again = FALLBACKS[mechanism](reversed_casino())
    assert again == first
    assert list(again.allocation) == list(first.allocation) == ["firewood", "food", "water"]
    assert repr(again) == repr(first)


def test_nash_refuses_a_space_past_the_guard() -> None:
    problem = DivisionProblem(
        parties=("a", "b"), units={"x": MAX_SPACE}, weights={"a": {"x": 1}, "b": {"x": 1}}
    )
    with pytest.raises(DivisionTooLarge):
        nash_bargaining(problem)
    # The closed-form mechanisms have no such limit.
    assert equal_split(problem).allocation == {"x": {"a": MAX_SPACE // 2, "b": MAX_SPACE // 2}}
    assert priority_rule(problem).allocation == {"x": {"a": MAX_SPACE, "b": 0}}
