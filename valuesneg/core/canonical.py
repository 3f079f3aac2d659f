"""Canonical JSON and hashing: the one serialisation every hash in valuesneg is taken over."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel

GENESIS_PREV = "0" * 64


def canonical_json(value: Any) -> str:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def content_hash(value: Any) -> str:
    return sha256_hex(canonical_json(value))
