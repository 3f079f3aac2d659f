from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from values_testkit import MAI_SAMPLE, card_doc, counts, graph_doc, plain_pagerank

from valuesneg.values import (
    GraphError,
    find_cycles,
    import_mai,
    parse_graph,
    rank,
    reference_pagerank,
    strongly_connected_components,
)


def make_graph(n_cards: int, edges: list[tuple[int, int, dict[str, int], list[str]]],
               card_order: list[int] | None = None) -> Any:
    doc = graph_doc()
    order = card_order if card_order is not None else list(range(n_cards))
    doc["cards"] = [card_doc(f"c{i}", contexts=()) for i in order]
    doc["edges"] = [{"source": f"card:c{s}", "wiser": f"card:c{w}", "contexts": ctx,
                     "counts": c} for s, w, c, ctx in edges]
    return parse_graph(doc)


def likelihood(c: dict[str, int]) -> float:
    total = c["marked_wiser"] + c["marked_not_wiser"] + c["marked_less_wise"] + c[
        "marked_unsure"]
    return 0.0 if total == 0 else (c["marked_wiser"] - c["marked_less_wise"]) / total


def test_two_cards_by_hand() -> None:
    g = make_graph(2, [(0, 1, counts(3), ["ctx:camp"])])
    r = rank(g)
    assert [x.id for x in r] == ["card:c1", "card:c0"]
    # c0 only ever gets the teleport share; c1 also gets 0.85 of c0's rank.
    assert r[1].score == pytest.approx(0.15 / 2)
    assert r[0].score == pytest.approx(0.15 / 2 + 0.85 * 0.15 / 2)
    assert r[0].title == "C1" and r[0].source_id is None


counts_st = st.builds(counts, st.integers(0, 9), st.integers(0, 5), st.integers(0, 6),
                      st.integers(0, 4))


@st.composite
def random_graphs(draw: st.DrawFn) -> tuple[int, list[tuple[int, int, dict[str, int],
                                                               list[str]]]]:
    n = draw(st.integers(2, 7))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(
        lambda p: p[0] != p[1]), min_size=1, max_size=14, unique=True))
    edges = [(s, w, draw(counts_st), draw(st.sampled_from(
        [["ctx:camp"], ["ctx:work"], ["ctx:camp", "ctx:work"]]))) for s, w in pairs]
    return n, edges


@settings(max_examples=150, deadline=None)
@given(random_graphs())
def test_matches_an_independent_power_iteration(graph: Any) -> None:
    n, edges = graph
    g = make_graph(n, edges)
    for context in (None, "ctx:camp", "ctx:work"):
        scoped = [(f"card:c{s}", f"card:c{w}", likelihood(c)) for s, w, c, ctx in edges
                  if (context is None or context in ctx) and likelihood(c) > 0]
        nodes = sorted({x for s, w, _ in scoped for x in (s, w)})
        expected = plain_pagerank(nodes, scoped) if nodes else {}
        got = {r.id: r.score for r in rank(g, context)}
        assert got.keys() == expected.keys()
        for key, value in expected.items():
            assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-15), (context, key)


def test_order_is_score_then_id_and_independent_of_card_order() -> None:
    # c1 and c2 are symmetric (both wiser than c0 with the same counts): a tie.
    edges = [(0, 1, counts(4, 1), ["ctx:camp"]), (0, 2, counts(4, 1), ["ctx:camp"])]
    a = rank(make_graph(3, edges))
    b = rank(make_graph(3, edges, card_order=[2, 0, 1]))
    assert a == b
    assert [x.id for x in a] == ["card:c1", "card:c2", "card:c0"]
    assert a[0].score == a[1].score > a[2].score


def test_context_restriction_and_titles() -> None:
    g = parse_graph(graph_doc())
    camp = rank(g, "ctx:camp")
    assert rank(g, "When camping") == camp
    assert [x.id for x in camp] == ["card:gamma", "card:beta", "card:alpha"]
    work = rank(g, "ctx:work")
    assert [x.id for x in work] == ["card:gamma", "card:alpha"]  # beta is on no work edge
    assert work[0].score == pytest.approx(0.15 / 2 + 0.85 * 0.15 / 2)


def test_unknown_context_is_a_graph_error() -> None:
    with pytest.raises(GraphError) as info:
        rank(parse_graph(graph_doc()), "When flying")
    assert info.value.where == "context"
    assert "ctx:camp, ctx:work" in info.value.message


def test_same_pair_in_several_contexts_is_merged_globally() -> None:
    c1, c2 = counts(5, 1, 0, 1), counts(1, 3, 2, 0)
    g = make_graph(3, [(0, 1, c1, ["ctx:camp"]), (0, 1, c2, ["ctx:work"]),
                       (0, 2, counts(2, 1), ["ctx:work"])])
    merged = {k: c1[k] + c2[k] for k in c1}
    expected = plain_pagerank(["card:c0", "card:c1", "card:c2"], [
        ("card:c0", "card:c1", likelihood(merged)),
        ("card:c0", "card:c2", likelihood(counts(2, 1)))])
    got = {r.id: r.score for r in rank(g)}
    assert got == pytest.approx(expected, abs=1e-12)


