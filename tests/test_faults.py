"""Crash points are passed in (``valuesneg.io.faults``): the product has no switch of its own
that makes it crash, and every run announces its crash points to the hook it is given."""

from __future__ import annotations

from pathlib import Path

from valuesneg.cli import main
from valuesneg.io.faults import CrashPoint

PACKAGE = Path(__file__).resolve().parents[1] / "valuesneg"
SCENARIOS = PACKAGE.parent / "moral_graphs" / "scenarios"


def test_no_module_of_the_package_reads_a_kill_switch() -> None:
    found = [str(path.relative_to(PACKAGE)) for path in sorted(PACKAGE.rglob("*"))
             if path.suffix in (".py", ".md", ".yaml", ".json", ".txt") and path.is_file()
             and "VALUESNEG_KILL" in path.read_text(encoding="utf-8", errors="replace")]
    assert found == []


def test_a_run_announces_every_lineage_entry_and_every_record_decided_and_applied(
        tmp_path: Path) -> None:
    seen: list[tuple[CrashPoint, int]] = []
    out = tmp_path / "run"
    assert main(["run", str(SCENARIOS / "campsite_supplies.yaml"), "--backend", "scripted",
                 "--out", str(out), "--quiet"], faults=lambda p, n: seen.append((p, n))) == 0
    entries = [n for p, n in seen if p == "lineage_entries"]
    assert entries == list(range(1, len((out / "lineage.jsonl").read_text().splitlines()) + 1))
    applied = [n for p, n in seen if p == "before_applying"]
    assert applied and applied == sorted(set(applied))  # one per decided record, in seq order
    decided = [n for p, n in seen if p == "decided"]
    assert decided == applied  # each record is decided, then checkpointed, then applied
    assert all(p in ("lineage_entries", "before_applying", "decided") for p, _ in seen)
