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


def test_install_times_are_charged_to_the_direct_dependency_behind_each_line(
        tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks" / "install"))
    try:
        from measure import times
    finally:
        sys.path.pop(0)
    log = tmp_path / "pip.log"
    log.write_text(
        "2026-12-01T10:00:00,000 Processing ./src\n"
        "2026-12-01T10:00:02,000 Collecting chromadb>=0.5 (from valuesneg==0.1.0)\n"
        "2026-12-01T10:00:05,000 Processing /w/onnxruntime-1.2-cp311.whl "
        "(from chromadb>=0.5->valuesneg==0.1.0)\n"
        "2026-12-01T10:00:06,500 Collecting pyyaml>=6 (from valuesneg==0.1.0)\n"
        "2026-12-01T10:00:07,000 Processing /w/psycopg_binary-3.3-cp311.whl "
        "(from psycopg[binary]>=3.2->valuesneg==0.1.0)\n"
        "2026-12-01T10:00:08,000 Installing collected packages: chromadb, pyyaml\n"
        "2026-12-01T10:00:20,000 Successfully installed chromadb pyyaml\n")
    assert times(log) == {"total_s": 20.0, "resolve_and_download_s": 8.0, "unpack_s": 12.0,
                          "resolve_by_dependency_s": {"chromadb": 4.5, "(valuesneg's own build)":
                                                      2.0, "psycopg": 1.0, "pyyaml": 0.5}}


def test_synthetic_genius_domains_have_every_issue_kind_and_a_grid_error(tmp_path: Path) -> None:
    from valuesneg.corpora import read_genius

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from genius_synthetic import write_tree
    finally:
        sys.path.pop(0)

    write_tree(tmp_path, 12, seed=22)
    load = read_genius(tmp_path)
    summary = load.summary
    assert (summary["domains"], summary["pairs"], summary["skipped"]) == (12, 12, 0)
    assert all(summary["issues"][kind] > 0 for kind in ("discrete", "integer", "real"))
    # Each real issue costs at most weight x |slope| x step / 2 <= weight / 20 (slopes span
    # at most 1 over the range, in 10 steps); the weights sum to 1.
    errors = summary["discretisation_error"]
    assert errors and all(0 < e <= 0.05 for e in errors.values())


@pytest.mark.skipif(importlib.util.find_spec("negmas") is None,
                    reason="the bench extra (negmas) is not installed")
def test_genius_tree_scores_both_frameworks_on_the_same_pairs() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from genius_tree import measure
    finally:
        sys.path.pop(0)

    figures = measure(ROOT / "tests" / "evals" / "data" / "genius_tree", [20], 10**6)
    assert figures["pairs"] == figures["negmas_20_steps_n"] == figures["valuesneg_values_n"] == 3
    for side in ("valuesneg_values", "valuesneg_boulware", "negmas_20_steps"):
        assert 0 <= figures[f"{side}_pareto_optimal_rate"] <= 1
        assert 0 < figures[f"{side}_joint_efficiency_all"] <= 1
