"""The winwin metrics, checked against values computed by hand on small fixtures."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from valuesneg.corpora import load_casino_scenarios, load_dond
from valuesneg.evals.base import Dataset, EvalConfig
from valuesneg.evals.winwin import Result, nash_distance, run, score, summary

DATA = Path(__file__).parent / "data"
A1, A2 = "mturk_agent_1", "mturk_agent_2"


def test_nash_distance_is_euclidean_in_utility_normalised_by_each_best() -> None:
    deal, walk = load_casino_scenarios(DATA / "casino_two.json")
    # Dialogue 2: both rank firewood High (5); a1 food 4 water 3, a2 water 4 food 3. The
    # Nash point over walk-away 5/5: food to a1, water to a2, firewood 2/1 -> (22, 17),
    # product 17x12 = 204 (the 1/2 split ties and comes later). Each best is 36.
    assert walk.space.nash() == {A1: 22.0, A2: 17.0}
    assert nash_distance(walk.space, {A1: 5.0, A2: 5.0}) == pytest.approx(
        math.sqrt(17**2 + 12**2) / 36)
    # Dialogue 1's recorded deal (21, 18) is its Nash point: product 16x13 = 208.
    assert nash_distance(deal.space, {A1: 21.0, A2: 18.0}) == 0.0


def test_recorded_human_results_score_by_hand() -> None:
    deal, walk = load_casino_scenarios(DATA / "casino_two.json")
    results = [score(s.name, s.space, s.recorded.allocation if s.recorded else None)
               for s in (deal, walk)]
    assert [r.efficiency for r in results] == [1.0, 0.0]  # 39 of 39; no deal counts 0
    assert summary(results) == {
        "n": 2, "agreement_rate": 0.5, "joint_efficiency_agreed": 1.0,
        "joint_efficiency_all": 0.5, "pareto_optimal_rate": 0.5,
        "nash_distance": round(math.sqrt(17**2 + 12**2) / 36 / 2, 6),
        "mean_rounds": None, "violations_blocked": 0, "ir_violations": 0,
        "accepted_opening_rate": 0.0, "choice_divergence": None, "first_option_rate": None}


def test_summary_averages_deals_and_everything_separately() -> None:
    def result(agreed: bool, joint: float, pareto: bool, rounds: int) -> Result:
        # no-deal utility 4 each: the 7-point deal (3.5 each) leaves both below it
        return Result(name="x", agreed=agreed, utilities={"a": joint / 2, "b": joint / 2},
                      disagreement={"a": 4.0, "b": 4.0}, best_joint=10.0, pareto=pareto,
                      nash_distance=0.1 * rounds, rounds=rounds, violations=rounds - 1,
                      accepted_opening=rounds == 2, llm_decisions=rounds,
                      llm_diverged=rounds // 2, menu_picks=rounds - 1, first_picks=1)

    results = [result(True, 9.0, True, 2), result(True, 7.0, False, 4),
               result(False, 0.0, False, 6)]
    assert [r.ir_violation for r in results] == [False, True, False]  # no deal: no violation
    assert summary(results) == {
        "n": 3, "agreement_rate": round(2 / 3, 6), "joint_efficiency_agreed": 0.8,
        "joint_efficiency_all": round(1.6 / 3, 6), "pareto_optimal_rate": round(1 / 3, 6),
        "nash_distance": 0.4, "mean_rounds": 4.0, "violations_blocked": 1 + 3 + 5,
        "ir_violations": 1, "accepted_opening_rate": round(1 / 3, 6),
        "choice_divergence": round((1 + 2 + 3) / (2 + 4 + 6), 6),
        "first_option_rate": round(3 / (1 + 3 + 5), 6)}


def test_dond_recorded_figures_by_hand() -> None:
    first, failed, _ = load_dond(DATA / "dond_sample.txt")
    assert first.recorded is not None and failed.recorded is not None
    human = score("dond-1", first.space, first.recorded.allocation)
    # (10, 4) against Nash (7, 7), each best 10: sqrt(0.3^2 + 0.3^2)
    assert (human.efficiency, human.pareto) == (1.0, True)
    assert human.nash_distance == pytest.approx(math.sqrt(0.18))
    none = score("dond-2", failed.space, None)
    # no deal sits at (0, 0); Nash (7, 6): hat and ball to p1, the books to p2; bests 10, 10
    assert (none.efficiency, none.pareto) == (0.0, False)
    assert none.nash_distance == pytest.approx(math.sqrt(0.49 + 0.36))


def test_values_agents_on_the_casino_fixture(tmp_path: Path) -> None:
    config = EvalConfig(suite="winwin", out=tmp_path, progress=False,
                        dataset=Dataset("casino", DATA / "casino_two.json"))
    result = run(config)
    metrics = result.metrics
    # Both deals give each issue to whoever values it more and split the tied firewood 1/2,
    # so they reach the best joint points (39): dialogue 1 food 15 + firewood 3 to a1, water
    # 15 + firewood 6 to a2; dialogue 2 food 12 + firewood 5 to a1, water 12 + firewood 10.
    assert [r["utilities"] for r in result.rows] == [{A1: 18.0, A2: 21.0},
                                                     {A1: 17.0, A2: 22.0}]
    assert {k: metrics[k] for k in ("n", "agreement_rate", "joint_efficiency_agreed",
                                    "joint_efficiency_all", "pareto_optimal_rate",
                                    "violations_blocked", "lineages_verified")} == {
        "n": 2, "agreement_rate": 1.0, "joint_efficiency_agreed": 1.0,
        "joint_efficiency_all": 1.0, "pareto_optimal_rate": 1.0, "violations_blocked": 0,
        "lineages_verified": 2}
    # Nash points (21, 18) and (22, 17): off by (3, 3) and (5, 5) points, over bests of 36.
    assert metrics["nash_distance"] == round((math.sqrt(18) + math.sqrt(50)) / 36 / 2, 6)
    assert metrics["human"]["recorded"]["agreement_rate"] == 0.5
    assert metrics["human"]["published"]["agreement_rate"] == 0.976
    assert sorted(p.name for p in (tmp_path / "lineages").iterdir()) == [
        "casino-1.jsonl", "casino-2.jsonl"]
