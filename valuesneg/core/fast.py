"""Building the core's immutable values without their constructors.

These are the core's speed tricks, kept here so there is one place to read them and one to
remove them. Each skips work the value does not need: a frozen dataclass's ``__init__``
sets each field through ``object.__setattr__``, and pydantic's ``model_construct`` handles
aliases and defaults; called several times per record, they were measured to dominate
``core_records_per_s`` (``benchmarks/core_throughput.py``; see ``benchmarks/README.md``).
Use them only for values whose every field is given and comes from the core's own,
already validated data; a change here is judged by that benchmark.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

_T = TypeVar("_T")
_M = TypeVar("_M", bound=BaseModel)


def built(cls: type[_T], **fields: Any) -> _T:
    """``cls(**fields)`` for a frozen dataclass without derived fields or ``__post_init__``,
    given every one of its fields."""
    new: _T = object.__new__(cls)
    new.__dict__.update(fields)
    return new


def evolved(value: _T, **changes: Any) -> _T:
    """``dataclasses.replace(value, **changes)`` for such a dataclass, without re-running
    ``__init__``: nothing is derived from the fields, so nothing needs recomputing."""
    new: _T = object.__new__(type(value))
    new.__dict__.update(value.__dict__, **changes)
    return new


def trusted(cls: type[_M], **fields: Any) -> _M:
    """``cls.model_construct(**fields)`` for a model given every one of its fields, in
    declaration order: what ``model_construct`` does, without its per-field alias and
    default handling (which dominated building a party's view)."""
    model = cls.__new__(cls)
    object.__setattr__(model, "__dict__", fields)
    object.__setattr__(model, "__pydantic_fields_set__", set(fields))
    object.__setattr__(model, "__pydantic_extra__", None)
    object.__setattr__(model, "__pydantic_private__", None)
    return model
