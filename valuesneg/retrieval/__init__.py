"""Retrieval of the values cards that apply to a negotiation's context (DESIGN §2.2).

``CardStore.open(path_or_url)`` opens a chromadb store (on disk by default, or a chroma
server); ``index_graph(graph, party=None)`` stores a moral graph's cards, idempotently per
content hash; ``query(context_text, k)`` returns :class:`RetrievedCard` s, best first.
Embeddings come from models that installed packages ship (:mod:`.embeddings`); their
measured quality is in ``benchmarks/retrieval/``.
"""

from .documents import Facet, card_facets, card_key, card_metadata
from .embeddings import (
    MODEL_IDS,
    CardEmbedding,
    GemmaEmbedding,
    MiniLMEmbedding,
    embedding_function,
)
from .errors import (
    EmbeddingUnavailableError,
    RetrievalError,
    StoreCorruptError,
    StoreUnavailableError,
)
from .store import DEFAULT_MODEL_ID, STORE_ENV, CardStore, IndexResult, RetrievedCard

__all__ = [
    "DEFAULT_MODEL_ID",
    "MODEL_IDS",
    "STORE_ENV",
    "CardEmbedding",
    "CardStore",
    "EmbeddingUnavailableError",
    "Facet",
    "GemmaEmbedding",
    "IndexResult",
    "MiniLMEmbedding",
    "RetrievalError",
    "RetrievedCard",
    "StoreCorruptError",
    "StoreUnavailableError",
    "card_facets",
    "card_key",
    "card_metadata",
    "embedding_function",
]
