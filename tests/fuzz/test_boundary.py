"""The fuzzed boundary: random bytes, random JSON and random YAML, and mutations of valid
inputs, fed in process to ``check``, ``verify``, ``run`` and ``graph import-mai``.

The only outcomes allowed are a clear refusal (the command's refusal code, exactly one line,
no traceback, no internal error, nothing written) or a correct acceptance (the lineage a run
wrote verifies; the graph an import wrote loads). CI runs a bounded, derandomised version;
``VALUESNEG_FUZZ_EXAMPLES=N`` runs N random examples per test (see README.md for figures).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from valuesneg.cli import main
from valuesneg.values import load_graph

ROOT = Path(__file__).resolve().parents[2]
LINES = (ROOT / "tests" / "core" / "golden" / "campsite_supplies.jsonl").read_text().splitlines()
REQUEST: dict[str, Any] = json.loads(LINES[1])["record"]
SCENARIO: dict[str, Any] = yaml.safe_load(
    (ROOT / "moral_graphs" / "scenarios" / "campsite_supplies.yaml").read_text())
MAI: dict[str, Any] = json.loads((ROOT / "tests" / "values" / "data" /
                                  "mai_export_sample.json").read_text())

_EXAMPLES = os.environ.get("VALUESNEG_FUZZ_EXAMPLES")
FUZZ = settings(max_examples=int(_EXAMPLES or 40), deadline=None, derandomize=_EXAMPLES is None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# -- what goes in ------------------------------------------------------------------------------

# Values JSON text can spell but the data model cannot hold, and their YAML counterparts: a
# generated value may be a marker that the text form swaps for one of them.
RAW_JSON = ["NaN", "-Infinity", "1e999", "1" * 5000, '"\\ud800"', '"x\\udfff"',
            "[" * 5000 + "]" * 5000, '{"a":1,"a":2}', "-0", "1E400", '"\\u0000"']
RAW_YAML = ["!!set {a, b}", ".nan", "-.inf", "true", "'6'", "&x [1]", "*x", "[" * 100 + "]" * 100,
            "2026-01-01", "!!python/name:os.system", "1" * 5000, "{? [a] : b}", "!!binary aGk=",
            '"\\ud800"', "{<<: {a: 1}}", "0x1f", "1_000", "~", "yes", "!custom x"]
MARKER = re.compile(r"""['"]?@@raw(\d+)@@['"]?""")
markers = st.integers(0, 99).map(lambda i: f"@@raw{i}@@")
scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
           | st.text(max_size=20) | markers
           | st.sampled_from(["ana", "ben", "core", "grant", "request", "dim:food",
                              "pool:spare", "tier:camper"]))
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                           max_leaves=20)
# Fragments that poke at JSON and YAML parsers where they differ from the data model.
HOSTILE = ["NaN", "-Infinity", "1e999", "9" * 400, '"\\ud800"', "\ufeff", "\x00", "{", "[",
           "]", "}", ",", ":", '"', "\\", "!!set", "!!python/object:os.system", "!!binary",
           "&a", "*a", "<<:", "? ", ".nan", ".inf", "---", "- ", "\t", "2026-01-01", "0x1f",
           "1_000", "yes", "~", "[" * 200, "\n", "  ", "#"]
hostile_text = st.lists(st.sampled_from(HOSTILE) | st.text(max_size=8), max_size=30).map("".join)
raw_bytes = st.binary(max_size=300)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


@st.composite
def mutated(draw: st.DrawFn, document: Any) -> Any:
    """``document`` with one to three places replaced by a random JSON value or removed."""
    doc = json.loads(json.dumps(document))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_paths(doc))))
        if not path:
            doc = draw(json_values)
            continue
        *head, last = path
        parent = doc
        for step in head:
            parent = parent[step]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[last]
        else:
            parent[last] = draw(json_values)
    return doc


def raw(text: str, tokens: list[str]) -> str:
    return MARKER.sub(lambda m: tokens[int(m.group(1)) % len(tokens)], text)


def as_text(data: Any) -> st.SearchStrategy[str]:
    """JSON text of ``data`` (markers swapped for raw tokens), sometimes with a key of its
    first object repeated."""
    text = raw(json.dumps(data, separators=(",", ":")), RAW_JSON)
    if not (isinstance(data, dict) and data):
        return st.just(text)
    key = json.dumps(next(iter(data)))
    return st.sampled_from([text, text[:-1] + f",{key}:null}}"])


# -- running a command and judging what came out -------------------------------------------

