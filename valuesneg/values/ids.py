"""Identifiers for values cards, attentional policies and contexts.

Agents cite these ids in their rationales, so they follow the protocol's id grammar
(lowercase ASCII, separators only between alphanumeric runs, at most 64 characters) and are
derived deterministically:

- values card:        ``card:<slug>``        e.g. ``card:equal-shares``, ``card:mai-332``
- attentional policy: ``ap:<slug>.<n>``      e.g. ``ap:equal-shares.1`` (n counts from 1)
- context:            ``ctx:<slug>``         e.g. ``ctx:when-making-decisions``

A slug is lowercase ASCII letters and digits in runs joined by single hyphens.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from valuesneg.core.ids import ID_MAX_LENGTH as ID_MAX_LENGTH
from valuesneg.core.ids import ID_PATTERN as ID_PATTERN
from valuesneg.core.ids import is_id

CARD_PREFIX = "card:"
POLICY_PREFIX = "ap:"
CONTEXT_PREFIX = "ctx:"

_ID_RE = re.compile(ID_PATTERN)
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
# The longest slug slugify() returns, leaving room for a prefix and a "-NNN" / ".NN" suffix.
SLUG_MAX_LENGTH = 48


def is_valid_id(value: object) -> bool:
    """True when ``value`` is a string in the protocol's id grammar (<= 64 ASCII chars)."""
    return is_id(value)


def id_problem(value: str) -> str | None:
    """Why ``value`` is not a valid id, or None when it is."""
    if len(value) > ID_MAX_LENGTH:
        return f"id {value!r} is {len(value)} characters long; the maximum is {ID_MAX_LENGTH}"
    if _ID_RE.fullmatch(value) is None:
        return (f"id {value!r} is not in the id grammar {ID_PATTERN} (lowercase ASCII letters "
                "and digits, runs joined by '.', '_', ':' or '-', starting with a letter)")
    return None


def slugify(text: str, *, max_length: int = SLUG_MAX_LENGTH, fallback: str = "x") -> str:
    """Deterministic ASCII slug: accents folded, lowercase, non-alphanumerics to ``-``.

    Long slugs are cut at a hyphen boundary when one exists within ``max_length``.
    An empty result becomes ``fallback``.
    """
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _NON_ALNUM.sub("-", folded.lower()).strip("-")
    if len(slug) > max_length:
        cut = slug[:max_length]
        if "-" in cut and slug[max_length] != "-":
            cut = cut.rsplit("-", 1)[0]
        slug = cut.strip("-")
    return slug or fallback


def allocate_slugs(texts: Iterable[str], *, max_length: int = SLUG_MAX_LENGTH,
                   taken: Iterable[str] = ()) -> dict[str, str]:
    """Map distinct texts to distinct slugs, independently of the order they arrive in.

    Texts are processed in sorted (code point) order; a text whose slug is already used
    gets ``-2``, ``-3``, ... appended, the first free one. So the same set of texts always
    yields the same mapping.
    """
    used = set(taken)
    out: dict[str, str] = {}
    for text in sorted(set(texts)):
        base = slugify(text, max_length=max_length)
        slug, n = base, 1
        while slug in used:
            n += 1
            slug = f"{base}-{n}"
        used.add(slug)
        out[text] = slug
    return out


def card_id(slug: str) -> str:
    """A card id from its slug."""
    return f"{CARD_PREFIX}{slug}"


def policy_id(card: str, n: int) -> str:
    """The id of the ``n``-th (1-based) attentional policy of card id ``card``."""
    return f"{POLICY_PREFIX}{card.removeprefix(CARD_PREFIX)}.{n}"


def context_id(slug: str) -> str:
    """A context id from its slug."""
    return f"{CONTEXT_PREFIX}{slug}"
