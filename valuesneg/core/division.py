"""The discrete division problem: integer units of divisible dimensions shared among parties.

Everything here is pure and deterministic. Iteration always follows a fixed order (dimensions
sorted by id, parties in priority order), so results never depend on the insertion order of the
mappings a caller passes in.
"""

from __future__ import annotations

import bisect
import itertools
import math
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NamedTuple, TypeVar

MAX_SPACE = 2_000_000
"""Largest number of allocations an exact algorithm agrees to search."""

Allocation = dict[str, dict[str, int]]
"""dimension -> party -> units. Every party is present for every dimension."""

_NO_WEIGHTS: Mapping[str, float] = MappingProxyType({})
_NO_NEEDS: Mapping[str, int] = MappingProxyType({})

V = TypeVar("V")


class DivisionTooLarge(ValueError):
    """An exact algorithm was asked to search a space larger than MAX_SPACE."""

    def __init__(self, size: int, limit: int = MAX_SPACE) -> None:
        super().__init__(f"division space has {size} allocations; the limit is {limit}")
        self.size = size
        self.limit = limit


def _frozen(mapping: Mapping[str, V]) -> Mapping[str, V]:
    # A private sorted copy, so that a caller mutating its dict later cannot change the
    # problem. A plain dict, not a MappingProxyType, so that problems pickle and deep-copy.
    return {key: mapping[key] for key in sorted(mapping)}


def _number(name: str, key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name}: {key!r} must be a finite number, got {value!r}")
    return float(value)


def _count(name: str, key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name}: {key!r} must be a non-negative integer, got {value!r}")
    return value


def _check_parties(parties: object) -> tuple[str, ...]:
    if isinstance(parties, str) or not isinstance(parties, tuple | list):
        raise ValueError(f"parties: must be a tuple of party ids, got {parties!r}")
    if not parties:
        raise ValueError("parties: at least one party is required")
    for party in parties:
        if not isinstance(party, str) or not party:
            raise ValueError(f"parties: party ids must be non-empty strings, got {party!r}")
    duplicates = sorted({p for p in parties if parties.count(p) > 1})
    if duplicates:
        raise ValueError(f"parties: duplicate party ids {duplicates!r}")
    return tuple(parties)


@dataclass(frozen=True)
class DivisionProblem:
    """Integer units of divisible dimensions to share among parties.

    `parties` is in priority order (index 0 = highest priority); it also fixes tie-breaks.
    Missing entries of `weights`, `fixed_utility`, `disagreement`, `needs` and `contributions`
    count as 0. Every mapping may mention only known parties and known dimensions. Weights may
    be negative (a burden); needs and contributions may not.
    """

    parties: tuple[str, ...]
    units: Mapping[str, int]
    weights: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    fixed_utility: Mapping[str, float] = field(default_factory=dict)
    disagreement: Mapping[str, float] = field(default_factory=dict)
    needs: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    contributions: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parties", _check_parties(self.parties))
        units = {d: _count("units", d, u) for d, u in self.units.items()}
        object.__setattr__(self, "units", _frozen(units))
        object.__setattr__(self, "weights", self._nested("weights", self.weights, _number))
        object.__setattr__(self, "needs", self._nested("needs", self.needs, _count))
        for name in ("fixed_utility", "disagreement", "contributions"):
            object.__setattr__(self, name, self._flat(name, getattr(self, name)))
        for party, value in self.contributions.items():
            if value < 0:
                raise ValueError(f"contributions: {party!r} must be >= 0, got {value!r}")

    def _known_party(self, name: str, party: object) -> None:
        if party not in self.parties:
            raise ValueError(f"{name}: unknown party {party!r}")

    def _flat(self, name: str, mapping: Mapping[str, float]) -> Mapping[str, float]:
        for party in mapping:
            self._known_party(name, party)
        return _frozen({p: _number(name, p, v) for p, v in mapping.items()})

    def _nested(
        self,
        name: str,
        mapping: Mapping[str, Mapping[str, V]],
        check: Callable[[str, str, object], V],
    ) -> Mapping[str, Mapping[str, V]]:
        rows: dict[str, Mapping[str, V]] = {}
        for party, row in mapping.items():
            self._known_party(name, party)
            for dim in row:
                if dim not in self.units:
                    raise ValueError(f"{name}: {party!r} names unknown dimension {dim!r}")
            rows[party] = _frozen({d: check(name, f"{party}/{d}", v) for d, v in row.items()})
        return _frozen(rows)

    @property
    def dimensions(self) -> tuple[str, ...]:
        """Dimension ids in the fixed (sorted) order every algorithm uses."""
        # `units` was re-keyed in sorted order by __post_init__.
        return tuple(self.units)

    def weight(self, party: str, dimension: str) -> float:
        return self.weights.get(party, _NO_WEIGHTS).get(dimension, 0.0)

    def need(self, party: str, dimension: str) -> int:
        return self.needs.get(party, _NO_NEEDS).get(dimension, 0)

    def fixed(self, party: str) -> float:
        return self.fixed_utility.get(party, 0.0)

    def reservation(self, party: str) -> float:
        return self.disagreement.get(party, 0.0)

    def contribution(self, party: str) -> float:
        return self.contributions.get(party, 0.0)


