"""Scenario files load into JSON's data model, with strict types and bounded size; whatever
is refused gets one line naming the file (and line) and leaves no run folder behind."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from valuesneg.cli import main
from valuesneg.scenario import MAX_PARTIES, load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "moral_graphs" / "scenarios" / "campsite_supplies.yaml"


def campsite(old: str = "", new: str = "") -> str:
    text = SCENARIO.read_text()
    assert old in text
    return text.replace(old, new, 1)


def refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | bytes,
            seconds: float = 5) -> str:
    """Run the file; assert exit 2, one line, no traceback, no run folder, within ``seconds``."""
    path = tmp_path / "bad.yaml"
    if isinstance(content, str):
        content = content.encode("utf-8", "surrogatepass")
    path.write_bytes(content)
    out = tmp_path / "out"
    started = time.monotonic()
    assert main(["run", str(path), "--backend", "scripted", "--out", str(out)]) == 2
    assert time.monotonic() - started < seconds
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "internal error" not in err, err
    assert err.startswith(f"valuesneg: error: {path}") and not out.exists()
    return err


@pytest.mark.parametrize(("old", "new", "says"), [
    ("round_cap: 6", "round_cap: true", "line 38, scenario field policy.round_cap: Input "
                                        "should be a valid integer"),
    ("round_cap: 6", "round_cap: '6'", "policy.round_cap: Input should be a valid integer"),
    ("units: 3}", "units: 3.0}", "dimensions.0.units: Input should be a valid integer"),
    ("title: Two campers share food, water and firewood", "title: 2",
     "field title: Input should be a valid string"),
    ("contribution: 1\n", "contribution: true\n", "contribution: Input should be a valid num"),
    ("strategy: boulware}", "strategy: boulware, deliberates: 1}",
     "parties.0.agent.deliberates: Input should be a valid boolean"),
])
def test_strict_types(old: str, new: str, says: str, tmp_path: Path,
                      capsys: pytest.CaptureFixture[str]) -> None:
    assert says in refused(tmp_path, capsys, campsite(old, new))


@pytest.mark.parametrize(("old", "new", "says"), [
    ("  - {id: dim:food, units: 3}", "  - !!set {dim:food, dim:x}",
     "line 11: a set is outside JSON's data model"),
    ("tier_order: [tier:camper]", "? [tier:camper]\n  : x\n  tier_order: [tier:camper]",
     "line 42: a key that is a list or mapping (JSON keys are strings)"),
    ("reservation: 5", "reservation: .nan", "line 22: .nan is not a finite number"),
    ("reservation: 5", "reservation: -.inf", "line 22: -.inf is not a finite number"),
    ("round_cap: 6", "round_cap: " + "9" * 5000, "line 38: an integer of 5000 digits"),
    ("title: Two", "title: !!binary aGk=\nx: Two", "line 5: binary data is outside JSON"),
    ("title: Two", "title: 2024-01-01\nx: Two", "line 5: a date or time (quote it"),
    ("title: Two", "title: !!python/object:os.system\nx: Two", "the tag tag:yaml.org,2002:"),
    ("scenario: campsite-supplies", "scenario: &a campsite-supplies\nx: *a", "line 5: alias *a"),
    ("scenario: campsite-supplies", "<<: {scenario: campsite-supplies}",
     "line 4: merge key << (outside JSON)"),
    ("reservation: 5", "reservation: 5\n    reservation: 6", "duplicate key 'reservation'"),
    ("title: Two", 'title: "\\ud800"\nx: Two', "line 5: a lone surrogate in a string"),
    ("title: Two", "title: [", "line 6: not valid YAML"),
])
def test_yaml_outside_json_is_refused_at_its_line(old: str, new: str, says: str,
                                                  tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert says in refused(tmp_path, capsys, campsite(old, new))


def test_a_set_cannot_make_the_terms_hash_depend_on_the_hash_seed(tmp_path: Path) -> None:
    """The red-team's case: a set of scope items gave a genesis that changed with
    PYTHONHASHSEED. Refused now, under any seed, with the same line."""
    path = tmp_path / "set.yaml"
    path.write_text(campsite("dim:food: [pool:spare], dim:water", "dim:food: !!set {pool:a, "
                             "pool:b, pool:c}, dim:water"))
    errors = set()
    for seed in ("1", "2", "3"):
        done = subprocess.run([sys.executable, "-m", "valuesneg.cli", "run", str(path),
                               "--backend", "scripted", "--out", str(tmp_path / "o")],
                              capture_output=True, text=True,
                              env={**os.environ, "PYTHONHASHSEED": seed})
        assert done.returncode == 2
        errors.add(done.stderr)
    assert len(errors) == 1 and "a set is outside JSON's data model" in errors.pop()
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(("content", "says"), [
    ("", "empty scenario file"),
    ("# nothing but a comment\n\n", "empty scenario file"),
    ("- a\n- b\n", "line 1: a scenario is a mapping of fields (scenario:, parties:, policy:, "
                  "...), not a list"),
    ("just words\n", "not a single value"),
    (b"\xef\xbb\xbfscenario: x\n", "byte-order mark (BOM)"),
    (b"scenario: \xff\n", "not UTF-8 text (byte 0xff at offset 10)"),
    ("a: \x00\n", "unacceptable character #x0000"),
])
def test_not_a_scenario_at_all(content: str | bytes, says: str, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    assert says in refused(tmp_path, capsys, content)


def test_ten_thousand_deep_yaml_is_refused_fast(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert "nested deeper than 64 levels" in refused(tmp_path, capsys,
                                                     "a: " + "[" * 10_000 + "]" * 10_000)


def test_ten_thousand_parties_are_refused_fast(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    party = ("  - {{id: p{}, envelope: {{dim:food: [pool:spare]}}, "
             "tiers: {{dim:food: tier:camper}}}}\n")
    many = "".join(party.format(i) for i in range(10_000))
    assert "too large" in refused(tmp_path, capsys, campsite("parties:\n", "parties:\n" + many),
                                  seconds=2)
    within_size = "".join(party.format(i) for i in range(MAX_PARTIES + 1))
    says = refused(tmp_path, capsys, campsite("parties:\n", "parties:\n" + within_size), 2)
    assert f"parties: Tuple should have at most {MAX_PARTIES} items" in says


def test_the_shipped_scenario_still_loads_with_ints_where_floats_go(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(campsite())
    scenario = load_scenario(path)
    assert scenario.terms.party("ana").weights == {"dim:water": 5.0, "dim:food": 4.0,
                                                   "dim:firewood": 3.0}
    assert scenario.spec.policy.round_cap == 6
