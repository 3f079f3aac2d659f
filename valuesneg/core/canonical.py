"""Canonical JSON and hashing: the one serialisation every hash in valuesneg is taken over.

The canonical form is exactly ``json.dumps(value, sort_keys=True, separators=(",", ":"),
ensure_ascii=False, allow_nan=False)``. ``json.dumps`` spends about a third of its time
building a ``JSONEncoder`` and dispatching before it reaches the C encoder; on the core's hot
path (every lineage entry is serialised once) we call CPython's C encoder directly with the
very same settings, so the bytes are identical by construction (a test compares the two).
"""

from __future__ import annotations

import hashlib
import json
import json.encoder
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

GENESIS_PREV = "0" * 64

_c_make_encoder: Callable[..., Callable[[Any, int], Any]] | None = getattr(
    json.encoder, "c_make_encoder", None
)
# What ``JSONEncoder.default`` raises for a value JSON cannot hold, with the same message.
_reject = json.JSONEncoder().default
_encode_str = json.encoder.encode_basestring  # ensure_ascii=False: the C routine when present


def _dumps(value: Any) -> str:
    if _c_make_encoder is None:  # no C accelerator (not CPython): the reference path
        return json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    # A fresh markers dict per call, as json.dumps uses (check_circular=True): an encoder
    # interrupted by an error must not leave stale ids behind for the next call.
    encode = _c_make_encoder({}, _reject, _encode_str, None, ":", ",", True, False, False)
    return "".join(encode(value, 0))


# One encoder for trees that cannot hold a cycle (a pydantic JSON dump, a JSON parse): with
# no circular-check markers it keeps no state between calls, so it need not be made per call.
_tree_encoder = (
    None if _c_make_encoder is None
    else _c_make_encoder(None, _reject, _encode_str, None, ":", ",", True, False, False)
)


def canonical_tree(value: Any) -> str:
    """``canonical_json`` for a value known to hold no reference cycle: a record's
    ``model_dump(mode="json")`` or what a JSON parser returned. The same text; on the hot
    path of every lineage entry."""
    if _tree_encoder is None:
        return _dumps(value)
    return "".join(_tree_encoder(value, 0))


def canonical_json(value: Any) -> str:
    """The one JSON text of a value (sorted keys, no spaces): what lineage hashes and signatures
    are taken over."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    return _dumps(value)


def sha256_hex(text: str) -> str:
    """The SHA-256 of a text's UTF-8 bytes, in hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def content_hash(value: Any) -> str:
    """The SHA-256 of a value's canonical JSON: its version, as envelopes and terms are named
    by."""
    return sha256_hex(canonical_json(value))
