"""After the outcome: using grants, pre-empting, acknowledging, renewing. The same for every
agent.

Once the core has settled a negotiation, what is left is mechanical and rule-bound: holders
use (commit) what they were granted, a higher tier may pre-empt where the policy allows,
and every ended grant is acknowledged. Any agent, scripted or LLM, does it this way.
"""

from __future__ import annotations

from valuesneg.core import Accept, Ack, Commit, Grant, Header, Preemption, Request
from valuesneg.core.view import PartyView

from .base import header


def next_use(view: PartyView, used: set[str]) -> Header | None:
    """The party's next post-outcome record, or None when it has nothing left to do."""
    base = {**header(view), "reply_to": None}
    if view.owed_acks:
        return Ack(**base, grant_id=view.owed_acks[0])
    for grant in view.preemptible:
        return Preemption(**base, grant_id=grant.grant_id, rationale=_why_preempt(view))
    for grant in view.my_grants:
        if grant.grant_id not in used:
            used.add(grant.grant_id)
            return Commit(**base, grant_id=grant.grant_id, dimension=grant.dimension,
                          units=grant.units)
    return None


def _why_preempt(view: PartyView) -> tuple[str, ...]:
    clauses = [c.id for c in view.citable if c.id == "clause:preemption"]
    return (*_own_card(view), *clauses) or tuple(
        c.id for c in view.citable if c.kind == "clause")[:1]


def renewal_request(view: PartyView, grant: Grant, clause: str) -> Request:
    """Ask again for ``grant`` (ended, acknowledged): the same units, as long as the cap."""
    dim = grant.dimension
    return Request(**{**header(view), "reply_to": grant.seq}, projection=(dim,),
                   proposal={dim: {view.party: grant.units}}, duration=view.duration_cap,
                   tiers={dim: view.my_tiers[dim]}, rationale=_own_card_and(view, clause))


def renewal_accept(view: PartyView, renewal_seq: int, clause: str) -> Accept:
    """A grantor's yes to a renewal request, citing its own card (if it may) and ``clause``."""
    return Accept(**{**header(view), "reply_to": renewal_seq},
                  rationale=_own_card_and(view, clause))


def _own_card_and(view: PartyView, clause: str) -> tuple[str, ...]:
    return (*_own_card(view), clause)


def _own_card(view: PartyView) -> tuple[str, ...]:
    """The first of the party's own cards it may cite, if any."""
    return tuple(c.id for c in view.citable if c.own and c.kind == "card")[:1]
