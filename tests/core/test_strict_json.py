"""Strict JSON: what json.loads lets through is refused with one line saying what it found;
records and lineage lines go through it, so text no hash covers cannot ride along."""

from __future__ import annotations

import contextlib
import json

import pytest
from builders import make_terms

from valuesneg.agents.scripted import ConcessionAgent
from valuesneg.core import Code, LineageError, ProtocolViolation, parse_record, verify_lines
from valuesneg.core.canonical import canonical_json
from valuesneg.core.strict_json import MAX_DEPTH, JsonInputError, loads, loads_canonical
from valuesneg.orchestration.driver import Driver

REFUSED = [
    (b'{"a": 1, "a": 2}', "key 'a' appears twice in one object"),
    (b'[{"x": {"b": 1, "b": 1}}]', "key 'b' appears twice"),
    (b'{"a": NaN}', "NaN is not a JSON number"),
    (b"[-Infinity]", "-Infinity is not a JSON number"),
    (b"[1.5e999]", "1.5e999 is too large"),
    (b"1" + b"0" * 5000, "an integer of 5001 digits (at most 32)"),
    (b'"\\udc00"', "a lone surrogate \\udc00"),
    (b'{"\\ud800": 1}', "a lone surrogate \\ud800"),
    (b"[" * 100_000 + b"]" * 100_000, f"nested deeper than {MAX_DEPTH} levels"),
    (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), f"nested deeper than {MAX_DEPTH}"),
    (b'\xef\xbb\xbf{"a": 1}', "byte-order mark (BOM)"),
    (b'{"a": "\xff"}', "not UTF-8 text (byte 0xff at offset 7)"),
    (b'{"a": 1', "line 1 column 8: not valid JSON: Expecting ',' delimiter"),
]


@pytest.mark.parametrize(("text", "message"), REFUSED)
def test_refused_with_what_was_found(text: bytes, message: str) -> None:
    with pytest.raises(JsonInputError) as caught:
        loads(text)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(("text", "message"), [
    *REFUSED,
    (b'{"a":1,"a":1}', "appears twice"),  # canonical-looking apart from the repeat
    (b'{"n":' + b"9" * 33 + b"}", "an integer of 33 digits"),
])
def test_the_canonical_parse_lets_through_only_what_its_check_then_refuses(
        text: bytes, message: str) -> None:
    """``loads_canonical`` skips the repeated-key and number hooks: whatever strict parsing
    refuses, it refuses too, or parses to a value whose canonical text is not the input (so
    a lineage line carrying it fails the canonical check, and is then parsed strictly)."""
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        return  # bytes are decoded by ``decode_utf8`` before either parser sees them
    with pytest.raises(JsonInputError) as strict:
        loads(decoded)
    assert message in str(strict.value) or "byte-order mark" in message
    try:
        value = loads_canonical(decoded)
    except (JsonInputError, RecursionError):
        return
    with contextlib.suppress(ValueError):  # a number that overflowed does not serialise
        assert canonical_json(value) != decoded


def test_both_parsers_give_the_same_value_on_strict_json() -> None:
    for text in ('{"a":[1,-2.5,true,null,"\\ud83d\\ude00",{"b":"é"}],"n":12345678901234567890}',
                 '{"d":"' + "1" * 40 + '"}', '[{"x":{"y":[[],{}]}}]'):
        assert loads_canonical(text) == loads(text)


def test_what_json_means_is_accepted_unchanged() -> None:
    text = '{"a": [1, -2.5, true, null, "\\ud83d\\ude00", {"b": "é"}], "n": 12345678901234567890}'
    assert loads(text) == json.loads(text)
    nested = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert loads(nested) == json.loads(nested)
    # What only looks hostile to the fast pre-checks: digits in a string, an escaped
    # backslash before "ud800", an integer of exactly 32 digits, many shallow brackets.
    lookalikes = ('{"h": "' + "7" * 64 + '", "s": "\\\\ud800", "n": ' + "9" * 32
                  + ', "m": [' + "[[]]," * 100 + "[]]}")
    assert loads(lookalikes) == json.loads(lookalikes)


