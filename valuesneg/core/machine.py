"""The protocol state machine: the only thing that can change a negotiation's state.

Sans-IO in the manner of h11: the caller feeds records (or tells the core that a party was
silent, or that logical time advanced); the core returns the records it appends to the
lineage, or raises ``ProtocolViolation`` and keeps its previous state. State is an immutable
value, so a refusal cannot leave anything half-changed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from . import settle
from .errors import Code, ProtocolViolation
from .ids import CORE
from .records import (
    CORE_KINDS,
    RECORD_TYPES,
    Accept,
    Ack,
    Allocation,
    Commit,
    Counter,
    Defer,
    Denial,
    EnvelopeUpdate,
    Grant,
    Header,
    Outcome,
    Precondition,
    Preemption,
    Refuse,
    Request,
    Reservation,
    Revocation,
    TierBreak,
    parse_record,
)
from .terms import Envelope, Terms


class Phase(StrEnum):
    OPEN = "open"  # waiting for a proposal
    PROPOSED = "proposed"  # a proposal is on the table, responders are awaited
    SETTLED = "settled"  # an outcome is recorded; grants are being used and ended


class Role(StrEnum):
    PROPOSER = "proposer"
    RESPONDER = "responder"
    GRANTEE = "grantee"
    GRANTOR = "grantor"
    RIVAL = "rival"  # another claimant of the granted dimension
    ANY = "any"  # any party of the negotiation


# The legal transitions, as data: which kind may arrive in which phase, and from whom.
TRANSITIONS: Mapping[tuple[Phase, str], Role] = {
    (Phase.OPEN, "request"): Role.PROPOSER,
    (Phase.PROPOSED, "accept"): Role.RESPONDER,
    (Phase.PROPOSED, "counter"): Role.RESPONDER,
    (Phase.PROPOSED, "defer"): Role.RESPONDER,
    (Phase.PROPOSED, "refuse"): Role.RESPONDER,
    (Phase.SETTLED, "commit"): Role.GRANTEE,
    (Phase.SETTLED, "ack"): Role.GRANTEE,
    (Phase.SETTLED, "revocation"): Role.GRANTOR,
    (Phase.SETTLED, "preemption"): Role.RIVAL,
    (Phase.SETTLED, "envelope"): Role.ANY,
    # Renewal: the holder of a grant that ended by expiry or an envelope change asks for it
    # again (a request naming that grant); each of its grantors accepts or refuses.
    (Phase.SETTLED, "request"): Role.GRANTEE,
    (Phase.SETTLED, "accept"): Role.GRANTOR,
    (Phase.SETTLED, "refuse"): Role.GRANTOR,
}


# The kinds TRANSITIONS allows in each phase, in table order (what ``legal_kinds`` offers).
_KINDS_BY_PHASE: Mapping[Phase, tuple[str, ...]] = {
    phase: tuple(kind for (p, kind) in TRANSITIONS if p is phase) for phase in Phase
}


@dataclass(frozen=True)
class Proposal:
    seq: int
    proposer: str
    tick: int
    allocation: Allocation
    duration: int
    reservation: Reservation | None = None
    precondition: Precondition | None = None


@dataclass(frozen=True)
class Renewal:
    """A holder's pending request to renew a grant; its grantors are yet to answer."""

    seq: int  # the renewal request
    grant_id: str  # the grant it renews
    duration: int
    pending: tuple[str, ...]


# How a grant may have ended for its holder to ask for it again: time ran out or an envelope
# moved on. A revocation or pre-emption was someone's decision to take it back.
RENEWABLE_ENDINGS = frozenset({"expiry", "envelope_change"})


@dataclass(frozen=True)
class GrantState:
    grant: Grant
    ended_by: str | None = None  # "revocation", "expiry", "preemption" or "envelope_change"
    acked: bool = False

    def current(self, tick: int) -> bool:
        return self.ended_by is None and self.grant.starts <= tick < self.grant.expires


@dataclass(frozen=True)
class State:
    next_seq: int = 1  # seq 0 is the genesis entry
    tick: int = 0
    phase: Phase = Phase.OPEN
    next_proposer: str = ""
    proposal: Proposal | None = None
    pending: tuple[str, ...] = ()
    accepted: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()
    rounds: int = 0
    first_proposal: Mapping[str, int] = field(default_factory=dict)
    revealed: frozenset[str] = frozenset()
    dependencies: frozenset[tuple[str, str]] = frozenset()
    grants: Mapping[str, GrantState] = field(default_factory=dict)
    outcome: Outcome | None = None
    envelopes: Mapping[str, Envelope] = field(default_factory=dict)  # current, by party
    asks: Mapping[str, Allocation] = field(default_factory=dict)  # each party's last proposal
    renewal: Renewal | None = None  # a renewal request awaiting its grantors
    renewed: frozenset[str] = frozenset()  # grants whose renewal was decided (either way)


def owed_acks(state: State, party: str) -> tuple[str, ...]:
    """The ended grants ``party`` held and has not acknowledged yet, in grant order."""
    return tuple(gid for gid, g in state.grants.items()
                 if g.grant.grantee == party and g.ended_by and not g.acked)


class _Facts:
    """What the hot path reads from the terms on every record, looked up once per
    negotiation: the terms are fixed, so these are plain dicts and sets instead of scans."""

    def __init__(self, terms: Terms) -> None:
        self.negotiation = terms.negotiation
        self.parties = frozenset(terms.party_ids)
        self.claimants = terms.claimants
        self.contested = terms.contested
        self.claimant_sets = {d: frozenset(c) for d, c in terms.contested.items()}
        self.contested_sorted = sorted(terms.contested)
        self.units = {d: terms.dimension(d).units for d in terms.contested}
        policy = terms.policy
        # Each claimant's tiers on the contested dimensions it claims: a request's ``tiers``
        # must be exactly this mapping (what the party's view shows as ``my_tiers``).
        self.tiers = {
            p: {d: policy.tier_of(p, d) for d in terms.contested if p in terms.contested[d]}
            for p in terms.claimants
            if all(p in policy.tiers and d in policy.tiers[p]
                   for d in terms.contested if p in terms.contested[d])
        }
        self.round_cap = policy.round_cap
        self.timeout_ticks = policy.timeout_ticks
        self.duration_cap = policy.grant_duration_cap
        self.unanimity = policy.multiparty_rule == "unanimity"
        self.private = frozenset(e.id for e in terms.vocabulary.entries if e.private)
        self.attested = frozenset((w.waiter, w.waits_on) for w in terms.waits)
        # The scope items an envelope update may name: those some genesis envelope (public
        # or sealed) declared on that dimension, so an update cannot carry new words.
        self.scope_items = {d: frozenset().union(*(
            e.projection(d) for p in terms.parties for e in (p.envelope, p.sealed) if e))
            for d in terms.dimension_ids}


