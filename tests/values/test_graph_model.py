from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from pydantic import ValidationError
from values_testkit import counts, graph_doc, plain_entropy, plain_likelihood

from valuesneg.values import (
    GraphError,
    MoralGraph,
    VoteCounts,
    entropy,
    parse_graph,
    passes_reference_filter,
    wiser_likelihood,
)

# (markedWiser, markedNotWiser, markedLessWise, markedUnsure, impressions) and the summary
# the reference implementation published for that edge, from the Meaning Alignment
# Institute's public export data/moral-graph-prolific-run.json (meaningalignment/mge).
REFERENCE_SUMMARIES = [
    ((12, 4, 0, 4, 20), 0.6, 1.6854752972273344),
    ((20, 3, 2, 5, 32), 0.6, 1.6831787317683666),
    ((34, 1, 0, 3, 38), 0.8947368421052632, 1.2854292290287006),
    ((2, 0, 0, 1, 3), 0.6666666666666666, 1.4591479170272448),
    ((14, 4, 0, 5, 23), 0.6086956521739131, 1.6767242523058266),
    ((3, 0, 0, 1, 4), 0.75, 1.4056390622295665),
    ((11, 2, 0, 4, 17), 0.6470588235294118, 1.630385896948397),
    ((5, 0, 0, 7, 12), 0.4166666666666667, 1.4899343783255763),
    ((4, 0, 0, 4, 8), 0.5, 1.5),
    ((20, 6, 0, 6, 32), 0.625, 1.6647170014624824),
    ((45, 1, 0, 6, 52), 0.8653846153846154, 1.3248048173478317),
    ((10, 3, 0, 2, 15), 0.6666666666666666, 1.620973016103023),
    ((7, 1, 0, 2, 10), 0.7, 1.5783898247235197),
    ((15, 3, 0, 2, 20), 0.75, 1.5270078865364),
    ((32, 0, 0, 3, 35), 0.9142857142857143, 1.2110002584415764),
    ((47, 4, 0, 9, 60), 0.7833333333333333, 1.4734869557890111),
    ((2, 1, 0, 0, 3), 0.6666666666666666, 1.4591479170272448),
    ((9, 0, 0, 0, 9), 1, 1),
    ((24, 6, 0, 11, 42), 0.5853658536585366, 1.675280942390866),
    ((4, 1, 0, 1, 7), 0.6666666666666666, 1.573402452417767),
    ((13, 0, 0, 5, 18), 0.7222222222222222, 1.4262025893247392),
    ((56, 4, 0, 8, 68), 0.8235294117647058, 1.417173511542627),
    ((32, 8, 0, 14, 54), 0.5925925925925926, 1.680194038963156),
]


def vc(w: int, nw: int, lw: int, u: int, imp: int) -> VoteCounts:
    return VoteCounts(marked_wiser=w, marked_not_wiser=nw, marked_less_wise=lw,
                      marked_unsure=u, impressions=imp)


@pytest.mark.parametrize(("c", "likelihood", "ent"), REFERENCE_SUMMARIES)
def test_summaries_match_the_reference_export(c: tuple[int, int, int, int, int],
                                              likelihood: float, ent: float) -> None:
    assert wiser_likelihood(vc(*c)) == pytest.approx(likelihood, abs=1e-12)
    assert entropy(vc(*c)) == pytest.approx(ent, abs=1e-12)


def test_entropy_counts_impressions_as_a_response() -> None:
    # The quirk: with impressions left out the entropy would differ.
    c = (5, 2, 1, 2, 12)
    assert entropy(vc(*c)) == pytest.approx(plain_entropy(list(c)))
    assert entropy(vc(*c)) != pytest.approx(plain_entropy(list(c[:4])))
    assert wiser_likelihood(vc(*c)) == pytest.approx(plain_likelihood(*c[:4]))


def test_empty_counts_give_zero_not_nan() -> None:
    assert wiser_likelihood(vc(0, 0, 0, 0, 0)) == 0.0
    assert entropy(vc(0, 0, 0, 0, 0)) == 0.0
    assert wiser_likelihood(vc(0, 0, 0, 0, 4)) == 0.0


def test_reference_filter_boundaries() -> None:
    assert passes_reference_filter(vc(2, 0, 0, 0, 2))  # entropy exactly 1
    assert not passes_reference_filter(vc(1, 0, 0, 0, 1))  # markedWiser < 2
    assert not passes_reference_filter(vc(2, 2, 1, 2, 7))  # likelihood 1/7 < 0.33
    assert not passes_reference_filter(vc(12, 4, 0, 6, 22))  # entropy > 1.69
    assert passes_reference_filter(vc(12, 4, 0, 4, 20))  # 1.685 <= 1.69


