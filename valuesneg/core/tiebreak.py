"""Tier-break: the core's deterministic answer when talks exceed the round cap.

Highest tier wins. Within a tier the earlier first proposal wins, then a hash of
(party, tick): a total order, so two parties at the same tier with the same request can never
both win, and no party gains by having an alphabetically early id. The key leaves out the
dimension on purpose: when the same parties tie at the same tiers on several dimensions of a
negotiation, the same party wins all of them, so nobody ends up holding half of what it needs.
Across simultaneous negotiations the first-proposal ticks are each negotiation's own, so the
winners can differ there.
"""

from __future__ import annotations

from collections.abc import Mapping

from .canonical import sha256_hex
from .records import TierCandidate
from .terms import Terms

_NEVER = 2**63  # a party that never proposed ranks after every party that did


def candidates(
    terms: Terms, dimension: str, first_proposal: Mapping[str, int]
) -> tuple[TierCandidate, ...]:
    """The claimants of a dimension as tier-break candidates: tier, rank, first proposal tick,
    and the hash that orders ties."""
    policy = terms.policy
    return tuple(
        TierCandidate(
            party=party,
            tier=policy.tier_of(party, dimension),
            tier_rank=policy.tier_rank(party, dimension),
            first_proposal_tick=first_proposal.get(party),
            order_key=sha256_hex(f"{party}|{first_proposal.get(party)}"),
        )
        for party in terms.contested[dimension]
    )


def winner(ranked: tuple[TierCandidate, ...]) -> str:
    """The highest tier wins; within it the earlier first proposal, then the hash: a total
    order, so two parties never both win."""
    def key(c: TierCandidate) -> tuple[int, int, str, str]:
        tick = _NEVER if c.first_proposal_tick is None else c.first_proposal_tick
        return (-c.tier_rank, tick, c.order_key, c.party)

    return min(ranked, key=key).party