class Negotiation:
    """One negotiation under fixed terms. Feed it records; it returns what it appended."""

    def __init__(self, terms: Terms) -> None:
        self.terms = terms
        self._facts = _Facts(terms)
        # Views (view.py) keep what they can share between turns here: derived from the
        # terms alone (keyed by party, revealed cards, envelope), so every negotiation under
        # the same (frozen) terms object shares it.
        self._view_memo: dict[Any, Any] = terms.view_memo
        self._state = State(
            next_proposer=terms.claimants[0], envelopes={p.id: p.envelope for p in terms.parties}
        )

    @property
    def state(self) -> State:
        return self._state

    @property
    def outcome(self) -> Outcome | None:
        return self._state.outcome

    def apply(self, record: Header) -> tuple[Header, ...]:
        return self._apply_wire(record)[0]

    def _apply_wire(self, record: Header) -> tuple[tuple[Header, ...], dict[str, Any]]:
        """``apply``, also returning the JSON dump the record was re-validated from: it is the
        dump of the first record returned (re-validation of a dump is the identity on it for
        every kind a party may send, all of whose fields are strict), so a ledger hashes it
        instead of serialising the record a second time."""
        valid, wire = _revalidated_wire(record, self._state.next_seq)
        records = self._apply_valid(valid)
        if type(record) is not type(valid) or len(wire) != _FIELD_COUNT[type(valid)]:
            # A subclass (which may serialise itself its own way) or a record missing a
            # defaulted field: its dump is not the validated record's; serialise that one.
            wire = valid.model_dump(mode="json")
        return records, wire

    def _apply_valid(self, record: Header) -> tuple[Header, ...]:
        """``apply`` for a record that is already the schema's own output (``parse_record``
        just built it, as replay does): re-validating it would rebuild an equal record."""
        step = _Step(self.terms, self._state, self._facts)
        step.party_record(record)
        return self._commit(step)

    def timeout(self, party: str, tick: int) -> tuple[Header, ...]:
        """Silence past the timeout counts as refusal; the core records it for the party."""
        step = _Step(self.terms, self._state, self._facts)
        step.silence(party, tick)
        return self._commit(step)

    def advance(self, tick: int) -> tuple[Header, ...]:
        """Logical time moved on: log the end of every grant that expired by ``tick``."""
        step = _Step(self.terms, self._state, self._facts)
        step.expire(tick)
        return self._commit(step)

    def expected(self) -> tuple[str, ...]:
        """The parties whose record the negotiation is waiting for, in a fixed order."""
        state = self._state
        if state.phase is Phase.OPEN:
            return (state.next_proposer,)
        if state.phase is Phase.PROPOSED:
            return state.pending
        renewing = state.renewal.pending if state.renewal is not None else ()
        return tuple(p for p in self.terms.party_ids if p in renewing or owed_acks(state, p))

    def legal_kinds(self, party: str) -> tuple[str, ...]:
        phase = self._state.phase
        kinds = _KINDS_BY_PHASE[phase]
        if phase is not Phase.SETTLED:
            return kinds if party in self.expected() else ()
        return (
            kinds
            if any(
                party in (g.grant.grantee, *g.grant.grantors) for g in self._state.grants.values()
            )
            else ()
        )

    def deadline(self) -> int | None:
        """The last tick at which the awaited record is still on time."""
        return _deadline(self.terms, self._state)

    def _commit(self, step: _Step) -> tuple[Header, ...]:
        self._state = step.state
        return tuple(step.out)


