"""Every record's tick lies within the deadline that applies to it, so no state has two
legal continuations that disagree about whether a party spoke in time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from builders import Play, make_terms
from hypothesis import given
from hypothesis import strategies as st

from valuesneg.core import Code, ProtocolViolation


def _accepted(play: Play, act: Callable[[], Any]) -> bool:
    before = play.neg.state
    try:
        act()
    except ProtocolViolation:
        assert play.neg.state is before
        return False
    return True


def _fresh(opened: bool) -> Play:
    play = Play(make_terms())
    if opened:
        play.apply(play.request("alice"))
    return play


@given(offset=st.integers(min_value=0, max_value=40), opened=st.booleans())
def test_a_party_record_and_a_timeout_never_both_fit_one_tick(offset: int, opened: bool) -> None:
    """In the open phase alice proposes or times out; with a proposal on the table bob
    answers or times out. Up to the deadline only the party may speak, the tick after it
    only the timeout, and later neither (nobody may jump the clock)."""
    party = "bob" if opened else "alice"
    tick = _fresh(opened).neg.state.tick + offset

    def speak(play: Play) -> Any:
        if opened:
            return play.apply(play.make("accept", "bob", tick=tick))
        return play.apply(play.request("alice", tick=tick))

    spoke, silent = _fresh(opened), _fresh(opened)
    spoken = _accepted(spoke, lambda: speak(spoke))
    timed_out = _accepted(silent, lambda: silent.neg.timeout(party, tick))
    assert not (spoken and timed_out)
    deadline = _fresh(opened).neg.deadline()
    assert deadline is not None
    assert spoken == (tick <= deadline) and timed_out == (tick == deadline + 1)


def test_a_proposer_cannot_jump_the_clock() -> None:
    play = Play(make_terms())
    with pytest.raises(ProtocolViolation) as caught:
        play.apply(play.request("alice", tick=10**30))
    assert (caught.value.code, caught.value.field) == (Code.TIMED_OUT, "tick")
    assert play.neg.state.tick == 0


def test_a_timeout_is_recorded_the_tick_after_the_deadline_only() -> None:
    play = Play(make_terms())
    deadline = play.neg.deadline()
    assert deadline is not None
    with pytest.raises(ProtocolViolation) as caught:
        play.neg.timeout("alice", deadline + 2)
    assert caught.value.code is Code.TICK_TOO_FAR
    play.neg.timeout("alice", deadline + 1)
    assert play.neg.state.tick == deadline + 1


def test_time_passes_to_the_last_expiry_and_no_further() -> None:
    play = Play(make_terms())
    play.agree()
    last = max(g.grant.expires for g in play.neg.state.grants.values())
    with pytest.raises(ProtocolViolation) as caught:
        play.neg.advance(last + 1)
    assert caught.value.code is Code.TICK_TOO_FAR
    ended = play.neg.advance(last)
    assert ended and play.neg.state.tick == last


@pytest.mark.parametrize("jump", [9, 10, 11])
def test_after_the_outcome_a_record_jumps_at_most_the_longest_grant(jump: int) -> None:
    play = Play(make_terms())  # timeout_ticks=5, grant_duration_cap=10
    play.apply(play.request("alice", duration=10))
    play.apply(play.make("accept", "bob"))
    grant = next(g.grant for g in play.neg.state.grants.values() if g.grant.grantee == "alice")
    late = play.make("ack", "alice", grant_id=grant.grant_id, tick=play.neg.state.tick + jump)
    with pytest.raises(ProtocolViolation) as caught:
        play.apply(late)  # the grant has not ended: legal only in time, then nothing to ack
    assert caught.value.code is (Code.NOTHING_TO_ACK if jump <= 10 else Code.TICK_TOO_FAR)
