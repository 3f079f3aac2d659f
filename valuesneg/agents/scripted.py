"""Scripted negotiators: deterministic strategies driven by the party's own values.

``ConcessionAgent`` is time-dependent concession (Faratin et al.): its aspiration falls from
its best outcome toward its reservation value as rounds pass, fast (Conceder, e > 1), slow
(Boulware, e < 1) or linearly (e = 1). What it gives up first is what its values weigh least,
and every move cites the party's own cards, the dimension at issue and the clause it rests on.
"""

from __future__ import annotations

from dataclasses import dataclass

from valuesneg.core import Accept, Counter, Header, ProtocolViolation, Refuse, Request
from valuesneg.core.view import PartyView

from .base import header, utility

EXPONENTS = {"boulware": 0.3, "linear": 1.0, "conceder": 3.0}


@dataclass
class ConcessionAgent:
    name: str
    exponent: float = 1.0

    @classmethod
    def named(cls, name: str, strategy: str) -> ConcessionAgent:
        return cls(name=name, exponent=EXPONENTS[strategy])

    def decide(self, view: PartyView, feedback: ProtocolViolation | None = None) -> Header:
        target = self.offer(view)
        if view.table is None:
            return Request(**header(view), projection=tuple(sorted(view.units)),
                           proposal=target, duration=view.duration_cap,
                           tiers=dict(view.my_tiers), rationale=self._why(view, None))
        on_table = view.table.allocation
        if utility(view, on_table) >= self.aspiration(view) - 1e-9:
            return Accept(**header(view), rationale=self._why(view, None, accepting=True))
        dim = self._dimension_to_counter(view, target)
        if dim is None or target[dim] == on_table[dim]:
            return Refuse(**header(view), reasons=self._why(view, None))
        return Counter(**header(view), dimension=dim, value=target[dim],
                       rationale=self._why(view, dim))

    def aspiration(self, view: PartyView) -> float:
        best = sum(view.me.weights.get(d, 0.0) * units for d, units in view.units.items())
        floor = min(view.me.reservation, best)
        t = min(1.0, view.rounds / max(1, view.round_cap))
        return float(best - (best - floor) * t ** (1.0 / self.exponent))

    def offer(self, view: PartyView) -> dict[str, dict[str, int]]:
        """Everything to me, then give away units of what I value least until the aspiration."""
        me, weights = view.party, view.me.weights
        allocation = {d: {p: (units if p == me else 0) for p in view.claimants[d]}
                      for d, units in view.units.items()}
        goal = self.aspiration(view)
        for dim in sorted(view.units, key=lambda d: (weights.get(d, 0.0), d)):
            others = [p for p in view.claimants[dim] if p != me]
            turn = 0
            while allocation[dim][me] > 0:
                mine = utility(view, allocation) - weights.get(dim, 0.0)
                if mine < goal - 1e-9:
                    break
                allocation[dim][me] -= 1
                allocation[dim][others[turn % len(others)]] += 1
                turn += 1
        return allocation

    def _dimension_to_counter(self, view: PartyView, target: dict[str, dict[str, int]]
                              ) -> str | None:
        """The dimension I value most among those where the table gives me less than I ask."""
        assert view.table is not None
        short = [d for d in view.units
                 if view.table.allocation[d].get(view.party, 0) < target[d][view.party]]
        weights = view.me.weights
        return max(short, key=lambda d: (weights.get(d, 0.0), d)) if short else None

    def _why(self, view: PartyView, dim: str | None, accepting: bool = False) -> tuple[str, ...]:
        """Own cards first, then the dimension at issue, then the clause or property relied on."""
        citable = {c.id: c for c in view.citable}
        own_cards = [c.id for c in view.citable if c.own and c.kind == "card"]
        ids = own_cards[:2]
        if dim is not None and dim in citable:
            ids.append(dim)
        wanted = "fair:pareto_efficiency" if accepting else "clause:agreement"
        if wanted in citable:
            ids.append(wanted)
        if not ids:
            ids = [c.id for c in view.citable if c.kind == "clause"][:1]
        return tuple(dict.fromkeys(ids))