class _Step:
    """One transition in progress: a scratch state and the records it will append."""

    def __init__(self, terms: Terms, state: State, facts: _Facts) -> None:
        self.terms = terms
        self.state = state
        self.facts = facts
        self.out: list[Header] = []
        self.seq = state.next_seq  # the position a refusal is reported at

    # -- inputs -----------------------------------------------------------------------------

    def party_record(self, record: Header) -> None:
        kind = _kind(record)
        self._check_header(record, kind)
        role = TRANSITIONS.get((self.state.phase, kind))
        if role is None:
            raise self._violation(
                Code.ILLEGAL_TRANSITION,
                "kind",
                f"{kind!r} is not legal while {self.state.phase.value}",
            )
        self._accept_input(record)
        _HANDLERS[kind](self, record)

    def silence(self, party: str, tick: int) -> None:
        state, deadline = self.state, self._deadline()
        awaited = (
            state.pending
            if state.phase is Phase.PROPOSED
            else ((state.next_proposer,) if state.phase is Phase.OPEN else ())
        )
        if party not in awaited or deadline is None:
            raise self._violation(
                Code.ILLEGAL_TRANSITION, "silent_party", f"no record is awaited from {party!r}"
            )
        if tick < state.tick or tick <= deadline:
            raise self._violation(
                Code.NOT_TIMED_OUT, "tick", f"deadline {deadline} not passed at tick {tick}"
            )
        if tick != deadline + 1:
            # Silence is known the tick after the deadline; a later tick would let the
            # recorder of the timeout move the clock at will.
            raise self._violation(
                Code.TICK_TOO_FAR, "tick", f"a timeout is recorded at tick {deadline + 1}"
            )
        self.state = _evolve(state, tick=tick)
        reply_to = state.proposal.seq if state.proposal else None
        self._emit(
            Refuse,
            reasons=(self.terms.policy.clauses.timeout,),
            silent_party=party,
            reply_to=reply_to,
        )
        if state.phase is Phase.PROPOSED:
            self._refused(party)
        else:
            self._skip_proposer(party)

    def _skip_proposer(self, party: str) -> None:
        """A silent proposer loses its turn (and a round) to the next claimant."""
        claimants = self.terms.claimants
        after = claimants[(claimants.index(party) + 1) % len(claimants)]
        self.state = _evolve(self.state, rounds=self.state.rounds + 1, next_proposer=after)
        self._cap_reached()

    def expire(self, tick: int) -> None:
        if tick < self.state.tick:
            raise self._violation(Code.TICK_REGRESSED, "tick", f"{tick} < {self.state.tick}")
        live = [g for g in self.state.grants.values() if g.ended_by is None]
        ended = [g for g in live if g.grant.expires <= tick]
        if not ended:
            raise self._violation(
                Code.ILLEGAL_TRANSITION, "tick", f"no grant expires by tick {tick}"
            )
        last = max(g.grant.expires for g in live)
        if tick > last:
            # Time passes to an expiry, never beyond the last one: nothing is left to end.
            raise self._violation(Code.TICK_TOO_FAR, "tick", f"the last grant expires at {last}")
        self.state = _evolve(self.state, tick=tick)
        for grant_state in ended:
            grant = grant_state.grant
            self._emit(Revocation, grant_id=grant.grant_id, clause=self.terms.policy.clauses.expiry)
            self._end_grant(grant.grant_id, "expiry")

    # -- checks common to every party record ------------------------------------------------

    def _check_header(self, record: Header, kind: str) -> None:
        terms, state = self.terms, self.state
        if record.negotiation != terms.negotiation:
            raise self._violation(
                Code.WRONG_NEGOTIATION,
                "negotiation",
                f"{record.negotiation!r} is not {terms.negotiation!r}",
            )
        if record.sender == CORE or kind in CORE_KINDS:
            raise self._violation(
                Code.FORGED_CORE_RECORD,
                "kind" if kind in CORE_KINDS else "sender",
                f"only the core may produce {kind!r}",
            )
        if record.sender not in self.facts.parties:
            raise self._violation(Code.UNKNOWN_PARTY, "sender", f"{record.sender!r}")
        if record.seq != state.next_seq:
            raise self._violation(
                Code.BAD_SEQUENCE, "seq", f"expected {state.next_seq}, got {record.seq}"
            )
        if record.tick < state.tick:
            raise self._violation(Code.TICK_REGRESSED, "tick", f"{record.tick} < {state.tick}")
        self._check_jump(record.tick)
        version = state.envelopes[record.sender].version
        if record.envelope_version != version:
            # The full value, so an agent (or a person using `check`) can paste it back.
            sent = "missing" if record.envelope_version is None else "stale"
            raise self._violation(
                Code.STALE_ENVELOPE,
                "envelope_version",
                f"{sent}; {record.sender!r} is at {version}",
            )
        if isinstance(record, Refuse) and record.silent_party is not None:
            raise self._violation(
                Code.FORGED_CORE_RECORD, "silent_party", "only the core records a timeout"
            )

    def _check_jump(self, tick: int) -> None:
        """How far ahead of the negotiation's clock a party may date its record. In the open
        phase, up to the proposer's deadline: past it only the core's timeout may speak, so
        one state never has two legal continuations. Once settled, up to the end of the
        longest grant the policy allows, since no grant outlives that. A reply's deadline
        is checked with the reply."""
        phase = self.state.phase
        if phase is Phase.PROPOSED:
            return
        facts = self.facts
        limit = self.state.tick + (facts.timeout_ticks if phase is Phase.OPEN
                                   else max(facts.timeout_ticks, facts.duration_cap))
        if tick > limit:
            code = Code.TIMED_OUT if phase is Phase.OPEN else Code.TICK_TOO_FAR
            raise self._violation(code, "tick", f"{tick} is past tick {limit}")

    def _accept_input(self, record: Header) -> None:
        self.state = _evolve(self.state, tick=record.tick, next_seq=self.state.next_seq + 1)
        self.out.append(record)

    def _rationale(self, record: Header, ids: tuple[str, ...], field: str) -> None:
        vocab, state = self.terms.vocabulary, self.state
        try:
            vocab.check_rationale(record.sender, ids, field, state.revealed)
        except ProtocolViolation as violation:
            violation.seq = self.seq
            raise
        # Citing your own private card reveals it: peers may cite it from now on. (Every id
        # is known by now, so the private ones are those in the vocabulary's private set.)
        newly = self.facts.private.intersection(ids)
        if newly and not newly <= state.revealed:
            self.state = _evolve(state, revealed=state.revealed | newly)

    def _reply(self, record: Header) -> Proposal:
        state = self.state
        proposal = state.proposal
        assert proposal is not None  # the PROPOSED phase always has one
        if record.sender not in state.pending:
            raise self._violation(Code.NOT_YOUR_TURN, "sender", f"{record.sender!r} is not awaited")
        if record.reply_to != proposal.seq:
            raise self._violation(
                Code.STALE_REPLY, "reply_to", f"the proposal on the table is seq {proposal.seq}"
            )
        deadline = self._deadline()
        if deadline is not None and record.tick > deadline:
            raise self._violation(Code.TIMED_OUT, "tick", f"deadline was tick {deadline}")
        return proposal

    def _deadline(self) -> int | None:
        return _deadline(self.terms, self.state)

    # -- negotiation ------------------------------------------------------------------------

    def request(self, record: Request) -> None:
        state, terms = self.state, self.terms
        if state.phase is Phase.SETTLED:
            self._renewal_request(record)
            return
        if record.sender != state.next_proposer:
            raise self._violation(
                Code.NOT_YOUR_TURN, "sender", f"{state.next_proposer!r} is to propose"
            )
        contested = self.facts.contested_sorted
        if sorted(record.projection) != contested or len(set(record.projection)) != len(
            record.projection
        ):
            raise self._violation(
                Code.PROJECTION_MISMATCH, "projection", f"the overlap is {contested}"
            )
        self._check_tiers(record)
        if record.duration > terms.policy.grant_duration_cap:
            raise self._violation(
                Code.DURATION_EXCEEDS_CAP, "duration", f"cap is {terms.policy.grant_duration_cap}"
            )
        self._check_precondition(record.precondition)
        allocation = self._allocation(record.proposal, "proposal")
        self._rationale(record, record.rationale, "rationale")
        if record.reservation is not None:
            self._check_reservation(record)
        self._check_dependencies(record)
        self._propose(record, allocation, record.duration, record.reservation, record.precondition)

    def counter(self, record: Counter) -> None:
        proposal = self._reply(record)
        if record.dimension not in self.facts.contested:
            raise self._violation(
                Code.PROJECTION_MISMATCH, "dimension", f"{record.dimension!r} is not contested"
            )
        merged = {**proposal.allocation, record.dimension: dict(record.value)}
        allocation = self._allocation(merged, f"value({record.dimension})")
        if allocation == proposal.allocation:
            raise self._violation(Code.EMPTY_COUNTER, "value", "the counter changes nothing")
        self._rationale(record, record.rationale, "rationale")
        self.state = _evolve(self.state, rounds=self.state.rounds + 1)
        if not self._cap_reached():
            self._propose(
                record, allocation, proposal.duration, proposal.reservation, proposal.precondition
            )

    def accept(self, record: Accept) -> None:
        if self.state.phase is Phase.SETTLED:
            self._renewal_answer(record, record.rationale, "rationale")
            return
        proposal = self._reply(record)
        self._rationale(record, record.rationale, "rationale")
        state = self.state
        accepted = (*state.accepted, record.sender)
        pending = tuple(p for p in state.pending if p != record.sender)
        self.state = _evolve(state, accepted=accepted, pending=pending)
        if self._agreed():
            self._settle(settle.agreed(self.terms, proposal.allocation), proposal)

    def defer(self, record: Defer) -> None:
        self._reply(record)
        self._rationale(record, record.rationale, "rationale")
        # A defer costs a round, so deferring forever cannot dodge the round cap.
        self.state = _evolve(self.state, rounds=self.state.rounds + 1)
        self._cap_reached()

    def refuse(self, record: Refuse) -> None:
        if self.state.phase is Phase.SETTLED:
            self._renewal_answer(record, record.reasons, "reasons")
            return
        self._reply(record)
        self._rationale(record, record.reasons, "reasons")
        if record.cycle:
            self._break_cycle(record)
        else:
            self._refused(record.sender)

    def _break_cycle(self, record: Refuse) -> None:
        """A shown dependency cycle through this negotiation is dissolved by tier-break now.

        The cycle must leave this negotiation by a wait it really declared (an accepted
        edge); the rest of the path, through other negotiations, is the refuser's evidence,
        which only a mediator seeing every negotiation can confirm.
        """
        shown = {(e.waiter, e.waits_on) for e in record.cycle}
        edges = set(self.state.dependencies) | shown
        here = self.terms.negotiation
        if not any(waiter == here and _reaches(edges, target, here)
                   for waiter, target in self.state.dependencies):
            raise self._violation(
                Code.NO_CYCLE,
                "cycle",
                f"no cycle runs through a wait {here!r} declared",
            )
        self._check_shown_waits(record)
        # The tier-break settles this negotiation, so it waits on nothing any more: the shown
        # edges are evidence for the break, never accepted as standing dependencies.
        self.state = _evolve(self.state, rounds=self.state.rounds + 1)
        self._settle(
            settle.by_terminal_rules(self.terms, self.state.first_proposal),
            self.state.proposal,
            extra_clause=self.terms.policy.clauses.dependency_cycle,
        )

    def _check_shown_waits(self, record: Refuse) -> None:
        """Every wait the refuser shows must be one a peer can check: this negotiation's own,
        declared in its lineage, or one an authority in the terms vouches for. A wait only
        the refuser asserts could invent a cycle to cut the round cap short."""
        here, declared = self.terms.negotiation, self.state.dependencies
        for position, edge in enumerate(record.cycle):
            wait = (edge.waiter, edge.waits_on)
            if not ((edge.waiter == here and wait in declared) or wait in self.facts.attested):
                raise self._violation(Code.UNVERIFIED_CYCLE, f"cycle[{position}]",
                                      f"no peer can check that {edge.waiter!r} waits on "
                                      f"{edge.waits_on!r}")

    def _refused(self, party: str) -> None:
        state = self.state
        proposal = state.proposal
        assert proposal is not None
        refused = (*state.refused, party)
        pending = tuple(p for p in state.pending if p != party)
        self.state = _evolve(state, refused=refused, pending=pending, rounds=state.rounds + 1)
        if self._cap_reached():
            return
        if not self._can_still_agree():
            self.state = _evolve(self.state,
                phase=Phase.OPEN,
                proposal=None,
                pending=(),
                accepted=(),
                refused=(),
                next_proposer=proposal.proposer,
            )

    def _propose(
        self,
        record: Header,
        allocation: Allocation,
        duration: int,
        reservation: Reservation | None,
        precondition: Precondition | None,
    ) -> None:
        state = self.state
        # Proposal and State are frozen dataclasses without derived fields: fill them in
        # directly, as _evolve does, instead of paying for __init__'s per-field setattr.
        proposal = object.__new__(Proposal)
        proposal.__dict__.update(
            seq=record.seq,
            proposer=record.sender,
            tick=record.tick,
            allocation=allocation,
            duration=duration,
            reservation=reservation,
            precondition=precondition,
        )
        first = state.first_proposal
        if record.sender not in first:
            first = {**first, record.sender: record.tick}
        pending = tuple(p for p in self.facts.claimants if p != record.sender)
        asks = {**state.asks, record.sender: allocation}
        self.state = _evolve(state,
            phase=Phase.PROPOSED,
            proposal=proposal,
            pending=pending,
            accepted=(),
            refused=(),
            first_proposal=first,
            asks=asks,
        )

    def _agreed(self) -> bool:
        state, n = self.state, len(self.facts.claimants)
        if self.facts.unanimity:
            return not state.pending and not state.refused
        return 1 + len(state.accepted) > n / 2  # the proposer's own yes counts

    def _can_still_agree(self) -> bool:
        state, n = self.state, len(self.facts.claimants)
        if self.facts.unanimity:
            return not state.refused
        return 1 + len(state.accepted) + len(state.pending) > n / 2

    def _cap_reached(self) -> bool:
        if self.state.rounds < self.facts.round_cap:
            return False
        proposal = self.state.proposal
        self._settle(settle.by_terminal_rules(self.terms, self.state.first_proposal), proposal)
        return True

    # -- settlement -------------------------------------------------------------------------

    def _settle(
        self,
        settlement: settle.Settlement,
        proposal: Proposal | None,
        extra_clause: str | None = None,
    ) -> None:
        terms, clauses = self.terms, self.terms.policy.clauses
        for dim, parts in settlement.tier_breaks:
            self._emit(
                TierBreak,
                dimension=dim,
                winner=parts.winner,
                candidates=parts.candidates,
                clauses=tuple(
                    dict.fromkeys((clauses.tier_break, *((extra_clause,) if extra_clause else ())))
                ),
            )
        satisfied, sacrificed = settle.trade_offs(terms, settlement.allocation)
        justification = settle.justification(
            terms, settlement, self.state.rounds, self.state.accepted, extra_clause
        )
        outcome = self._emit(
            Outcome,
            terminal=settlement.terminal,
            allocation=settlement.allocation,
            satisfied=satisfied,
            sacrificed=sacrificed,
            justification=justification,
        )
        assert isinstance(outcome, Outcome)
        self.state = _evolve(self.state, phase=Phase.SETTLED, outcome=outcome, pending=())
        agreed = settlement.terminal == "agreement" and proposal is not None
        duration = proposal.duration if agreed and proposal else terms.policy.grant_duration_cap
        clause = (
            clauses.agreement
            if agreed
            else clauses.tier_break
            if settlement.terminal == "tier_break"
            else clauses.fallback
        )
        if not agreed:
            self._deny(settlement)
        for dim, share in settlement.allocation.items():
            for party, units in share.items():
                if units > 0:
                    self._grant(
                        dim, party, units, duration, (clause,), proposal if agreed else None
                    )

    def _deny(self, settlement: settle.Settlement) -> None:
        """Tell each requester, by dimension, what it asked for and did not get, and why."""
        clauses = self.terms.policy.clauses
        rule_clause = {
            d.dimension: clauses.tier_break if d.rule == "tier_break" else clauses.fallback
            for d in settlement.decisions
        }
        for party in self.terms.claimants:
            ask = self.state.asks.get(party, {})
            for dim, share in ask.items():
                granted = settlement.allocation[dim].get(party, 0)
                if share.get(party, 0) > granted:
                    self._emit(
                        Denial,
                        party=party,
                        dimension=dim,
                        requested=share[party],
                        granted=granted,
                        clauses=(rule_clause[dim],),
                    )

    # -- renewal ----------------------------------------------------------------------------

    def _renewal_request(self, record: Request) -> None:
        state, policy = self.state, self.terms.policy
        if state.renewal is not None:
            raise self._violation(Code.ILLEGAL_TRANSITION, "kind",
                                  f"renewal #{state.renewal.seq} is still awaiting its grantors")
        grant_state = next((g for g in state.grants.values() if g.grant.seq == record.reply_to),
                           None)
        if grant_state is None:
            raise self._violation(Code.UNKNOWN_GRANT, "reply_to",
                                  "a renewal names the grant it renews by that grant's seq")
        grant = grant_state.grant
        if record.sender != grant.grantee:
            raise self._violation(Code.NOT_GRANT_HOLDER, "sender",
                                  f"{grant.grant_id!r} is held by {grant.grantee!r}")
        self._check_renewable(grant_state)
        dim = grant.dimension
        if tuple(record.projection) != (dim,):
            raise self._violation(Code.PROJECTION_MISMATCH, "projection",
                                  f"a renewal projects {dim!r} alone")
        if {d: dict(s) for d, s in record.proposal.items()} != {dim: {grant.grantee: grant.units}}:
            raise self._violation(Code.BAD_ALLOCATION, "proposal",
                                  f"a renewal asks for the grant's own {grant.units} of {dim!r}")
        if dict(record.tiers) != {dim: policy.tier_of(grant.grantee, dim)}:
            raise self._violation(Code.TIER_MISMATCH, f"tiers.{dim}",
                                  f"policy gives {grant.grantee!r} "
                                  f"tier {policy.tier_of(grant.grantee, dim)!r}")
        if record.duration > policy.grant_duration_cap:
            raise self._violation(Code.DURATION_EXCEEDS_CAP, "duration",
                                  f"cap is {policy.grant_duration_cap}")
        extra = next((f for f in ("reservation", "precondition", "depends_on", "dependencies")
                      if getattr(record, f)), None)
        if extra is not None:
            raise self._violation(Code.NOT_RENEWABLE, extra, f"a renewal carries no {extra}")
        if not state.envelopes[grant.grantee].projection(dim):
            raise self._violation(Code.OUTSIDE_ENVELOPE, "projection",
                                  f"{dim!r} is outside {grant.grantee!r}'s envelope now")
        self._rationale(record, record.rationale, "rationale")
        self.state = _evolve(self.state, renewal=Renewal(
            record.seq, grant.grant_id, record.duration, grant.grantors))

    def _check_renewable(self, grant_state: GrantState) -> None:
        grant_id = grant_state.grant.grant_id
        why = ("it is live" if grant_state.ended_by is None
               else f"it was ended by {grant_state.ended_by}"
               if grant_state.ended_by not in RENEWABLE_ENDINGS
               else "its end is not acknowledged" if not grant_state.acked
               else "its renewal was already decided" if grant_id in self.state.renewed
               else None)
        if why is not None:
            raise self._violation(Code.NOT_RENEWABLE, "reply_to",
                                  f"{grant_id!r} cannot be renewed: {why}")

    def _renewal_answer(self, record: Header, ids: tuple[str, ...], field: str) -> None:
        state = self.state
        renewal = state.renewal
        if renewal is None:
            raise self._violation(Code.ILLEGAL_TRANSITION, "kind",
                                  "no proposal or renewal is awaiting an answer")
        if record.sender not in renewal.pending:
            raise self._violation(Code.NOT_YOUR_TURN, "sender",
                                  f"{record.sender!r} is not a grantor awaited by renewal "
                                  f"#{renewal.seq}")
        if record.reply_to != renewal.seq:
            raise self._violation(Code.STALE_REPLY, "reply_to",
                                  f"the renewal awaiting answers is seq {renewal.seq}")
        if isinstance(record, Refuse) and record.cycle:
            raise self._violation(Code.NO_CYCLE, "cycle", "a renewal opens no negotiation")
        self._rationale(record, ids, field)
        grant = state.grants[renewal.grant_id].grant
        clauses = self.terms.policy.clauses
        if isinstance(record, Refuse):
            self.state = _evolve(self.state, renewal=None,
                                 renewed=state.renewed | {renewal.grant_id})
            self._emit(Denial, party=grant.grantee, dimension=grant.dimension,
                       requested=grant.units, granted=0, clauses=record.reasons,
                       reply_to=renewal.seq)
            return
        pending = tuple(p for p in renewal.pending if p != record.sender)
        if pending:  # every grantor of the grant must agree to give it again
            self.state = _evolve(self.state, renewal=replace(renewal, pending=pending))
            return
        self.state = _evolve(self.state, renewal=None, renewed=state.renewed | {renewal.grant_id})
        self._grant(grant.dimension, grant.grantee, grant.units, renewal.duration,
                    (clauses.agreement,), None, reply_to=renewal.seq)

    def _grant(
        self,
        dim: str,
        grantee: str,
        units: int,
        duration: int,
        clauses: tuple[str, ...],
        proposal: Proposal | None,
        reply_to: int | None = None,
    ) -> Grant:
        terms, tick = self.terms, self.state.tick
        grantors = tuple(sorted(p for p in terms.contested[dim] if p != grantee))
        versions = {p: self.state.envelopes[p].version for p in (grantee, *grantors)}
        grant = self._emit(
            Grant,
            grant_id=f"grant:{self.state.next_seq}",
            grantee=grantee,
            grantors=grantors,
            dimension=dim,
            units=units,
            starts=tick,
            expires=tick + duration,
            versions=versions,
            clauses=clauses,
            precondition=proposal.precondition if proposal else None,
            reservation=proposal.reservation if proposal else None,
            reply_to=reply_to,
        )
        assert isinstance(grant, Grant)
        grants = {**self.state.grants, grant.grant_id: GrantState(grant)}
        self.state = _evolve(self.state, grants=grants)
        return grant

    # -- grants -----------------------------------------------------------------------------

    def _grant_state(self, grant_id: str) -> GrantState:
        grant_state = self.state.grants.get(grant_id)
        if grant_state is None:
            raise self._violation(Code.UNKNOWN_GRANT, "grant_id", f"{grant_id!r}")
        return grant_state

    def commit(self, record: Commit) -> None:
        grant_state = self._grant_state(record.grant_id)
        grant = grant_state.grant
        owed = owed_acks(self.state, record.sender)
        if owed:
            # The holder must ack an ended grant before it uses any claim again, so the
            # lineage shows it knew the claim was gone before it acted.
            raise self._violation(
                Code.ACK_OWED, "sender",
                f"{record.sender!r} must first acknowledge the end of {owed[0]!r}",
            )
        if (
            record.sender != grant.grantee
            and record.sender not in self.terms.party(grant.grantee).represents
        ):
            raise self._violation(
                Code.NOT_GRANT_HOLDER, "sender", f"{grant.grant_id!r} is held by {grant.grantee!r}"
            )
        if not self.state.envelopes[record.sender].projection(record.dimension):
            # A subordinate re-checks admissibility: its own envelope must cover the scope.
            raise self._violation(
                Code.OUTSIDE_ENVELOPE,
                "dimension",
                f"{record.dimension!r} is outside {record.sender!r}'s envelope",
            )
        if not grant_state.current(record.tick) or not self._precondition_holds(grant):
            raise self._violation(
                Code.DEAD_GRANT,
                "grant_id",
                f"{grant.grant_id!r} is not current at tick {record.tick}",
            )
        if record.dimension != grant.dimension or record.units > grant.units:
            raise self._violation(
                Code.NO_GRANT,
                "units",
                f"{grant.grant_id!r} covers {grant.units} of {grant.dimension!r}",
            )

    def ack(self, record: Ack) -> None:
        grant_state = self._grant_state(record.grant_id)
        if record.sender != grant_state.grant.grantee:
            raise self._violation(Code.NOT_GRANT_HOLDER, "sender", "only the holder acks")
        if grant_state.ended_by is None or grant_state.acked:
            raise self._violation(
                Code.NOTHING_TO_ACK, "grant_id", f"{record.grant_id!r} has not ended or is acked"
            )
        grants = {**self.state.grants, record.grant_id: replace(grant_state, acked=True)}
        self.state = _evolve(self.state, grants=grants)

    def revocation(self, record: Revocation) -> None:
        grant_state = self._grant_state(record.grant_id)
        if record.sender not in grant_state.grant.grantors:
            raise self._violation(Code.NOT_GRANTOR, "sender", "only a grantor may revoke")
        if not grant_state.current(record.tick):
            raise self._violation(Code.DEAD_GRANT, "grant_id", f"{record.grant_id!r} ended")
        if record.clause not in self.terms.policy.clauses.revocation:
            raise self._violation(
                Code.WRONG_ID_KIND, "clause", f"{record.clause!r} is not a revocation clause"
            )
        self._end_grant(record.grant_id, "revocation")

    def preemption(self, record: Preemption) -> None:
        grant_state = self._grant_state(record.grant_id)
        grant, policy = grant_state.grant, self.terms.policy
        if record.sender not in grant.grantors:
            raise self._violation(
                Code.NOT_PREEMPTIBLE,
                "sender",
                f"{record.sender!r} does not claim {grant.dimension!r}",
            )
        if not grant_state.current(record.tick):
            raise self._violation(Code.DEAD_GRANT, "grant_id", f"{record.grant_id!r} ended")
        holder_tier = policy.tier_of(grant.grantee, grant.dimension)
        if not policy.preemptible_at(grant.dimension, holder_tier) or policy.tier_rank(
            record.sender, grant.dimension
        ) <= policy.tier_rank(grant.grantee, grant.dimension):
            raise self._violation(
                Code.NOT_PREEMPTIBLE,
                "grant_id",
                f"{grant.dimension!r} at {holder_tier!r} is not pre-emptible by {record.sender!r}",
            )
        self._rationale(record, record.rationale, "rationale")
        self._end_grant(record.grant_id, "preemption")
        self._grant(
            grant.dimension,
            record.sender,
            grant.units,
            grant.expires - record.tick,
            (policy.clauses.preemption,),
            None,
            reply_to=record.seq,  # the new grant names the pre-emption that took the scope
        )

    def envelope(self, record: EnvelopeUpdate) -> None:
        self._rationale(record, record.rationale, "rationale")
        unknown = [d for d in record.scope if d not in self.terms.dimension_ids]
        if unknown:
            raise self._violation(
                Code.UNKNOWN_ID, f"scope.{unknown[0]}", f"{unknown[0]!r} is not a dimension"
            )
        self._check_scope(record.scope)
        envelope = Envelope(scope=record.scope)
        if envelope.version == self.state.envelopes[record.sender].version:
            raise self._violation(Code.ILLEGAL_TRANSITION, "scope", "the envelope is unchanged")
        self.state = _evolve(self.state, envelopes={**self.state.envelopes, record.sender: envelope}
        )
        for grant_state in list(self.state.grants.values()):
            grant = grant_state.grant
            if grant_state.ended_by is None and record.sender in (grant.grantee, *grant.grantors):
                self._emit(
                    Revocation,
                    grant_id=grant.grant_id,
                    clause=self.terms.policy.clauses.envelope_change,
                )
                self._end_grant(grant.grant_id, "envelope_change")

    def _check_scope(self, scope: Mapping[str, tuple[str, ...]]) -> None:
        for dim, items in scope.items():
            declared = self.facts.scope_items[dim]
            for position, item in enumerate(items):
                if item not in declared:
                    raise self._violation(Code.UNDECLARED_SCOPE, f"scope.{dim}[{position}]",
                                          f"{item!r} is not scope any envelope declared "
                                          f"on {dim!r}")
            if len(set(items)) != len(items):
                raise self._violation(Code.DUPLICATE_ID, f"scope.{dim}",
                                      "a scope item named twice")

    def _end_grant(self, grant_id: str, how: str) -> None:
        grants = {**self.state.grants, grant_id: replace(self.state.grants[grant_id], ended_by=how)}
        self.state = _evolve(self.state, grants=grants)

    # -- validation helpers -----------------------------------------------------------------

    def _allocation(self, proposed: Mapping[str, Mapping[str, int]], field: str) -> Allocation:
        facts = self.facts
        claimant_sets, all_units = facts.claimant_sets, facts.units
        for dim, share in proposed.items():
            claimants = claimant_sets.get(dim)
            if claimants is None:
                raise self._violation(
                    Code.BAD_ALLOCATION, f"{field}.{dim}", f"{dim!r} is not contested"
                )
            if not claimants.issuperset(share):
                party = next(p for p in share if p not in claimants)
                raise self._violation(
                    Code.BAD_ALLOCATION,
                    f"{field}.{dim}.{party}",
                    f"{party!r} does not claim {dim!r}",
                )
            units = all_units[dim]
            if sum(share.values()) != units:
                raise self._violation(
                    Code.BAD_ALLOCATION, f"{field}.{dim}", f"shares must add up to {units}"
                )
        if len(proposed) != len(facts.contested):  # every key is contested: some are missing
            missing = [d for d in facts.contested if d not in proposed]
            raise self._violation(Code.BAD_ALLOCATION, field, f"no share for {missing[0]!r}")
        # settle.full_allocation, with every dimension known to be present.
        return {
            dim: {party: int(proposed[dim].get(party, 0)) for party in claimants}
            for dim, claimants in facts.contested.items()
        }

    def _check_tiers(self, record: Request) -> None:
        if record.tiers == self.facts.tiers.get(record.sender):
            return  # exactly the policy's tiers on the dimensions it claims, nothing else
        policy = self.terms.policy
        contested = self.terms.contested
        mine = [d for d in contested if record.sender in contested[d]]
        for dim in mine:
            claimed = record.tiers.get(dim)
            actual = policy.tier_of(record.sender, dim)
            if claimed != actual:
                raise self._violation(
                    Code.TIER_MISMATCH,
                    f"tiers.{dim}",
                    f"policy gives {record.sender!r} tier {actual!r}",
                )
        extra = set(record.tiers) - set(mine)
        if extra:
            raise self._violation(
                Code.TIER_MISMATCH, f"tiers.{sorted(extra)[0]}",
                f"not a contested dimension {record.sender!r} claims",
            )

    def _check_precondition(self, precondition: Precondition | None) -> None:
        if precondition is None:
            return
        terms = self.terms
        if precondition.dimension not in terms.dimension_ids:
            raise self._violation(
                Code.UNKNOWN_ID, "precondition.dimension", f"{precondition.dimension!r}"
            )
        if precondition.party not in terms.party_ids:
            raise self._violation(
                Code.UNKNOWN_PARTY, "precondition.party", f"{precondition.party!r}"
            )

    def _precondition_holds(self, grant: Grant) -> bool:
        """A conditional grant is live only once the predicted overlap really exists."""
        pre = grant.precondition
        if pre is None:
            return True
        return bool(self.state.envelopes[pre.party].projection(pre.dimension))

    def _check_reservation(self, record: Request) -> None:
        vocab = self.terms.vocabulary
        kinds = {entry.kind for i in record.rationale if (entry := vocab.get(i)) is not None}
        for required in self.terms.policy.reservation_requires:
            if required not in kinds:
                raise self._violation(
                    Code.RESERVATION_RATIONALE,
                    "rationale",
                    f"a reservation must cite a {required} id",
                )
        plan = record.reservation.plan if record.reservation else None
        if plan not in self.terms.policy.plans:
            # Plan ids are shown to reviewers, so only declared ones may enter the lineage.
            raise self._violation(Code.UNKNOWN_ID, "reservation.plan",
                                  f"{plan!r} is not a plan the policy declares")

    def _check_dependencies(self, record: Request) -> None:
        if not record.dependencies and not record.depends_on:
            # No new edge: the accepted ones passed this very check when they were added.
            return
        edges = set(self.state.dependencies)
        edges.update((e.waiter, e.waits_on) for e in record.dependencies)
        edges.update((self.terms.negotiation, d) for d in record.depends_on)
        cycle = find_cycle(edges)
        if cycle:
            raise self._violation(Code.DEPENDENCY_CYCLE, "depends_on", " -> ".join(cycle))
        self.state = _evolve(self.state, dependencies=frozenset(edges))

    # -- output -----------------------------------------------------------------------------

    def _emit(self, record_type: type[Header], **fields: Any) -> Header:
        state = self.state
        record = record_type(
            negotiation=self.terms.negotiation,
            sender=CORE,
            seq=state.next_seq,
            tick=state.tick,
            **fields,
        )
        self.state = _evolve(state, next_seq=state.next_seq + 1)
        self.out.append(record)
        return record

    def _violation(self, code: Code, field: str, detail: str) -> ProtocolViolation:
        return ProtocolViolation(code, field, detail, seq=self.seq)