def validate_allocation(
    problem: DivisionProblem, allocation: Mapping[str, Mapping[str, int]]
) -> None:
    """Raise ValueError unless `allocation` gives every party a count for exactly the problem's
    dimensions and each dimension's counts are non-negative integers summing to its units."""
    if set(allocation) != set(problem.units):
        raise ValueError(f"allocation: dimensions {sorted(allocation)} != {problem.dimensions}")
    for dim in problem.dimensions:
        row = allocation[dim]
        if set(row) != set(problem.parties):
            raise ValueError(f"allocation: {dim!r} must list exactly the parties {problem.parties}")
        for party in problem.parties:
            _count("allocation", f"{dim}/{party}", row[party])
        if sum(row.values()) != problem.units[dim]:
            raise ValueError(
                f"allocation: {dim!r} sums to {sum(row.values())}, not {problem.units[dim]}"
            )


def utility(
    problem: DivisionProblem, allocation: Mapping[str, Mapping[str, int]], party: str
) -> float:
    """Fixed utility plus the weighted units `party` holds, rounded to 9 places.

    The sum runs over dimensions in sorted order starting from the fixed utility; the exact
    algorithms accumulate in the same order, which is what lets them prune yet stay equal to
    brute force.
    """
    total = problem.fixed(party)
    for dim in problem.dimensions:
        total += problem.weight(party, dim) * allocation[dim][party]
    return round(total, 9)


def utilities(
    problem: DivisionProblem, allocation: Mapping[str, Mapping[str, int]]
) -> dict[str, float]:
    """Every party's utility(), in priority order."""
    return {party: utility(problem, allocation, party) for party in problem.parties}


def compositions(total: int, parts: int) -> Iterator[tuple[int, ...]]:
    """Every way to split `total` units among `parts` parties, lexicographically descending.

    Descending means the first composition gives everything to the highest-priority party, so
    "first in enumeration order" tie-breaks favour priority order.
    """
    if parts == 1:
        yield (total,)
        return
    for first in range(total, -1, -1):
        for rest in compositions(total - first, parts - 1):
            yield (first, *rest)


def space_size(problem: DivisionProblem) -> int:
    """Number of allocations, counted combinatorially (stars and bars) without enumerating."""
    bars = len(problem.parties) - 1
    return math.prod(math.comb(problem.units[d] + bars, bars) for d in problem.dimensions)


def check_space(problem: DivisionProblem) -> None:
    """Raise DivisionTooLarge when the space is past MAX_SPACE."""
    size = space_size(problem)
    if size > MAX_SPACE:
        raise DivisionTooLarge(size)


Choice = tuple[tuple[int, ...], ...]
"""Per dimension (sorted), the units of each party (priority order): a compact Allocation."""


def allocation_of(problem: DivisionProblem, choice: Choice) -> Allocation:
    """Expand a compact Choice into an Allocation."""
    return {
        dim: dict(zip(problem.parties, comp, strict=True))
        for dim, comp in zip(problem.dimensions, choice, strict=True)
    }


