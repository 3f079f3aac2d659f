"""What one party may see: the only input an agent gets.

Built here, inside the trusted core, so that no adapter can leak a peer's private data by
accident: a view carries the party's own profile, the public record of the negotiation and
the vocabulary that party may cite now — never a peer's weights, needs, reservation value
or unrevealed cards.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from .ids import Id
from .machine import Negotiation
from .records import Allocation, DependencyEdge, Grant, Header
from .terms import Party, Terms
from .vocabulary import EntryKind


class CitableId(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Id
    kind: EntryKind
    own: bool  # the party's own card or attentional policy


class Table(BaseModel):
    """The proposal currently on the table, if any."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int
    proposer: Id
    allocation: Allocation
    duration: int


class PartyView(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    negotiation: Id
    party: Id
    me: Party
    envelope_version: str
    units: dict[Id, int]  # contested dimension -> units to divide
    claimants: dict[Id, tuple[Id, ...]]
    my_tiers: dict[Id, Id]
    tier_order: tuple[Id, ...]
    phase: str
    legal_kinds: tuple[str, ...]
    table: Table | None
    rounds: int
    round_cap: int
    next_seq: int
    tick: int
    deadline: int | None
    duration_cap: int
    citable: tuple[CitableId, ...]
    revealed_by_peers: tuple[Id, ...]
    transcript: tuple[Header, ...]
    my_grants: tuple[Grant, ...]  # live grants this party may act under (its own or its team's)
    owed_acks: tuple[Id, ...]  # ended grants this party must acknowledge
    preemptible: tuple[Grant, ...]  # live grants of others this party may pre-empt
    dependencies: tuple[DependencyEdge, ...]  # the wait-for edges this negotiation accepted


def view_for(
    negotiation: Negotiation, party: str, transcript: tuple[Header, ...] = ()
) -> PartyView:
    terms, state = negotiation.terms, negotiation.state
    me = terms.party(party).model_copy(update={"envelope": state.envelopes[party]})
    vocab = terms.vocabulary
    # What a party may cite changes only when a card is revealed, and CitableId is frozen,
    # so the tuple is built once per (party, revealed) and shared by every later view.
    memo = negotiation._view_memo
    key = (party, state.revealed)
    citable = memo.get(key)
    if citable is None:
        citable = memo[key] = tuple(
            CitableId(id=i, kind=entry.kind, own=entry.owner == party)
            for i in vocab.admissible_ids(party, state.revealed)
            if (entry := vocab.get(i)) is not None
        )
    proposal = state.proposal
    table = (
        None
        if proposal is None
        else Table(
            seq=proposal.seq,
            proposer=proposal.proposer,
            allocation=proposal.allocation,
            duration=proposal.duration,
        )
    )
    teams = {p.id for p in terms.parties if party in p.represents}
    live = [g.grant for g in state.grants.values() if g.current(state.tick)]
    own = [g for g in state.grants.values() if g.grant.grantee == party]
    return PartyView(
        negotiation=terms.negotiation,
        party=party,
        me=me,
        envelope_version=me.envelope.version,
        units={d: terms.dimension(d).units for d in terms.contested},
        claimants=dict(terms.contested),
        my_tiers={
            d: terms.policy.tier_of(party, d)
            for d in terms.contested
            if party in terms.contested[d]
        },
        tier_order=terms.policy.tier_order,
        phase=state.phase.value,
        legal_kinds=negotiation.legal_kinds(party),
        table=table,
        rounds=state.rounds,
        round_cap=terms.policy.round_cap,
        next_seq=state.next_seq,
        tick=state.tick,
        deadline=negotiation.deadline(),
        duration_cap=terms.policy.grant_duration_cap,
        citable=citable,
        revealed_by_peers=tuple(
            sorted(
                i for i in state.revealed if (e := vocab.get(i)) is not None and e.owner != party
            )
        ),
        transcript=transcript,
        my_grants=tuple(g for g in live if (g.grantee == party or g.grantee in teams)
                        and negotiation.state.envelopes[party].projection(g.dimension)),
        owed_acks=tuple(g.grant.grant_id for g in own if g.ended_by and not g.acked),
        preemptible=tuple(g for g in live if _may_preempt(terms, party, g)),
        dependencies=tuple(DependencyEdge(waiter=a, waits_on=b)
                           for a, b in sorted(state.dependencies)),
    )


def _may_preempt(terms: Terms, party: str, grant: Grant) -> bool:
    policy = terms.policy
    holder_tier = policy.tier_of(grant.grantee, grant.dimension)
    return (party in grant.grantors and policy.preemptible_at(grant.dimension, holder_tier)
            and policy.tier_rank(party, grant.dimension)
            > policy.tier_rank(grant.grantee, grant.dimension))