def find_cycle(edges: set[tuple[str, str]] | frozenset[tuple[str, str]]) -> list[str]:
    """A dependency cycle as a path (first node repeated at the end), or [] if acyclic.

    Iterative, so a long chain of waits cannot exhaust the interpreter's recursion limit.
    """
    graph: dict[str, list[str]] = {}
    for waiter, waits_on in sorted(edges):
        graph.setdefault(waiter, []).append(waits_on)
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path, on_path = [start], {start}
        stack = [iter(graph.get(start, []))]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                finished = path.pop()
                on_path.discard(finished)
                done.add(finished)
                continue
            if nxt in on_path:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in done:
                path.append(nxt)
                on_path.add(nxt)
                stack.append(iter(graph.get(nxt, [])))
    return []


def _reaches(edges: set[tuple[str, str]], start: str, goal: str) -> bool:
    seen, todo = {start}, [start]
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        for waiter, waits_on in edges:
            if waiter == node and waits_on not in seen:
                seen.add(waits_on)
                todo.append(waits_on)
    return False


def _evolve(state: State, **changes: Any) -> State:
    """``dataclasses.replace`` without re-running ``__init__``: this is the core's hot path,
    called several times per record, and ``State`` has no derived fields to recompute."""
    new = object.__new__(State)
    new.__dict__.update(state.__dict__, **changes)
    return new


