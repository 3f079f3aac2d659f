"""Ranking values by PageRank over wiser-than edges, as the MAI reference does (pure).

What is matched (the reference is ``calculatePageRank`` in MAI's values-tools,
``app/lib/values-tools/moral-graph.ts`` of meaningalignment/moral-graph-elicitation, read for
this implementation; ``summarizeGraph`` there aggregates votes by (from, to) pair):

- rank flows along each edge from the less wise card to the wiser one, weighted by the
  edge's ``wiserLikelihood``, damping 0.85, exactly 100 iterations (no convergence test);
- the nodes are only the cards that appear on an edge in scope; each starts at ``1/N`` and
  every iteration starts from ``(1 - d)/N``;
- a card's outgoing weights are normalised by their sum. Dangling cards (no outgoing edge,
  typically the wisest) leak their rank: nothing is redistributed, so scores need not sum
  to 1;
- edges are processed in document order, summing in the same order as the reference, so
  scores agree to the last bit (checked against a JavaScript transcription of the reference
  on random graphs while writing this).

One deliberate difference, on inputs the reference never ranks: merged edges whose
``wiserLikelihood`` is zero or negative (more people judged the move *less* wise) are left
out of the ranking. The reference only ranks its filtered graph, whose likelihoods are all
>= 0.33, so on everything it ranks the results are identical. Fed to the formula, negative
weights would subtract rank and, once normalised by a small positive total, amplify it
without bound (scores in the millions on a three-card graph); the reference's unfiltered
edge list (``allEdges``) has such a reverse edge for nearly every pair anyone voted on.
:func:`reference_pagerank` is the bare reference formula for callers who want it anyway (it
skips a card whose weight total is not positive, exactly as the reference does).

Scope: ``context=None`` uses every edge; otherwise only edges holding in that context. Edges
of the same (less wise, wiser) pair in scope are merged by adding their counts and
recomputing ``wiserLikelihood``, which is what the reference does when it aggregates raw
votes over a question's contexts. (A MAI export's edge carries counts aggregated over all of
its contexts, so restricting an imported graph to one context uses those aggregated counts:
the export holds nothing finer.) Ties are ordered by card id.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from .errors import GraphError
from .model import MoralGraph, VoteCounts, passes_reference_filter, wiser_likelihood

DAMPING = 0.85
ITERATIONS = 100


class RankedValue(BaseModel):
    """One card's place in a ranking; ``source_id`` is its id in the imported file, if any."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    source_id: str | int | None
    title: str
    score: float


def reference_pagerank(edges: Sequence[tuple[str, str, float]], *, damping: float = DAMPING,
                       iterations: int = ITERATIONS) -> dict[str, float]:
    """MAI's weighted PageRank over ``(less_wise, wiser, weight)`` triples, in their order."""
    nodes = list(dict.fromkeys(n for source, wiser, _ in edges for n in (source, wiser)))
    if not nodes:
        return {}
    count = len(nodes)
    out_weight: dict[str, float] = {}
    for source, _, weight in edges:
        out_weight[source] = out_weight.get(source, 0) + weight
    ranks = {node: 1 / count for node in nodes}
    for _ in range(iterations):
        new = {node: (1 - damping) / count for node in nodes}
        for source, wiser, weight in edges:
            total = out_weight[source]
            if total > 0:
                new[wiser] += (damping * ranks[source] * weight) / total
        ranks = new
    return ranks


def _context_key(graph: MoralGraph, context: str | None) -> str | None:
    if context is None:
        return None
    try:
        return graph.resolve_context(context).id
    except KeyError as exc:
        raise GraphError(str(exc.args[0]), where="context") from None