def test_reference_filter_option_drops_weak_edges() -> None:
    g = make_graph(3, [(0, 1, counts(9, 0, 0, 1), ["ctx:camp"]),
                       (0, 2, counts(1, 0, 0, 0), ["ctx:camp"])])
    assert {x.id for x in rank(g)} == {"card:c0", "card:c1", "card:c2"}
    filtered = rank(g, apply_reference_filter=True)
    assert {x.id for x in filtered} == {"card:c0", "card:c1"}


def test_edges_judged_not_wiser_carry_no_rank() -> None:
    # c0 -> c1 has likelihood -1/3 (more "less wise" votes than "wiser"); c0 -> c2 has 0.
    g = make_graph(4, [(0, 1, counts(1, 0, 2, 0), ["ctx:camp"]),
                       (0, 2, counts(0, 2), ["ctx:camp"]),
                       (0, 3, counts(3, 0, 0, 0), ["ctx:camp"])])
    scores = {r.id: r.score for r in rank(g)}
    assert scores == pytest.approx(plain_pagerank(
        ["card:c0", "card:c3"], [("card:c0", "card:c3", 1.0)]), abs=1e-15)


def test_reference_formula_itself_with_negative_weights() -> None:
    # The bare reference formula: a negative weight subtracts rank, a non-positive total
    # passes nothing on. (rank() leaves such edges out; see the module doc.)
    edges = [("a", "b", -2 / 3), ("a", "c", 1.0), ("b", "a", 1.0)]
    got = reference_pagerank(edges)
    expected = plain_pagerank(["a", "b", "c"], edges)
    assert got == pytest.approx(expected, rel=1e-9)
    assert max(abs(v) for v in got.values()) > 1e6  # why rank() does not feed them in
    for weights in ((-0.5, 0.5), (-0.5, 0.25)):  # total zero, total negative
        assert reference_pagerank([("a", "b", weights[0]), ("a", "c", weights[1])]) == (
            pytest.approx({"a": 0.05, "b": 0.05, "c": 0.05}))


def test_cycles_rank_and_are_found() -> None:
    ring = [(0, 1, counts(5, 1), ["ctx:camp"]), (1, 2, counts(5, 1), ["ctx:camp"]),
            (2, 0, counts(5, 1), ["ctx:camp"]), (2, 3, counts(2, 2), ["ctx:work"])]
    g = make_graph(4, ring)
    scores = {r.id: r.score for r in rank(g)}
    assert all(s > 0 for s in scores.values())
    assert find_cycles(g) == [("card:c0", "card:c1", "card:c2")]
    assert strongly_connected_components(g) == [("card:c0", "card:c1", "card:c2")]
    assert find_cycles(g, "ctx:work") == []
    # the symmetric ring alone: every card the same rank, ties in id order
    ring_only = rank(g, "ctx:camp")
    assert [r.id for r in ring_only] == ["card:c0", "card:c1", "card:c2"]
    assert ring_only[0].score == pytest.approx(1 / 3)


def test_shortest_cycle_through_the_smallest_card() -> None:
    edges: list[tuple[int, int, dict[str, int], list[str]]] = [
        (0, 1, counts(3), []), (1, 2, counts(3), []), (2, 3, counts(3), []),
        (3, 0, counts(3), []), (1, 0, counts(3), []), (4, 5, counts(3), []),
        (5, 4, counts(3), [])]
    g = make_graph(6, edges)
    assert find_cycles(g) == [("card:c0", "card:c1"), ("card:c4", "card:c5")]
    assert strongly_connected_components(g) == [
        ("card:c0", "card:c1", "card:c2", "card:c3"), ("card:c4", "card:c5")]


def test_include_unranked_lists_the_other_cards_in_scope() -> None:
    doc = graph_doc()
    doc["cards"].append(card_doc("delta", contexts=("ctx:work",)))
    g = parse_graph(doc)
    assert [r.id for r in rank(g)][-1] != "card:delta"
    tail = rank(g, include_unranked=True)[-1]
    assert (tail.id, tail.score) == ("card:delta", 0.0)
    assert [r.id for r in rank(g, "ctx:work", include_unranked=True)] == [
        "card:gamma", "card:alpha", "card:delta"]
    assert "card:delta" not in [r.id for r in rank(g, "ctx:camp", include_unranked=True)]


def test_mai_ranking_carries_source_ids() -> None:
    g = import_mai(MAI_SAMPLE)
    ranked = rank(g)
    assert {r.source_id for r in ranked} == {11, 12, 13, 14, 15}
    assert all(r.id == f"card:mai-{r.source_id}" for r in ranked)
    scores = [r.score for r in ranked]
    assert scores == sorted(scores, reverse=True)
