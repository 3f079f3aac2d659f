"""Runs on the embedded model, as a user starts them: every shipped scenario, and a run whose
two parties each have their own embedded server. Real and slow: marked ``llm``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from valuesneg.cli import main
from valuesneg.core import verify_lines
from valuesneg.io.files import read_lines

pytestmark = pytest.mark.llm

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "moral_graphs" / "scenarios"


def test_every_shipped_scenario_finishes_on_the_local_model(tmp_path: Path) -> None:
    """Each shipped scenario reaches an outcome.json whose lineage verifies (tool_quota used
    to crash in its wind-down), and no LLM party that accepted a deal is below its no-deal
    value: the sound guard never offers such an accept."""
    assert main(["run", str(SCENARIOS), "--out", str(tmp_path), "--quiet",
                 "--concurrency", "2"]) == 0
    for path in sorted(SCENARIOS.glob("*.yaml")):
        name = yaml.safe_load(path.read_text(encoding="utf-8"))["scenario"]
        run = tmp_path / name
        outcome = json.loads((run / "outcome.json").read_text(encoding="utf-8"))
        verified = verify_lines(read_lines(run / "lineage.jsonl"))
        assert verified.outcome is not None and outcome["terminal"] == \
            verified.outcome.terminal
        just = outcome["justification"]
        llm = set(outcome["parties"])
        assert all(p["guard"] == "sound" for p in outcome["parties"].values())
        if outcome["terminal"] == "agreement":
            for party in set(just["accepted_by"]) & llm:
                assert just["utilities"][party] >= just["disagreement"][party] - 1e-9, \
                    (name, party)


def test_each_party_speaks_only_to_its_own_embedded_server(tmp_path: Path) -> None:
    spec = yaml.safe_load((SCENARIOS / "campsite_supplies.yaml").read_text(encoding="utf-8"))
    spec["policy"]["round_cap"] = 3
    sizes = {"ana": 2048, "ben": 4096}
    for party in spec["parties"]:
        party["agent"] |= {"n_ctx": sizes[party["id"]], "temperature": 0.0}
    scenario = tmp_path / "two_servers.yaml"
    scenario.write_text(yaml.safe_dump(spec), encoding="utf-8")
    out = tmp_path / "run"
    assert main(["run", str(scenario), "--out", str(out), "--quiet",
                 "--guard", "ben=none"]) == 0
    calls = [json.loads(line) for line in (out / "calls.jsonl").read_text().splitlines()]
    asked = {p: sum(1 for c in calls if c["party"] == p and c["prompt"] != "guard:forced")
             for p in sizes}
    assert asked["ana"] > 0 and asked["ben"] > 0
    for party, n_ctx in sizes.items():
        (log,) = (out / "server-logs" / f"n_ctx-{n_ctx}").glob("llama-server-*.log")
        text = log.read_text(encoding="utf-8", errors="replace")
        assert len(re.findall(r"POST /v1/chat/completions", text)) == asked[party], party
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    outcome = json.loads((out / "outcome.json").read_text(encoding="utf-8"))
    for record in (run["parties"], outcome["parties"]):
        assert {p: record[p]["n_ctx"] for p in sizes} == sizes
        assert record["ana"]["guard"] == "sound" and record["ben"]["guard"] == "none"
        assert record["ana"]["served_model"] == "gemma-3-270m"
    assert {c["guard"] for c in calls if c["party"] == "ben"} == {"none"}
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "guard none" in report and "guard sound" in report
