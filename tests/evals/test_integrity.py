"""The integrity suite: the predictor on hand-worked offers, paraphrased cards, the metrics."""

from __future__ import annotations

from pathlib import Path

from valuesneg.evals import integrity
from valuesneg.evals.base import EvalConfig
from valuesneg.evals.common import scenario
from valuesneg.evals.integrity import Prediction, predict

UNITS = {"dim:food": 3, "dim:water": 3}
RELEVANCE = {"card:thirst": ("dim:water",), "card:hunger": ("dim:food",)}


def table(food: int, water: int) -> dict[str, dict[str, int]]:
    return {"dim:food": {"me": food, "you": 3 - food},
            "dim:water": {"me": water, "you": 3 - water}}


def test_the_predictor_weighs_the_offer_by_the_revealed_cards() -> None:
    # priority water 1, food 0: satisfaction = share of water = 2/3. At t = 4/6 the demand is
    # 1/2 + 1/2 * (1 - 4/6) = 2/3, so it accepts; at t = 2/6 (demand 5/6) it counters on water.
    args = (("card:thirst",), RELEVANCE, table(0, 2), UNITS, "me", 2)
    assert predict(*args, 4, 6, ("accept", "counter")) == Prediction("accept")
    assert predict(*args, 2, 6, ("accept", "counter")) == Prediction("counter", "dim:water")
    assert predict(*args, 2, 6, ("accept", "refuse")) == Prediction("refuse")


def test_without_relevant_cards_every_dimension_counts_the_same() -> None:
    # (3/3 + 0/3) / 2 = 1/2 = the equal share at the cap: accept; short only of water.
    assert predict((), RELEVANCE, table(3, 0), UNITS, "me", 2, 6, 6, ("counter",)) == \
        Prediction("accept")
    assert predict((), RELEVANCE, table(3, 0), UNITS, "me", 2, 0, 6, ("counter",)) == \
        Prediction("counter", "dim:water")


def test_paraphrased_cards_keep_ids_and_change_every_text() -> None:
    graph = scenario("campsite_supplies").graph
    reworded = integrity.paraphrased(graph, integrity.paraphrases())
    before = {c.id: c for c in graph.cards}
    card = next(c for c in reworded.cards if c.id == "card:safety-margins")
    assert card.title == "Nobody Comes to Harm" != before[card.id].title
    assert [ap.id for ap in card.attentional_policies] == \
        [ap.id for ap in before[card.id].attentional_policies]
    assert all(a.text != b.text for a, b in zip(card.attentional_policies,
                                                before[card.id].attentional_policies,
                                                strict=True))


def test_citation_faithfulness_counts_cards_against_the_labels() -> None:
    job = integrity.Job("campsite_supplies", "ben", "values")
    result = integrity.run_job(job, "values", None)
    labels = integrity.relevance("campsite_supplies")
    # ben cites its two cards on every dimension-focused record; lasting-goodwill is
    # labelled relevant to none, trading-on-priorities to all three: so exactly half.
    m = integrity.metrics([result], EvalConfig("integrity", Path(".")))
    assert labels["card:lasting-goodwill"] == () and len(labels["card:trading-on-priorities"]) == 3
    assert m["citation_faithfulness"] == 0.5
    assert m["consistency_under_paraphrase"] == 1.0  # scripted agents never read card texts
    assert m["lineage_failures"] == 0


def test_the_suite_reports_every_key(tmp_path: Path) -> None:
    m = integrity.run(EvalConfig("integrity", tmp_path, limit=5, progress=False)).metrics
    assert {"predictability", "consistency_under_paraphrase", "citation_faithfulness"} <= set(m)
    assert m["runs"] == 5 and 0.0 <= m["predictability"] <= 1.0
    assert sum(m["confusion"].values()) == m["predicted_decisions"]
    made: dict[str, int] = {}
    for pair, n in m["confusion"].items():
        made[pair.split("->")[1]] = made.get(pair.split("->")[1], 0) + n
    assert m["baseline_predictability"] == max(made.values()) / m["predicted_decisions"]