def test_valid_graph_and_accessors() -> None:
    g = parse_graph(graph_doc())
    assert g.card_ids() == ("card:alpha", "card:beta", "card:gamma")
    assert g.card("card:beta").title == "Beta"
    assert g.policy_ids() == ("ap:alpha.1", "ap:alpha.2", "ap:beta.1", "ap:beta.2",
                              "ap:gamma.1", "ap:gamma.2")
    card, ap = g.policy("ap:beta.2")
    assert card.id == "card:beta" and ap.text.endswith("number 2")
    assert g.resolve_context("When working").id == "ctx:work"
    assert g.resolve_context("ctx:camp").title == "When camping"
    assert [c.id for c in g.cards_in_context("ctx:work")] == ["card:gamma"]
    assert len(g.edges_in_context("ctx:camp")) == 2
    assert g.edges[0].wiser_likelihood == pytest.approx(5 / 7)
    with pytest.raises(KeyError, match="card:nope"):
        g.card("card:nope")
    with pytest.raises(KeyError, match="declared: ctx:camp, ctx:work"):
        g.resolve_context("When sleeping")


def test_content_hash_is_sha256_of_canonical_json() -> None:
    g = parse_graph(graph_doc())
    text = json.dumps(g.model_dump(mode="json"), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)
    assert g.content_hash == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert parse_graph(graph_doc()).content_hash == g.content_hash


def test_content_hash_changes_with_any_content() -> None:
    base = parse_graph(graph_doc()).content_hash
    doc = graph_doc()
    doc["cards"][1]["attentional_policies"][0]["text"] += "."
    assert parse_graph(doc).content_hash != base
    doc = graph_doc()
    doc["edges"][0]["counts"]["impressions"] += 1
    assert parse_graph(doc).content_hash != base
    doc = graph_doc()
    doc["contexts"][0]["title"] = "When glamping"
    assert parse_graph(doc).content_hash != base


def test_models_are_frozen() -> None:
    g = parse_graph(graph_doc())
    with pytest.raises(ValidationError):
        g.title = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        g.cards[0].title = "other"  # type: ignore[misc]


def _expect(doc: dict[str, Any], where: str, *fragments: str) -> GraphError:
    with pytest.raises(GraphError) as info:
        parse_graph(doc, path="g.json")
    err = info.value
    assert err.where == where, str(err)
    assert err.path == "g.json"
    for fragment in fragments:
        assert fragment in err.message, err.message
    assert str(err).startswith(f"g.json: {where}: ")
    return err


def test_duplicate_card_id() -> None:
    doc = graph_doc()
    doc["cards"][2]["id"] = "card:alpha"
    for ap in doc["cards"][2]["attentional_policies"]:
        ap["id"] = ap["id"].replace("gamma", "alpha2")
    _expect(doc, "cards[2].id", "duplicate card id 'card:alpha'", "cards[0]")


def test_duplicate_policy_id_across_cards() -> None:
    doc = graph_doc()
    doc["cards"][1]["attentional_policies"][1]["id"] = "ap:alpha.1"
    _expect(doc, "cards[1].attentional_policies[1].id",
            "duplicate attentional-policy id 'ap:alpha.1'", "card:alpha")


def test_duplicate_policy_id_within_a_card() -> None:
    doc = graph_doc()
    doc["cards"][0]["attentional_policies"][1]["id"] = "ap:alpha.1"
    _expect(doc, "cards[0].attentional_policies[1].id", "card:alpha", "repeats")


def test_empty_attentional_policies() -> None:
    doc = graph_doc()
    doc["cards"][1]["attentional_policies"] = []
    _expect(doc, "cards[1].attentional_policies", "card 'card:beta' has no attentional")


def test_blank_policy_text() -> None:
    doc = graph_doc()
    doc["cards"][0]["attentional_policies"][0]["text"] = "   "
    _expect(doc, "cards[0].attentional_policies[0].text", "empty")


def test_edge_to_unknown_card() -> None:
    doc = graph_doc()
    doc["edges"][1]["wiser"] = "card:delta"
    _expect(doc, "edges[1].wiser", "unknown card 'card:delta'", "card:beta -> card:delta")


