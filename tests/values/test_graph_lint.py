from __future__ import annotations

from typing import Any

from values_testkit import graph_doc

from valuesneg.values import attended_things, lint_graph, parse_graph


def codes(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return [(w.code, w.where) for w in lint_graph(parse_graph(doc))]


def test_clean_graph_has_no_warnings() -> None:
    assert codes(graph_doc()) == []


def test_attended_things() -> None:
    assert attended_things("WHETHER each person has enough WATER to stay safe") == ("WATER",)
    assert attended_things("Encourage IMAGINATION about their PETS' needs") == (
        "IMAGINATION", "PETS")
    assert attended_things("WHETHER it is fair") == ()  # a connective is not a thing
    assert attended_things("what the AI should do") == ()  # two letters are too few
    assert attended_things("the SIZE OF MY GROUP") == ("SIZE", "GROUP")


def test_slogan_card_without_attended_thing() -> None:
    doc = graph_doc()
    for ap in doc["cards"][1]["attentional_policies"]:
        ap["text"] = "being fair to everyone"
    assert codes(doc) == [("slogan-card", "cards[1]")]
    [warning] = lint_graph(parse_graph(doc))
    assert "card:beta" in warning.message and "CAPITALS" in warning.message
    assert str(warning).startswith("warning [slogan-card] cards[1]: ")


def test_one_capitalised_policy_is_enough() -> None:
    doc = graph_doc()
    doc["cards"][1]["attentional_policies"][0]["text"] = "being fair"
    assert codes(doc) == []


def test_title_that_states_a_position() -> None:
    for title in ("Everyone Should Get Equal Shares", "Never Give Up Water",
                  "I need more firewood", "Share now!"):
        doc = graph_doc()
        doc["cards"][0]["title"] = title
        assert codes(doc) == [("slogan-title", "cards[0].title")], title


def test_policy_id_convention() -> None:
    doc = graph_doc()
    doc["cards"][0]["attentional_policies"][1]["id"] = "ap:other.2"
    assert codes(doc) == [("policy-id-convention", "cards[0].attentional_policies[1].id")]


def test_edge_without_context_and_inconsistent_counts() -> None:
    doc = graph_doc()
    doc["edges"][1]["contexts"] = []
    doc["edges"][2]["counts"]["impressions"] = 1
    assert codes(doc) == [("edge-without-context", "edges[1]"),
                          ("counts-inconsistent", "edges[2].counts")]
