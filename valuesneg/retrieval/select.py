"""Cards for a party by retrieval: the ``k`` cards of a moral graph most relevant to a query.

Used by scenarios (``cards: {retrieve: K, from: GRAPH}``) and by ``valuesneg graph search``,
so both rank exactly the same way: the graph is indexed (shared copy, idempotent per
version) in the card store and :meth:`CardStore.query` ranks its cards by their closest
facet. Scores are rounded to :data:`valuesneg.core.retrieved.SCORE_DECIMALS` before they
are used, so the lineage holds no machine-dependent float noise.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path

from valuesneg.core.retrieved import SCORE_DECIMALS, Retrieval, ScoredCard
from valuesneg.values import MoralGraph

from .store import DEFAULT_MODEL_ID, CardStore, RetrievedCard


def search(graph: MoralGraph, query: str, k: int, *, exclude: Collection[str] = (),
           store: CardStore | None = None,
           location: str | Path | None = None) -> list[RetrievedCard]:
    """The ``k`` best cards of ``graph`` for ``query`` (fewer if the graph has fewer),
    leaving out the card ids in ``exclude``; best first, ties by card id."""
    store = store or CardStore.open(location, embedding=DEFAULT_MODEL_ID)
    store.index_graph(graph)
    wanted = min(k + len(exclude), len(graph.cards))
    if wanted < 1:
        return []
    # Any copy of the graph may answer (a party's copy too): keep the current version's
    # best entry per card.
    found = store.query(query, k=wanted * 2, graph_id=graph.id)
    best: dict[str, RetrievedCard] = {}
    for card in found:
        if (card.graph_hash == graph.content_hash and card.card_id not in exclude
                and card.card_id not in best):
            best[card.card_id] = card
    ranked = sorted(best.values(), key=lambda c: (-round(c.score, SCORE_DECIMALS), c.card_id))
    return ranked[:k]


def similar_cards(graph: MoralGraph, texts: list[str], *, store: CardStore | None = None,
                  location: str | Path | None = None) -> list[tuple[str, float]]:
    """Each card of ``graph`` with its similarity to a card made of ``texts`` (its summary
    and its attentional policies), best first: per text, the card's closest facet; then the
    mean over the texts. A card is thus compared facet by facet, as a whole: one long query
    text matches no single short facet well (two cards with the same policies scored 0.52)."""
    store = store or CardStore.open(location, embedding=DEFAULT_MODEL_ID)
    totals = dict.fromkeys(graph.card_ids(), 0.0)
    for text in texts:
        for card in search(graph, text, len(graph.cards), store=store):
            totals[card.card_id] += card.score
    ranked = [(card, round(total / len(texts), SCORE_DECIMALS))
              for card, total in totals.items()]
    return sorted(ranked, key=lambda pair: (-pair[1], pair[0]))


def party_query(situation: str, weights: Mapping[str, float],
                dimensions: Collection[str]) -> str:
    """What a party's cards are retrieved for: the situation, then what it divides, most
    valued first (a dimension the party gives no weight still names what is at stake)."""
    order = sorted(dimensions, key=lambda d: (-weights.get(d, 0.0), d))
    words = ", ".join(d.rpartition(":")[2].replace("_", " ").replace("-", " ") for d in order)
    return f"{situation}. Dividing {words}."


def retrieval_record(party: str, query: str, cards: list[RetrievedCard],
                     model: str = DEFAULT_MODEL_ID) -> Retrieval:
    """The genesis record of one party's retrieval."""
    return Retrieval(party=party, query=query, model=model, cards=tuple(
        ScoredCard(card=c.card_id, score=round(c.score, SCORE_DECIMALS), matched=c.policy_id)
        for c in cards))
