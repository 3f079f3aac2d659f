"""Typed errors for values data: moral graphs, MAI exports and CaSiNo dialogues.

Every error names *where* the problem is (a dotted path into the document such as
``cards[3].id`` or ``edges[7]``) and, when the data came from a file, *which file*. The
command line prints ``str(error)``; programs read ``.path``, ``.where`` and ``.message``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


class DataError(ValueError):
    """Base class: malformed values data, located by file (``path``) and field (``where``)."""

    def __init__(self, message: str, *, where: str | None = None,
                 path: str | Path | None = None, details: Sequence[Any] = ()) -> None:
        self.message = message
        self.where = where
        self.path = str(path) if path is not None else None
        self.details = tuple(details)  # e.g. every pydantic error, when there were several
        super().__init__(self.__str__())

    def __str__(self) -> str:
        parts = [p for p in (self.path, self.where) if p]
        return ": ".join([*parts, self.message])

    def located(self, *, path: str | Path | None = None, prefix: str | None = None) -> DataError:
        """A copy with ``path`` set and ``prefix`` prepended to ``where`` (same class)."""
        where = join_where(prefix, self.where)
        return type(self)(self.message, where=where,
                          path=path if path is not None else self.path, details=self.details)


class GraphError(DataError):
    """A moral graph (our format or a MAI export) is malformed.

    ``path`` is the file (None for in-memory data), ``where`` the field, e.g.
    ``cards[3].id``, ``cards[0].attentional_policies`` or ``edges[7]``.
    """


class CasinoError(DataError):
    """A CaSiNo corpus file is malformed; ``where`` names the dialogue and the field."""


def join_where(prefix: str | None, rest: str | None) -> str | None:
    """Join two location fragments: ``cards[3]`` + ``id`` -> ``cards[3].id``."""
    if not prefix:
        return rest
    if not rest:
        return prefix
    if rest.startswith("["):
        return prefix + rest
    return f"{prefix}.{rest}"


def format_loc(loc: tuple[int | str, ...]) -> str | None:
    """Render a pydantic error location as ``cards[3].attentional_policies[0].text``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out or None
