"""The records panel of a party's page reads the lineage incrementally, and shows what a
fresh read of the whole file would."""

from __future__ import annotations

from pathlib import Path

from valuesneg.cli import main
from valuesneg.orchestration.run import LINEAGE
from valuesneg.scenario import load_scenario
from valuesneg.web.live import LiveRun
from valuesneg.web.party import public_records

SCENARIOS = Path(__file__).resolve().parents[2] / "moral_graphs" / "scenarios"


def live_run(folder: Path) -> LiveRun:
    return LiveRun(folder, load_scenario(SCENARIOS / "campsite_supplies.yaml"), ("ana",), {})


def test_a_refresh_reads_only_what_was_appended_and_shows_what_a_fresh_read_shows(
        tmp_path: Path) -> None:
    source = tmp_path / "source"
    assert main(["run", str(SCENARIOS / "campsite_supplies.yaml"), "--backend", "scripted",
                 "--out", str(source), "--quiet"]) == 0
    lines = (source / LINEAGE).read_bytes().splitlines(keepends=True)
    folder = tmp_path / "live"
    folder.mkdir()
    run, target = live_run(folder), folder / LINEAGE
    assert public_records(run) == []

    # Three whole lines and the start of a fourth, still being written.
    target.write_bytes(b"".join(lines[:3]) + lines[3][:10])
    first = public_records(run)
    assert run.tail.offset == len(b"".join(lines[:3]))
    assert len(first) == 2  # the genesis entry carries no record

    with target.open("ab") as handle:
        handle.write(lines[3][10:] + b"".join(lines[4:]))
    full = public_records(run)
    assert full[:2] == first
    assert len(full) == len(lines) - 1
    assert run.tail.offset == target.stat().st_size
    assert full == public_records(live_run(folder))

    # A lineage rewritten shorter (a torn line dropped on resume) is read again from its start.
    target.write_bytes(b"".join(lines[:2]))
    assert public_records(run) == public_records(live_run(folder)) == first[:1]
