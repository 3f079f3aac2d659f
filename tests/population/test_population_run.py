"""A population run end to end: the files it promises, byte-identical for the same config
and seed whichever executor ran it, every encounter a verified lineage, and every event in
the run traceable to the lineage it came from."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from popkit import WriteConfig, folder_bytes, run_cli

from valuesneg.core import Request, verify_lines
from valuesneg.io.files import read_lines
from valuesneg.values.io import load_graph

GRAPH = Path(__file__).resolve().parents[2] / "moral_graphs" / "scarce_supplies.json"


def _run(config: Path, out: Path, *extra: str) -> None:
    assert run_cli("population", "run", str(config), "--out", str(out), "--quiet", *extra) == 0


@pytest.fixture(scope="module")
def small_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import yaml
    from popkit import SMALL

    folder = tmp_path_factory.mktemp("pop")
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump(SMALL))
    _run(config, folder / "out")
    return folder / "out"


def test_writes_the_promised_files(small_run: Path) -> None:
    for name in ("population.jsonl", "generations.csv", "metrics.json", "report.html",
                 "credibility.jsonl", "events.jsonl", "config.json"):
        assert (small_run / name).is_file(), name
    summaries = [json.loads(line) for line in read_lines(small_run / "population.jsonl")]
    assert len(summaries) == 3 * 3  # 3 generations of 6 agents in pairs
    assert sorted(p.name for p in (small_run / "lineages").iterdir()) == \
        sorted(Path(s["lineage"]).name for s in summaries)
    rows = list(csv.DictReader((small_run / "generations.csv").open()))
    assert [r["generation"] for r in rows] == ["0", "1", "2"]
    metrics = json.loads((small_run / "metrics.json").read_text())
    assert metrics["encounters"] == 9 and metrics["credibility_ledger"]["entries"] == 9


def test_every_summary_is_what_its_lineage_says(small_run: Path) -> None:
    """Payoffs are the parties' true utilities of the outcome the core recorded."""
    for line in read_lines(small_run / "population.jsonl"):
        summary = json.loads(line)
        verified = verify_lines(read_lines(small_run / summary["lineage"]))
        assert verified.head == summary["head"]
        outcome = verified.outcome
        assert outcome is not None and outcome.terminal == summary["terminal"]
        for party, seen in summary["parties"].items():
            weights = verified.terms.party(party).weights
            expected = (sum(weights[d] * s[party] for d, s in outcome.allocation.items())
                        if outcome.terminal == "agreement" else 5.0)
            assert seen["payoff"] == pytest.approx(expected)
        assert any(isinstance(r, Request) for r in verified.records)


def test_lineages_verify_with_the_projects_verify(small_run: Path) -> None:
    for lineage in sorted((small_run / "lineages").iterdir()):
        assert run_cli("verify", str(lineage)) == 0
    assert run_cli("population", "verify", str(small_run)) == 0


def test_same_config_and_seed_same_bytes_any_executor(
        write_config: WriteConfig, tmp_path: Path, small_run: Path) -> None:
    config = write_config()
    _run(config, tmp_path / "again")
    _run(config, tmp_path / "pool", "--executor", "process:2")
    expected = folder_bytes(small_run)
    assert folder_bytes(tmp_path / "again") == expected
    assert folder_bytes(tmp_path / "pool") == expected
    _run(write_config("other.yaml", seed=8), tmp_path / "other")
    assert (tmp_path / "other" / "population.jsonl").read_bytes() != \
        expected["population.jsonl"]


def test_adoptions_follow_wiser_edges_revealed_in_that_encounter(small_run: Path) -> None:
    graph = load_graph(GRAPH)
    edges = {(e.source, e.wiser) for e in graph.edges
             if "ctx:strangers-negotiating" in e.contexts}
    events = [json.loads(x) for x in read_lines(small_run / "events.jsonl")]
    adoptions = [e for e in events if e["event"] == "adoption"]
    assert adoptions, "rate 1.0 over 9 encounters: some card must have been adoptable"
    for event in adoptions:
        assert (event["dropped"], event["adopted"]) in edges
        assert (event["edge"]["source"], event["edge"]["wiser"]) == \
            (event["dropped"], event["adopted"])
        verified = verify_lines(read_lines(small_run / event["lineage"]))
        assert verified.head == event["lineage_head"]
        cited = {i for r in verified.records if r.sender == event["from"]
                 for i in getattr(r, "rationale", ())}
        assert event["adopted"] in cited  # the partner revealed it in that lineage


