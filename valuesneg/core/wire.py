"""Wire forms: a record as the schema sees it, whatever the caller built in process.

A record built with ``model_construct`` may have skipped validation; the core judges only
what would survive the wire, so every party record is dumped to JSON and parsed back first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic_core import SchemaSerializer

from .errors import Code, ProtocolViolation
from .records import PARTY_KINDS, RECORD_TYPES, Header, parse_record

# How many fields each record type has (a wire dump of a complete record has one key each).
_FIELD_COUNT: Mapping[type[Header], int] = {t: len(t.model_fields) for t in RECORD_TYPES}
# The kinds a party may send: every field strict, none a float, nested parts without
# defaults. For these a dict naming every field validates only to a record that dumps back
# to that very dict, and a record's dump validates back to it (``wire_form``, ``as_sent``).
_IDENTITY_TYPES = frozenset(
    t for t in RECORD_TYPES if t.model_fields["kind"].default in PARTY_KINDS)
_SERIALIZERS: Mapping[type, SchemaSerializer] = {
    t: t.__pydantic_serializer__ for t in RECORD_TYPES}


def revalidated(record: object, seq: int) -> Header:
    """The record as the schema sees it (a violation is reported at ``seq``)."""
    return wire_form(record, seq)[0]


def wire_form(record: object, seq: int) -> tuple[Header, dict[str, Any]]:
    """``revalidated(record, seq)`` and its ``model_dump(mode="json")``: the record as the
    schema sees it and as it goes on the wire.

    The dump re-validation started from is reused when it is the validated record's own:
    re-validating a dump is the identity on it for every kind a party may send, all of whose
    fields are strict, so a ledger hashes it instead of serialising the record again.
    """
    if not isinstance(record, Header):
        raise ProtocolViolation(Code.SCHEMA, "(record)", "not a record", seq=seq)
    serializer = _SERIALIZERS.get(type(record))
    try:
        # A record of exactly one of the record types is dumped by that type's serializer,
        # as its ``model_dump`` would (without that method's wrapper, on every record).
        wire = (serializer.to_python(record, mode="json", warnings=False)
                if serializer is not None
                else record.model_dump(mode="json", warnings=False))
    except (TypeError, ValueError, AttributeError) as error:
        raise ProtocolViolation(Code.SCHEMA, "(record)", f"cannot serialise: {error}",
                                seq=seq) from None
    try:
        valid = parse_record(wire)
    except ProtocolViolation as violation:
        violation.seq = seq
        raise
    if type(record) is not type(valid) or not as_sent(valid, wire):
        # A subclass (which may serialise itself its own way) or a record missing a
        # defaulted field: its dump is not the validated record's; serialise that one.
        wire = valid.model_dump(mode="json")
    return valid, wire


def as_sent(record: Header, raw: dict[str, Any]) -> bool:
    """Whether ``record``, validated from ``raw``, dumps to ``raw`` without being dumped: so
    when it is of a party kind and ``raw`` names every field (a defaulted one left out would
    come back in the dump)."""
    kind = type(record)
    return kind in _IDENTITY_TYPES and len(raw) == _FIELD_COUNT[kind]


def kind_of(record: Header) -> str:
    """The record's ``kind``, refusing an object that only looks like a record."""
    kind = getattr(record, "kind", None)
    if not isinstance(kind, str):
        raise ProtocolViolation(Code.SCHEMA, "kind", "not a record")
    return kind
