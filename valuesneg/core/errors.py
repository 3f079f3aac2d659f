"""The core's one error type: a typed protocol violation.

Every refusal carries a stable machine-readable code and the offending field, so an agent
can be re-asked with the exact reason and an eval can count violations by kind.
"""

from __future__ import annotations

from enum import StrEnum


class Code(StrEnum):
    """Why the core refused a record: one stable code per rule, carried by every
    ``ProtocolViolation``."""

    SCHEMA = "schema"  # not a well-formed record of any kind
    WRONG_NEGOTIATION = "wrong_negotiation"
    BAD_SEQUENCE = "bad_sequence"  # seq is not the next position in the lineage
    TICK_REGRESSED = "tick_regressed"
    UNKNOWN_PARTY = "unknown_party"
    FORGED_CORE_RECORD = "forged_core_record"  # a party sent a kind only the core may produce
    STALE_ENVELOPE = "stale_envelope"
    ILLEGAL_TRANSITION = "illegal_transition"  # kind not legal in the current phase
    NOT_YOUR_TURN = "not_your_turn"
    STALE_REPLY = "stale_reply"  # reply_to is not the proposal on the table
    UNKNOWN_ID = "unknown_id"
    INADMISSIBLE_ID = "inadmissible_id"  # e.g. another party's private card
    DUPLICATE_ID = "duplicate_id"
    WRONG_ID_KIND = "wrong_id_kind"  # a card id where a clause id is required, etc.
    PROJECTION_MISMATCH = "projection_mismatch"
    BAD_ALLOCATION = "bad_allocation"
    EMPTY_COUNTER = "empty_counter"  # a counter that changes nothing cannot buy rounds
    TIER_MISMATCH = "tier_mismatch"  # claimed tier differs from the policy's
    DURATION_EXCEEDS_CAP = "duration_exceeds_cap"
    RESERVATION_RATIONALE = "reservation_rationale"
    DEPENDENCY_CYCLE = "dependency_cycle"
    TIMED_OUT = "timed_out"
    NOT_TIMED_OUT = "not_timed_out"
    UNKNOWN_GRANT = "unknown_grant"
    NOT_GRANT_HOLDER = "not_grant_holder"
    NOT_GRANTOR = "not_grantor"
    DEAD_GRANT = "dead_grant"
    NO_GRANT = "no_grant"  # commit exceeds or lacks covering scope
    NOTHING_TO_ACK = "nothing_to_ack"
    ACK_OWED = "ack_owed"  # a holder commits before acknowledging a grant that ended
    NOT_RENEWABLE = "not_renewable"  # a renewal of a live, revoked or pre-empted grant, etc.
    NOT_PREEMPTIBLE = "not_preemptible"
    NO_CYCLE = "no_cycle"  # a cycle shown to force a tier-break is not real
    OUTSIDE_ENVELOPE = "outside_envelope"  # a commit beyond the committer's own envelope
    TICK_TOO_FAR = "tick_too_far"  # logical time jumps further than the policy allows
    UNDECLARED_SCOPE = "undeclared_scope"  # a scope item no genesis envelope declares
    UNVERIFIED_CYCLE = "unverified_cycle"  # a shown wait no peer can check


class ProtocolViolation(Exception):
    """A record the core refuses. The negotiation's state is unchanged."""

    def __init__(self, code: Code, field: str, detail: str, *, seq: int | None = None) -> None:
        self.code = code
        self.field = field
        self.detail = detail
        self.seq = seq
        super().__init__(f"{code.value} at {field}: {detail}")

    def as_dict(self) -> dict[str, str | int | None]:
        return {
            "code": self.code.value,
            "field": self.field,
            "detail": self.detail,
            "seq": self.seq,
        }
