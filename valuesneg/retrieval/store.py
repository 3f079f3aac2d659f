"""`CardStore`: values cards in a chromadb collection, retrieved by a negotiation's context.

Open one with :meth:`CardStore.open`: a directory path (persistent on disk, the default), or
an ``http(s)://host:port`` URL of a chroma server when the store is shared. Each embedding
model gets its own collection (``values-cards.<model id>``), because vectors of two models
do not compare. Entries are described in :mod:`valuesneg.retrieval.documents`.

Indexing is keyed by the graph's content hash (and the entry layout of this code): indexing
a graph whose current version is already stored writes nothing; indexing a changed graph
overwrites its cards and deletes the entries of cards it no longer has. A party's copy of a
graph is separate from the shared copy and from other parties' copies.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import chromadb
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.api.types import Where
from chromadb.config import Settings

from valuesneg.values import MoralGraph, is_valid_id

from .documents import LAYOUT, NO_PARTY, SUMMARY, card_facets, card_metadata, decode_contexts
from .embeddings import CardEmbedding, embedding_function
from .errors import RetrievalError, StoreCorruptError, StoreUnavailableError, one_line

DEFAULT_MODEL_ID = "all-minilm-l6-v2"
STORE_ENV = "VALUESNEG_CARD_STORE"  # a path or a server URL; overrides the default location
COLLECTION_PREFIX = "values-cards."
# Candidates fetched beyond k, so exact score ties at the k-th place are settled by our tie
# order rather than by the order the vector index happens to return them in.
TIE_MARGIN = 8
SCORE_DECIMALS = 6  # below this, float noise between runs must not reorder cards
FACETS_GUESS = 4  # facets per card, for the first fetch: a summary and about 3 policies


@dataclass(frozen=True)
class RetrievedCard:
    """One retrieved card, scored by its closest facet (cosine similarity, higher is closer).

    ``policy_id`` is the attentional policy that matched best (None when the card's summary
    did) and ``matched_text`` that facet's text: what an agent might cite.
    """

    card_id: str
    graph_id: str
    score: float
    title: str
    contexts: tuple[str, ...]
    party: str | None
    graph_hash: str
    policy_id: str | None
    matched_text: str


@dataclass(frozen=True)
class IndexResult:
    """What :meth:`CardStore.index_graph` changed: entries written and stale entries removed."""

    written: int
    removed: int

    @property
    def changed(self) -> bool:
        return bool(self.written or self.removed)


def default_location() -> str:
    """Where the card store lives: ``$VALUESNEG_CARD_STORE`` or ``~/.cache/valuesneg/cards``."""
    return os.environ.get(STORE_ENV) or str(Path.home() / ".cache" / "valuesneg" / "cards")


def _settings() -> Settings:
    return Settings(anonymized_telemetry=False)  # telemetry would reach for the network


def _is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def _http_client(url: str) -> ClientAPI:
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 8000)
    except ValueError as error:
        raise StoreUnavailableError(f"bad chroma server URL {url!r}: {one_line(error)}") from None
    if not parts.hostname:
        raise StoreUnavailableError(f"bad chroma server URL {url!r}: no host")
    try:
        client = chromadb.HttpClient(host=parts.hostname, port=port,
                                     ssl=parts.scheme == "https", settings=_settings())
        client.heartbeat()
    except Exception as error:  # chromadb raises ValueError, httpx errors or its own
        raise StoreUnavailableError(
            f"chroma server at {url} is unreachable: {one_line(error)}") from None
    return client


def _persistent_client(path: Path) -> ClientAPI:
    if path.exists() and not path.is_dir():
        raise StoreCorruptError(f"card store {path} is not a directory")
    try:
        return chromadb.PersistentClient(path=str(path), settings=_settings())
    except Exception as error:  # sqlite and chromadb's Rust core raise assorted types
        raise StoreCorruptError(
            f"card store {path} is not a usable chroma store: {one_line(error)}") from None


class CardStore:
    """Values cards of moral graphs in one chromadb collection per embedding model."""

    def __init__(self, client: ClientAPI, embedding: CardEmbedding, location: str) -> None:
        self.client = client
        self.embedding = embedding
        self.location = location
        self.collection: Collection = client.get_or_create_collection(
            name=COLLECTION_PREFIX + embedding.model_id,
            embedding_function=embedding,  # type: ignore[arg-type]
            configuration={"hnsw": {"space": "cosine"}},
        )

    @classmethod
    def open(cls, location: str | Path | None = None, *,
             embedding: CardEmbedding | str = DEFAULT_MODEL_ID) -> CardStore:
        """Open (creating if needed) the store at a directory path or a chroma server URL.

        ``location`` defaults to ``$VALUESNEG_CARD_STORE``, else ``~/.cache/valuesneg/cards``.
        ``embedding`` is a :class:`CardEmbedding` or a model id. Raises
        :class:`StoreUnavailableError` for a server that does not answer and
        :class:`StoreCorruptError` for a path that is not a usable store.
        """
        where = str(location) if location is not None else default_location()
        model = embedding_function(embedding) if isinstance(embedding, str) else embedding
        failure: type[RetrievalError]
        if _is_url(where):
            client, failure, label = _http_client(where), StoreUnavailableError, where
        else:
            where = str(Path(where).expanduser())
            client, failure = _persistent_client(Path(where)), StoreCorruptError
            label = f"card store {where}"
        try:
            return cls(client, model, where)
        except Exception as error:  # the collection's own tables can be what is broken
            raise failure(f"{label}: cannot open the card collection: {one_line(error)}") from None

    def index_graph(self, graph: MoralGraph, party: str | None = None) -> IndexResult:
        """Store every card of ``graph`` (for ``party``, or shared); idempotent per version.

        ``written`` and ``removed`` count entries (facets), not cards.
        """
        _check_party(party)
        stored = self._stored_versions(graph.id, party)
        facets = [(card, facet) for card in graph.cards
                  for facet in card_facets(graph.id, card, party)]
        wanted = {facet.entry_id for _, facet in facets}
        if stored == dict.fromkeys(wanted, (graph.content_hash, LAYOUT)):
            return IndexResult(written=0, removed=0)
        self.collection.upsert(
            ids=[facet.entry_id for _, facet in facets],
            documents=[facet.text for _, facet in facets],
            metadatas=[card_metadata(graph, card, party, facet.name) for card, facet in facets],
        )
        stale = sorted(set(stored) - wanted)
        if stale:
            self.collection.delete(ids=stale)
        return IndexResult(written=len(facets), removed=len(stale))

    def query(self, context_text: str, k: int = 3, graph_id: str | None = None,
              party: str | None = None, context_id: str | None = None) -> list[RetrievedCard]:
        """The ``k`` cards closest to ``context_text``, best first.

        Filters: ``graph_id``; ``party`` (only cards indexed for that party; None means any
        copy, shared or a party's); ``context_id`` (only cards listing that context). Ties in
        score (to ``SCORE_DECIMALS``) are ordered by graph id, card id, then party.
        """
        if k < 1:
            raise ValueError(f"k must be at least 1, not {k}")
        if not context_text.strip():
            raise ValueError("context_text must not be empty")
        _check_party(party)
        where = _where(graph_id=graph_id, party=party, context_id=context_id)
        vector = self.embedding.embed_query([context_text])[0]
        cards = self._nearest_cards(vector, where, wanted=k + TIE_MARGIN)
        cards.sort(key=_rank_key)
        return cards[:k]

    def _nearest_cards(self, vector: Any, where: Where | None,
                       wanted: int) -> list[RetrievedCard]:
        """At least ``wanted`` cards (or all that match), each scored by its nearest facet."""
        asked = wanted * FACETS_GUESS
        while True:
            result = self.collection.query(
                query_embeddings=[vector], n_results=asked, where=where,
                include=["metadatas", "documents", "distances"])
            hits = _hits(result)
            cards = _best_per_card(hits)
            # Nearest facets come first, so once `wanted` cards are seen (or the matches run
            # out) no unseen card can have a closer facet than the ones seen.
            if len(cards) >= wanted or len(hits) < asked:
                return cards
            asked *= 2

    def count(self, graph_id: str | None = None, party: str | None = None) -> int:
        """Cards stored (each party's copy counts), optionally of one graph and/or party."""
        where = _where(graph_id=graph_id, party=party, context_id=None)
        found = self.collection.get(where=where, include=[])
        return len({entry.rpartition("#")[0] for entry in found["ids"]})

    def indexed_hash(self, graph_id: str, party: str | None = None) -> str | None:
        """Content hash of the stored version of a graph (None when it is not stored)."""
        hashes = {graph_hash for graph_hash, _ in self._stored_versions(graph_id, party).values()}
        return hashes.pop() if len(hashes) == 1 else None

    def _stored_versions(self, graph_id: str, party: str | None) -> dict[str, tuple[str, str]]:
        """(graph hash, layout) of each stored entry of one graph's copy, by entry id."""
        where = cast(Where, {"$and": [{"graph_id": graph_id}, {"party": party or NO_PARTY}]})
        found = self.collection.get(where=where, include=["metadatas"])
        metadatas = found["metadatas"] or []
        return {id_: (str(meta["graph_hash"]), str(meta.get("layout", "")))
                for id_, meta in zip(found["ids"], metadatas, strict=True)}


def _check_party(party: str | None) -> None:
    if party is not None and not is_valid_id(party):
        raise ValueError(f"party must be an id (e.g. 'alice'), or None for the shared copy; "
                         f"got {party!r}")


def _where(*, graph_id: str | None, party: str | None,
           context_id: str | None) -> Where | None:
    clauses: list[dict[str, Any]] = []
    if graph_id is not None:
        clauses.append({"graph_id": graph_id})
    if party is not None:
        clauses.append({"party": party})
    if context_id is not None:
        clauses.append({context_id: True})
    if not clauses:
        return None
    return cast(Where, clauses[0] if len(clauses) == 1 else {"$and": clauses})


def _rank_key(card: RetrievedCard) -> tuple[float, str, str, str]:
    return (-round(card.score, SCORE_DECIMALS), card.graph_id, card.card_id,
            card.party or NO_PARTY)


def _hits(result: Mapping[str, Any]) -> list[tuple[float, str, Mapping[str, Any], str]]:
    """(distance, entry id, metadata, text) of each returned entry, nearest first."""
    ids = result["ids"][0]
    metadatas = (result.get("metadatas") or [[]])[0]
    documents = (result.get("documents") or [[]])[0]
    distances = (result.get("distances") or [[]])[0]
    hits = [(round(float(distance), SCORE_DECIMALS), entry, meta, str(text or ""))
            for entry, meta, text, distance in zip(ids, metadatas, documents, distances,
                                                   strict=True)]
    return sorted(hits, key=lambda hit: hit[:2])


def _best_per_card(hits: list[tuple[float, str, Mapping[str, Any], str]]) -> list[RetrievedCard]:
    """The first (closest) facet of each card, as that card's result."""
    cards: dict[str, RetrievedCard] = {}
    for distance, entry, meta, text in hits:
        key = entry.rpartition("#")[0]
        if key in cards:
            continue
        facet = str(meta["facet"])
        cards[key] = RetrievedCard(
            card_id=str(meta["card_id"]), graph_id=str(meta["graph_id"]),
            score=1.0 - distance, title=str(meta["title"]),
            contexts=decode_contexts(meta["contexts"]), party=str(meta["party"]) or None,
            graph_hash=str(meta["graph_hash"]),
            policy_id=None if facet == SUMMARY else facet, matched_text=text)
    return list(cards.values())
