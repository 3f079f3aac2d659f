"""The discrete division problem: validation, enumeration, counting, the size guard."""

from __future__ import annotations

import copy
import math
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from valuesneg.core.division import (
    MAX_SPACE,
    DivisionProblem,
    DivisionTooLarge,
    Objective,
    allocations,
    check_space,
    compositions,
    maximise,
    space_size,
    utility,
    validate_allocation,
)


def casino() -> DivisionProblem:
    return DivisionProblem(
        parties=("a", "b"),
        units={"food": 3, "water": 3, "firewood": 3},
        weights={
            "a": {"food": 5, "water": 4, "firewood": 3},
            "b": {"food": 3, "water": 5, "firewood": 4},
        },
    )


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"parties": ("a", "a"), "units": {"x": 1}}, "parties"),
        ({"parties": (), "units": {"x": 1}}, "parties"),
        ({"parties": ("a", ""), "units": {"x": 1}}, "parties"),
        ({"parties": "ab", "units": {"x": 1}}, "parties"),
        ({"parties": ("a",), "units": {"x": -1}}, "units"),
        ({"parties": ("a",), "units": {"x": 1.5}}, "units"),
        ({"parties": ("a",), "units": {"x": True}}, "units"),
        ({"parties": ("a",), "units": {"x": 1}, "weights": {"zed": {"x": 1.0}}}, "weights"),
        ({"parties": ("a",), "units": {"x": 1}, "weights": {"a": {"y": 1.0}}}, "weights"),
        ({"parties": ("a",), "units": {"x": 1}, "weights": {"a": {"x": math.nan}}}, "weights"),
        ({"parties": ("a",), "units": {"x": 1}, "weights": {"a": {"x": math.inf}}}, "weights"),
        ({"parties": ("a",), "units": {"x": 1}, "fixed_utility": {"zed": 1.0}}, "fixed_utility"),
        ({"parties": ("a",), "units": {"x": 1}, "disagreement": {"zed": 1.0}}, "disagreement"),
        ({"parties": ("a",), "units": {"x": 1}, "disagreement": {"a": "1"}}, "disagreement"),
        ({"parties": ("a",), "units": {"x": 1}, "needs": {"zed": {"x": 1}}}, "needs"),
        ({"parties": ("a",), "units": {"x": 1}, "needs": {"a": {"x": -1}}}, "needs"),
        ({"parties": ("a",), "units": {"x": 1}, "needs": {"a": {"y": 1}}}, "needs"),
        ({"parties": ("a",), "units": {"x": 1}, "contributions": {"a": -0.5}}, "contributions"),
        ({"parties": ("a",), "units": {"x": 1}, "contributions": {"zed": 1.0}}, "contributions"),
    ],
)
def test_malformed_problem_names_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field}:"):
        DivisionProblem(**kwargs)  # type: ignore[arg-type]


def test_problem_keeps_a_private_copy_and_survives_pickle_and_deepcopy() -> None:
    weights = {"a": {"x": 1.0}}
    problem = DivisionProblem(parties=("a", "b"), units={"x": 2}, weights=weights)
    weights["a"]["x"] = 99.0
    weights["b"] = {"x": 5.0}
    assert problem.weight("a", "x") == 1.0
    assert problem.weight("b", "x") == 0.0
    assert pickle.loads(pickle.dumps(problem)) == problem
    assert copy.deepcopy(problem) == problem


def test_missing_entries_count_as_zero() -> None:
    problem = DivisionProblem(parties=("a", "b"), units={"x": 2})
    assert (problem.weight("a", "x"), problem.need("b", "x")) == (0.0, 0)
    assert (problem.fixed("a"), problem.reservation("a"), problem.contribution("b")) == (0, 0, 0)


def test_dimensions_are_sorted_whatever_the_insertion_order() -> None:
    problem = DivisionProblem(parties=("a",), units={"water": 1, "food": 1, "firewood": 1})
    assert problem.dimensions == ("firewood", "food", "water")


def test_equal_problems_regardless_of_insertion_order() -> None:
    reordered = DivisionProblem(
        parties=("a", "b"),
        units={"water": 3, "firewood": 3, "food": 3},
        weights={
            "b": {"water": 5, "firewood": 4, "food": 3},
            "a": {"firewood": 3, "water": 4, "food": 5},
        },
    )
    assert reordered == casino()


@pytest.mark.parametrize(
    "allocation",
    [
        {"x": {"a": 1, "b": 1}},  # a dimension is missing
        {"x": {"a": 2, "b": 0}, "y": {"a": 1}},  # a party is missing
        {"x": {"a": 2, "b": 0}, "y": {"a": 1, "b": 1}},  # y sums to 2, not 1
        {"x": {"a": 3, "b": -1}, "y": {"a": 1, "b": 0}},  # negative units
        {"x": {"a": 2, "b": 0}, "y": {"a": 1, "b": 0}, "z": {"a": 0, "b": 0}},  # unknown dim
    ],
)
def test_malformed_allocation_is_refused(allocation: dict[str, dict[str, int]]) -> None:
    problem = DivisionProblem(parties=("a", "b"), units={"x": 2, "y": 1})
    with pytest.raises(ValueError, match=r"^allocation:"):
        validate_allocation(problem, allocation)


# --- utility, enumeration, counting -----------------------------------------------------------


def test_utility_is_fixed_plus_weighted_units() -> None:
    problem = DivisionProblem(
        parties=("a", "b"),
        units={"x": 3, "y": 2},
        weights={"a": {"x": 2.5, "y": -1.0}},
        fixed_utility={"a": 10.0},
    )
    allocation = {"x": {"a": 2, "b": 1}, "y": {"a": 1, "b": 1}}
    assert utility(problem, allocation, "a") == 10.0 + 5.0 - 1.0
    assert utility(problem, allocation, "b") == 0.0


