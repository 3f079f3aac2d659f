"""Credibility from public lineages: the integrity suite's predictor, the manipulation
detectors' flags and, with the wind-down, grants honoured; the ledger entry shows each
signal and the evidence it made, and names the lineage head it read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from popkit import WriteConfig, run_cli

from valuesneg.core import Ack, Commit, Grant, verify_lines
from valuesneg.io.files import read_lines
from valuesneg.population.config import load_config
from valuesneg.population.encounter import EncounterJob, replay_job, run_job
from valuesneg.population.ledger import Credibility, evidence
from valuesneg.population.world import founders

SEEN = {"flags": [], "predicted": [4, 3], "grants": {"held": 3, "used": 3, "acks_owed": 0}}


def test_evidence_counts_only_the_chosen_signals() -> None:
    assert evidence(SEEN, ("flags", "prediction", "grants")) == 0.75
    assert evidence({**SEEN, "flags": ["need-abandoned"]}, ("flags", "prediction")) == 0.0
    assert evidence({**SEEN, "flags": ["need-abandoned"]}, ("prediction",)) == 0.75
    owed = {**SEEN, "grants": {"held": 3, "used": 3, "acks_owed": 1}}
    assert evidence(owed, ("grants",)) == 0.0
    assert evidence(owed, ("flags",)) == 1.0
    assert evidence({**SEEN, "predicted": [0, 0]}, ("prediction",)) == 1.0


def test_the_score_is_laplace_over_the_evidence() -> None:
    ledger = Credibility(("prediction",))
    result = {"generation": 0, "encounter": 0, "lineage": "l", "head": "h" * 64,
              "parties": {"a": SEEN, "b": {**SEEN, "predicted": [2, 0]}}}
    entry = ledger.record(result)
    assert entry["lineage_head"] == "h" * 64
    assert entry["parties"]["a"]["score"] == round((0.75 + 1) / 3, 6)
    assert entry["parties"]["b"]["score"] == round(1 / 3, 6)


def _job(config_path: Path, wind_down: bool) -> EncounterJob:
    config = load_config(config_path)
    members = founders(config)
    return EncounterJob(config.seed, 0, 0, (members[0], members[1]), config.moral_graph,
                        config.round_cap, wind_down=wind_down)


@pytest.mark.parametrize("wind_down", [False, True])
def test_the_summary_is_what_replaying_its_lineage_gives(write_config: WriteConfig,
                                                         wind_down: bool) -> None:
    """What the runner reads from the ledger it just built equals what ``resume`` reads
    from the lineage file alone; the predictor judged every answer to an offer."""
    job = _job(write_config(), wind_down)
    played = run_job(job)
    assert replay_job(job, played.lineage) == played.summary
    verified = verify_lines(played.lineage.splitlines())
    for party, seen in played.summary["parties"].items():
        answers = [r for r in verified.records if r.sender == party
                   and r.kind in ("accept", "counter", "refuse", "defer")]
        assert seen["predicted"][0] == len(answers) and 0 <= seen["predicted"][1] <= len(answers)
        if not wind_down:
            assert seen["grants"] is None
            continue
        held = [r for r in verified.records if isinstance(r, Grant) and r.grantee == party]
        acks = [r for r in verified.records if isinstance(r, Ack) and r.sender == party]
        commits = [r for r in verified.records if isinstance(r, Commit) and r.sender == party]
        assert seen["grants"] == {"held": len(held), "used": len(commits), "acks_owed": 0}
        assert len(acks) == len(held)  # every grant ended and was acknowledged


def test_a_lineage_of_another_encounter_is_refused(write_config: WriteConfig) -> None:
    job = _job(write_config(), False)
    other = _job(write_config("other.yaml", seed=8), False)
    with pytest.raises(ValueError, match="not the lineage of encounter"):
        replay_job(job, run_job(other).lineage)


def test_the_ledger_shows_each_signal(write_config: WriteConfig, tmp_path: Path) -> None:
    config = write_config(grants={"wind_down": True})
    out = tmp_path / "out"
    assert run_cli("population", "run", str(config), "--out", str(out), "--quiet") == 0
    summaries = [json.loads(line) for line in read_lines(out / "population.jsonl")]
    entries = [json.loads(line) for line in read_lines(out / "credibility.jsonl")]
    assert [e["lineage_head"] for e in entries] == [s["head"] for s in summaries]
    for entry, summary in zip(entries, summaries, strict=True):
        for party, record in entry["parties"].items():
            seen = summary["parties"][party]
            assert record["predicted"] == seen["predicted"]
            assert record["grants"] == seen["grants"] and seen["grants"]["held"] >= 0
            assert record["evidence"] == evidence(seen, ("flags", "prediction", "grants"))
    assert any(e["evidence"] < 1 for entry in entries for e in entry["parties"].values())
    assert run_cli("population", "verify", str(out)) == 0
