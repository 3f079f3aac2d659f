"""Lineage: the append-only, hash-chained log of a negotiation, and its replay.

One entry per line, canonical JSON. Entry 0 is the genesis: the full terms and the hashes
it binds. Every later entry holds one record. ``verify_lines`` replays the records through a
fresh core and accepts the log only if the core, fed the same inputs, would have appended
exactly these entries; so an edited, dropped, reordered, forged or re-hashed-but-illegal
entry, or an outcome the protocol could not have produced, is caught at its line.

Only canonical bytes verify: an entry is accepted only if re-serialising what it parses to
gives exactly its line, so a lenient reading (a boolean or float seq, a string where a number
belongs, a defaulted field left out) can never stand for the entry the core wrote.

A signed lineage's genesis also holds the public Ed25519 key of every party and of the core
(``keys``), and every entry carries ``sig``: its signer's signature over ``signed_bytes`` of
its hash. The signer of the genesis and of every core entry is ``core`` (the run), of a
party's record that party. The hash chain is taken over the same members as in an unsigned
lineage (keys are part of the genesis, signatures are not part of any hash), so signing adds
members without changing what the hashes mean. The core checks that signatures are present
and well-formed; checking them is cryptography, which an adapter does
(``valuesneg.signing``).

Pure: the caller reads and writes files, and signs (``Ledger`` takes a signing function).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from . import strict_json
from .canonical import GENESIS_PREV, canonical_json, canonical_tree, sha256_hex
from .errors import ProtocolViolation
from .ids import CORE
from .machine import Negotiation
from .records import Header, Outcome, Refuse, Revocation, parse_record
from .terms import Terms
from .wire import as_sent, wire_form

FORMAT = "valuesneg-lineage/1"
# (signer id, bytes to sign) -> hex Ed25519 signature; supplied by an adapter.
Sign = Callable[[str, bytes], str]
_HEX64 = re.compile(r"[0-9a-f]{64}")
_SIG = re.compile(r"[0-9a-f]{128}")


def signed_bytes(entry_hash: str) -> bytes:
    """What an entry's signer signs: its hash, which chains back to the genesis keys."""
    return f"{FORMAT} entry {entry_hash}".encode()


def head_bytes(head: str, entries: int) -> bytes:
    """What the core's key signs in a run's outcome.json: where the lineage ends."""
    return f"{FORMAT} head {head} entries {entries}".encode()


class LineageError(Exception):
    """The first bad entry of a lineage, by 1-based line number."""

    def __init__(self, line: int, reason: str, code: str = "lineage") -> None:
        self.line = line
        self.reason = reason
        self.code = code
        super().__init__(f"line {line}: {reason}")


@dataclass(frozen=True, slots=True)
class Entry:
    """One lineage entry, kept as the canonical JSON its hash was taken over: the line is
    that text with the hash (and signature) spliced in, so a held lineage keeps one copy of
    each record's wire form (the ledger's validated records are the other)."""

    seq: int
    prev: str
    hash: str
    hashed: str = field(compare=False, repr=False)  # {"genesis"|"record": ..., "prev", "seq"}
    sig: str | None = None  # hex Ed25519 signature over ``signed_bytes(hash)``

    @property
    def is_record(self) -> bool:
        return not self.hashed.startswith('{"genesis":')

    def line(self) -> str:
        signed = "" if self.sig is None else f',"sig":"{self.sig}"'
        if self.is_record:
            # Keys sort as hash < prev < record < seq < sig, so the line is the hashed text
            # with the hash as its first member and the signature as its last.
            return f'{{"hash":"{self.hash}",{self.hashed[1:-1]}{signed}}}'
        # genesis < hash < prev < seq < sig: the hash goes in before the wrapper's prev.
        cut = self.hashed.rindex(',"prev":"')
        return f'{self.hashed[:cut]},"hash":"{self.hash}"{self.hashed[cut:-1]}{signed}}}'

    @property
    def record_text(self) -> str:
        """The canonical JSON of this record entry's record, cut from the hashed text."""
        return self.hashed[len(f'{{"prev":"{self.prev}","record":'):self.hashed.rindex(',"seq":')]


