"""The scale benchmark runs and reports every documented key (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "population_scale.py"
KEYS = {"agents", "generations", "encounters", "run_seconds", "wall_seconds",
        "encounters_per_s", "ms_per_encounter", "cpu_seconds", "encounters_per_cpu_s",
        "peak_rss_mb", "bytes_per_encounter"}


def test_the_scale_benchmark_reports_its_figures(tmp_path: Path) -> None:
    out = tmp_path / "scale.json"
    subprocess.run([sys.executable, str(SCRIPT), "--sizes", "4,6", "--generations", "1,2",
                    "--json", str(out)], check=True, capture_output=True, timeout=300)
    figures = json.loads(out.read_text())
    assert [(row["agents"], row["generations"]) for row in figures["sizes"]] == \
        [(4, 1), (4, 2), (6, 1), (6, 2)]
    assert [row["encounters"] for row in figures["sizes"]] == [2, 4, 3, 6]
    assert all(set(row) == KEYS for row in figures["sizes"])
    assert all(row["bytes_per_encounter"] > 1000 for row in figures["sizes"])
