"""The transition table is the machine: every (phase, kind) a party may send that is not a
row of ``TRANSITIONS`` is refused as an illegal transition, and the state is unchanged."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from builders import Play, make_terms

from valuesneg.core import CORE_KINDS, KINDS, TRANSITIONS, Code, Phase, ProtocolViolation
from valuesneg.core.machine import Transition

PARTY_KINDS = tuple(k for k in KINDS if k not in CORE_KINDS)

REACH: dict[Phase, Callable[[Play], None]] = {
    Phase.OPEN: lambda p: None,
    Phase.PROPOSED: lambda p: p.apply(p.request("alice")),
    Phase.SETTLED: lambda p: p.agree(),
}


def _any_grant(play: Play) -> str:
    return next(iter(play.neg.state.grants), "grant:1")


def well_formed(play: Play, kind: str) -> Any:
    """A record of ``kind`` that passes every header check in the current state, sent by
    bob (a claimant, a responder to alice's proposal, a grantor of alice's grants)."""
    fields: dict[str, Any] = {
        "request": {},
        "accept": {},
        "defer": {},
        "refuse": {},
        "counter": {"dimension": "dim:water", "value": {"bob": 1},
                    "rationale": ("card:bob-needs",)},
        "commit": {"grant_id": _any_grant(play), "dimension": "dim:water", "units": 1},
        "ack": {"grant_id": _any_grant(play)},
        "revocation": {"grant_id": _any_grant(play), "clause": "clause:revocation"},
        "preemption": {"grant_id": _any_grant(play), "rationale": ("card:bob-needs",)},
        "envelope": {"scope": {}, "rationale": ("card:bob-needs",)},
    }[kind]
    if kind == "request":
        return play.request("bob")
    return play.make(kind, "bob", **fields)


ILLEGAL = [(phase, kind) for phase in Phase for kind in PARTY_KINDS
           if (phase, kind) not in TRANSITIONS]


def test_the_walk_covers_every_party_kind_and_phase() -> None:
    assert set(PARTY_KINDS) == {"request", "accept", "counter", "defer", "refuse", "commit",
                                "ack", "revocation", "preemption", "envelope"}
    assert len(ILLEGAL) + len(TRANSITIONS) == len(Phase) * len(PARTY_KINDS)
    assert all(isinstance(t, Transition) for t in TRANSITIONS.values())


@pytest.mark.parametrize(("phase", "kind"), ILLEGAL, ids=[f"{p.value}-{k}" for p, k in ILLEGAL])
def test_every_pair_outside_the_table_is_an_illegal_transition(phase: Phase, kind: str) -> None:
    play = Play(make_terms())
    REACH[phase](play)
    assert play.neg.state.phase is phase
    before = play.neg.state
    record = well_formed(play, kind)
    with pytest.raises(ProtocolViolation) as refused:
        play.apply(record)
    assert (refused.value.code, refused.value.field) == (Code.ILLEGAL_TRANSITION, "kind")
    assert f"{kind!r} is not legal while {phase.value}" in str(refused.value)
    assert play.neg.state is before
