"""What an attacker knows and starts from: the full terms (white-box), and a legal record of
each kind that the attacks then bend (``valuesneg.agents.catalogue``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from valuesneg.core import (
    CORE,
    Accept,
    Commit,
    Counter,
    Defer,
    Grant,
    Header,
    Refuse,
    Request,
    Terms,
)
from valuesneg.core.view import PartyView

from .base import header

Raw = dict[str, Any]


@dataclass(frozen=True)
class Intel:
    """The attacker's view plus the full terms (white-box)."""

    view: PartyView
    terms: Terms

    @property
    def me(self) -> str:
        return self.view.party

    @property
    def peer(self) -> str:
        """Another claimant: one still awaited if there is one, else the proposer, else any."""
        others = [p for p in self.terms.claimants if p != self.me]
        awaited = [p for p in self.terms.claimants if p != self.me and p in self._pending()]
        proposer = self.view.table.proposer if self.view.table else None
        return next(iter(awaited), proposer if proposer in others else others[0])

    def _pending(self) -> tuple[str, ...]:
        """Who still owes the offer on the table an answer (a defer leaves one owing)."""
        table = self.view.table
        if table is None:
            return ()
        answered = {r.sender for r in self.view.transcript
                    if isinstance(r, Accept | Refuse) and r.reply_to == table.seq}
        return tuple(p for p in self.terms.claimants
                     if p not in answered and p != table.proposer)

    def earlier(self, *, own: bool) -> Header | None:
        """The latest record I (or another party) sent, if any."""
        return next((r for r in reversed(self.view.transcript)
                     if r.sender != CORE and (r.sender == self.me) == own), None)

    @property
    def clause(self) -> str:
        return self.terms.policy.clauses.agreement

    @property
    def own_card(self) -> str:
        own = [c.id for c in self.view.citable if c.own and c.kind == "card"]
        return own[0] if own else self.clause

    def peer_private(self, kind: str) -> str | None:
        """A peer's private id of ``kind`` that has not been revealed to me, if any."""
        citable = {c.id for c in self.view.citable}
        return next((e.id for e in self.terms.vocabulary.entries if e.private
                     and e.owner == self.peer and e.kind == kind and e.id not in citable), None)

    def envelope_of(self, party: str) -> str:
        return self.terms.party(party).envelope.version

    def grant(self, *, mine: bool) -> Grant:
        """A live grant I hold, or one a peer holds from me."""
        return next(r for r in self.view.transcript if isinstance(r, Grant)
                    and (r.grantee == self.me) == mine and (mine or self.me in r.grantors))

    def table_share(self, dim: str) -> dict[str, int]:
        assert self.view.table is not None
        return dict(self.view.table.allocation[dim])

    @property
    def dims(self) -> list[str]:
        return sorted(self.view.units)

    def spoofed_tier(self) -> str:
        """A tier the policy does not give me: the top one, or an undeclared one if I hold it."""
        top = self.terms.policy.tier_order[-1]
        mine = set(self.view.my_tiers.values())
        return top if mine != {top} else "tier:override"


def even_split(view: PartyView) -> dict[str, dict[str, int]]:
    """Every dimension shared as evenly as units allow, remainders to the first claimants."""
    split: dict[str, dict[str, int]] = {}
    for dim, units in view.units.items():
        parties = view.claimants[dim]
        split[dim] = {p: units // len(parties) + (1 if i < units % len(parties) else 0)
                      for i, p in enumerate(parties)}
    return split


def one_more(view: PartyView, dim: str) -> dict[str, int]:
    """The table's share of ``dim`` with one unit moved to me from its largest holder."""
    assert view.table is not None
    share = dict(view.table.allocation[dim])
    source = max((p for p in share if p != view.party), key=lambda p: (share[p], p))
    share[source] -= 1
    share[view.party] = share.get(view.party, 0) + 1
    return share


def short_dim(view: PartyView) -> str:
    """The first dimension (by name) where the table gives the party less than all of it."""
    assert view.table is not None
    table = view.table.allocation
    return next(d for d in sorted(view.units) if table[d].get(view.party, 0) < view.units[d])


def legal(kind: str, intel: Intel) -> Raw:
    """A record of ``kind`` that the core would accept here, in wire form."""
    view, clause = intel.view, (intel.clause,)
    base = header(view)
    record: Header
    if kind == "request":
        record = Request(**base, projection=tuple(intel.dims), proposal=even_split(view),
                         duration=view.duration_cap, tiers=dict(view.my_tiers),
                         rationale=(intel.own_card, intel.clause))
    elif kind == "counter":
        dim = short_dim(view)
        record = Counter(**base, dimension=dim, value=one_more(view, dim), rationale=clause)
    elif kind in ("accept", "defer"):
        record = (Accept if kind == "accept" else Defer)(**base, rationale=clause)
    elif kind == "refuse":
        record = Refuse(**base, reasons=clause)
    else:  # a commit on a grant I hold: the only settled-phase record every holder may send
        grant = intel.grant(mine=True)
        record = Commit(**base, grant_id=grant.grant_id, dimension=grant.dimension,
                        units=grant.units)
    return record.model_dump(mode="json")