def scoped_counts(graph: MoralGraph, context: str | None = None) -> list[tuple[str, str,
                                                                              VoteCounts]]:
    """(less wise, wiser, counts) per pair in scope, merged, in first-appearance order.

    ``context`` may be a context id or a context title.
    """
    ctx = _context_key(graph, context)
    merged: dict[tuple[str, str], VoteCounts] = {}
    for edge in graph.edges:
        if ctx is not None and ctx not in edge.contexts:
            continue
        key = (edge.source, edge.wiser)
        merged[key] = merged[key] + edge.counts if key in merged else edge.counts
    return [(s, w, c) for (s, w), c in merged.items()]


def rank(graph: MoralGraph, context: str | None = None, *,
         apply_reference_filter: bool = False, include_unranked: bool = False,
         damping: float = DAMPING, iterations: int = ITERATIONS) -> list[RankedValue]:
    """Cards best first by reference PageRank (score descending, then card id).

    Only cards on an edge in scope get a score, as in the reference; edges with
    ``wiserLikelihood <= 0`` are left out (see the module doc). With
    ``include_unranked`` the other cards in scope (all cards, or those listing ``context``)
    follow with score 0.0, in id order. ``apply_reference_filter`` first drops merged edges
    that MAI would not publish. Unknown ``context`` raises :class:`GraphError`.
    """
    scoped = [item for item in scoped_counts(graph, context) if wiser_likelihood(item[2]) > 0]
    if apply_reference_filter:
        scoped = [item for item in scoped if passes_reference_filter(item[2])]
    scores = reference_pagerank([(s, w, wiser_likelihood(c)) for s, w, c in scoped],
                                damping=damping, iterations=iterations)

    def entry(card_id: str, score: float) -> RankedValue:
        card = graph.card(card_id)
        return RankedValue(id=card.id, source_id=card.provenance.source_id, title=card.title,
                           score=score)

    ranked = sorted((entry(cid, s) for cid, s in scores.items()),
                    key=lambda r: (-r.score, r.id))
    if include_unranked:
        ctx = _context_key(graph, context)
        rest = sorted(card.id for card in graph.cards if card.id not in scores
                      and (ctx is None or ctx in card.contexts))
        ranked.extend(entry(cid, 0.0) for cid in rest)
    return ranked


def strongly_connected_components(graph: MoralGraph,
                                  context: str | None = None) -> list[tuple[str, ...]]:
    """Strongly connected groups of 2+ cards (Tarjan), each sorted, the list sorted."""
    adjacency: dict[str, list[str]] = {}
    for source, wiser, _ in scoped_counts(graph, context):
        adjacency.setdefault(source, []).append(wiser)
        adjacency.setdefault(wiser, [])
    for targets in adjacency.values():
        targets.sort()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[tuple[str, ...]] = []
    counter = 0
    for root in sorted(adjacency):
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            targets = adjacency[node]
            if i < len(targets):
                work.append((node, i + 1))
                nxt = targets[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(tuple(sorted(group)))
    return sorted(groups)


def find_cycles(graph: MoralGraph, context: str | None = None) -> list[tuple[str, ...]]:
    """One shortest directed cycle per strongly connected group, as card ids.

    Each cycle starts at the group's smallest card id and lists the cards in order along
    the wiser-than edges (the first card is wiser-than-reached again after the last).
    """
    pairs = [(s, w) for s, w, _ in scoped_counts(graph, context)]
    cycles = []
    for group in strongly_connected_components(graph, context):
        members = set(group)
        succ: dict[str, list[str]] = {m: [] for m in group}
        for s, w in pairs:
            if s in members and w in members:
                succ[s].append(w)
        for targets in succ.values():
            targets.sort()
        start = group[0]
        parent: dict[str, str] = {}
        queue = deque([start])
        found = None
        while queue and found is None:
            node = queue.popleft()
            for nxt in succ[node]:
                if nxt == start:
                    found = node
                    break
                if nxt not in parent:
                    parent[nxt] = node
                    queue.append(nxt)
        assert found is not None  # a strongly connected group always has a cycle
        path = [found]
        while path[-1] != start:
            path.append(parent[path[-1]])
        cycles.append(tuple(reversed(path)))
    return cycles
