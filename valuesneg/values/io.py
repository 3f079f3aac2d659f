"""Reading and writing files: the only module of ``valuesneg.values`` that touches the disk.

- :func:`load_graph` / :func:`parse_graph`: our own moral-graph JSON, with every problem
  reported as a :class:`GraphError` naming the file and the field.
- :func:`dump_graph`: writes a graph atomically (temporary file in the same folder, then
  ``os.replace``), so a reader never sees half a file.
- :func:`graph_json_schema`: the JSON Schema of the format, generated from the model.
- :func:`read_json_file`: strict JSON reading shared by the importers (no duplicate keys,
  no NaN/Infinity), raising the caller's error class.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .errors import DataError, GraphError, format_loc, join_where
from .model import GRAPH_FORMAT, MoralGraph


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def read_json_file(path: str | Path, error: type[DataError] = GraphError) -> Any:
    """Parse a JSON file strictly, or raise ``error`` naming the file (and line/column)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise error("file not found", path=p) from None
    except IsADirectoryError:
        raise error("is a directory, not a JSON file", path=p) from None
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror or exc}", path=p) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"not UTF-8 text (byte {exc.start})", path=p) from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise error(f"not valid JSON: {exc.msg}",
                    where=f"line {exc.lineno} column {exc.colno}", path=p) from None
    except _DuplicateKey as exc:
        raise error(f"not valid JSON for us: key {exc.args[0]!r} appears twice in one object",
                    path=p) from None
    except ValueError as exc:  # NaN / Infinity
        raise error(f"not valid JSON: {exc}", path=p) from None


def _graph_error_from(exc: ValidationError, path: str | Path | None) -> GraphError:
    errors = exc.errors()
    first = errors[0]
    where = format_loc(tuple(first["loc"]))
    inner = (first.get("ctx") or {}).get("error")
    if isinstance(inner, GraphError):
        message = inner.message
        where = join_where(where, inner.where)
    else:
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "missing":
            message = "required field is missing"
        elif first["type"] == "extra_forbidden":
            message = "unknown field (not part of the moral-graph format)"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return GraphError(message, where=where, path=path, details=errors)


def parse_graph(data: Any, *, path: str | Path | None = None) -> MoralGraph:
    """Validate decoded JSON as a moral graph; :class:`GraphError` on any problem."""
    if not isinstance(data, Mapping):
        raise GraphError(f"a moral graph is a JSON object, not {type(data).__name__}",
                         path=path)
    fmt = data.get("format")
    if fmt != GRAPH_FORMAT:
        hint = (" (this looks like a MAI export: import it with `valuesneg graph import-mai`)"
                if "values" in data and fmt is None else "")
        raise GraphError(f"expected format {GRAPH_FORMAT!r}, found {fmt!r}{hint}",
                         where="format", path=path)
    try:
        return MoralGraph.model_validate(data)
    except ValidationError as exc:
        raise _graph_error_from(exc, path) from None


def load_graph(path: str | Path) -> MoralGraph:
    """Load a graph in our own JSON format; :class:`GraphError` naming file and field."""
    return parse_graph(read_json_file(path, GraphError), path=path)


def graph_to_json(graph: MoralGraph) -> str:
    """The text :func:`dump_graph` writes: indented, defaults left out, final newline."""
    data = graph.model_dump(mode="json", exclude_defaults=True)
    data = {"format": GRAPH_FORMAT, **data}
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and ``os.replace``."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write UTF-8 ``text`` atomically (see :func:`write_bytes_atomic`)."""
    write_bytes_atomic(path, text.encode("utf-8"))


def dump_graph(graph: MoralGraph, path: str | Path) -> None:
    """Write ``graph`` to ``path`` atomically in our JSON format."""
    write_text_atomic(path, graph_to_json(graph))


def graph_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the moral-graph format, generated from the model."""
    schema = MoralGraph.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def graph_json_schema_text() -> str:
    """The exact text of ``moral_graphs/schema/moral-graph.schema.json``."""
    return json.dumps(graph_json_schema(), indent=2, ensure_ascii=False) + "\n"
