from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from values_testkit import SCHEMA_FILE, SHIPPED, graph_doc

from valuesneg.values import (
    GraphError,
    dump_graph,
    graph_json_schema,
    graph_json_schema_text,
    graph_to_json,
    load_graph,
    parse_graph,
)


def test_dump_then_load_round_trips(tmp_path: Path) -> None:
    g = parse_graph(graph_doc())
    out = tmp_path / "g.json"
    dump_graph(g, out)
    again = load_graph(out)
    assert again == g
    assert again.content_hash == g.content_hash
    text = out.read_text(encoding="utf-8")
    assert text == graph_to_json(g)
    assert text.endswith("}\n")
    assert json.loads(text)["format"] == "valuesneg.moral-graph/1"
    # Defaults are left out of the file but the hash is the same once loaded.
    assert "quote" not in text


def test_dump_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "g.json"
    out.write_text("previous content", encoding="utf-8")

    def fail(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        dump_graph(parse_graph(graph_doc()), out)
    assert out.read_text(encoding="utf-8") == "previous content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.json"]  # no temp file left


def test_dump_writes_via_a_temp_file_in_the_same_folder(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src: str, dst: str) -> None:
        seen.append((str(src), str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    out = tmp_path / "g.json"
    dump_graph(parse_graph(graph_doc()), out)
    [(src, dst)] = seen
    assert Path(src).parent == tmp_path and dst == str(out)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(GraphError) as info:
        load_graph(tmp_path / "nope.json")
    assert info.value.path == str(tmp_path / "nope.json")
    assert "file not found" in str(info.value)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(GraphError, match="is a directory"):
        load_graph(tmp_path)


def test_not_json_names_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "format": "valuesneg.moral-graph/1",\n  "id": oops\n}\n')
    with pytest.raises(GraphError) as info:
        load_graph(bad)
    assert info.value.where == "line 3 column 9"
    assert str(info.value).startswith(f"{bad}: line 3 column 9: not valid JSON")


def test_not_utf8(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"title": "\xff"}')
    with pytest.raises(GraphError, match="not UTF-8"):
        load_graph(bad)


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "dup.json"
    bad.write_text('{"format": "valuesneg.moral-graph/1", "id": "graph:a", "id": "graph:b"}')
    with pytest.raises(GraphError, match="key 'id' appears twice"):
        load_graph(bad)


def test_nan_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "nan.json"
    bad.write_text('{"format": NaN}')
    with pytest.raises(GraphError, match="NaN"):
        load_graph(bad)


def test_structural_error_names_file_and_field(tmp_path: Path) -> None:
    doc = graph_doc()
    doc["edges"][2]["source"] = "card:ghost"
    bad = tmp_path / "g.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(GraphError) as info:
        load_graph(bad)
    assert info.value.path == str(bad)
    assert info.value.where == "edges[2].source"
    assert "unknown card 'card:ghost'" in str(info.value)


def test_checked_in_schema_equals_generated() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == graph_json_schema_text(), (
        "moral_graphs/schema/moral-graph.schema.json is stale; regenerate it with: python -c "
        "\"from valuesneg.values.io import graph_json_schema_text as t; "
        "open('moral_graphs/schema/moral-graph.schema.json','w').write(t())\"")


def test_schema_describes_the_id_grammar() -> None:
    schema = graph_json_schema()
    card = schema["$defs"]["ValuesCard"]["properties"]["id"]
    assert card["pattern"] == "^card:[a-z0-9]+(?:[._:-][a-z0-9]+)*$"
    assert card["maxLength"] == 64
    assert schema["additionalProperties"] is False


def test_shipped_graphs_validate_against_the_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    for path in SHIPPED.values():
        errors = list(validator.iter_errors(json.loads(path.read_text(encoding="utf-8"))))
        assert errors == [], (path, errors[:1])
    bad = json.loads(SHIPPED["scarce_supplies"].read_text(encoding="utf-8"))
    bad["cards"][0]["id"] = "Card:Bad"
    assert list(validator.iter_errors(bad))
