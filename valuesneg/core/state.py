"""A negotiation's state: immutable values the state machine replaces, never edits, so a
refused record cannot leave anything half-changed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from .records import Allocation, Grant, Outcome, Precondition, Reservation
from .terms import Envelope, Terms


class Phase(StrEnum):
    """Where a negotiation is: open (waiting for a proposal), proposed (responses awaited) or
    settled (grants in use)."""

    OPEN = "open"  # waiting for a proposal
    PROPOSED = "proposed"  # a proposal is on the table, responders are awaited
    SETTLED = "settled"  # an outcome is recorded; grants are being used and ended


class Role(StrEnum):
    """Who may send a kind in a phase (``machine.TRANSITIONS``); ``checks.check_sender``
    says who that is for a given record."""

    PROPOSER = "proposer"  # the claimant whose turn it is to propose
    RESPONDER = "responder"  # a claimant the proposal on the table still awaits
    GRANTEE = "grantee"  # the holder of the grant the record names
    HOLDER = "holder"  # the grantee or a party it represents (a team's subordinate)
    GRANTOR = "grantor"  # a party that gave the grant (for a renewal: one still awaited)
    RIVAL = "rival"  # another claimant of the granted dimension
    ANY = "any"  # any party of the negotiation


@dataclass(frozen=True)
class Proposal:
    """The proposal on the table: who made it at which seq and tick, the allocation, the
    duration, and any reservation or precondition."""

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
    """A grant and how it stands: live, or ended (and how), and whether its holder acknowledged
    the end."""

    grant: Grant
    ended_by: str | None = None  # "revocation", "expiry", "preemption" or "envelope_change"
    acked: bool = False

    def current(self, tick: int) -> bool:
        return self.ended_by is None and self.grant.starts <= tick < self.grant.expires


@dataclass(frozen=True)
class State:
    """Everything a negotiation has become: immutable, replaced by each step that the core
    commits."""

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


def deadline(terms: Terms, state: State) -> int | None:
    """The last tick at which the awaited record is still on time (None once settled)."""
    if state.phase is Phase.PROPOSED and state.proposal is not None:
        return state.proposal.tick + terms.policy.timeout_ticks
    if state.phase is Phase.OPEN:
        return state.tick + terms.policy.timeout_ticks
    return None

