"""The valuesneg protocol core: pure, deterministic, sans-IO.

Imports only the standard library and pydantic. Feed a ``Negotiation`` (or a ``Ledger``,
which also hash-chains what it appends) records; it returns the records it appended or
raises ``ProtocolViolation`` and keeps its state.
"""

from .canonical import canonical_json, content_hash
from .errors import Code, ProtocolViolation
from .ids import CORE, ID_PATTERN, Hash, Id, is_id
from .lineage import FORMAT, Entry, Ledger, LineageError, Verified, verify_lines
from .machine import TRANSITIONS, Negotiation, Phase, Role, State
from .policy import Clauses, Policy, Preemptible
from .records import (
    CORE_KINDS,
    KINDS,
    RECORD_ADAPTER,
    RECORD_TYPES,
    Accept,
    Ack,
    Allocation,
    Commit,
    Counter,
    Defer,
    Denial,
    DependencyEdge,
    EnvelopeUpdate,
    Grant,
    Header,
    Outcome,
    Precondition,
    Preemption,
    Record,
    Refuse,
    Request,
    Reservation,
    Revocation,
    TierBreak,
    parse_record,
)
from .retrieved import Retrieval, ScoredCard
from .terms import Dimension, Envelope, Party, Terms
from .vocabulary import Vocabulary, VocabularyEntry

__all__ = [
    "CORE",
    "CORE_KINDS",
    "FORMAT",
    "ID_PATTERN",
    "KINDS",
    "RECORD_ADAPTER",
    "RECORD_TYPES",
    "TRANSITIONS",
    "Accept",
    "Ack",
    "Allocation",
    "Clauses",
    "Code",
    "Commit",
    "Counter",
    "Defer",
    "Denial",
    "DependencyEdge",
    "Dimension",
    "Entry",
    "Envelope",
    "EnvelopeUpdate",
    "Grant",
    "Hash",
    "Header",
    "Id",
    "Ledger",
    "LineageError",
    "Negotiation",
    "Outcome",
    "Party",
    "Phase",
    "Policy",
    "Precondition",
    "Preemptible",
    "Preemption",
    "ProtocolViolation",
    "Record",
    "Refuse",
    "Request",
    "Reservation",
    "Retrieval",
    "Revocation",
    "Role",
    "ScoredCard",
    "State",
    "Terms",
    "TierBreak",
    "Verified",
    "Vocabulary",
    "VocabularyEntry",
    "canonical_json",
    "content_hash",
    "is_id",
    "parse_record",
    "verify_lines",
]
