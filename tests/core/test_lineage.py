"""The lineage catches every kind of tampering at the first bad line."""

from __future__ import annotations

import json

import pytest
from builders import make_terms

from valuesneg.agents.scripted import ConcessionAgent
from valuesneg.core import Ledger, LineageError, canonical_json, verify_lines
from valuesneg.core.lineage import entry_hash
from valuesneg.orchestration.driver import Driver


@pytest.fixture(scope="module")
def lines() -> list[str]:
    terms = make_terms(round_cap=3)
    agents = {p: ConcessionAgent.named(p, "boulware") for p in terms.party_ids}
    ledger = Driver(terms, agents).run()
    return [e.line() for e in ledger.entries]


def rehash(entries: list[dict], start: int) -> list[str]:
    """Re-chain every entry from ``start``: what a forger who knows the format would do."""
    for i in range(start, len(entries)):
        entries[i]["prev"] = entries[i - 1]["hash"] if i else "0" * 64
        entries[i]["seq"] = i
        body = {k: v for k, v in entries[i].items() if k in ("genesis", "record")}
        entries[i]["hash"] = entry_hash(i, entries[i]["prev"], body)
    return [canonical_json(e) for e in entries]


def first_bad(lines: list[str]) -> LineageError:
    with pytest.raises(LineageError) as caught:
        verify_lines(lines)
    return caught.value


def test_untouched_lineage_verifies(lines: list[str]) -> None:
    verified = verify_lines(lines)
    assert verified.outcome is not None
    assert verified.outcome.terminal in ("agreement", "tier_break", "fallback")
    assert len(verified.records) == len(lines) - 1


def test_edited_entry_is_caught_by_its_hash(lines: list[str]) -> None:
    edited = lines.copy()
    edited[2] = edited[2].replace('"tick":2', '"tick":3')
    assert edited[2] != lines[2]
    assert first_bad(edited).line == 3
    assert first_bad(edited).code == "hash"


def test_dropped_entry_is_caught(lines: list[str]) -> None:
    error = first_bad([*lines[:2], *lines[3:]])
    assert (error.line, error.code) == (3, "order")


def test_reordered_entries_are_caught(lines: list[str]) -> None:
    swapped = [*lines[:1], lines[2], lines[1], *lines[3:]]
    assert first_bad(swapped).line == 2


def test_truncated_lineage_has_no_outcome(lines: list[str]) -> None:
    error = first_bad(lines[:3])
    assert error.code == "truncated"


def test_rehashed_but_illegal_record_is_refused_by_replay(lines: list[str]) -> None:
    entries = [json.loads(line) for line in lines]
    entries[1]["record"]["tiers"] = {d: "tier:safety" for d in entries[1]["record"]["tiers"]}
    error = first_bad(rehash(entries, 1))
    assert (error.line, error.code) == (2, "tier_mismatch")


def test_forged_outcome_is_caught_even_when_rehashed(lines: list[str]) -> None:
    entries = [json.loads(line) for line in lines]
    at = next(i for i, e in enumerate(entries) if e.get("record", {}).get("kind") == "outcome")
    allocation = entries[at]["record"]["allocation"]
    water = allocation["dim:water"]
    allocation["dim:water"] = {p: (3 if p == "bob" else 0) for p in water}
    if water == allocation["dim:water"]:
        allocation["dim:water"] = {p: (3 if p == "alice" else 0) for p in water}
    error = first_bad(rehash(entries, at))
    assert (error.line, error.code) == (at + 1, "mismatch")


def test_forged_core_record_inserted_is_caught(lines: list[str]) -> None:
    entries = [json.loads(line) for line in lines]
    grant = next(e for e in entries if e.get("record", {}).get("kind") == "grant")
    forged = json.loads(json.dumps(grant))
    entries.insert(2, forged)
    error = first_bad(rehash(entries, 2))
    assert error.line == 3
    assert error.code == "forged"


def test_genesis_binds_terms(lines: list[str]) -> None:
    entries = [json.loads(line) for line in lines]
    entries[0]["genesis"]["terms"]["policy"]["round_cap"] = 99
    error = first_bad(rehash(entries, 0))
    assert (error.line, error.code) == (1, "genesis")


def test_non_canonical_record_is_refused(lines: list[str]) -> None:
    entries = [json.loads(line) for line in lines]
    del entries[1]["record"]["reply_to"]  # a default, so it parses; but not canonical form
    error = first_bad(rehash(entries, 1))
    assert (error.line, error.code) == (2, "schema")


def test_garbage_line_is_named(lines: list[str]) -> None:
    error = first_bad([*lines[:4], "{not json", *lines[5:]])
    assert (error.line, error.code) == (5, "malformed")


def test_ledger_lines_are_canonical_and_chained() -> None:
    ledger = Ledger(make_terms())
    first = json.loads(ledger.entries[0].line())
    assert first["prev"] == "0" * 64
    assert ledger.entries[0].line() == canonical_json(first)