def allocations(problem: DivisionProblem) -> Iterator[Allocation]:
    """The whole discrete space: the cartesian product, over dimensions sorted by id, of
    compositions() of each dimension's units. The first dimension varies slowest."""
    parts = len(problem.parties)
    per_dim = [list(compositions(problem.units[d], parts)) for d in problem.dimensions]
    for choice in itertools.product(*per_dim):
        yield allocation_of(problem, choice)


_Vector = tuple[float, ...]
_Partial = tuple[_Vector, Choice]

_NINES = itertools.repeat(9)
_SCAN_LIMIT = 16
"""How many kept vectors a dominance query inspects when there are three or more parties."""


class Candidate(NamedTuple):
    """An allocation in compact form with its utilities (rounded, priority order)."""

    utilities: tuple[float, ...]
    choice: Choice


def _dominates(a: _Vector, b: _Vector) -> bool:
    return all(map(operator.ge, a, b))


class _Maxima:
    """Vectors kept so far, by decreasing exact sum, plus a set of them for exact repeats.
    A dominator's sum is at least the dominated vector's (fsum is correctly rounded, hence
    monotone), so a query needs only the head of the list. The scan is capped at `limit`:
    missing a dominator only keeps a candidate that could have been dropped, which costs
    time, never exactness."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._seen: set[_Vector] = set()
        self._keys: list[float] = []
        self._vectors: list[_Vector] = []

    def covers(self, vector: _Vector) -> bool:
        if vector in self._seen:
            return True
        stop = min(self._limit, bisect.bisect_right(self._keys, -math.fsum(vector)))
        return any(_dominates(kept, vector) for kept in itertools.islice(self._vectors, stop))

    def add(self, vector: _Vector) -> None:
        self._seen.add(vector)
        if self._limit:
            key = -math.fsum(vector)
            index = bisect.bisect_right(self._keys, key)
            self._keys.insert(index, key)
            self._vectors.insert(index, vector)


class _Staircase:
    """Exact _Maxima for two parties, O(log n) per query: x ascending and y strictly
    descending, so the first point with x >= a has the largest y among all of them."""

    def __init__(self) -> None:
        self._xs: list[float] = []
        self._neg_ys: list[float] = []

    def covers(self, vector: _Vector) -> bool:
        index = bisect.bisect_left(self._xs, vector[0])
        return index < len(self._xs) and -self._neg_ys[index] >= vector[1]

    def add(self, vector: _Vector) -> None:
        # The points the new one dominates (x <= a and y <= b) form one contiguous run.
        end = bisect.bisect_right(self._xs, vector[0])
        start = bisect.bisect_left(self._neg_ys, -vector[1], 0, end)
        self._xs[start:end] = [vector[0]]
        self._neg_ys[start:end] = [-vector[1]]


def _undominated(candidates: Iterable[_Partial], parties: int, limit: int) -> list[_Partial]:
    # Drop a candidate only if something earlier is at least as good for everyone. Dropping
    # it for a later one would be unsafe: after rounding the two may tie, and ties go to the
    # earlier.
    maxima: _Maxima | _Staircase = _Staircase() if parties == 2 else _Maxima(limit)
    kept: list[_Partial] = []
    for vector, choice in candidates:
        if not maxima.covers(vector):
            maxima.add(vector)
            kept.append((vector, choice))
    return kept


def _dimension_options(problem: DivisionProblem, dim: str) -> list[_Partial]:
    weights = [problem.weight(p, dim) for p in problem.parties]
    options = (
        (tuple(map(operator.mul, weights, comp)), (comp,))
        for comp in compositions(problem.units[dim], len(problem.parties))
    )
    # Within one dimension a composition can only be dominated through zero or negative
    # weights, which repeats catch well enough: with three or more parties a scan would
    # cost more than it saves.
    return _undominated(options, len(problem.parties), 0)


def _extend(kept: list[_Partial], options: list[_Partial]) -> Iterator[_Partial]:
    for vector, choice in kept:
        for gains, comp in options:
            yield tuple(map(operator.add, vector, gains)), choice + comp


Objective = Callable[[tuple[float, ...]], float | None]
"""Scores a utility vector (priority order); None means infeasible."""


def _prefixes(problem: DivisionProblem) -> list[_Partial]:
    # Partial allocations of all dimensions but the last, minus those weakly dominated by an
    # earlier one. utility() accumulates dimension by dimension from the fixed utility, and
    # float addition and rounding are monotone, so a dominated prefix never beats (or
    # out-ranks in a tie) the earlier one it is dominated by, whatever completes it.
    kept: list[_Partial] = [(tuple(problem.fixed(p) for p in problem.parties), ())]
    for dim in problem.dimensions[:-1]:
        options = _dimension_options(problem, dim)
        kept = _undominated(_extend(kept, options), len(problem.parties), _SCAN_LIMIT)
    return kept


_Group = tuple[_Vector, list[_Partial]]
_Best = tuple[Candidate, float] | None


def _reach(options: list[_Partial]) -> _Vector:
    return tuple(max(column) for column in zip(*(gains for gains, _ in options), strict=True))


def _last_groups(problem: DivisionProblem) -> list[_Group]:
    # Options of the last dimension in runs sharing the first party's units: each run keeps
    # enumeration order and has its own, tighter, reach.
    if not problem.dimensions:
        nothing = tuple(0.0 for _ in problem.parties)
        return [(nothing, [(nothing, ())])]
    options = _dimension_options(problem, problem.dimensions[-1])
    runs = itertools.groupby(options, key=lambda option: option[1][0][0])
    return [(_reach(members), members) for members in (list(run) for _, run in runs)]


def _rounded_sum(a: _Vector, b: _Vector) -> tuple[float, ...]:
    # round(x, 9) via a shared, stateless repeat: faster than a generator expression.
    return tuple(map(round, map(operator.add, a, b), _NINES))


def _cannot_beat(objective: Objective, best: _Best, vector: _Vector, reach: _Vector) -> bool:
    top = objective(_rounded_sum(vector, reach))
    return top is None or (best is not None and top <= best[1])


def _scan(objective: Objective, best: _Best, prefix: _Partial, groups: list[_Group]) -> _Best:
    vector, choice = prefix
    for reach, members in groups:
        if _cannot_beat(objective, best, vector, reach):
            continue
        for gains, comp in members:
            values = _rounded_sum(vector, gains)
            value = objective(values)
            # Strict `>`: ties keep the earlier allocation.
            if value is not None and (best is None or value > best[1]):
                best = (Candidate(values, choice + comp), value)
    return best


def maximise(problem: DivisionProblem, objective: Objective) -> tuple[Candidate, float] | None:
    """The first allocation, in allocations() order, with the largest objective value; None
    when every allocation is infeasible. Equal to brute force over allocations().

    `objective` must be monotone: if u <= v for every party, objective(u) <= objective(v),
    None counting as minus infinity. That is what makes the pruning exact: prefixes
    dominated by earlier ones are dropped, and a run of completions is skipped when the
    objective of the most each party could reach in it cannot beat the best found so far.
    Raises DivisionTooLarge past MAX_SPACE.
    """
    groups, reach, prefixes = _search_space(problem)
    best: _Best = None
    for prefix in prefixes:
        if not _cannot_beat(objective, best, prefix[0], reach):
            best = _scan(objective, best, prefix, groups)
    return best


_SearchSpace = tuple[list[_Group], _Vector, list[_Partial]]


def _search_space(problem: DivisionProblem) -> _SearchSpace:
    """What ``maximise`` searches, whatever the objective: the last dimension's option
    groups, their joint reach and the undominated prefixes. Built once per problem (which is
    frozen) and kept on it, so a problem searched again (the settlement's fairness problems
    are reused across negotiations under the same terms) skips rebuilding it. Read-only."""
    cached: _SearchSpace | None = problem.__dict__.get("_search_space")
    if cached is None:
        check_space(problem)
        groups = _last_groups(problem)
        reach = _reach([option for _, members in groups for option in members])
        cached = (groups, reach, _prefixes(problem))
        object.__setattr__(problem, "_search_space", cached)
    return cached
