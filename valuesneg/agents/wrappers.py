"""Behaviour a scenario gives a party whatever drives it (script or LLM), as wrappers.

``DependencyAware``: what a party knows of the negotiations it and others wait on. Its
requests declare what this negotiation waits on; when it must answer a proposal and its own
knowledge closes a wait-for cycle through this negotiation, it refuses with the cycle's
edges so the core tier-breaks at once instead of letting both sides wait.

``Deliberating``: a party that asks for time before answering its first proposal (a human
supervisor reviewing a request), which the protocol records as a ``defer`` costing a round.
"""

from __future__ import annotations

from dataclasses import dataclass

from valuesneg.core import Defer, DependencyEdge, Header, ProtocolViolation, Refuse, Request
from valuesneg.core.cycles import find_cycle
from valuesneg.core.view import PartyView

from .base import Agent, header


@dataclass
class DependencyAware:
    """An agent that knows the waits its negotiation is part of: it declares its own, and
    refuses a proposal by showing a cycle it knows of, so the tier-break decides at once."""

    inner: Agent
    depends_on: tuple[str, ...] = ()
    knows: tuple[DependencyEdge, ...] = ()

    @property
    def name(self) -> str:
        return self.inner.name

    def decide(self, view: PartyView, feedback: ProtocolViolation | None = None) -> Header:
        if view.table is not None and self._cycle(view):
            return Refuse(**header(view), reasons=self._reasons(view), cycle=self.knows)
        record = self.inner.decide(view, feedback)
        if isinstance(record, Request) and self.depends_on:
            record = record.model_copy(update={"depends_on": self.depends_on})
        return record

    def _cycle(self, view: PartyView) -> bool:
        edges = {(e.waiter, e.waits_on) for e in (*view.dependencies, *self.knows)}
        return view.negotiation in find_cycle(edges)

    def _reasons(self, view: PartyView) -> tuple[str, ...]:
        ids = [c.id for c in view.citable if c.id == "clause:dependency-cycle"]
        return tuple(ids) or tuple(c.id for c in view.citable if c.kind == "clause")[:1]


@dataclass
class Deliberating:
    """An agent that asks for time (defers) once before it answers its first proposal."""

    inner: Agent
    deferred: bool = False

    @property
    def name(self) -> str:
        return self.inner.name

    def decide(self, view: PartyView, feedback: ProtocolViolation | None = None) -> Header:
        if view.table is not None and not self.deferred and "defer" in view.legal_kinds:
            self.deferred = True
            own = [c.id for c in view.citable if c.own and c.kind == "card"][:1]
            return Defer(**header(view), rationale=tuple(own) or self._clause(view))
        return self.inner.decide(view, feedback)

    @staticmethod
    def _clause(view: PartyView) -> tuple[str, ...]:
        return tuple(c.id for c in view.citable if c.kind == "clause")[:1]
