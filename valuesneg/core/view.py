"""What one party may see: the only input an agent gets.

Built here, inside the trusted core, so that no adapter can leak a peer's private data by
accident: a view carries the party's own profile, the public record of the negotiation and
the vocabulary that party may cite now — never a peer's weights, needs, reservation value
or unrevealed cards.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from .cache import ViewStatics
from .fast import trusted
from .ids import Id
from .machine import Negotiation
from .records import Allocation, DependencyEdge, Grant, Header
from .state import owed_acks
from .terms import Party, Terms
from .vocabulary import EntryKind


class CitableId(BaseModel):
    """An id a party may cite now, its kind, and whether it is the party's own card or
    attentional policy."""

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
    """What one party may see: its own profile, the public record and the ids it may cite now;
    never a peer's weights, needs, reservation or unrevealed cards. The only input an agent
    gets."""

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
    """The view of ``party`` in ``negotiation`` now, with the public ``transcript`` so far."""
    # Built with ``model_construct``: every field comes from the core's own, already
    # validated terms and state (nothing here is from outside), so validating it again
    # would only copy it. Dicts are fresh per view, so an agent mutating its view's dicts
    # cannot reach the core's state or another view.
    terms, state = negotiation.terms, negotiation.state
    cache = terms.cache
    envelope = state.envelopes[party]
    profile = cache.profiles.get(party)
    if profile is None or profile[0] is not envelope:
        # Party is frozen: one copy per (party, envelope) is shared by every later view.
        profile = cache.profiles[party] = (
            envelope, terms.party(party).model_copy(update={"envelope": envelope}))
    me = profile[1]
    static = cache.statics.get(party)
    if static is None:
        static = cache.statics[party] = ViewStatics(
            units={d: terms.dimension(d).units for d in terms.contested},
            claimants={d: tuple(c) for d, c in terms.contested.items()},
            my_tiers={
                d: terms.policy.tier_of(party, d)
                for d in terms.contested
                if party in terms.contested[d]
            },
            tier_order=tuple(terms.policy.tier_order),
            teams=frozenset(p.id for p in terms.parties if party in p.represents),
        )
    vocab = terms.vocabulary
    # What a party may cite changes only when a card is revealed, and CitableId is frozen,
    # so the tuple is built once per (party, revealed) and shared by every later view.
    key = (party, state.revealed)
    citable = cache.citable.get(key)
    if citable is None:
        citable = cache.citable[key] = tuple(
            trusted(CitableId, id=i, kind=entry.kind, own=entry.owner == party)
            for i in vocab.admissible_ids(party, state.revealed)
            if (entry := vocab.get(i)) is not None
        )
    revealed_by_peers = cache.revealed_by_peers.get(key)
    if revealed_by_peers is None:
        revealed_by_peers = cache.revealed_by_peers[key] = tuple(
            sorted(
                i for i in state.revealed if (e := vocab.get(i)) is not None and e.owner != party
            )
        )
    proposal = state.proposal
    table = (
        None
        if proposal is None
        else trusted(
            Table,
            seq=proposal.seq,
            proposer=proposal.proposer,
            allocation={d: dict(share) for d, share in proposal.allocation.items()},
            duration=proposal.duration,
        )
    )
    grants = state.grants
    if grants:
        live = [g.grant for g in grants.values() if g.current(state.tick)]
        my_grants = tuple(g for g in live if (g.grantee == party or g.grantee in static.teams)
                          and envelope.projection(g.dimension))
        owed = owed_acks(state, party)
        preemptible = tuple(g for g in live if _may_preempt(terms, party, g))
    else:
        my_grants = owed = preemptible = ()
    return trusted(
        PartyView,
        negotiation=terms.negotiation,
        party=party,
        me=me,
        envelope_version=me.envelope.version,
        units=dict(static.units),
        claimants=dict(static.claimants),
        my_tiers=dict(static.my_tiers),
        tier_order=static.tier_order,
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
        revealed_by_peers=revealed_by_peers,
        transcript=tuple(transcript),
        my_grants=my_grants,
        owed_acks=owed,
        preemptible=preemptible,
        dependencies=tuple(DependencyEdge(waiter=a, waits_on=b)
                           for a, b in sorted(state.dependencies)),
    )


def _may_preempt(terms: Terms, party: str, grant: Grant) -> bool:
    policy = terms.policy
    holder_tier = policy.tier_of(grant.grantee, grant.dimension)
    return (party in grant.grantors and policy.preemptible_at(grant.dimension, holder_tier)
            and policy.tier_rank(party, grant.dimension)
            > policy.tier_rank(grant.grantee, grant.dimension))