def test_a_raw_surrogate_in_text_handed_over_as_str_is_refused() -> None:
    with pytest.raises(JsonInputError, match="lone surrogate"):
        loads('{"a": "' + chr(0xD800) + '"}')


def _accept_text(party: str = "alice", tail: str = "") -> str:
    return (f'{{"kind": "accept", "negotiation": "neg:camp", "sender": "{party}", "seq": 1, '
            f'"tick": 1, "rationale": ["clause:agreement"]{tail}}}')


def _refusal(data: str | bytes | dict[str, object]) -> ProtocolViolation:
    with pytest.raises(ProtocolViolation) as caught:
        parse_record(data)
    return caught.value


def test_a_record_with_a_key_twice_is_refused_not_last_one_wins() -> None:
    assert parse_record(_accept_text()).sender == "alice"
    text = _accept_text("alice", ', "sender": "bob"')
    refused = _refusal(text)
    assert (refused.code, refused.field) == (Code.SCHEMA, "(record)")
    assert "key 'sender' appears twice" in refused.detail


def test_a_record_with_bom_or_surrogate_says_so() -> None:
    assert "byte-order mark" in _refusal(b"\xef\xbb\xbf" + _accept_text().encode()).detail
    assert "lone surrogate" in _refusal(_accept_text().replace("alice", "\\ud800")).detail


def test_a_party_sending_a_grant_is_told_only_the_core_sends_grants() -> None:
    refused = _refusal({"kind": "grant", "sender": "alice", "seq": 3})
    assert (refused.code, refused.field) == (Code.FORGED_CORE_RECORD, "kind")
    assert refused.detail == "only the core sends grant records"


@pytest.mark.parametrize(("kind", "found"), [
    (None, "null, not a kind"),
    (7, "a number, not a kind"),
    (["accept"], "an array, not a kind"),
    ("hello", "unknown kind 'hello'"),
])
def test_a_bad_kind_gets_a_short_list_of_what_a_party_sends(kind: object, found: str) -> None:
    refused = _refusal({"kind": kind, "sender": "alice"})
    assert (refused.code, refused.field) == (Code.SCHEMA, "kind")
    assert refused.detail.startswith(found)
    assert "tier_break" not in refused.detail and "outcome" not in refused.detail
    assert "request" in refused.detail and "commit" in refused.detail


def test_a_misspelled_kind_gets_the_kind_it_is_close_to() -> None:
    refused = _refusal({"kind": "acept", "sender": "alice"})
    assert refused.detail == "unknown kind 'acept'; did you mean 'accept'?"


def test_a_missing_kind_and_a_non_object_are_named() -> None:
    assert _refusal({"sender": "alice"}).detail.startswith("missing;")
    assert _refusal("[1, 2]").detail == "a record is a JSON object, not an array"


@pytest.fixture(scope="module")
def lines() -> list[str]:
    terms = make_terms(round_cap=3)
    agents = {p: ConcessionAgent.named(p, "boulware") for p in terms.party_ids}
    return [e.line() for e in Driver(terms, agents).run().entries]


def test_a_lineage_line_with_a_second_record_key_is_refused(lines: list[str]) -> None:
    entry = json.loads(lines[1])
    smuggled = json.dumps({**entry, "record": entry["record"]})[:-1] + ', "record": {"x": 1}}'
    with pytest.raises(LineageError) as caught:
        verify_lines([lines[0], smuggled, *lines[2:]])
    assert (caught.value.line, caught.value.code) == (2, "malformed")
    assert "key 'record' appears twice" in caught.value.reason


def test_a_lineage_line_with_nan_is_refused_at_its_line(lines: list[str]) -> None:
    bad = lines[2].replace('"tick":', '"tick":NaN,"x":', 1)
    with pytest.raises(LineageError) as caught:
        verify_lines([*lines[:2], bad, *lines[3:]])
    assert caught.value.line == 3 and "NaN is not a JSON number" in caught.value.reason
