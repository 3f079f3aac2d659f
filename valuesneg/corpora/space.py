"""The utility space of a game: what metrics compare a negotiated outcome against.

Two kinds: a *division* (integer units shared out, linear utilities: CaSiNo, Deal or No
Deal, the shipped scenarios), computed with the core's exact division algorithms; and a
*choice* among enumerated outcomes (Genius domains), see :mod:`valuesneg.corpora.genius`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

from valuesneg.core import Terms
from valuesneg.core.division import DivisionProblem, utilities
from valuesneg.core.fairness import best_joint_utility, is_pareto_optimal
from valuesneg.core.fallback import nash_bargaining
from valuesneg.core.settle import division_problem

Allocation = Mapping[str, Mapping[str, int]]  # dimension -> party -> units


class UtilitySpace(Protocol):
    """Utilities of the original game, read at an outcome the core produced."""

    @property
    def parties(self) -> tuple[str, ...]: ...

    def utilities(self, allocation: Allocation) -> dict[str, float]:
        """Each party's utility of an allocation of the terms' dimensions."""
        ...

    def disagreement(self) -> dict[str, float]:
        """Each party's utility of no deal."""
        ...

    def best(self) -> dict[str, float]:
        """Each party's largest utility over the whole space."""
        ...

    def best_joint(self) -> float:
        """The largest sum of utilities over the whole space."""
        ...

    def nash(self) -> dict[str, float]:
        """Utilities at the Nash bargaining point (the product of gains over disagreement,
        maximised over the space)."""
        ...

    def pareto_optimal(self, allocation: Allocation) -> bool:
        ...


@dataclass(frozen=True)
class DivisionSpace:
    """A division problem: the terms' own linear utilities over integer units."""

    terms: Terms

    @cached_property
    def problem(self) -> DivisionProblem:
        return division_problem(self.terms, list(self.terms.contested), {})

    @property
    def parties(self) -> tuple[str, ...]:
        return self.problem.parties

    def utilities(self, allocation: Allocation) -> dict[str, float]:
        return utilities(self.problem, self._full(allocation))

    def disagreement(self) -> dict[str, float]:
        return {p: self.problem.reservation(p) for p in self.parties}

    def best(self) -> dict[str, float]:
        problem = self.problem
        return {p: sum(max(0.0, problem.weight(p, d)) * problem.units[d]
                       for d in problem.dimensions) for p in self.parties}

    def best_joint(self) -> float:
        return best_joint_utility(self.problem)

    def nash(self) -> dict[str, float]:
        return dict(self._nash)

    @cached_property
    def _nash(self) -> Mapping[str, float]:
        return nash_bargaining(self.problem).utilities

    def pareto_optimal(self, allocation: Allocation) -> bool:
        return is_pareto_optimal(self.problem, self._full(allocation))

    def _full(self, allocation: Allocation) -> dict[str, dict[str, int]]:
        return {d: {p: int(allocation.get(d, {}).get(p, 0)) for p in self.parties}
                for d in self.problem.dimensions}