def test_switches_copy_someone_who_earned_more(small_run: Path) -> None:
    summaries = [json.loads(x) for x in read_lines(small_run / "population.jsonl")]
    events = [json.loads(x) for x in read_lines(small_run / "events.jsonl")]
    for event in (e for e in events if e["event"] == "switch"):
        model = event["because"].split()[0]
        played = [s["parties"][model] for s in summaries
                  if s["generation"] == event["generation"] and model in s["parties"]]
        assert played and played[0]["strategy"] == event["to"]
        assert sum(p["payoff"] for p in played) / len(played) > event["payoff"]


def test_tampering_is_named(small_run: Path, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(small_run, copy)
    ledger = copy / "credibility.jsonl"
    lines = ledger.read_text().splitlines()
    lines[3] = lines[3].replace('"score":', '"score":0.9,"was":', 1)
    ledger.write_text("\n".join(lines) + "\n")
    assert run_cli("population", "verify", str(copy)) == 1
    assert f"{ledger}: line 4: its hash does not match" in capsys.readouterr().err
    shutil.copy(small_run / "credibility.jsonl", ledger)
    lineage = sorted((copy / "lineages").iterdir())[2]
    text = lineage.read_text().splitlines()
    lineage.write_text("\n".join(text[:-1]) + "\n")  # the outcome dropped
    assert run_cli("population", "verify", str(copy)) == 1
    assert str(lineage) in capsys.readouterr().err


def test_a_second_run_into_the_same_folder_is_refused(
        small_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("population", "run", str(small_run / "config.json"), "--out",
                   str(small_run), "--quiet") == 2
    assert "already holds a population run" in capsys.readouterr().err


def test_odd_population_several_meetings_and_the_replicator(
        write_config: WriteConfig, tmp_path: Path) -> None:
    """Five agents meeting twice a generation: two pairs each time, one sits out."""
    out = tmp_path / "odd"
    _run(write_config(agents=5, generations=2, encounters_per_agent=2,
                      dynamics={"rule": "replicator", "rate": 0.5}), out)
    summaries = [json.loads(x) for x in read_lines(out / "population.jsonl")]
    assert [s["name"] for s in summaries] == [f"g{g:04d}-e{e:04d}" for g in range(2)
                                              for e in range(4)]
    for generation in range(2):
        seats = [a for s in summaries if s["generation"] == generation for a in s["parties"]]
        assert len(seats) == 8 and 4 <= len(set(seats)) <= 5  # 2 pairs, twice
    assert run_cli("population", "verify", str(out)) == 0
    events = [json.loads(x) for x in read_lines(out / "events.jsonl")]
    assert all(e["rule"] == "replicator" for e in events if e["event"] == "switch")


def test_each_generation_syncs_its_own_files_not_the_machine(
        write_config: WriteConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every lineage and journal, and the folders naming them, are fsynced; ``os.sync``
    (every file system of the machine) is never called."""
    import os

    synced: list[str] = []
    fsync = os.fsync

    def recording(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        fsync(fd)

    def refused() -> None:
        raise AssertionError("os.sync flushes the whole machine")

    monkeypatch.setattr(os, "fsync", recording)
    monkeypatch.setattr(os, "sync", refused)
    out = tmp_path / "out"
    _run(write_config(), out)
    journals = {out / n for n in ("population.jsonl", "credibility.jsonl", "events.jsonl",
                                  "generations.csv")}
    expected = {*(out / "lineages").iterdir(), *journals, out, out / "lineages"}
    assert {Path(p) for p in synced} >= {p.resolve() for p in expected}
    # Each generation syncs its lineages once; only write_atomic's temporary files besides.
    lineages = [p for p in synced if Path(p).parent == (out / "lineages").resolve()]
    assert len(lineages) == len(set(lineages)) == 9
    assert all(Path(p).resolve() in {e.resolve() for e in expected}
               or Path(p).name.startswith(".") for p in synced)


def test_the_run_leaves_the_collector_as_it_found_it(write_config: WriteConfig,
                                                     tmp_path: Path) -> None:
    """The run freezes its long-lived heap and pauses collection while reading CaSiNo; both
    are undone when it ends, so the caller's objects are collectable again."""
    import gc

    from valuesneg.population.world import casino_profiles

    casino_profiles.cache_clear()  # so this run reads the corpus, paused
    frozen = gc.get_freeze_count()
    _run(write_config(), tmp_path / "out")
    assert gc.isenabled() and gc.get_freeze_count() == frozen
