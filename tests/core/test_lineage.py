"""The lineage catches every kind of tampering at the first bad line."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from builders import make_terms

from valuesneg.agents.scripted import ConcessionAgent
from valuesneg.core import Ledger, LineageError, Terms, canonical_json, verify_lines
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


# -- only canonical bytes verify ---------------------------------------------------------------

def rechained(lines: list[str], edit: Callable[[list[dict[str, Any]]], None]) -> list[str]:
    """Edit the parsed entries, then re-chain them as they are (a forger's re-serialisation
    keeps whatever types the edit left)."""
    entries = [json.loads(line) for line in lines]
    edit(entries)
    genesis = entries[0]["genesis"]
    genesis["bound"] = Terms.model_validate(genesis["terms"]).hashes()
    prev = "0" * 64
    for entry in entries:
        entry["prev"] = prev
        body = {k: v for k, v in entry.items() if k in ("genesis", "record")}
        entry["hash"] = prev = entry_hash(entry["seq"], prev, body)
    return [canonical_json(e) for e in entries]


def _set(path: tuple[Any, ...], value: Any) -> Callable[[list[dict[str, Any]]], None]:
    def edit(entries: list[dict[str, Any]]) -> None:
        *outer, last = path
        target: Any = entries
        for key in outer:
            target = target[key]
        target[last] = value
    return edit


def _drop(path: tuple[Any, ...]) -> Callable[[list[dict[str, Any]]], None]:
    def edit(entries: list[dict[str, Any]]) -> None:
        *outer, last = path
        target: Any = entries
        for key in outer:
            target = target[key]
        del target[last]
    return edit


@pytest.mark.parametrize(("edit", "line", "code"), [
    (_set((1, "seq"), True), 2, "malformed"),
    (_set((1, "seq"), 1.0), 2, "malformed"),
    (_set((0, "genesis", "terms", "dimensions", 0, "units"), "3"), 1, "canonical"),
    (_set((0, "genesis", "terms", "dimensions", 0, "units"), 3.0), 1, "canonical"),
    (_drop((0, "genesis", "terms", "parties", 0, "represents")), 1, "canonical"),
    (_drop((0, "genesis", "terms", "policy", "reask_budget")), 1, "canonical"),
    (_drop((1, "record", "reservation")), 2, "schema"),
], ids=["seq-true", "seq-float", "units-string", "units-float", "default-left-out",
        "policy-default-left-out", "record-default-left-out"])
def test_a_lenient_reading_does_not_verify_even_rechained(
        lines: list[str], edit: Callable[[list[dict[str, Any]]], None], line: int,
        code: str) -> None:
    error = first_bad(rechained(lines, edit))
    assert (error.line, error.code) == (line, code), error


def test_a_core_record_in_another_number_type_does_not_verify(lines: list[str]) -> None:
    """1.0 == 1 in Python, not in the bytes: the core's records are compared as text."""
    position = next(i for i, line in enumerate(lines) if '"tier_rank":0' in line)

    def edit(entries: list[dict[str, Any]]) -> None:
        entries[position]["record"]["candidates"][0]["tier_rank"] = 0.0
    error = first_bad(rechained(lines, edit))
    assert (error.line, error.code) == (position + 1, "mismatch")


def test_the_same_entry_in_other_bytes_does_not_verify(lines: list[str]) -> None:
    """Whitespace or member order do not change the hash (taken over the canonical form),
    so only the canonical-bytes check catches them."""
    spaced = lines.copy()
    spaced[2] = json.dumps(json.loads(lines[2]), sort_keys=True)  # ", " and ": "
    error = first_bad(spaced)
    assert (error.line, error.code) == (3, "canonical")