def test_edge_from_unknown_card() -> None:
    doc = graph_doc()
    doc["edges"][2]["source"] = "card:zeta"
    _expect(doc, "edges[2].source", "unknown card 'card:zeta'")


def test_edge_with_undeclared_context() -> None:
    doc = graph_doc()
    doc["edges"][0]["contexts"] = ["ctx:camp", "ctx:sea"]
    _expect(doc, "edges[0].contexts[1]", "'ctx:sea' is not declared")


def test_card_with_undeclared_context() -> None:
    doc = graph_doc()
    doc["cards"][2]["contexts"] = ["ctx:moon"]
    _expect(doc, "cards[2].contexts[0]", "card 'card:gamma'", "'ctx:moon'")


def test_self_edge() -> None:
    doc = graph_doc()
    doc["edges"][2]["wiser"] = "card:alpha"
    _expect(doc, "edges[2]", "card:alpha -> card:alpha", "itself")


def test_duplicate_edge_in_the_same_context() -> None:
    doc = graph_doc()
    doc["edges"].append({"source": "card:alpha", "wiser": "card:beta",
                         "contexts": ["ctx:work", "ctx:camp"], "counts": counts(1)})
    _expect(doc, "edges[3]", "appears twice in context 'ctx:camp'", "edges[0]")


def test_same_pair_in_other_contexts_is_allowed() -> None:
    doc = graph_doc()
    doc["edges"].append({"source": "card:alpha", "wiser": "card:beta",
                         "contexts": ["ctx:work"], "counts": counts(1)})
    assert len(parse_graph(doc).edges) == 4


def test_duplicate_context_id() -> None:
    doc = graph_doc()
    doc["contexts"].append({"id": "ctx:camp", "title": "Again"})
    _expect(doc, "contexts[2].id", "duplicate context id 'ctx:camp'")


@pytest.mark.parametrize(("bad", "fragment"), [
    ("Card:Alpha", "not in the id grammar"),
    ("card:alpha beta", "not in the id grammar"),
    ("card:\u0430lpha", "not in the id grammar"),  # Cyrillic a
    ("card:" + "a" * 60, "maximum is 64"),
    ("alpha", "must start with 'card:'"),
    ("ap:alpha", "must start with 'card:'"),
])
def test_bad_card_ids(bad: str, fragment: str) -> None:
    doc = graph_doc()
    doc["cards"][0]["id"] = bad
    _expect(doc, "cards[0].id", fragment)


def test_bad_policy_and_context_ids() -> None:
    doc = graph_doc()
    doc["cards"][0]["attentional_policies"][0]["id"] = "card:alpha.1"
    _expect(doc, "cards[0].attentional_policies[0].id", "must start with 'ap:'")
    doc = graph_doc()
    doc["contexts"][0]["id"] = "camp"
    _expect(doc, "contexts[0].id", "must start with 'ctx:'")


def test_unknown_and_missing_fields() -> None:
    doc = graph_doc()
    doc["cards"][0]["colour"] = "blue"
    _expect(doc, "cards[0].colour", "unknown field")
    doc = graph_doc()
    del doc["cards"][1]["description"]
    _expect(doc, "cards[1].description", "required field is missing")


@pytest.mark.parametrize("value", [-1, True, 1.5, "3"])
def test_counts_must_be_non_negative_integers(value: object) -> None:
    doc = graph_doc()
    doc["edges"][1]["counts"]["marked_unsure"] = value
    _expect(doc, "edges[1].counts.marked_unsure")


def test_several_problems_are_counted() -> None:
    doc = graph_doc()
    doc["cards"][0]["id"] = "Bad"
    doc["cards"][1]["id"] = "Bad too"
    err = _expect(doc, "cards[0].id", "and 1 more problem")
    assert len(err.details) == 2


def test_wrong_or_missing_format() -> None:
    doc = graph_doc()
    doc["format"] = "valuesneg.moral-graph/2"
    _expect(doc, "format", "expected format 'valuesneg.moral-graph/1'")
    with pytest.raises(GraphError, match="MAI export"):
        parse_graph({"values": [], "edges": []})
    with pytest.raises(GraphError, match="JSON object, not list"):
        parse_graph([])


def test_direct_construction_refuses_bad_graphs_too() -> None:
    doc = graph_doc()
    doc["edges"][0]["wiser"] = "card:alpha"
    with pytest.raises(ValidationError, match=r"edges\[0\]: edge card:alpha -> card:alpha"):
        MoralGraph.model_validate(doc)
