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
from typing import TypeVar

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
    # Sorted and read-only so that a caller mutating its dict later cannot change the problem.
    return MappingProxyType({key: mapping[key] for key in sorted(mapping)})


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


def _to_allocation(problem: DivisionProblem, choice: tuple[tuple[int, ...], ...]) -> Allocation:
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
        yield _to_allocation(problem, choice)


@dataclass(frozen=True)
class ScoredAllocation:
    """An allocation with its utilities (rounded, in priority order)."""

    allocation: Allocation
    utilities: tuple[float, ...]


_Vector = tuple[float, ...]
_Partial = tuple[_Vector, tuple[tuple[int, ...], ...]]


def _dominates(a: _Vector, b: _Vector) -> bool:
    return all(map(operator.ge, a, b))


class _Maxima:
    """Vectors kept so far, by decreasing exact sum. A dominator's sum is at least the
    dominated vector's (fsum is correctly rounded, hence monotone), so a query scans only
    the head of the list, best candidates first."""

    def __init__(self) -> None:
        self._keys: list[float] = []
        self._vectors: list[_Vector] = []

    def covers(self, vector: _Vector) -> bool:
        stop = bisect.bisect_right(self._keys, -math.fsum(vector))
        return any(_dominates(kept, vector) for kept in itertools.islice(self._vectors, stop))

    def add(self, vector: _Vector) -> None:
        key = -math.fsum(vector)
        index = bisect.bisect_right(self._keys, key)
        self._keys.insert(index, key)
        self._vectors.insert(index, vector)


class _Staircase:
    """_Maxima for two parties in O(log n) per query: x ascending, y strictly descending, so
    the first point with x >= a has the largest y among all of them."""

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


def _undominated(candidates: Iterable[_Partial], parties: int) -> list[_Partial]:
    # Keep a candidate only if nothing earlier is at least as good for everyone. Pruning by a
    # later candidate would be unsafe: after rounding the two may tie, and ties go to the earlier.
    maxima: _Maxima | _Staircase = _Staircase() if parties == 2 else _Maxima()
    kept: list[_Partial] = []
    for vector, choice in candidates:
        if not maxima.covers(vector):
            maxima.add(vector)
            kept.append((vector, choice))
    return kept


def _dimension_options(problem: DivisionProblem, dim: str) -> list[_Partial]:
    weights = [problem.weight(p, dim) for p in problem.parties]
    options = (
        (tuple(w * u for w, u in zip(weights, comp, strict=True)), (comp,))
        for comp in compositions(problem.units[dim], len(problem.parties))
    )
    return _undominated(options, len(problem.parties))


def _extend(kept: list[_Partial], options: list[_Partial]) -> Iterator[_Partial]:
    for vector, choice in kept:
        for gains, comp in options:
            yield tuple(v + g for v, g in zip(vector, gains, strict=True)), choice + comp


def frontier(problem: DivisionProblem) -> tuple[ScoredAllocation, ...]:
    """Allocations not weakly Pareto-dominated by an allocation earlier in enumeration order,
    in enumeration order.

    Why this is enough for exact search: utilities are sums accumulated dimension by dimension,
    float addition, rounding, subtraction and multiplication of positives are monotone, so any
    objective monotone in every party's utility has its first (enumeration-order) maximiser in
    this set, and every allocation is weakly dominated by some member of it.
    Raises DivisionTooLarge past MAX_SPACE.
    """
    check_space(problem)
    start = tuple(problem.fixed(p) for p in problem.parties)
    kept: list[_Partial] = [(start, ())]
    for dim in problem.dimensions:
        kept = _undominated(_extend(kept, _dimension_options(problem, dim)), len(start))
    return tuple(
        ScoredAllocation(_to_allocation(problem, choice), tuple(round(v, 9) for v in vector))
        for vector, choice in kept
    )
