"""Records: the only way anything enters a negotiation.

Every record is immutable, forbids unknown fields and carries no free text: where a party
explains itself it cites vocabulary ids. The union is discriminated on ``kind`` so a record
parsed from JSON is exactly one of these types or a schema violation.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic.types import NonNegativeInt, StrictBool, StrictFloat

from . import strict_json
from .errors import Code, ProtocolViolation
from .ids import CORE, Hash, Id, Rationale

Units = Annotated[int, Field(strict=True, ge=0, le=1_000_000)]
Tick = Annotated[int, Field(strict=True, ge=0)]
Seq = Annotated[int, Field(strict=True, ge=0)]
Positive = Annotated[int, Field(strict=True, gt=0)]
SCOPE_ITEMS_MAX = 256  # scope items per dimension in one envelope update
Share = dict[Id, Units]  # party -> units of one dimension
Allocation = dict[Id, Share]  # dimension -> party -> units


class Frozen(BaseModel):
    """Base of every record part: frozen, and unknown fields are refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Header(Frozen):
    """The fields every record carries: the negotiation, the sender, its seq in the lineage, its
    logical tick, what it replies to and the sender's envelope version."""

    kind: str  # narrowed to one literal by each record type
    negotiation: Id
    sender: Id
    seq: Seq
    tick: Tick
    reply_to: Seq | None = None
    # Optional in the type because the core's own records carry none; the description tells
    # agents written elsewhere (`valuesneg schema`) that theirs must.
    envelope_version: Hash | None = Field(
        default=None,
        description="The sender's current envelope version (the full sha256 hex). Every "
        "record a party sends must carry it: the core refuses a missing or stale one "
        "(stale_envelope, naming the current value). Records the core writes leave it null.",
    )


class Reservation(Frozen):
    """Scope held across a multi-step plan; the policy demands a stricter rationale."""

    plan: Id
    steps: Annotated[int, Field(strict=True, ge=2, le=1000)]


class Precondition(Frozen):
    """A conditional assignment: it only takes effect if ``party`` does claim ``dimension``."""

    dimension: Id
    party: Id


class DependencyEdge(Frozen):
    """A wait-for edge: negotiation ``waiter`` waits on negotiation ``waits_on``."""

    waiter: Id
    waits_on: Id


class Request(Header):
    """A proposal: an allocation of the contested scope, the duration asked, the tiers claimed,
    optionally a reservation or a precondition, the negotiations it waits on, and a
    rationale."""

    kind: Literal["request"] = "request"
    projection: Annotated[tuple[Id, ...], Field(min_length=1, max_length=64)]
    proposal: Allocation
    duration: Positive
    tiers: dict[Id, Id]  # dimension -> tier the sender claims; must match the policy
    reservation: Reservation | None = None
    precondition: Precondition | None = None
    depends_on: Annotated[tuple[Id, ...], Field(max_length=64)] = ()
    dependencies: Annotated[tuple[DependencyEdge, ...], Field(max_length=1024)] = ()
    rationale: Rationale


class Accept(Header):
    """Agreement to the proposal on the table, with a rationale."""

    kind: Literal["accept"] = "accept"
    rationale: Rationale


class Counter(Header):
    """A new value for one dimension of the proposal on the table; costs a round."""

    kind: Literal["counter"] = "counter"
    dimension: Id
    value: Share
    rationale: Rationale


class Defer(Header):
    """A request for time before answering; costs a round."""

    kind: Literal["defer"] = "defer"
    rationale: Rationale


class Refuse(Header):
    """A refusal of the proposal on the table, with reasons; the core writes one for a party
    silent past its deadline."""

    kind: Literal["refuse"] = "refuse"
    reasons: Rationale
    silent_party: Id | None = None  # set only by the core: silence past the timeout
    # A refuser that finds this negotiation in a dependency cycle shows the cycle's edges;
    # the core checks it is real and tier-breaks at once instead of waiting out the cap.
    cycle: Annotated[tuple[DependencyEdge, ...], Field(max_length=1024)] = ()


class TierCandidate(Frozen):
    """One party in a tier-break: its tier and rank, when it first proposed, and the hash that
    orders ties."""

    party: Id
    tier: Id
    tier_rank: NonNegativeInt
    first_proposal_tick: Tick | None
    order_key: Hash


class TierBreak(Header):
    """The core's decision of an indivisible dimension at the round cap (or on a shown cycle):
    the highest tier wins, ties broken deterministically."""

    kind: Literal["tier_break"] = "tier_break"
    dimension: Id
    winner: Id
    candidates: tuple[TierCandidate, ...]
    clauses: Rationale


class Grant(Header):
    """Scope the core grants a party: the grantors, the dimension and units, from when until
    when, every party's envelope version then, and the clauses that authorised it."""

    kind: Literal["grant"] = "grant"
    grant_id: Id
    grantee: Id
    grantors: tuple[Id, ...]
    dimension: Id
    units: Units
    starts: Tick
    expires: Tick
    versions: dict[Id, Hash]  # every party's envelope version at grant time
    clauses: Rationale
    precondition: Precondition | None = None
    reservation: Reservation | None = None


class Revocation(Header):
    """A grantor ends a grant, citing a revocation clause."""

    kind: Literal["revocation"] = "revocation"
    grant_id: Id
    clause: Id


class Preemption(Header):
    """A higher tier ends a pre-emptible grant, with a rationale."""

    kind: Literal["preemption"] = "preemption"
    grant_id: Id
    rationale: Rationale


class Ack(Header):
    """The holder acknowledges that a grant has ended."""

    kind: Literal["ack"] = "ack"
    grant_id: Id


