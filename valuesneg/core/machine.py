"""The protocol state machine: the only thing that can change a negotiation's state.

Sans-IO in the manner of h11: the caller feeds records (or tells the core that a party was
silent, or that logical time advanced); the core returns the records it appends to the
lineage, or raises ``ProtocolViolation`` and keeps its previous state. State is an immutable
value, so a refusal cannot leave anything half-changed.

``TRANSITIONS`` is the machine: a record is legal only as a row of it, from a sender holding
the row's role, and the row's handler is all that runs. The handlers live by subject in
``bargaining``, ``grants`` and ``renewal``; the checks they share in ``checks``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import bargaining, checks, grants, renewal
from .cycles import find_cycle
from .errors import Code
from .records import Header, Outcome
from .state import (
    RENEWABLE_ENDINGS,
    GrantState,
    Phase,
    Proposal,
    Renewal,
    Role,
    State,
    deadline,
    owed_acks,
)
from .step import Facts, Step
from .terms import Terms
from .wire import kind_of, revalidated, wire_form

__all__ = [
    "RENEWABLE_ENDINGS",
    "TRANSITIONS",
    "GrantState",
    "Negotiation",
    "Phase",
    "Proposal",
    "Renewal",
    "Role",
    "State",
    "Transition",
    "find_cycle",
    "owed_acks",
    "revalidated",
    "wire_form",
]


@dataclass(frozen=True)
class Transition:
    """What a record kind may do in a phase: who may send it, and the handler that applies
    it."""

    role: Role  # who may send the kind in the phase (``checks.check_sender``)
    handler: Callable[[Step, Any], None]  # what it does, once every check has passed


# The legal transitions, as data: which kind may arrive in which phase, from whom, and what
# it does. Any other (phase, kind) is an illegal transition.
TRANSITIONS: Mapping[tuple[Phase, str], Transition] = {
    (Phase.OPEN, "request"): Transition(Role.PROPOSER, bargaining.request),
    (Phase.PROPOSED, "accept"): Transition(Role.RESPONDER, bargaining.accept),
    (Phase.PROPOSED, "counter"): Transition(Role.RESPONDER, bargaining.counter),
    (Phase.PROPOSED, "defer"): Transition(Role.RESPONDER, bargaining.defer),
    (Phase.PROPOSED, "refuse"): Transition(Role.RESPONDER, bargaining.refuse),
    (Phase.SETTLED, "commit"): Transition(Role.HOLDER, grants.commit),
    (Phase.SETTLED, "ack"): Transition(Role.GRANTEE, grants.ack),
    (Phase.SETTLED, "revocation"): Transition(Role.GRANTOR, grants.revocation),
    (Phase.SETTLED, "preemption"): Transition(Role.RIVAL, grants.preemption),
    (Phase.SETTLED, "envelope"): Transition(Role.ANY, grants.envelope),
    # Renewal: the holder of a grant that ended by expiry or an envelope change asks for it
    # again (a request naming that grant); each of its grantors, awaited as the responders
    # to a proposal are, accepts or refuses.
    (Phase.SETTLED, "request"): Transition(Role.GRANTEE, renewal.request),
    (Phase.SETTLED, "accept"): Transition(Role.RESPONDER, renewal.accept),
    (Phase.SETTLED, "refuse"): Transition(Role.RESPONDER, renewal.refuse),
}


# The kinds TRANSITIONS allows in each phase, in table order (what ``legal_kinds`` offers).
_KINDS_BY_PHASE: Mapping[Phase, tuple[str, ...]] = {
    phase: tuple(kind for (p, kind) in TRANSITIONS if p is phase) for phase in Phase
}


class Negotiation:
    """One negotiation under fixed terms. Feed it records; it returns what it appended."""

    def __init__(self, terms: Terms) -> None:
        self.terms = terms
        self._facts = Facts(terms)
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
        return self.apply_with_wire(record)[0]

    def apply_with_wire(self, record: Header) -> tuple[tuple[Header, ...], dict[str, Any]]:
        """``apply``, also returning the record's wire form (``wire.wire_form``), so a
        ledger hashes the dump re-validation started from instead of serialising again."""
        valid, wire = wire_form(record, self._state.next_seq)
        return self.apply_validated(valid), wire

    def apply_validated(self, record: Header) -> tuple[Header, ...]:
        """``apply`` for a record that is already the schema's own output (``parse_record``
        just built it, as replay does): re-validating it would rebuild an equal record."""
        step = Step(self.terms, self._state, self._facts)
        kind = kind_of(record)
        checks.check_header(step, record, kind)
        transition = TRANSITIONS.get((step.state.phase, kind))
        if transition is None:
            raise step.violation(
                Code.ILLEGAL_TRANSITION,
                "kind",
                f"{kind!r} is not legal while {step.state.phase.value}",
            )
        checks.check_sender(step, transition.role, record)
        step.take(record)
        transition.handler(step, record)
        return self._commit(step)

    def timeout(self, party: str, tick: int) -> tuple[Header, ...]:
        """Silence past the timeout counts as refusal; the core records it for the party."""
        step = Step(self.terms, self._state, self._facts)
        bargaining.silence(step, party, tick)
        return self._commit(step)

    def advance(self, tick: int) -> tuple[Header, ...]:
        """Logical time moved on: log the end of every grant that expired by ``tick``."""
        step = Step(self.terms, self._state, self._facts)
        grants.expire(step, tick)
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
        return deadline(self.terms, self._state)

    def _commit(self, step: Step) -> tuple[Header, ...]:
        self._state = step.state
        return tuple(step.out)
