"""Lineage: the append-only, hash-chained log of a negotiation, and its replay.

One entry per line, canonical JSON. Entry 0 is the genesis: the full terms and the hashes
it binds. Every later entry holds one record. ``verify_lines`` replays the records through a
fresh core and accepts the log only if the core, fed the same inputs, would have appended
exactly these entries; so an edited, dropped, reordered, forged or re-hashed-but-illegal
entry, or an outcome the protocol could not have produced, is caught at its line.

Pure: the caller reads and writes files.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from .canonical import GENESIS_PREV, canonical_json, sha256_hex
from .errors import ProtocolViolation
from .ids import CORE
from .machine import Negotiation
from .records import Header, Outcome, Refuse, Revocation, parse_record
from .terms import Terms

FORMAT = "valuesneg-lineage/1"


class LineageError(Exception):
    """The first bad entry of a lineage, by 1-based line number."""

    def __init__(self, line: int, reason: str, code: str = "lineage") -> None:
        self.line = line
        self.reason = reason
        self.code = code
        super().__init__(f"line {line}: {reason}")


@dataclass(frozen=True)
class Entry:
    seq: int
    prev: str
    hash: str
    body: dict[str, Any]  # {"genesis": ...} or {"record": ...}
    # The canonical JSON the hash was taken over, when the ledger built this entry itself:
    # ``line()`` then splices the hash in instead of serialising the entry again.
    hashed: str | None = field(default=None, compare=False, repr=False)

    def line(self) -> str:
        if self.hashed is not None and "record" in self.body:
            # Keys sort as hash < prev < record < seq, so the line is the hashed text with
            # the hash as its first member.
            return f'{{"hash":"{self.hash}",{self.hashed[1:]}'
        return canonical_json({"seq": self.seq, "prev": self.prev, "hash": self.hash, **self.body})


def entry_hash(seq: int, prev: str, body: dict[str, Any]) -> str:
    return sha256_hex(canonical_json({"seq": seq, "prev": prev, **body}))


def make_entry(seq: int, prev: str, body: dict[str, Any]) -> Entry:
    return Entry(seq, prev, entry_hash(seq, prev, body), body)


def _record_entry(seq: int, prev: str, dumped: dict[str, Any]) -> Entry:
    """``make_entry(seq, prev, {"record": dumped})`` for a validated record: ``seq`` is a
    plain int and ``prev`` a hex digest, so the canonical object can be written member by
    member in sorted key order (prev, record, seq) around the record's canonical JSON."""
    hashed = f'{{"prev":"{prev}","record":{canonical_json(dumped)},"seq":{seq:d}}}'
    return Entry(seq, prev, sha256_hex(hashed), {"record": dumped}, hashed)


def genesis_body(terms: Terms) -> dict[str, Any]:
    return {
        "genesis": {
            "format": FORMAT,
            "terms": terms.model_dump(mode="json"),
            "bound": terms.hashes(),
        }
    }


def _genesis_entry(terms: Terms) -> Entry:
    """``make_entry(0, GENESIS_PREV, genesis_body(terms))``, serialising the terms once: the
    terms' canonical JSON is both what ``bound["terms"]`` hashes and part of the entry."""
    dumped, terms_json = terms.canonical
    bound = terms._bound(sha256_hex(terms_json))
    # Sorted keys: genesis{bound, format, terms}, prev, seq.
    hashed = (
        f'{{"genesis":{{"bound":{canonical_json(bound)},"format":{canonical_json(FORMAT)},'
        f'"terms":{terms_json}}},"prev":"{GENESIS_PREV}","seq":0}}'
    )
    body = {"genesis": {"format": FORMAT, "terms": dumped, "bound": bound}}
    return Entry(0, GENESIS_PREV, sha256_hex(hashed), body, hashed)


class Ledger:
    """A negotiation whose every appended record is chained into lineage entries."""

    def __init__(self, terms: Terms) -> None:
        self.negotiation = Negotiation(terms)
        self.entries: list[Entry] = [_genesis_entry(terms)]
        self.records: list[Header] = []

    @classmethod
    def resumed(cls, verified: Verified) -> Ledger:
        """The ledger a verified lineage describes, ready to take the next record."""
        ledger = cls.__new__(cls)
        ledger.negotiation = verified.negotiation
        ledger.entries = list(verified.entries)
        ledger.records = list(verified.records)
        return ledger

    @property
    def head(self) -> str:
        return self.entries[-1].hash

    def apply(self, record: Header) -> tuple[Entry, ...]:
        # The core hands back the wire form it validated the record from, so the record is
        # serialised once for both validation and hashing.
        records, wire = self.negotiation._apply_wire(record)
        return self._chain(records, wire)

    def timeout(self, party: str, tick: int) -> tuple[Entry, ...]:
        return self._chain(self.negotiation.timeout(party, tick))

    def advance(self, tick: int) -> tuple[Entry, ...]:
        return self._chain(self.negotiation.advance(tick))

    def _chain(
        self, records: tuple[Header, ...], first: dict[str, Any] | None = None
    ) -> tuple[Entry, ...]:
        """Append ``records``; ``first``, if given, is the JSON dump of ``records[0]``."""
        added = []
        prev = self.entries[-1].hash
        for record in records:
            dumped = first if first is not None else record.model_dump(mode="json")
            first = None
            entry = _record_entry(record.seq, prev, dumped)
            self.entries.append(entry)
            self.records.append(record)
            added.append(entry)
            prev = entry.hash
        return tuple(added)


