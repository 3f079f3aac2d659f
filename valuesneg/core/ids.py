"""Identifier grammar shared by every record, vocabulary and policy.

Ids are the only words a party can use to explain itself, so the grammar is deliberately
narrow: lowercase ASCII, no spaces, separators only between alphanumeric runs. That refuses
free text, homoglyph look-alikes (a Cyrillic 'а' is not ASCII) and case look-alikes at the
schema layer, before the core ever consults the vocabulary.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, StringConstraints
from pydantic.types import Strict

ID_PATTERN = r"^[a-z][a-z0-9]*(?:[._:-][a-z0-9]+)*$"
ID_MAX_LENGTH = 64
HASH_PATTERN = r"^[0-9a-f]{64}$"
CORE = "core"  # reserved sender of every record the core itself produces

Id = Annotated[str, Strict(), StringConstraints(pattern=ID_PATTERN, max_length=ID_MAX_LENGTH)]
Hash = Annotated[str, Strict(), StringConstraints(pattern=HASH_PATTERN)]
Rationale = Annotated[tuple[Id, ...], Field(min_length=1, max_length=16)]

_ID_RE = re.compile(ID_PATTERN)


def is_id(value: object) -> bool:
    """Whether a value is a well-formed id (lowercase words joined by ``.``, ``_``, ``:`` or
    ``-``, at most 64 characters)."""
    return isinstance(value, str) and len(value) <= ID_MAX_LENGTH and bool(_ID_RE.fullmatch(value))