class EnvelopeUpdate(Header):
    """A party's envelope changes version: every grant it gives or holds ends."""

    kind: Literal["envelope"] = "envelope"
    # Bounded at the schema so a flood of items is refused before anything reads it; the
    # core then admits only scope items the genesis envelopes declared.
    scope: Annotated[dict[Id, Annotated[tuple[Id, ...], Field(max_length=SCOPE_ITEMS_MAX)]],
                     Field(max_length=64)]
    rationale: Rationale


class Denial(Header):
    """The typed failure path: what a requester asked for on a dimension and did not get."""

    kind: Literal["denial"] = "denial"
    party: Id
    dimension: Id
    requested: Units
    granted: Units
    clauses: Rationale


class Commit(Header):
    """The holder acts on units of contested scope under a current grant."""

    kind: Literal["commit"] = "commit"
    grant_id: Id
    dimension: Id
    units: Positive


class Sacrifice(Frozen):
    """A fairness property an outcome gave up, and by how much."""

    property: Id
    magnitude: StrictFloat


class DimensionDecision(Frozen):
    """How one contested dimension was decided: agreed, tier-broken (and who won) or by a
    fallback rule."""

    dimension: Id
    rule: Literal["agreed", "tier_break", "nash", "equal_split", "priority"]
    winner: Id | None = None


class Justification(Frozen):
    """Everything needed to re-check the outcome; recomputed on replay, never trusted."""

    decisions: tuple[DimensionDecision, ...]
    rounds: NonNegativeInt
    accepted_by: tuple[Id, ...]
    utilities: dict[Id, StrictFloat]
    disagreement: dict[Id, StrictFloat]
    clauses: tuple[Id, ...]
    nash_product: StrictFloat | None = None
    all_above_disagreement: StrictBool


class Outcome(Header):
    """The terminal outcome: agreement, tier-break or fallback, the allocation, the fairness
    properties satisfied and sacrificed, and the computed, re-checkable justification."""

    kind: Literal["outcome"] = "outcome"
    terminal: Literal["agreement", "tier_break", "fallback"]
    allocation: Allocation
    satisfied: tuple[Id, ...]
    sacrificed: tuple[Sacrifice, ...]
    justification: Justification


Record = Annotated[
    Request
    | Accept
    | Counter
    | Defer
    | Refuse
    | TierBreak
    | Grant
    | Revocation
    | Preemption
    | Ack
    | Commit
    | Outcome
    | EnvelopeUpdate
    | Denial,
    Field(discriminator="kind"),
]
RECORD_TYPES: tuple[type[Header], ...] = (
    Request,
    Accept,
    Counter,
    Defer,
    Refuse,
    TierBreak,
    Grant,
    Revocation,
    Preemption,
    Ack,
    Commit,
    Outcome,
    EnvelopeUpdate,
    Denial,
)
KINDS: tuple[str, ...] = tuple(t.model_fields["kind"].default for t in RECORD_TYPES)
# Kinds a party may never send: only the core's own decisions produce them.
CORE_KINDS = frozenset({"tier_break", "grant", "outcome", "denial"})
PARTY_KINDS: tuple[str, ...] = tuple(kind for kind in KINDS if kind not in CORE_KINDS)

RECORD_ADAPTER: TypeAdapter[Record] = TypeAdapter(Record)
# ``RECORD_ADAPTER.validate_python`` without its wrapper (the same call, defaults alike).
_validate: Callable[[object], Header] = RECORD_ADAPTER.validator.validate_python
_PARTY_KIND_SET = frozenset(PARTY_KINDS)


def parse_record(data: str | bytes | dict[str, object]) -> Header:
    """Parse JSON text or a decoded object into a record, or refuse it as a schema violation.

    Text goes through the strict parser (no repeated key, NaN or lone surrogate), then both
    forms are validated alike, so a record means the same whichever way it arrived."""
    try:
        raw = data if isinstance(data, dict) else strict_json.loads(data)
    except strict_json.JsonInputError as error:
        raise ProtocolViolation(Code.SCHEMA, "(record)", str(error)) from None
    kind = raw.get("kind") if type(raw) is dict else None
    if not (type(kind) is str and kind in _PARTY_KIND_SET):  # nothing to say about a party kind
        _check_kind(raw)
    try:
        return _validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(record)"
        raise ProtocolViolation(Code.SCHEMA, field, first["msg"]) from None


def _check_kind(raw: object) -> None:
    """Say what is wrong with ``kind`` before the schema of a kind the record is not (a
    party's grant would otherwise be told a grant_id is missing)."""
    if not isinstance(raw, dict):
        raise ProtocolViolation(
            Code.SCHEMA, "(record)", f"a record is a JSON object, not {_json_type(raw)}"
        )
    kind = raw.get("kind")
    if isinstance(kind, str) and kind in CORE_KINDS and raw.get("sender") != CORE:
        raise ProtocolViolation(
            Code.FORGED_CORE_RECORD, "kind", f"only the core sends {kind} records"
        )
    if isinstance(kind, str) and kind in KINDS:
        return
    close = difflib.get_close_matches(kind, KINDS, n=1) if isinstance(kind, str) else []
    if close:
        detail = f"unknown kind {_shorten(str(kind))}; did you mean {close[0]!r}?"
    else:
        found = "missing" if "kind" not in raw else (
            f"unknown kind {_shorten(kind)}" if isinstance(kind, str)
            else f"{_json_type(kind)}, not a kind")
        detail = f"{found}; a party sends {', '.join(PARTY_KINDS)}"
    raise ProtocolViolation(Code.SCHEMA, "kind", detail)


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


def _shorten(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 32 else text[:29] + "..."