@dataclass(frozen=True)
class Verified:
    terms: Terms
    negotiation: Negotiation
    records: tuple[Header, ...]
    entries: tuple[Entry, ...]

    @property
    def head(self) -> str:
        return self.entries[-1].hash

    @property
    def outcome(self) -> Outcome | None:
        return self.negotiation.outcome


def verify_lines(lines: Iterable[str], *, require_outcome: bool = True) -> Verified:
    """Replay a lineage through the core; raise ``LineageError`` at the first bad line."""
    entries = list(_chained_entries(lines))
    if not entries:
        raise LineageError(1, "empty lineage: no genesis entry")
    terms = _genesis_terms(entries[0])
    negotiation = Negotiation(terms)
    records: list[Header] = []
    position = 1
    while position < len(entries):
        record = _record_at(entries, position)
        produced = _feed(negotiation, record, position)
        _match(entries, position, produced, record)
        records.extend(produced)
        position += len(produced)
    if require_outcome and negotiation.outcome is None:
        raise LineageError(
            len(entries) + 1, "lineage ends before any terminal outcome", "truncated"
        )
    return Verified(terms, negotiation, tuple(records), tuple(entry for _, entry in entries))


def _chained_entries(lines: Iterable[str]) -> Iterator[tuple[dict[str, Any], Entry]]:
    prev = GENESIS_PREV
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            raise LineageError(number, "blank line inside the lineage")
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as error:
            raise LineageError(number, f"not JSON ({error.msg})", "malformed") from None
        if not isinstance(raw, dict) or set(raw) not in (
            {"seq", "prev", "hash", "genesis"},
            {"seq", "prev", "hash", "record"},
        ):
            raise LineageError(
                number,
                "not a lineage entry (keys seq, prev, hash and one of genesis/record)",
                "malformed",
            )
        body = {k: v for k, v in raw.items() if k in ("genesis", "record")}
        if raw["seq"] != number - 1:
            raise LineageError(
                number,
                f"seq {raw['seq']!r} out of order (dropped, inserted or reordered entry)",
                "order",
            )
        if raw["prev"] != prev:
            raise LineageError(number, "prev does not match the hash of the line before", "chain")
        if raw["hash"] != entry_hash(raw["seq"], raw["prev"], body):
            raise LineageError(number, "hash does not match the entry's content (edited)", "hash")
        prev = raw["hash"]
        yield raw, Entry(raw["seq"], raw["prev"], raw["hash"], body)


def _genesis_terms(first: tuple[dict[str, Any], Entry]) -> Terms:
    raw, _ = first
    genesis = raw.get("genesis")
    if not isinstance(genesis, dict) or genesis.get("format") != FORMAT:
        raise LineageError(1, f"first entry is not a {FORMAT} genesis", "genesis")
    try:
        terms = Terms.model_validate(genesis.get("terms"))
    except ValidationError as error:
        where = ".".join(str(p) for p in error.errors()[0]["loc"])
        raise LineageError(
            1, f"genesis terms invalid at {where}: {error.errors()[0]['msg']}", "genesis"
        ) from None
    if genesis.get("bound") != terms.hashes():
        raise LineageError(1, "genesis hashes do not bind its terms", "genesis")
    return terms


def _record_at(entries: list[tuple[dict[str, Any], Entry]], position: int) -> Header:
    raw = entries[position][0].get("record")
    line = position + 1
    if raw is None:
        raise LineageError(line, "a second genesis entry", "genesis")
    try:
        record = parse_record(raw)
    except ProtocolViolation as violation:
        raise LineageError(
            line, f"not a valid record at {violation.field}: {violation.detail}", "schema"
        ) from None
    if record.model_dump(mode="json") != raw:
        raise LineageError(line, "record is not in canonical form", "schema")
    return record


def _feed(negotiation: Negotiation, record: Header, position: int) -> tuple[Header, ...]:
    """The input this entry stands for: a party's record, a timeout, or time advancing."""
    try:
        if record.sender != CORE:
            # ``record`` is parse_record's own output: no need to re-validate it.
            return negotiation._apply_valid(record)
        if isinstance(record, Refuse) and record.silent_party is not None:
            return negotiation.timeout(record.silent_party, record.tick)
        if isinstance(record, Revocation):
            return negotiation.advance(record.tick)
    except ProtocolViolation as violation:
        raise LineageError(
            position + 1, f"the core refuses this record: {violation}", violation.code.value
        ) from None
    raise LineageError(
        position + 1, f"a {record.kind!r} the protocol did not produce here", "forged"
    )


def _match(
    entries: list[tuple[dict[str, Any], Entry]],
    position: int,
    produced: tuple[Header, ...],
    fed: Header,
) -> None:
    for offset, record in enumerate(produced):
        line = position + offset + 1
        if position + offset >= len(entries):
            raise LineageError(
                line, f"missing entry: the core produced a {record.kind!r} here", "truncated"
            )
        if record is fed:
            # The party's own record, passed through: ``_record_at`` already found its dump
            # equal to this very entry.
            continue
        expected = record.model_dump(mode="json")
        if entries[position + offset][0].get("record") != expected:
            raise LineageError(
                line,
                f"entry differs from the {record.kind!r} the core produces at this point",
                "mismatch",
            )
