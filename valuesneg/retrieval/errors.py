"""Typed errors of the card store; each message is one line that names the store or model."""

from __future__ import annotations


class RetrievalError(Exception):
    """Base class of every error the retrieval package raises on purpose."""


class StoreUnavailableError(RetrievalError):
    """The chroma server named by a URL could not be reached (or the URL is not one)."""


class StoreCorruptError(RetrievalError):
    """The on-disk store path exists but is not a usable chroma store."""


class EmbeddingUnavailableError(RetrievalError):
    """The embedding model cannot be loaded: a package is missing or its files are bad."""


def one_line(error: BaseException) -> str:
    """The error's text on a single line, so it can end a one-line message."""
    text = " ".join(str(error).split())
    return text or type(error).__name__
