"""The benchmark harness runs and emits every documented figure (timings are not asserted:
this is a smoke run on tiny sizes, see benchmarks/README.md for the real figures)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTED = (
    "core_records_per_s",
    "verify_records_per_s",
    "negmas_ratio",
    "orchestration_overhead_ms_per_turn",
    "llm_overhead_fraction",
    "peak_rss_mb",
    "concurrent_1_negotiations_per_s",
    "lineage_100_apply_per_s",
    "lineage_100_verify_per_s",
    "lineage_apply_rate_ratio_largest_smallest",
    "lineage_verify_rate_ratio_largest_smallest",
    "machine",
)


@pytest.mark.skipif(importlib.util.find_spec("negmas") is None,
                    reason="the bench extra (negmas) is not installed")
def test_harness_emits_the_documented_keys(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run"), "--smoke", "--no-llm",
                    "--json", str(out)], check=True, cwd=ROOT, capture_output=True, timeout=120)
    figures = json.loads(out.read_text())
    assert [k for k in DOCUMENTED if k not in figures] == []
    for key in ("core_records_per_s", "verify_records_per_s", "negmas_ratio", "peak_rss_mb"):
        assert figures[key] > 0
    # Like for like: both frameworks report the same outcome figures on both scenario kinds.
    for kind in ("genius", "dond"):
        for side in ("valuesneg", "negmas"):
            assert 0 <= figures[f"{kind}_{side}_agreement_rate"] <= 1
