"""How a values card becomes chromadb entries: one entry per *facet* of the card.

A card's facets are its summary (``"<title>. <description>"``) and each attentional policy's
text. A card is scored by its closest facet: a negotiation situation usually touches one of
the things a card attends to, and averaging that with the others dilutes it (measured in
``benchmarks/retrieval/README.md``).

Entry id: ``<graph id>/<party or "">/<card id>#<facet>`` where ``<facet>`` is ``summary`` or
the attentional-policy id. Metadata keys of every entry (chromadb only stores scalars):

==============  =======  ===============================================================
key             type     value
==============  =======  ===============================================================
``graph_id``    str      the moral graph's id, e.g. ``graph:scarce-supplies``
``graph_hash``  str      the graph's ``content_hash`` when the entry was written
``card_id``     str      the card's id
``title``       str      the card's title
``facet``       str      ``summary`` or the attentional-policy id the entry embeds
``layout``      str      how entries were built (``facets/1``); another value means re-index
``party``       str      the party the card was indexed for; ``""`` when indexed for none
``contexts``    str      the card's context ids joined by ``|``, in card order (``""`` if none)
``<ctx id>``    bool     one key per context of the card, named by the context id (e.g.
                         ``ctx:water-too-scarce``) and always ``True``: filter on it with
                         ``where={"ctx:water-too-scarce": True}``; absent means "not listed"
==============  =======  ===============================================================

``|`` and ``/`` cannot occur inside an id (see the id grammar in ``moral_graphs/README.md``),
and no context key can collide with the fixed ones, since every context id starts ``ctx:``.
"""

from __future__ import annotations

from dataclasses import dataclass

from valuesneg.values import MoralGraph, ValuesCard

CONTEXT_SEPARATOR = "|"
NO_PARTY = ""
SUMMARY = "summary"
# Stored with every entry: a store written by code that built entries differently is
# re-indexed rather than trusted, even when the graph itself has not changed.
LAYOUT = "facets/1"


@dataclass(frozen=True)
class Facet:
    """One embedded piece of a card: its summary or one attentional policy."""

    entry_id: str
    name: str  # SUMMARY or the attentional-policy id
    text: str


def card_key(graph_id: str, card_id: str, party: str | None) -> str:
    """One key per (graph, party, card): a party's copy never overwrites another's."""
    return f"{graph_id}/{party or NO_PARTY}/{card_id}"


def card_facets(graph_id: str, card: ValuesCard, party: str | None) -> list[Facet]:
    """The facets of a card that are embedded: its summary, and each attentional policy on its
    own."""
    key = card_key(graph_id, card.id, party)
    facets = [Facet(f"{key}#{SUMMARY}", SUMMARY, f"{card.title}. {card.description}")]
    facets += [Facet(f"{key}#{ap.id}", ap.id, ap.text) for ap in card.attentional_policies]
    return facets


def card_metadata(graph: MoralGraph, card: ValuesCard, party: str | None,
                  facet: str) -> dict[str, str | bool]:
    """What the card store keeps beside a facet: the graph and its hash, the card, the facet,
    who holds it."""
    metadata: dict[str, str | bool] = {
        "graph_id": graph.id,
        "graph_hash": graph.content_hash,
        "card_id": card.id,
        "title": card.title,
        "facet": facet,
        "layout": LAYOUT,
        "party": party or NO_PARTY,
        "contexts": CONTEXT_SEPARATOR.join(card.contexts),
    }
    metadata.update({context_id: True for context_id in card.contexts})
    return metadata


def decode_contexts(value: object) -> tuple[str, ...]:
    """The context ids a metadata value holds (stored joined, since metadata values are
    scalars)."""
    if not isinstance(value, str) or not value:
        return ()
    return tuple(value.split(CONTEXT_SEPARATOR))