def entry_hash(seq: int, prev: str, body: dict[str, Any]) -> str:
    """The hash chaining an entry: over its seq, the previous hash and its body, canonical."""
    return sha256_hex(canonical_json({"seq": seq, "prev": prev, **body}))


def make_entry(seq: int, prev: str, body: dict[str, Any]) -> Entry:
    """An unsigned entry for ``body`` at ``seq`` after ``prev``."""
    hashed = canonical_json({"seq": seq, "prev": prev, **body})
    return Entry(seq, prev, sha256_hex(hashed), hashed)


def _record_entry(seq: int, prev: str, dumped: dict[str, Any], sig: str | None = None) -> Entry:
    """``make_entry(seq, prev, {"record": dumped})`` for a validated record: ``seq`` is a
    plain int and ``prev`` a hex digest, so the canonical object can be written member by
    member in sorted key order (prev, record, seq) around the record's canonical JSON."""
    hashed = f'{{"prev":"{prev}","record":{canonical_tree(dumped)},"seq":{seq:d}}}'
    return Entry(seq, prev, sha256_hex(hashed), hashed, sig)


def genesis_body(terms: Terms, keys: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The genesis entry's body: the lineage format, the terms, the hash of each part they bind,
    and the signers' public keys when signed."""
    signed = {} if keys is None else {"keys": dict(keys)}
    return {
        "genesis": {
            "format": FORMAT,
            "terms": terms.model_dump(mode="json"),
            "bound": terms.hashes(),
            **signed,
        }
    }


def signers(terms: Terms) -> tuple[str, ...]:
    """Who holds a key in a signed lineage: the core (the run) and every party."""
    return (CORE, *terms.party_ids)


def _genesis_entry(terms: Terms, keys: Mapping[str, str] | None) -> Entry:
    """``make_entry(0, GENESIS_PREV, genesis_body(terms, keys))``, serialising the terms once:
    the terms' canonical JSON is both what ``bound["terms"]`` hashes and part of the entry."""
    terms_json = terms.canonical
    bound = terms.hashes_given(sha256_hex(terms_json))
    signed = "" if keys is None else f'"keys":{canonical_json(dict(keys))},'
    # Sorted keys: genesis{bound, format, keys, terms}, prev, seq.
    hashed = (
        f'{{"genesis":{{"bound":{canonical_json(bound)},"format":{canonical_json(FORMAT)},'
        f'{signed}"terms":{terms_json}}},"prev":"{GENESIS_PREV}","seq":0}}'
    )
    return Entry(0, GENESIS_PREV, sha256_hex(hashed), hashed)


class Ledger:
    """A negotiation whose every appended record is chained into lineage entries.

    With ``keys`` (public, hex, for ``signers(terms)``) and ``sign``, the lineage is signed:
    the keys go into the genesis and each entry is signed as it is appended."""

    def __init__(self, terms: Terms, keys: Mapping[str, str] | None = None,
                 sign: Sign | None = None) -> None:
        if (keys is None) != (sign is None):
            raise ValueError("a signed ledger needs both the public keys and a signer")
        if keys is not None:
            check_keys(terms, keys)
        self.negotiation = Negotiation(terms)
        self.sign = sign
        self.entries: list[Entry] = [self._signed(_genesis_entry(terms, keys), CORE)]
        self.records: list[Header] = []

    @classmethod
    def resumed(cls, verified: Verified, sign: Sign | None = None) -> Ledger:
        """The ledger a verified lineage describes, ready to take the next record; a signed
        lineage goes on being signed with ``sign`` (which must hold its genesis keys)."""
        if (verified.keys is None) != (sign is None):
            raise ValueError("a signed lineage resumes with a signer, an unsigned one without")
        ledger = cls.__new__(cls)
        ledger.negotiation = verified.negotiation
        ledger.sign = sign
        ledger.entries = list(verified.entries)
        ledger.records = list(verified.records)
        return ledger

    def _signed(self, entry: Entry, signer: str) -> Entry:
        if self.sign is None:
            return entry
        return Entry(entry.seq, entry.prev, entry.hash, entry.hashed,
                     self.sign(signer, signed_bytes(entry.hash)))

    @property
    def head(self) -> str:
        return self.entries[-1].hash

    def apply(self, record: Header) -> tuple[Entry, ...]:
        # The core hands back the wire form it validated the record from, so the record is
        # serialised once for both validation and hashing.
        negotiation = self.negotiation
        valid, wire = wire_form(record, negotiation.state.next_seq)  # apply_with_wire's parts
        return self._chain(negotiation.apply_validated(valid), wire)

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
            if self.sign is not None:
                entry = self._signed(entry, record.sender)
            added.append(entry)
            prev = entry.hash
        self.entries.extend(added)
        self.records.extend(records)
        return tuple(added)


def check_keys(terms: Terms, keys: Mapping[str, str]) -> None:
    """A signed lineage's keys: one well-formed public key for each of ``signers(terms)``."""
    if set(keys) != set(signers(terms)):
        raise ValueError(f"keys must be exactly those of {', '.join(signers(terms))}")
    bad = next((who for who, key in keys.items()
                if not isinstance(key, str) or not _HEX64.fullmatch(key)), None)
    if bad is not None:
        raise ValueError(f"keys.{bad}: not a hex Ed25519 public key")


@dataclass(frozen=True)
class Verified:
    """A lineage replayed through the core: its terms, the negotiation it leaves, its records
    and entries, and its keys (None when unsigned)."""

    terms: Terms
    negotiation: Negotiation
    records: tuple[Header, ...]
    entries: tuple[Entry, ...]
    keys: Mapping[str, str] | None = None  # None: an unsigned lineage

    def signer(self, position: int) -> str:
        """Who must have signed the entry at ``position`` (0 is the genesis)."""
        return CORE if position == 0 else self.records[position - 1].sender

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
    terms, keys = _genesis_terms(entries[0])
    negotiation = Negotiation(terms)
    records: list[Header] = []
    position = 1
    while position < len(entries):
        record = _record_at(entries, position)
        produced = _feed(negotiation, record, position)
        if len(produced) != 1 or produced[0] is not record:  # else nothing new to compare
            _match(entries, position, produced, record)
        records.extend(produced)
        position += len(produced)
    if require_outcome and negotiation.outcome is None:
        raise LineageError(
            len(entries) + 1, "lineage ends before any terminal outcome", "truncated"
        )
    return Verified(terms, negotiation, tuple(records), tuple(entry for _, entry in entries),
                    keys)


_WRAPPERS = ({"seq", "prev", "hash", "genesis"}, {"seq", "prev", "hash", "record"})


def _chained_entries(lines: Iterable[str]) -> Iterator[tuple[dict[str, Any], Entry]]:
    prev, signed = GENESIS_PREV, False
    for number, text in enumerate(lines, start=1):
        try:
            raw, entry, signed = _chained_entry(number, text, prev, signed)
        except LineageError:
            # Parsed for a canonical line (``loads_canonical``): what strict parsing refuses
            # (a repeated key, an overflowing number) is named as such, not by a later check.
            _wrapper(number, text, strict_json.loads)
            raise
        prev = raw["hash"]
        yield raw, entry


def _chained_entry(number: int, text: str, prev: str,
                   signed: bool) -> tuple[dict[str, Any], Entry, bool]:
    """Line ``number``'s entry, checked against the hash before it; ``signed``: whether the
    lineage is signed (its genesis, line 1, says so)."""
    raw = _wrapper(number, text, strict_json.loads_canonical)
    if number == 1:
        genesis = raw.get("genesis")
        signed = isinstance(genesis, dict) and "keys" in genesis
    sig = _signature(number, raw, signed)
    if raw["seq"] != number - 1:
        raise LineageError(
            number,
            f"seq {raw['seq']!r} out of order (dropped, inserted or reordered entry)",
            "order",
        )
    if raw["prev"] != prev:
        raise LineageError(number, "prev does not match the hash of the line before", "chain")
    try:
        if "record" in raw:
            # ``seq`` is a plain int and ``prev`` a hex digest (the hash checked on the line
            # before, or the genesis's zeros): the wrapper is written as the ledger wrote it.
            entry = _record_entry(raw["seq"], prev, raw["record"], sig)
        else:
            hashed = canonical_tree({"seq": raw["seq"], "prev": prev, "genesis": raw["genesis"]})
            entry = Entry(raw["seq"], prev, sha256_hex(hashed), hashed, sig)
    except ValueError:
        raise LineageError(number, "holds a number JSON cannot represent (NaN or "
                           "Infinity)", "malformed") from None
    if raw["hash"] != entry.hash:
        raise LineageError(number, "hash does not match the entry's content (edited)", "hash")
    if entry.line() != text:
        raise LineageError(number, "entry is not in canonical form (re-serialised, its "
                           "bytes differ)", "canonical")
    return raw, entry, signed


def _wrapper(number: int, text: str, parse: Callable[[str], Any]) -> dict[str, Any]:
    """The entry's JSON object, with exactly the wrapper members, of exactly their types."""
    if not text.strip():
        raise LineageError(number, "blank line inside the lineage")
    try:
        raw = parse(text)
    except strict_json.JsonInputError as error:
        raise LineageError(number, str(error), "malformed") from None
    if not isinstance(raw, dict) or set(raw) - {"sig"} not in _WRAPPERS:
        raise LineageError(
            number,
            "not a lineage entry (keys seq, prev, hash and one of genesis/record; sig when "
            "signed)",
            "malformed",
        )
    # ``type`` rather than ``isinstance``: a JSON true is a bool, which Python counts as 1.
    if type(raw["seq"]) is not int:
        raise LineageError(number, f"seq {raw['seq']!r} is not an integer", "malformed")
    return raw


def _signature(number: int, raw: dict[str, Any], signed: bool) -> str | None:
    sig = raw.get("sig")
    if signed != ("sig" in raw):
        raise LineageError(number, "an entry without a signature in a signed lineage" if signed
                           else "a signature in an unsigned lineage (its genesis has no keys)",
                           "signature")
    if sig is not None and not (isinstance(sig, str) and _SIG.fullmatch(sig)):
        raise LineageError(number, "sig is not a hex Ed25519 signature", "signature")
    return sig


def _genesis_terms(first: tuple[dict[str, Any], Entry]) -> tuple[Terms, dict[str, str] | None]:
    raw, _ = first
    genesis = raw.get("genesis")
    if not isinstance(genesis, dict) or genesis.get("format") != FORMAT:
        raise LineageError(1, f"first entry is not a {FORMAT} genesis", "genesis")
    if set(genesis) - {"keys"} != {"bound", "format", "terms"}:
        raise LineageError(1, "genesis members are bound, format, terms and, when signed, "
                           "keys", "genesis")
    try:
        terms = Terms.model_validate(genesis.get("terms"))
    except ValidationError as error:
        where = ".".join(str(p) for p in error.errors()[0]["loc"])
        raise LineageError(
            1, f"genesis terms invalid at {where}: {error.errors()[0]['msg']}", "genesis"
        ) from None
    if canonical_json(genesis["terms"]) != terms.canonical:
        raise LineageError(1, "genesis terms are not in canonical form (re-serialised they "
                           "differ: a value of another type, or a default left out)", "canonical")
    if genesis.get("bound") != terms.hashes():
        raise LineageError(1, "genesis hashes do not bind its terms", "genesis")
    keys = genesis.get("keys")
    if keys is not None:
        try:
            check_keys(terms, keys if isinstance(keys, dict) else {})
        except ValueError as error:
            raise LineageError(1, f"genesis keys: {error}", "genesis") from None
    return terms, keys


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
    if not as_sent(record, raw) and record.model_dump(mode="json") != raw:
        raise LineageError(line, "record is not in canonical form", "schema")
    return record


def _feed(negotiation: Negotiation, record: Header, position: int) -> tuple[Header, ...]:
    """The input this entry stands for: a party's record, a timeout, or time advancing."""
    try:
        if record.sender != CORE:
            # ``record`` is parse_record's own output: no need to re-validate it.
            return negotiation.apply_validated(record)
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
        # Compared as canonical text: a dict comparison would take 1.0 for 1.
        expected = canonical_tree(record.model_dump(mode="json"))
        entry = entries[position + offset][1]
        if not entry.is_record or entry.record_text != expected:
            raise LineageError(
                line,
                f"entry differs from the {record.kind!r} the core produces at this point",
                "mismatch",
            )
