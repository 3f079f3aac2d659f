"""Strict JSON: the one parser every JSON text entering valuesneg goes through.

``json.loads`` accepts text that other readers see differently, so a record could mean one
thing to the core and another to a reviewer's tool: a key repeated in one object (the last
value wins here, the first in some readers), NaN and Infinity (not JSON at all), numbers that
overflow to infinity, integers too long for CPython to convert, lone surrogates (legal
escapes, but not Unicode: the text could never be hashed) and nesting deep enough to exhaust
the stack. Each is refused here with one line naming what was found.

Pure: the caller reads the bytes.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from typing import Any

MAX_DEPTH = 64  # records nest about 5 levels, moral graphs and lineage genesis about 8
MAX_INT_DIGITS = 32  # every integer valuesneg reads fits in 64 bits; a 4,300-digit one is an attack


class JsonInputError(ValueError):
    """Text that is not strict JSON. One line naming no file (the caller knows where the text
    came from): ``where`` is "line L column C" when the parser knows it, else None."""

    def __init__(self, message: str, where: str | None = None) -> None:
        self.message, self.where = message, where
        super().__init__(f"{where}: {message}" if where else message)


def decode_utf8(raw: bytes) -> str:
    """UTF-8 text without a byte-order mark: the BOM is not part of JSON, and a reader that
    keeps it would hash other bytes than one that strips it."""
    if raw.startswith(codecs.BOM_UTF8):
        raise JsonInputError("starts with a UTF-8 byte-order mark (BOM); save it without one")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise JsonInputError(
            f"not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start})"
        ) from None


# An escaped surrogate (``\\ud800``) found at C speed, so that ordinary text (every lineage
# line is parsed on verify) pays for no Python-level walk of its strings.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def loads(text: str | bytes) -> Any:
    """Parse strict JSON, or raise :class:`JsonInputError`."""
    if isinstance(text, bytes):
        text = decode_utf8(text)
    return _parse(text, _STRICT)


# Text with a run of digits this long may hold an integer ``loads`` refuses (or a long digit
# string). Found by mapping every digit to 0 and searching for the run: a regex took longer
# than the parse (UTF-8 multi-byte sequences hold no ASCII digit bytes).
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_RUN = b"0" * (MAX_INT_DIGITS + 1)


def loads_canonical(text: str) -> Any:
    """``loads``, for text its caller accepts only if ``canonical_json`` of the value gives
    the very text back (a lineage line), at about half the cost.

    Such text cannot hold a repeated key (the value has each key once, so its serialisation
    would differ) nor a number overflowing to infinity (it would not serialise), so the
    per-object and per-number hooks that look for them, which cost more than the parse
    itself, are skipped; NaN, long integers, lone surrogates and depth are refused as by
    ``loads``. When its canonical check fails, the caller must report what ``loads`` finds
    first: a repeated key is then named as such rather than as non-canonical text.
    """
    if _LONG_RUN in text.encode("utf-8", "surrogatepass").translate(_DIGITS_TO_ZERO):
        return _parse(text, _STRICT)
    return _parse(text, _TRUSTING)


def _parse(text: str, decoder: json.JSONDecoder) -> Any:
    if not text.isascii():
        _check_text(text)  # a raw surrogate in text handed over as str
        if text.startswith("\ufeff"):  # as json.loads refuses it
            raise JsonInputError("not valid JSON: Unexpected UTF-8 BOM (decode using "
                                 "utf-8-sig)", "line 1 column 1")
    try:
        value = _decoded(text, decoder)
    except JsonInputError:
        raise
    except json.JSONDecodeError as error:
        raise JsonInputError(
            f"not valid JSON: {error.msg}", f"line {error.lineno} column {error.colno}"
        ) from None
    except RecursionError:
        raise JsonInputError(f"nested deeper than {MAX_DEPTH} levels") from None
    strings = "\\u" in text and _SURROGATE_ESCAPE.search(text) is not None
    if strings or text.count("[") + text.count("{") > MAX_DEPTH:
        _check_tree(value, strings)
    return value


def _decoded(text: str, decoder: json.JSONDecoder) -> Any:
    """``decoder.decode(text)``: its C scanner straight away for text that is one JSON value
    with no whitespace around it (a lineage line); anything else, or any error, through
    ``decode`` itself, so what it accepts and the errors it names are the same."""
    try:
        value, end = decoder.scan_once(text, 0)  # type: ignore[attr-defined]
    except (StopIteration, ValueError):
        return decoder.decode(text)
    return value if end == len(text) else decoder.decode(text)


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JsonInputError(f"key {_show(key)} appears twice in one object")
            seen.add(key)
    return result


def _constant(name: str) -> Any:
    raise JsonInputError(f"{name} is not a JSON number")


def _int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise JsonInputError(f"an integer of {len(digits.lstrip('-'))} digits (at most "
                             f"{MAX_INT_DIGITS})")
    return int(digits)


def _float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise JsonInputError(f"the number {literal[:20]} is too large (not finite as a double)")
    return value


def _check_tree(value: Any, strings: bool) -> None:
    """Depth (and Unicode, when ``strings``), level by level without recursion, so that a
    deep tree cannot exhaust the stack."""
    level = [value] if isinstance(value, dict | list) else []
    depth = 0
    while level:
        if depth >= MAX_DEPTH:
            raise JsonInputError(f"nested deeper than {MAX_DEPTH} levels")
        below: list[Any] = []
        for item in level:
            if strings and isinstance(item, dict):
                for key in item:
                    _check_text(key)
            for child in item.values() if isinstance(item, dict) else item:
                if isinstance(child, dict | list):
                    below.append(child)
                elif strings and isinstance(child, str):
                    _check_text(child)
        level, depth = below, depth + 1
    if strings and isinstance(value, str):
        _check_text(value)


def _check_text(text: str) -> None:
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise JsonInputError(
            f"a lone surrogate \\u{ord(text[error.start]):04x} in a string (not valid Unicode)"
        ) from None


def _show(key: str) -> str:
    """A key quoted for a one-line message, however long or hostile."""
    shown = repr(key[:40]).encode("ascii", "backslashreplace").decode("ascii")
    return shown if len(key) <= 40 else shown + "..."


# Decoders are stateless between calls; building one per call cost as much as a short parse.
_STRICT = json.JSONDecoder(object_pairs_hook=_object, parse_constant=_constant,
                           parse_float=_float, parse_int=_int)
_TRUSTING = json.JSONDecoder(parse_constant=_constant)
