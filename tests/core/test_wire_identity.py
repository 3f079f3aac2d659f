"""The claim ``wire.as_sent`` rests on: a party record validated from a dict that names every
field dumps back to exactly that dict, whatever was changed in it (a float for an int, a
boolean, a string of digits, a big number, a missing or extra member, at any depth). Verify
skips the dump of such a record and ``wire_form`` hashes the dict it validated."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from valuesneg.core import ProtocolViolation
from valuesneg.core.records import RECORD_TYPES, parse_record
from valuesneg.core.wire import as_sent

HEADER = {"negotiation": "neg:camp", "sender": "ana", "seq": 3, "tick": 2, "reply_to": 2,
          "envelope_version": "a" * 64}
EDGE = {"waiter": "neg:camp", "waits_on": "neg:b"}
BODIES: dict[str, dict[str, Any]] = {
    "request": {"projection": ["dim:water"], "proposal": {"dim:water": {"ana": 2, "ben": 1}},
                "duration": 4, "tiers": {"dim:water": "tier:camper"},
                "reservation": {"plan": "plan:a", "steps": 2},
                "precondition": {"dimension": "dim:water", "party": "ben"},
                "depends_on": ["neg:b"], "dependencies": [EDGE], "rationale": ["card:a"]},
    "accept": {"rationale": ["card:a"]},
    "counter": {"dimension": "dim:water", "value": {"ana": 1, "ben": 2},
                "rationale": ["card:a", "clause:b"]},
    "defer": {"rationale": ["card:a"]},
    "refuse": {"reasons": ["card:a"], "silent_party": None, "cycle": [EDGE]},
    "revocation": {"grant_id": "grant:4", "clause": "clause:revocation"},
    "preemption": {"grant_id": "grant:4", "rationale": ["card:a"]},
    "ack": {"grant_id": "grant:4"},
    "commit": {"grant_id": "grant:4", "dimension": "dim:water", "units": 2},
    "envelope": {"scope": {"dim:water": ["camp:shared"]}, "rationale": ["card:a"]},
}
ODD = st.sampled_from([1.0, 2.5, True, False, "1", "", "Ana", 2**70, -1, 0, None, [], {},
                       ["card:a", "card:a"], {"ana": 1.0}, {"plan": "plan:a"}, "a" * 64])


@st.composite
def changed(draw: st.DrawFn, value: Any, top: bool = False) -> Any:
    """``value`` with one member, at some depth, replaced, removed or added."""
    if isinstance(value, dict) and value and (top or draw(st.booleans())):
        key = draw(st.sampled_from(sorted(value)))
        action = draw(st.sampled_from(("deeper", "drop", "add")))
        if action == "drop":
            del value[key]
        elif action == "add":
            value[draw(st.sampled_from(("extra", "ana", "dim:food")))] = draw(ODD)
        else:
            value[key] = draw(changed(value[key]))
        return value
    if isinstance(value, list) and value and draw(st.booleans()):
        position = draw(st.integers(0, len(value) - 1))
        value[position] = draw(changed(value[position]))
        return value
    return draw(ODD)


@settings(max_examples=600, deadline=None)
@given(data=st.data(), kind=st.sampled_from(sorted(BODIES)))
def test_a_complete_party_record_dumps_to_what_it_was_validated_from(
    data: st.DataObject, kind: str
) -> None:
    raw = {"kind": kind, **copy.deepcopy(HEADER), **copy.deepcopy(BODIES[kind])}
    for _ in range(data.draw(st.integers(0, 2))):
        raw = data.draw(changed(raw, top=True))
    try:
        record = parse_record(raw)
    except ProtocolViolation:
        return
    if as_sent(record, raw):
        assert record.model_dump(mode="json") == raw
        assert repr(record.model_dump(mode="json")) == repr(raw)  # 1.0 is not 1 here


def test_every_party_kind_is_covered() -> None:
    party = {t.model_fields["kind"].default for t in RECORD_TYPES} - {
        "tier_break", "grant", "outcome", "denial"}
    assert party == set(BODIES)
    for kind, body in BODIES.items():
        raw = {"kind": kind, **HEADER, **body}
        record = parse_record(raw)
        assert as_sent(record, raw) and record.model_dump(mode="json") == raw