def invoke(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    if currently_in_test_context():  # counted in --hypothesis-show-statistics
        event(f"{argv[1] if argv[0] == 'graph' else argv[0]} exit {code}")
    return code, out.getvalue() + err.getvalue()


def clean(code: int, said: str, refusals: tuple[int, ...]) -> None:
    assert "Traceback" not in said and "internal error" not in said, said
    assert code == 0 or code in refusals, (code, said)
    if code != 0:
        assert said.count("\n") == 1 and said.endswith("\n"), said


def with_file(content: str | bytes, body: Callable[[Path, Path], int]) -> int:
    with tempfile.TemporaryDirectory() as folder:
        target, out = Path(folder) / "input", Path(folder) / "out"
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogatepass")
        target.write_bytes(content)
        return body(target, out)


def check_record(content: str | bytes) -> int:
    def body(target: Path, out: Path) -> int:
        genesis = target.with_name("genesis.jsonl")
        genesis.write_text(LINES[0] + "\n")
        code, said = invoke(["check", str(genesis), str(target)])
        clean(code, said, (1, 2))
        if code == 0:
            assert said.startswith("accepted: ")
        return code
    return with_file(content, body)


def verify_lineage(content: str | bytes) -> int:
    def body(target: Path, out: Path) -> int:
        code, said = invoke(["verify", "--unsigned", str(target)])  # golden: unsigned
        clean(code, said, (1, 2))
        if code == 0:  # only the untouched golden lineage verifies
            assert target.read_text() == "\n".join(LINES) + "\n", said
        return code
    return with_file(content, body)


def run_scenario(content: str | bytes) -> int:
    def body(target: Path, out: Path) -> int:
        code, said = invoke(["run", str(target), "--backend", "scripted", "--out", str(out),
                             "--quiet"])
        clean(code, said, (2,))
        if code == 0:
            assert invoke(["verify", str(out / "lineage.jsonl")])[0] == 0
        else:
            assert not out.exists(), said
        return code
    return with_file(content, body)


def import_mai(content: str | bytes) -> int:
    def body(target: Path, out: Path) -> int:
        code, said = invoke(["graph", "import-mai", str(target), "-o", str(out)])
        clean(code, said, (2,))
        if code == 0:
            load_graph(out)
        else:
            assert not out.exists(), said
        return code
    return with_file(content, body)


# -- the harness --------------------------------------------------------------------------------

def test_the_unmutated_inputs_are_accepted() -> None:
    """The control: what the harness mutates is accepted as it is, so a refusal of a mutant
    is the mutation's doing."""
    assert check_record(json.dumps(REQUEST)) == 0
    assert verify_lineage("\n".join(LINES) + "\n") == 0
    assert run_scenario(yaml.safe_dump(SCENARIO)) == 0
    assert import_mai(json.dumps(MAI)) == 0


@FUZZ
@given(raw_bytes | hostile_text)
def test_random_bytes_and_fragments(content: bytes | str) -> None:
    check_record(content)
    verify_lineage(content)
    run_scenario(content)
    import_mai(content)


@FUZZ
@given(json_values.flatmap(as_text))
def test_random_json(text: str) -> None:
    check_record(text)
    verify_lineage(text)
    import_mai(text)


@FUZZ
@given(mutated(REQUEST).flatmap(as_text))
def test_mutated_records(text: str) -> None:
    check_record(text)


@FUZZ
@given(st.integers(0, len(LINES) - 1), mutated({"line": 0}) | st.just(None), hostile_text)
def test_mutated_lineages(position: int, value: Any, fragment: str) -> None:
    lines = list(LINES)
    entry = json.loads(lines[position])
    if value is None:  # splice a hostile fragment into the line's text
        cut = len(lines[position]) // 2
        lines[position] = lines[position][:cut] + fragment + lines[position][cut:]
    else:
        entry["record" if position else "genesis"] = value
        lines[position] = raw(json.dumps(entry, separators=(",", ":")), RAW_JSON)
    verify_lineage("\n".join(lines) + "\n")


@FUZZ
@given(mutated(SCENARIO), st.sampled_from(["block", "flow"]), hostile_text)
def test_mutated_scenarios(document: Any, style: str, fragment: str) -> None:
    text = raw(yaml.safe_dump(document, default_flow_style=style == "flow", allow_unicode=True),
               RAW_YAML)
    run_scenario(text)
    lines = text.splitlines(keepends=True)
    lines.insert(len(lines) // 2, fragment)
    run_scenario("".join(lines))


@FUZZ
@given(mutated(MAI).flatmap(as_text))
def test_mutated_mai_exports(text: str) -> None:
    import_mai(text)
