"""Terminal rules at the round cap: tier-break and each fallback against hand-computed answers."""

from __future__ import annotations

import itertools

from builders import Play, make_terms
from hypothesis import given
from hypothesis import strategies as st

from valuesneg.core import Outcome, TierBreak
from valuesneg.core.records import TierCandidate
from valuesneg.core.tiebreak import winner

SAFE_WATER = {"alice": {"dim:water": "tier:routine", "dim:firewood": "tier:routine",
                        "dim:spot": "tier:routine"},
              "bob": {"dim:water": "tier:safety", "dim:firewood": "tier:routine",
                      "dim:spot": "tier:safety"}}


def capped(rule: str, tiers: dict | None = None) -> tuple[Outcome, list[TierBreak]]:
    """alice asks for everything, bob refuses, and the round cap of 1 is hit at once."""
    terms = make_terms(round_cap=1, tiers=tiers, terminal={
        "dim:spot": "tier_break", "dim:water": rule, "dim:firewood": rule})
    play = Play(terms)
    play.apply(play.request("alice"))
    appended = play.apply(play.make("refuse", "bob"))
    outcome = next(r for r in appended if isinstance(r, Outcome))
    return outcome, [r for r in appended if isinstance(r, TierBreak)]


def test_nash_fallback_matches_hand_computation() -> None:
    # alice wins the spot (2 points to her). Then over water w and firewood f for alice:
    # u_a = 2 + 5w + 3f, u_b = 3(3-w) + 5(3-f); maximise (u_a-5)(u_b-5):
    # (w,f)=(3,0): 12*10=120 beats (3,1): 15*5=75, (2,0): 7*13=91, (2,1): 10*8=80.
    outcome, breaks = capped("nash")
    assert outcome.terminal == "fallback"
    assert outcome.allocation["dim:water"] == {"alice": 3, "bob": 0}
    assert outcome.allocation["dim:firewood"] == {"alice": 0, "bob": 3}
    assert outcome.justification.nash_product == 120.0
    assert outcome.justification.utilities == {"alice": 17.0, "bob": 15.0}
    assert [b.winner for b in breaks] == ["alice"]


def test_equal_split_fallback() -> None:
    # 3 units between two parties at the same tier: 2 to the first declared, 1 to the other
    outcome, _ = capped("equal_split")
    assert outcome.allocation["dim:water"] == {"alice": 2, "bob": 1}
    assert outcome.allocation["dim:firewood"] == {"alice": 2, "bob": 1}
    assert "fair:equal_split" in outcome.satisfied


def test_priority_fallback_serves_the_higher_tier_first() -> None:
    # bob is safety tier on water: he is served first (need 1), then alice (need 1), and the
    # leftover unit goes to the highest-priority party that values water: bob.
    outcome, breaks = capped("priority", tiers=SAFE_WATER)
    assert outcome.allocation["dim:water"] == {"alice": 1, "bob": 2}
    # firewood is routine for both: alice (declared first) gets the needless leftover, all 3
    assert outcome.allocation["dim:firewood"] == {"alice": 3, "bob": 0}
    assert [b.winner for b in breaks] == ["bob"]  # safety tier beats an earlier proposal


def test_tier_break_alone_is_terminal_tier_break() -> None:
    terms = make_terms(round_cap=1, terminal={"dim:spot": "tier_break",
                                              "dim:water": "tier_break",
                                              "dim:firewood": "tier_break"})
    play = Play(terms)
    play.apply(play.request("alice"))
    appended = play.apply(play.make("refuse", "bob"))
    outcome = next(r for r in appended if isinstance(r, Outcome))
    assert outcome.terminal == "tier_break"
    assert sum(isinstance(r, TierBreak) for r in appended) == 3


def test_agreement_records_trade_offs() -> None:
    play = Play(make_terms())
    appended = play.agree()
    outcome = next(r for r in appended if isinstance(r, Outcome))
    assert outcome.terminal == "agreement"
    # alice took everything: needs of bob unmet (1 of 2 units of need), no equal split
    sacrificed = {s.property: s.magnitude for s in outcome.sacrificed}
    assert sacrificed["fair:needs_coverage"] == 0.5
    assert "fair:equal_split" in sacrificed
    assert "fair:pareto_efficiency" in outcome.satisfied


candidate = st.builds(
    lambda party, rank, tick: TierCandidate(party=party, tier=f"tier:t{rank}", tier_rank=rank,
                                            first_proposal_tick=tick,
                                            order_key=f"{hash((party, tick)) % 16:x}" * 64),
    st.sampled_from(("a", "b", "c", "d")), st.integers(0, 2), st.one_of(st.none(),
                                                                         st.integers(0, 3)))


@given(st.lists(candidate, min_size=2, max_size=4, unique_by=lambda c: c.party))
def test_tier_break_has_one_winner_whatever_the_input_order(cands: list[TierCandidate]) -> None:
    # ties in tier and in first-proposal tick are frequent here: same tier, same request
    winners = {winner(tuple(order)) for order in itertools.permutations(cands)}
    assert len(winners) == 1
    (chosen,) = winners
    top = max(c.tier_rank for c in cands)
    assert next(c for c in cands if c.party == chosen).tier_rank == top


def test_two_parties_with_identical_claims_get_one_winner() -> None:
    same = [TierCandidate(party=p, tier="tier:routine", tier_rank=0, first_proposal_tick=1,
                          order_key=key * 64) for p, key in (("alice", "b"), ("bob", "a"))]
    assert winner(tuple(same)) == winner(tuple(reversed(same))) == "bob"
