from __future__ import annotations

from pathlib import Path

import pytest
from values_testkit import SHIPPED

from valuesneg.values import (
    attended_things,
    find_cycles,
    graph_to_json,
    is_valid_id,
    lint_graph,
    load_graph,
    rank,
)

EXPECTED_IDS = {
    "scarce_supplies": "graph:scarce-supplies",
    "compute_and_tools": "graph:compute-and-tools",
    "shared_authority": "graph:shared-authority",
}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_graph_is_substantial_and_clean(name: str) -> None:
    path: Path = SHIPPED[name]
    graph = load_graph(path)
    assert graph.id == EXPECTED_IDS[name]
    assert len(graph.cards) >= 6
    assert len(graph.contexts) >= 3
    assert len(graph.edges) >= len(graph.cards)
    assert lint_graph(graph) == []
    for card in graph.cards:
        assert is_valid_id(card.id) and card.provenance.source == "authored"
        assert len(card.attentional_policies) >= 2, card.id
        for ap in card.attentional_policies:
            assert attended_things(ap.text), ap.id  # every policy names what it attends to
        assert card.contexts, card.id
    touched = {cid for e in graph.edges for cid in (e.source, e.wiser)}
    assert touched == set(graph.card_ids()), "every card takes part in some comparison"
    used = {ctx for e in graph.edges for ctx in e.contexts}
    assert used == {c.id for c in graph.contexts}, "every context has edges"
    for edge in graph.edges:
        c = edge.counts
        assert c.impressions >= c.marked_wiser + c.marked_not_wiser + c.marked_less_wise + \
            c.marked_unsure
        assert edge.wiser_likelihood > 0
    assert len(rank(graph)) == len(graph.cards)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_file_is_written_by_dump_graph(name: str) -> None:
    path = SHIPPED[name]
    assert path.read_text(encoding="utf-8") == graph_to_json(load_graph(path))


def test_shipped_graphs_contain_cycles() -> None:
    cycles = {name: find_cycles(load_graph(path)) for name, path in SHIPPED.items()}
    assert all(cycles.values()), cycles
    compute = load_graph(SHIPPED["compute_and_tools"])
    # a cycle inside one context, which survives the reference filter
    assert find_cycles(compute, "ctx:quota-nearly-exhausted") == [
        ("card:impact-on-people", "card:system-throughput", "card:minimal-footprint")]
    assert {r.id for r in rank(compute, "ctx:quota-nearly-exhausted",
                               apply_reference_filter=True)} >= {
        "card:impact-on-people", "card:system-throughput", "card:minimal-footprint"}


def test_rankings_are_context_dependent() -> None:
    graph = load_graph(SHIPPED["shared_authority"])
    irreversible = [r.id for r in rank(graph, "ctx:irreversible-operation")]
    incident = [r.id for r in rank(graph, "ctx:unfolding-incident")]
    assert irreversible.index("card:reversibility-first") < irreversible.index(
        "card:acting-in-time")
    assert incident.index("card:acting-in-time") < incident.index("card:reversibility-first")
