"""Records: the only way anything enters a negotiation.

Every record is immutable, forbids unknown fields and carries no free text: where a party
explains itself it cites vocabulary ids. The union is discriminated on ``kind`` so a record
parsed from JSON is exactly one of these types or a schema violation.
"""

from __future__ import annotations

import difflib
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
    model_config = ConfigDict(frozen=True, extra="forbid")


class Header(Frozen):
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
    waiter: Id
    waits_on: Id


class Request(Header):
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
    kind: Literal["accept"] = "accept"
    rationale: Rationale


class Counter(Header):
    kind: Literal["counter"] = "counter"
    dimension: Id
    value: Share
    rationale: Rationale


class Defer(Header):
    kind: Literal["defer"] = "defer"
    rationale: Rationale


class Refuse(Header):
    kind: Literal["refuse"] = "refuse"
    reasons: Rationale
    silent_party: Id | None = None  # set only by the core: silence past the timeout
    # A refuser that finds this negotiation in a dependency cycle shows the cycle's edges;
    # the core checks it is real and tier-breaks at once instead of waiting out the cap.
    cycle: Annotated[tuple[DependencyEdge, ...], Field(max_length=1024)] = ()


class TierCandidate(Frozen):
    party: Id
    tier: Id
    tier_rank: NonNegativeInt
    first_proposal_tick: Tick | None
    order_key: Hash


class TierBreak(Header):
    kind: Literal["tier_break"] = "tier_break"
    dimension: Id
    winner: Id
    candidates: tuple[TierCandidate, ...]
    clauses: Rationale


class Grant(Header):
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
    kind: Literal["revocation"] = "revocation"
    grant_id: Id
    clause: Id


class Preemption(Header):
    kind: Literal["preemption"] = "preemption"
    grant_id: Id
    rationale: Rationale


class Ack(Header):
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
    kind: Literal["commit"] = "commit"
    grant_id: Id
    dimension: Id
    units: Positive


class Sacrifice(Frozen):
    property: Id
    magnitude: StrictFloat


class DimensionDecision(Frozen):
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


def parse_record(data: str | bytes | dict[str, object]) -> Header:
    """Parse JSON text or a decoded object into a record, or refuse it as a schema violation.

    Text goes through the strict parser (no repeated key, NaN or lone surrogate), then both
    forms are validated alike, so a record means the same whichever way it arrived."""
    try:
        raw = data if isinstance(data, dict) else strict_json.loads(data)
    except strict_json.JsonInputError as error:
        raise ProtocolViolation(Code.SCHEMA, "(record)", str(error)) from None
    _check_kind(raw)
    try:
        return RECORD_ADAPTER.validate_python(raw)
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
