"""LLM members in a population, on the embedded model: a tiny population (4 agents, one
generation, 2 encounters), both encounters in flight at once against one server. Real and
slow (a decision takes 6-45 s here): marked ``llm``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from popkit import WriteConfig, run_cli

pytestmark = pytest.mark.llm


def test_llm_members_negotiate_through_one_endpoint(write_config: WriteConfig,
                                                    tmp_path: Path) -> None:
    config = write_config(agents=4, generations=1, round_cap=2,
                          strategies={"llm": 1, "values": 1},
                          learning={"enabled": False}, dynamics={"rule": "none"})
    out = tmp_path / "out"
    assert run_cli("population", "run", str(config), "--out", str(out), "--quiet",
                   "--concurrency", "2") == 0
    lines = [json.loads(line) for line in (out / "population.jsonl").read_text().splitlines()]
    assert len(lines) == 2
    seats = [seen for line in lines for seen in line["parties"].values()]
    assert sorted(s["strategy"] for s in seats) == ["llm", "llm", "values", "values"]
    assert all(line["terminal"] for line in lines)
    assert run_cli("population", "verify", str(out)) == 0
    # One embedded server for the whole run, started under the run folder.
    assert [p.name for p in (out / "server-logs").iterdir()]