def _deadline(terms: Terms, state: State) -> int | None:
    if state.phase is Phase.PROPOSED and state.proposal is not None:
        return state.proposal.tick + terms.policy.timeout_ticks
    if state.phase is Phase.OPEN:
        return state.tick + terms.policy.timeout_ticks
    return None


def revalidated(record: object, seq: int) -> Header:
    """The record as the schema sees it. A record built in process may have skipped
    validation (``model_construct``); the core judges only what would survive the wire."""
    return _revalidated_wire(record, seq)[0]


def wire_form(record: object, seq: int) -> tuple[Header, dict[str, Any]]:
    """``revalidated(record, seq)`` and its ``model_dump(mode="json")``: the record as the
    schema sees it and as it goes on the wire. The dump re-validation started from is
    reused when it is the validated record's own (see ``Negotiation._apply_wire``)."""
    valid, wire = _revalidated_wire(record, seq)
    if type(record) is not type(valid) or len(wire) != _FIELD_COUNT[type(valid)]:
        wire = valid.model_dump(mode="json")
    return valid, wire


def _revalidated_wire(record: object, seq: int) -> tuple[Header, dict[str, Any]]:
    """``revalidated``, with the JSON dump (the wire form) the record was validated from."""
    if not isinstance(record, Header):
        raise ProtocolViolation(Code.SCHEMA, "(record)", "not a record", seq=seq)
    try:
        dumped = record.model_dump(mode="json", warnings=False)
    except (TypeError, ValueError, AttributeError) as error:
        raise ProtocolViolation(Code.SCHEMA, "(record)", f"cannot serialise: {error}",
                                seq=seq) from None
    try:
        return parse_record(dumped), dumped
    except ProtocolViolation as violation:
        violation.seq = seq
        raise


# How many fields each record type has (a wire dump of a complete record has one key each).
_FIELD_COUNT: Mapping[type[Header], int] = {t: len(t.model_fields) for t in RECORD_TYPES}


def _kind(record: Header) -> str:
    kind = getattr(record, "kind", None)
    if not isinstance(kind, str):
        raise ProtocolViolation(Code.SCHEMA, "kind", "not a record")
    return kind


_HANDLERS: Mapping[str, Callable[[_Step, Any], None]] = {
    "request": _Step.request,
    "accept": _Step.accept,
    "counter": _Step.counter,
    "defer": _Step.defer,
    "refuse": _Step.refuse,
    "commit": _Step.commit,
    "ack": _Step.ack,
    "revocation": _Step.revocation,
    "preemption": _Step.preemption,
    "envelope": _Step.envelope,
}
