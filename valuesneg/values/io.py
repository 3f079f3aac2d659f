"""Reading and writing files: the only module of ``valuesneg.values`` that touches the disk.

- :func:`load_graph` / :func:`parse_graph`: our own moral-graph JSON, with every problem
  reported as a :class:`GraphError` naming the file and the field.
- :func:`dump_graph`: writes a graph atomically (temporary file in the same folder, then
  ``os.replace``), so a reader never sees half a file.
- :func:`graph_json_schema`: the JSON Schema of the format, generated from the model.
- :func:`read_json_file`: strict JSON reading shared by the importers (a bounded read of a
  regular file, then ``core.strict_json``), raising the caller's error class.
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

from valuesneg.core import strict_json
from valuesneg.io.inputs import GRAPH_BYTES, InputError, read_bounded

from .errors import DataError, GraphError, format_loc, join_where
from .model import GRAPH_FORMAT, MoralGraph


def read_json_file(path: str | Path, error: type[DataError] = GraphError) -> Any:
    """Parse a JSON file strictly (bounded read, ``core.strict_json``), or raise ``error``
    naming the file."""
    try:
        return strict_json.loads(read_bounded(path, GRAPH_BYTES))
    except InputError as exc:
        raise error(str(exc), path=Path(path)) from None
    except strict_json.JsonInputError as exc:
        raise error(exc.message, where=exc.where, path=Path(path)) from None


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
