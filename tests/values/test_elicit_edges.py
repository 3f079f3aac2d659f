"""`graph elicit-edges`: stories of moving between cards, votes, edges with counts."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from values_testkit import SHIPPED

from valuesneg.agents.testing import FunctionModel, Replies
from valuesneg.orchestration.humans import JsonAnswerer, NoAnswer
from valuesneg.values import load_graph
from valuesneg.values.edges import elicit_edges
from valuesneg.values.elicit import Interviewer
from valuesneg.values.io import dump_graph
from valuesneg.values.model import entropy, wiser_likelihood
from valuesneg.values.people import checked
from valuesneg.values.ranking import rank

STORY = "I used to count only what was fair on paper. Then a friend got sick on a hot day " \
        "and I saw that needs come first. Now I look at who is hurting before I count."


def _graph(tmp_path: Path) -> tuple[Path, str, list[str]]:
    """A copy of a shipped graph, and a context of it with its first three cards."""
    graph = load_graph(SHIPPED["scarce_supplies"])
    context = next(c.id for c in graph.contexts if len(graph.cards_in_context(c.id)) >= 3)
    keep = [c.id for c in graph.cards_in_context(context)][:3]
    data = graph.model_dump()
    data["cards"] = [c for c in data["cards"] if c["id"] in keep]
    data["edges"] = []
    path = tmp_path / "g.json"
    dump_graph(type(graph).model_validate(data), path)
    return path, context, keep


def _votes(*votes: str) -> JsonAnswerer:
    lines = "".join(json.dumps({"vote": v}) + "\n" for v in votes)
    return JsonAnswerer(input=io.StringIO(lines), output=io.StringIO())


def _stories() -> Interviewer:
    return Interviewer(FunctionModel(lambda messages, schema: json.dumps({"story": STORY})),
                       "function")


def test_votes_become_edges_with_mai_likelihood_and_entropy(tmp_path: Path) -> None:
    path, context, (a, b, c) = _graph(tmp_path)
    graph = load_graph(path)
    votes = _votes("wiser", "wiser", "unsure", "not_wiser", "wiser", "bogus", "wiser",
                   "wiser", "not_wiser", "wiser")
    edges = elicit_edges(graph, path, context, _stories(), checked(votes), voters=3)
    assert [(e.source, e.wiser) for e in edges] == [(a, b), (a, c), (b, c)]
    first = edges[0].counts
    assert (first.marked_wiser, first.marked_unsure, first.impressions) == (2, 1, 3)
    assert edges[0].wiser_likelihood == wiser_likelihood(first) == 2 / 3
    assert edges[0].entropy == entropy(first)
    written = load_graph(path)
    assert written.edges == tuple(edges)
    assert written.edges[0].provenance is not None
    assert written.edges[0].provenance.extra["story"] == STORY
    ranked = [r.id for r in rank(written, context)]
    assert ranked[0] == c  # voted wiser than both others


def test_stdin_closing_keeps_the_votes_so_far_and_a_rerun_continues(tmp_path: Path) -> None:
    path, context, (a, b, c) = _graph(tmp_path)
    with pytest.raises(NoAnswer):
        elicit_edges(load_graph(path), path, context, _stories(), checked(_votes("wiser")))
    assert [(e.source, e.wiser) for e in load_graph(path).edges] == [(a, b)]
    model = Replies([json.dumps({"story": STORY})] * 2)
    edges = elicit_edges(load_graph(path), path, context, Interviewer(model, "replies"),
                         checked(_votes("unsure", "wiser")))
    assert [(e.source, e.wiser) for e in edges] == [(a, c), (b, c)]
    assert len(load_graph(path).edges) == 3 and len(model.asked) == 2


def test_graph_rank_cli_reflects_new_edges(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from valuesneg.cli import main

    path, context, (_, _, c) = _graph(tmp_path)
    elicit_edges(load_graph(path), path, context, _stories(),
                 checked(_votes("not_wiser", "not_wiser", "wiser")))
    capsys.readouterr()
    assert main(["graph", "rank", str(path), "--context", context, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["id"] == c


def test_elicit_edges_names_a_file_that_is_not_a_moral_graph(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from valuesneg.cli import main

    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something/else"}')
    assert main(["graph", "elicit-edges", str(bad), "--answers", "json"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(bad) in err