def test_utility_is_rounded_to_nine_places() -> None:
    problem = DivisionProblem(parties=("a",), units={"x": 3}, weights={"a": {"x": 0.1}})
    assert utility(problem, {"x": {"a": 3}}, "a") == 0.3  # 0.1 * 3 is 0.30000000000000004


def test_compositions_run_lexicographically_descending() -> None:
    assert list(compositions(2, 2)) == [(2, 0), (1, 1), (0, 2)]
    assert list(compositions(2, 3)) == [
        (2, 0, 0), (1, 1, 0), (1, 0, 1), (0, 2, 0), (0, 1, 1), (0, 0, 2),
    ]  # fmt: skip


def test_allocations_order_first_dimension_slowest() -> None:
    problem = DivisionProblem(parties=("a", "b"), units={"y": 1, "x": 1})
    assert list(allocations(problem)) == [
        {"x": {"a": 1, "b": 0}, "y": {"a": 1, "b": 0}},
        {"x": {"a": 1, "b": 0}, "y": {"a": 0, "b": 1}},
        {"x": {"a": 0, "b": 1}, "y": {"a": 1, "b": 0}},
        {"x": {"a": 0, "b": 1}, "y": {"a": 0, "b": 1}},
    ]


def test_no_dimensions_means_one_empty_allocation() -> None:
    problem = DivisionProblem(parties=("a", "b"), units={})
    assert list(allocations(problem)) == [{}]
    assert space_size(problem) == 1


@settings(max_examples=60, deadline=None)
@given(
    parties=st.integers(1, 4),
    units=st.lists(st.integers(0, 4), min_size=0, max_size=3),
)
def test_space_size_counts_exactly_what_allocations_enumerates(
    parties: int, units: list[int]
) -> None:
    problem = DivisionProblem(
        parties=tuple(f"p{i}" for i in range(parties)),
        units={f"d{i}": u for i, u in enumerate(units)},
    )
    listed = list(allocations(problem))
    assert space_size(problem) == len(listed)
    assert len({repr(a) for a in listed}) == len(listed)  # no repeats
    for allocation in listed:
        validate_allocation(problem, allocation)


def test_space_size_is_combinatorial_not_enumerated() -> None:
    problem = DivisionProblem(
        parties=tuple(f"p{i}" for i in range(10)), units={f"d{i}": 100 for i in range(10)}
    )
    assert space_size(problem) == math.comb(109, 9) ** 10


# --- the size guard ---------------------------------------------------------------------------


def test_guard_allows_exactly_max_space() -> None:
    at_limit = DivisionProblem(parties=("a", "b"), units={"x": MAX_SPACE - 1})
    assert space_size(at_limit) == MAX_SPACE
    check_space(at_limit)


def test_guard_refuses_past_max_space() -> None:
    past = DivisionProblem(parties=("a", "b"), units={"x": MAX_SPACE})
    with pytest.raises(DivisionTooLarge) as caught:
        maximise(past, lambda values: values[0])
    assert caught.value.size == MAX_SPACE + 1
    assert caught.value.limit == MAX_SPACE
    assert isinstance(caught.value, ValueError)


# --- the exact maximiser ----------------------------------------------------------------------


def test_maximise_keeps_the_first_of_tied_maximisers() -> None:
    # Everyone values x alike, so every allocation ties on the joint utility 2.
    problem = DivisionProblem(
        parties=("a", "b"), units={"x": 2}, weights={"a": {"x": 1.0}, "b": {"x": 1.0}}
    )
    best = maximise(problem, lambda values: values[0] + values[1])
    assert best is not None
    assert best[0].choice == ((2, 0),)
    assert best[1] == 2.0


def test_maximise_returns_none_when_nothing_is_feasible() -> None:
    assert maximise(casino(), lambda values: None) is None


weights_st = st.one_of(
    st.integers(-2, 6).map(float),
    st.sampled_from([0.0, 0.1, 0.2, 1 / 3, 1e-10, 2e-10, 2.5]),
)


@st.composite
def small_problems(draw: st.DrawFn) -> DivisionProblem:
    count = draw(st.integers(1, 3))
    parties = tuple(draw(st.permutations(["p", "q", "r"]))[:count])
    units = draw(st.dictionaries(st.sampled_from(["x", "y", "z"]), st.integers(0, 3)))
    weights = {p: {d: draw(weights_st) for d in units} for p in parties}
    fixed = {p: draw(weights_st) for p in parties}
    return DivisionProblem(parties=parties, units=units, weights=weights, fixed_utility=fixed)


@settings(max_examples=150, deadline=None)
@given(problem=small_problems(), which=st.integers(0, 2))
def test_maximise_equals_brute_force(problem: DivisionProblem, which: int) -> None:
    objectives: list[Objective] = [
        lambda us: math.fsum(us),
        lambda us: math.prod(us) if min(us) > 0 else None,
        lambda us: min(us) if us[0] >= 1 else None,
    ]
    objective = objectives[which]
    expected = None
    for allocation in allocations(problem):
        value = objective(tuple(utility(problem, allocation, p) for p in problem.parties))
        if value is not None and (expected is None or value > expected[1]):
            expected = (allocation, value)
    found = maximise(problem, objective)
    if expected is None:
        assert found is None
    else:
        assert found is not None
        assert found[1] == expected[1]
        chosen = {
            d: dict(zip(problem.parties, c, strict=True))
            for d, c in zip(problem.dimensions, found[0].choice, strict=True)
        }
        assert chosen == expected[0]
