"""Mediated negotiation: a coordinator holding the graph of many simultaneous overlaps.

Peer to peer, each request carries the dependency edges its sender happens to know, so a
cycle that spans negotiations is only caught if someone brought the right edges. The
mediator sees every negotiation, so it refuses a request that closes a cycle anywhere in the
global graph. Each negotiation still runs through its own unchanged core and lineage, and
the tier-break order does not depend on which negotiation it runs in, so for the same
records the assignments are exactly those of the peer-to-peer runs.
"""

from __future__ import annotations

from collections.abc import Iterable

from .cycles import find_cycle
from .errors import Code, ProtocolViolation
from .lineage import Entry, Ledger
from .records import Header, Refuse, Request
from .terms import Terms


class Mediator:
    """One coordinator over many simultaneous negotiations: each keeps its own ledger, and the
    mediator sees the global wait-for graph, so cycles across negotiations are refused
    consistently."""

    def __init__(self, terms: Iterable[Terms]) -> None:
        self.ledgers: dict[str, Ledger] = {}
        for t in terms:
            if t.negotiation in self.ledgers:
                raise ValueError(f"negotiation {t.negotiation!r} registered twice")
            self.ledgers[t.negotiation] = Ledger(t)

    @property
    def graph(self) -> frozenset[tuple[str, str]]:
        """The global wait-for graph: each negotiation's own declared waits, and the waits
        an authority in its terms vouches for. What a requester claims about negotiations
        other than its own stays in its lineage but never enters this graph, so a false
        claim cannot make the mediator refuse someone else's request."""
        own = {edge for name, ledger in self.ledgers.items()
               for edge in ledger.negotiation.state.dependencies if edge[0] == name}
        attested = {(w.waiter, w.waits_on)
                    for ledger in self.ledgers.values() for w in ledger.negotiation.terms.waits}
        return frozenset(own | attested)

    def ledger(self, negotiation: str) -> Ledger:
        ledger = self.ledgers.get(negotiation)
        if ledger is None:
            raise ProtocolViolation(
                Code.WRONG_NEGOTIATION, "negotiation", f"{negotiation!r} is not mediated here"
            )
        return ledger

    def apply(self, record: Header) -> tuple[Entry, ...]:
        ledger = self.ledger(record.negotiation)
        if isinstance(record, Request):
            self._refuse_global_cycle(record)
        if isinstance(record, Refuse) and record.cycle:
            self._confirm_cycle(record)
        return ledger.apply(record)

    def _confirm_cycle(self, record: Refuse) -> None:
        """Peer to peer a shown cycle is the refuser's word; here every edge must be real."""
        graph = self.graph
        for i, edge in enumerate(record.cycle):
            if (edge.waiter, edge.waits_on) not in graph:
                raise ProtocolViolation(Code.NO_CYCLE, f"cycle[{i}]", f"{edge.waiter!r} does "
                                        f"not wait on {edge.waits_on!r}", seq=record.seq)

    def _refuse_global_cycle(self, record: Request) -> None:
        edges = set(self.graph)
        edges.update((e.waiter, e.waits_on) for e in record.dependencies)
        edges.update((record.negotiation, d) for d in record.depends_on)
        cycle = find_cycle(edges)
        if cycle:
            raise ProtocolViolation(
                Code.DEPENDENCY_CYCLE, "depends_on", " -> ".join(cycle), seq=record.seq
            )

    def outcomes(self) -> dict[str, dict[str, dict[str, int]] | None]:
        return {
            n: (o.allocation if (o := ledger.negotiation.outcome) else None)
            for n, ledger in self.ledgers.items()
        }
