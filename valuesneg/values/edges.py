"""``valuesneg graph elicit-edges``: wiser-than edges from people's votes on stories.

For each pair of cards of a context (in graph order: the earlier card is the "before"), the
model writes a short story of someone moving from one to the other (prompt
``values.story``); each of ``voters`` people votes wiser, not wiser or unsure. The votes
become an edge's counts (``marked_wiser``, ``marked_not_wiser``, ``marked_unsure``; every
vote is an impression), added to the edge of that pair and context if the graph has one.
``wiserLikelihood`` and entropy are MAI's formulas (:func:`valuesneg.values.model.
wiser_likelihood`, :func:`valuesneg.values.model.entropy`), recomputed from the counts as
for an imported graph, so ``graph rank`` ranks the new edges at once.

The graph is written (atomically) after every pair, so when stdin closes the votes given
so far are kept; running the command again skips the pairs this command already has an
elicited edge for in the context, and continues with the next.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import combinations
from pathlib import Path

from valuesneg.agents.prompts import load_prompt

from .elicit import Interviewer
from .io import dump_graph
from .model import MoralGraph, Provenance, ValuesCard, VoteCounts, WiserEdge
from .people import Ask

STORY_SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["story"],
    # No maxLength: llama.cpp expands a bound into one grammar rule per character, and the
    # embedded server died (connection refused) on a bound of 1,200.
    "properties": {"story": {"type": "string", "minLength": 40}}}
VOTE_FIELDS = {"wiser": "marked_wiser", "not_wiser": "marked_not_wiser",
               "unsure": "marked_unsure"}


def pending_pairs(graph: MoralGraph, context: str) -> Iterator[tuple[ValuesCard, ValuesCard]]:
    """Pairs of the context's cards (graph order) with no elicited edge there yet."""
    done = {(e.source, e.wiser) for e in graph.edges_in_context(context)
            if e.provenance is not None and e.provenance.source == "elicited"}
    for before, after in combinations(graph.cards_in_context(context), 2):
        if (before.id, after.id) not in done:
            yield before, after


def counts_of(votes: list[str]) -> VoteCounts:
    """MAI's vote counts for one story from the votes people cast on it."""
    tally = dict.fromkeys(VOTE_FIELDS.values(), 0)
    for vote in votes:
        tally[VOTE_FIELDS[vote]] += 1
    return VoteCounts(marked_less_wise=0, impressions=len(votes), **tally)


def with_votes(graph: MoralGraph, context: str, before: str, after: str, votes: list[str],
               story: str, model: str) -> MoralGraph:
    """The graph with ``votes`` added to the (before -> after, context) edge."""
    counts = counts_of(votes)
    provenance = Provenance(source="elicited", extra={
        "story": story, "model": model, "prompt": load_prompt("values.story").tag})
    edges = list(graph.edges)
    for i, edge in enumerate(edges):
        if (edge.source, edge.wiser) == (before, after) and edge.contexts == (context,):
            edges[i] = edge.model_copy(update={"counts": edge.counts + counts,
                                               "provenance": provenance})
            break
    else:
        edges.append(WiserEdge(source=before, wiser=after, contexts=(context,), counts=counts,
                               provenance=provenance))
    return MoralGraph.model_validate({**graph.model_dump(),
                                      "edges": [e.model_dump() for e in edges]})


def _card(card: ValuesCard) -> dict[str, str]:
    return {"id": card.id, "title": card.title, "description": card.description}


def elicit_edges(graph: MoralGraph, path: Path, context: str, model: Interviewer, ask: Ask,
                 *, voters: int = 1, pairs: int | None = None) -> list[WiserEdge]:
    """Stories and votes for up to ``pairs`` pending pairs; the edges written, in order."""
    written: list[WiserEdge] = []
    title = graph.context(context).title
    for before, after in pending_pairs(graph, context):
        if pairs is not None and len(written) >= pairs:
            break
        story = model.ask("values.story", {
            "context": title, "from_title": before.title,
            "from_description": before.description, "to_title": after.title,
            "to_description": after.description}, STORY_SCHEMA,
            lambda data: None if isinstance(data.get("story"), str) and data["story"].strip()
            else "story is empty")["story"]
        votes = [ask({"type": "wiser_vote", "party": "voter", "voter": n, "context": title,
                      "from": _card(before), "to": _card(after), "story": story,
                      "choices": list(VOTE_FIELDS)})["vote"] for n in range(1, voters + 1)]
        graph = with_votes(graph, context, before.id, after.id, votes, story, model.model_name)
        dump_graph(graph, path)
        written.append(next(e for e in graph.edges_in_context(context)
                            if (e.source, e.wiser) == (before.id, after.id)))
    return written
