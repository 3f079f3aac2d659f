"""Frozen models that cache values derived from their fields (hashes, indexes).

``functools.cached_property`` stores in the instance ``__dict__``, and pydantic's
``model_copy`` copies that ``__dict__`` whole: without this base, a copy with a changed field
would keep the original's cached content hash and so claim a version it is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any, Self

from pydantic import BaseModel, ConfigDict


class DerivedCache(BaseModel):
    """A frozen model whose ``cached_property`` values are derived on demand and never copied or
    pickled with it."""

    model_config = ConfigDict(frozen=True, extra="forbid", ignored_types=(cached_property,))

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        copied = super().model_copy(update=update, deep=deep)
        for name in _cached_names(type(self)):
            copied.__dict__.pop(name, None)
        return copied

    def __getstate__(self) -> dict[Any, Any]:
        # Derived values are rebuilt on demand; a pickle (a process pool's copy) carries
        # the fields only, not memos that can grow with use.
        state = super().__getstate__()
        cached = _cached_names(type(self))
        state["__dict__"] = {k: v for k, v in state["__dict__"].items() if k not in cached}
        return state


def _cached_names(cls: type) -> tuple[str, ...]:
    return tuple(name for klass in cls.__mro__ for name, value in vars(klass).items()
                 if isinstance(value, cached_property))
