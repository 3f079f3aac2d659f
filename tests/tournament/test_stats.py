"""The leaderboard's statistics, against hand-worked figures."""

from __future__ import annotations

from typing import Any

import pytest

from valuesneg.tournament.setup import Competitor
from valuesneg.tournament.stats import duel, leaderboard, sign_test


def test_sign_test_by_hand() -> None:
    assert sign_test(9, 1) == pytest.approx(2 * (1 + 10) / 1024)  # P(<=1 of 10) both tails
    assert sign_test(1, 9) == sign_test(9, 1)
    assert sign_test(5, 5) == 1.0 and sign_test(0, 0) == 1.0
    assert sign_test(6, 0) == pytest.approx(2 / 64)
    assert sign_test(3000, 1000) < 1e-100  # far past a float's 2**1024, still exact


def cell(a: str, gain_a: float, b: str, gain_b: float, *, pareto: float = 0.0,
         nash: float = 0.0) -> dict[str, Any]:
    return {"competitor_1": a, "advantage_1": gain_a, "competitor_2": b,
            "advantage_2": gain_b, "agreed": True, "pareto_distance": pareto,
            "nash_distance": nash, "lineage_verified": True}


def test_duel_counts_wins_losses_and_ties_half_in_either_seat() -> None:
    rows = [cell("a", 0.6, "b", 0.4), cell("b", 0.1, "a", 0.9), cell("a", 0.5, "b", 0.5),
            cell("b", 0.7, "a", 0.2), cell("a", 0.9, "c", 0.1)]
    result = duel(rows, "a", "b")
    assert (result["cells"], result["wins"], result["losses"], result["ties"]) == (4, 2, 1, 1)
    assert result["win_rate"] == 0.625
    assert result["p_value"] == 1.0 and result["significant"] is False


def test_leaderboard_ranks_by_mean_advantage_and_averages_distances_per_pairing() -> None:
    rows = [cell("a", 0.8, "b", 0.2, pareto=0.1, nash=0.3),
            cell("b", 0.4, "a", 0.6, pareto=0.3, nash=0.1), cell("b", 0.5, "b", 0.5)]
    board = leaderboard(rows, [Competitor(name="b"), Competitor(name="a")], seed=0)
    assert [(e["rank"], e["name"], e["seats"], e["mean_advantage"])
            for e in board["competitors"]] == [(1, "a", 2, 0.7), (2, "b", 4, 0.4)]
    pairings = {tuple(p["competitors"]): p for p in board["pairings"]}
    assert set(pairings) == {("b", "a"), ("b", "b")}  # named in entry order
    assert pairings[("b", "a")]["cells"] == 2
    assert pairings[("b", "a")]["pareto_distance"] == pytest.approx(0.2)
    assert pairings[("b", "a")]["nash_distance"] == pytest.approx(0.2)
