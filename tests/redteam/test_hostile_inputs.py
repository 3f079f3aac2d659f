"""The project's own red-team list: hostile inputs at the edges of the core (issue 19, items
4, 7, 8 and 9), each fed to the command a user would run it through.

Every case must be *blocked*: the exit code it names, one line of output that says what is
wrong, no traceback and no ``internal error``, nothing written, within a few seconds. The
other outcomes are the findings the red-team counted: ``crash`` (an internal error or a
traceback), ``accepted`` (exit 0 where a refusal is due), ``poor-message`` (refused, but the
line does not say what the case is about), ``wrote`` (a run folder or graph left behind) and
``slow``. ``judge`` classifies; the test asserts ``blocked``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from valuesneg.cli import main

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = (ROOT / "tests" / "core" / "golden" / "campsite_supplies.jsonl").read_text()
LINES = GOLDEN.splitlines()
REQUEST = json.dumps(json.loads(LINES[1])["record"], separators=(",", ":"))  # after line 1
SCENARIO = (ROOT / "moral_graphs" / "scenarios" / "campsite_supplies.yaml").read_text()
GRAPH = (ROOT / "moral_graphs" / "scarce_supplies.json").read_text()
MAI = (ROOT / "tests" / "values" / "data" / "mai_export_sample.json").read_text()
DEEP = "[" * 100_000 + "]" * 100_000
SECONDS = 10

Content = str | bytes | Callable[[Path], None]  # text, bytes, or something made at a path


@dataclass(frozen=True)
class Hostile:
    name: str
    command: str  # check, verify, run, import-mai
    content: Content  # the hostile file: the record, lineage, scenario or export
    code: int  # the exit code that blocks it
    says: str  # what the one line must contain
    outcome: str | None = None  # verify: outcome.json beside the lineage


def record(text: str) -> str:
    return text


def swap(old: str, new: str, text: str = REQUEST) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def scenario(old: str, new: str) -> str:
    return swap(old, new, SCENARIO)


def line(number: int, old: str, new: str) -> str:
    lines = list(LINES)
    lines[number - 1] = swap(old, new, lines[number - 1])
    return "\n".join(lines) + "\n"


def fifo(path: Path) -> None:
    os.mkfifo(path)


def symlink_loop(path: Path) -> None:
    path.symlink_to(path.with_name("other"))
    path.with_name("other").symlink_to(path)


def dev_zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def graph_is(make: Callable[[Path], None]) -> Callable[[Path], None]:
    """A valid scenario whose moral_graph is a special file."""
    def build(path: Path) -> None:
        make(path.with_name("graph.json"))
        path.write_text(scenario("moral_graph: scarce_supplies",
                                 f"moral_graph: {path.with_name('graph.json')}"))
    return build


def many_parties(path: Path) -> None:
    party = "  - {{id: p{}, envelope: {{dim:food: [pool:spare]}}, tiers: {{dim:food: t}}}}\n"
    path.write_text(scenario("parties:\n", "parties:\n" + "".join(
        party.format(i) for i in range(10_000))))


CASES = [
    # -- 4. duplicate JSON keys, wherever JSON enters --------------------------------------
    Hostile("record-sender-twice", "check", swap('"sender":"ana"', '"sender":"ana","sender":"ben"'),
            1, "key 'sender' appears twice"),
    Hostile("record-kind-twice", "check",
            swap('"kind":"request"', '"kind":"request","kind":"accept"'), 1,
            "key 'kind' appears twice"),
    Hostile("record-nested-key-twice", "check", swap('"ana":3,', '"ana":3,"ana":0,'), 1,
            "key 'ana' appears twice"),
    Hostile("lineage-second-record-key", "verify",
            line(2, '"seq":1}', '"seq":1,"record":{"kind":"outcome"}}'), 1,
            "line 2: key 'record' appears twice"),
    Hostile("lineage-second-hash-key", "verify",
            line(3, '"prev":', '"hash":"00","prev":'), 1, "line 3: key 'hash' appears twice"),
    Hostile("lineage-genesis-key-twice", "verify", line(1, '"format":', '"format":"x","format":'),
            1, "line 1: key 'format' appears twice"),
    Hostile("outcome-file-key-twice", "verify", GOLDEN, 2, "key 'terminal' appears twice",
            outcome='{"terminal": "agreement", "terminal": "fallback"}'),
    Hostile("mai-export-key-twice", "import-mai", swap('"id": 11,', '"id": 1, "id": 2,', MAI), 2,
            "key 'id' appears twice"),
    Hostile("scenario-key-twice", "run", scenario("round_cap: 6", "round_cap: 6\n  round_cap: 99"),
            2, "duplicate key 'round_cap'"),
    Hostile("scenario-graph-key-twice", "run",
            graph_is(lambda p: p.write_text(GRAPH.replace('"id":', '"id": "x", "id":', 1))), 2,
            "key 'id' appears twice"),
    # -- 7. scenario YAML outside the JSON data model --------------------------------------
    Hostile("yaml-set", "run", scenario("[pool:spare], dim:water", "!!set {pool:a, pool:b}, "
                                        "dim:water"), 2, "a set is outside JSON's data model"),
    Hostile("yaml-complex-key", "run", scenario("  id: policy:campsite", "  ? [a, b]\n  : c\n"
                                                "  id: policy:campsite"), 2,
            "a key that is a list or mapping"),
    Hostile("yaml-bool-round-cap", "run", scenario("round_cap: 6", "round_cap: true"), 2,
            "policy.round_cap: Input should be a valid integer"),
    Hostile("yaml-string-round-cap", "run", scenario("round_cap: 6", "round_cap: '6'"), 2,
            "policy.round_cap: Input should be a valid integer"),
    Hostile("yaml-float-units", "run", scenario("units: 3}", "units: 2.5}"), 2,
            "units: Input should be a valid integer"),
    Hostile("yaml-nan-reservation", "run", scenario("reservation: 5", "reservation: .nan"), 2,
            ".nan is not a finite number"),
    Hostile("yaml-inf-weight", "run", scenario("dim:water: 5,", "dim:water: .inf,"), 2,
            ".inf is not a finite number"),
    Hostile("yaml-weight-overflowing-mid-run", "run", swap(
        "round_cap: 6", "round_cap: 1", scenario("dim:water: 5,", "dim:water: 1.0e+200,")), 2,
        "weights.dim:water: Input should be less than or equal to 1000000"),
    Hostile("yaml-python-tag", "run", scenario("title: Two", "x: !!python/object/apply:os.system "
                                               "[echo]\ntitle: Two"), 2, "the tag"),
    Hostile("yaml-timestamp", "run", scenario("title: Two campers share food, water and firewood",
                                              "title: 2026-12-01"), 2, "a date or time"),
    Hostile("yaml-alias", "run", scenario("tiers: {dim:food: tier:camper, dim:water: tier:camper,"
                                          " dim:firewood: tier:camper}\n    agent: {backend: "
                                          "llm, strategy: conceder}", "tiers: *t\n    agent: "
                                          "{backend: llm, strategy: conceder}"), 2, "alias *t"),
    Hostile("yaml-merge-key", "run", scenario("  id: policy:campsite", "  <<: {id: p:x}\n"
                                              "  id: policy:campsite"), 2, "merge key <<"),
    Hostile("yaml-binary", "run", scenario("title: Two", "x: !!binary aGk=\ntitle: Two"), 2,
            "binary data is outside JSON"),
    Hostile("yaml-custom-tag", "run", scenario("round_cap: 6", "round_cap: !cap 6"), 2,
            "the tag !cap is outside JSON"),
    Hostile("yaml-huge-int", "run", scenario("round_cap: 6", "round_cap: " + "7" * 5000), 2,
            "an integer of 5000 digits"),
    Hostile("yaml-10k-deep", "run", "x: " + "[" * 10_000 + "]" * 10_000, 2,
            "nested deeper than 64 levels"),
    Hostile("yaml-lone-surrogate", "run", scenario("title: Two", 'x: "\\udc80"\ntitle: Two'), 2,
            "a lone surrogate"),
    Hostile("yaml-int-key", "run", scenario("  round_cap: 6", "  round_cap: 6\n  7: x"), 2,
            "key '7' is not a string"),
    Hostile("yaml-two-documents", "run", SCENARIO + "---\nscenario: again\n", 2,
            "expected a single document"),
    Hostile("yaml-10k-parties", "run", many_parties, 2, "too large"),
    # -- 8. what used to end in an internal error ------------------------------------------
    Hostile("record-not-utf8", "check", REQUEST.encode().replace(b"ana", b"\xe1na", 1), 2,
            "not UTF-8 text"),
    Hostile("record-nan", "check", swap('"duration":48', '"duration":NaN'), 1,
            "NaN is not a JSON number"),
    Hostile("record-infinity", "check", swap('"duration":48', '"duration":-Infinity'), 1,
            "-Infinity is not a JSON number"),
    Hostile("record-overflowing-float", "check", swap('"duration":48', '"duration":1e400'), 1,
            "1e400 is too large"),
    Hostile("record-huge-int", "check", swap('"duration":48', '"duration":' + "9" * 5000), 1,
            "an integer of 5000 digits"),
    Hostile("record-lone-surrogate", "check", swap('"sender":"ana"', '"sender":"\\ud800"'), 1,
            "a lone surrogate \\ud800"),
    Hostile("record-100k-deep", "check", swap('"precondition":null', '"precondition":' + DEEP),
            1, "nested deeper than 64 levels"),
    Hostile("lineage-nan", "verify", line(2, '"duration":48', '"duration":NaN'), 1,
            "line 2: NaN is not a JSON number"),
    Hostile("lineage-lone-surrogate", "verify", line(3, '"sender":"', '"sender":"\\udfff'), 1,
            "line 3: a lone surrogate"),
    Hostile("lineage-100k-deep", "verify", line(2, '"precondition":null', '"precondition":' + DEEP),
            1, "line 2: nested deeper than 64 levels"),
    Hostile("lineage-a-deep-document-over-lines", "verify", "[\n" + DEEP + "\n]\n", 1,
            "line 1: line 1 column 2: not valid JSON"),
    Hostile("lineage-huge-int", "verify", line(2, '"seq":1}', '"seq":1' + "0" * 5000 + "}"), 1,
            "line 2: an integer of 5001 digits"),
    Hostile("lineage-not-utf8", "verify", GOLDEN.encode().replace(b"ana", b"an\xff", 1), 2,
            "not UTF-8 text"),
    Hostile("scenario-not-utf8", "run", SCENARIO.encode().replace(b"Two", b"Tw\xc3", 1), 2,
            "not UTF-8 text"),
    Hostile("graph-dev-zero", "import-mai", dev_zero, 2, "is a character device"),
    Hostile("graph-fifo", "import-mai", fifo, 2, "is a FIFO"),
    Hostile("graph-symlink-loop", "import-mai", symlink_loop, 2, "a symbolic link loop"),
    Hostile("scenario-graph-dev-zero", "run", graph_is(dev_zero), 2, "is a character device"),
    Hostile("scenario-graph-fifo", "run", graph_is(fifo), 2, "is a FIFO"),
    Hostile("lineage-fifo", "verify", fifo, 2, "is a FIFO"),
    Hostile("record-dev-zero", "check", dev_zero, 2, "is a character device"),
    Hostile("mai-huge-int", "import-mai", swap('"id": 11,', '"id": 1' + "0" * 5000 + ",", MAI), 2,
            "an integer of 5001 digits"),
    Hostile("mai-overflowing-float", "import-mai", swap('"id": 11,', '"id": 1e999,', MAI), 2,
            "1e999 is too large"),
    Hostile("mai-nan", "import-mai", swap('"id": 11,', '"id": NaN,', MAI), 2,
            "NaN is not a JSON number"),
    Hostile("mai-100k-deep", "import-mai", DEEP, 2, "nested deeper than 64 levels"),
    Hostile("outcome-file-a-list", "verify", GOLDEN, 2, "not a run's outcome", outcome="[1]"),
    Hostile("outcome-file-entries-a-string", "verify", GOLDEN, 1,
            "lineage does not end where outcome.json says", outcome='{"lineage_entries": "x"}'),
    # -- 9. messages that say what is wrong ------------------------------------------------
    Hostile("party-sends-grant", "check", json.dumps({"kind": "grant", "sender": "ana"}), 1,
            "forged_core_record at kind: only the core sends grant records"),
    Hostile("kind-null", "check", swap('"kind":"request"', '"kind":null'), 1,
            "schema at kind: null, not a kind; a party sends request, accept, counter"),
    Hostile("kind-misspelled", "check", swap('"kind":"request"', '"kind":"requets"'), 1,
            "schema at kind: unknown kind 'requets'; did you mean 'request'?"),
    Hostile("record-not-an-object", "check", "[]", 1, "a record is a JSON object, not an array"),
    Hostile("record-bom", "check", b"\xef\xbb\xbf" + REQUEST.encode(), 2, "byte-order mark (BOM)"),
    Hostile("lineage-bom", "verify", b"\xef\xbb\xbf" + GOLDEN.encode(), 2, "byte-order mark"),
    Hostile("scenario-bom", "run", b"\xef\xbb\xbf" + SCENARIO.encode(), 2, "byte-order mark"),
    Hostile("scenario-empty", "run", "", 2, "empty scenario file"),
    Hostile("scenario-a-list", "run", "- a\n", 2, "a scenario is a mapping of fields"),
]


def _argv(case: Hostile, target: Path, out: Path) -> list[str]:
    if case.command == "check":
        genesis = target.with_name("genesis.jsonl")
        genesis.write_text(LINES[0] + "\n")
        return ["check", str(genesis), str(target)]
    if case.command == "import-mai":
        return ["graph", "import-mai", str(target), "-o", str(out)]
    if case.command == "run":
        return ["run", str(target), "--backend", "scripted", "--out", str(out)]
    return ["verify", "--unsigned", str(target)]  # the golden lineages are unsigned


def judge(case: Hostile, tmp_path: Path) -> tuple[str, str]:
    """What happened to ``case``: (outcome, the output), outcome as the module doc says."""
    target, out = tmp_path / "input", tmp_path / "out"
    if callable(case.content):
        case.content(target)
    elif isinstance(case.content, bytes):
        target.write_bytes(case.content)
    else:
        target.write_text(case.content, encoding="utf-8", errors="surrogatepass")
    if case.outcome is not None:
        target.with_name("outcome.json").write_text(case.outcome)
    stdout, stderr = io.StringIO(), io.StringIO()
    started = time.monotonic()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(_argv(case, target, out))
    said = stdout.getvalue() + stderr.getvalue()
    if code == 3 or "Traceback" in said or "internal error" in said:
        return "crash", said
    if code == 0:
        return "accepted", said
    if out.exists():
        return "wrote", said
    if time.monotonic() - started > SECONDS:
        return "slow", said
    if code != case.code or said.count("\n") != 1 or case.says not in said:
        return "poor-message", said
    return "blocked", said


def test_the_list_is_long_and_names_are_unique() -> None:
    assert len(CASES) >= 40
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_input_is_blocked(case: Hostile, tmp_path: Path) -> None:
    outcome, said = judge(case, tmp_path)
    assert outcome == "blocked", f"{case.name}: {outcome}: {said!r}"
