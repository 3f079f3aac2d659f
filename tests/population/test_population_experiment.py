"""``valuesneg population experiment``: each arm over the seeds, every run a real population
run, measures with bootstrap intervals and the paired difference between the arms."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from popkit import SMALL, run_cli


def experiment(tmp_path: Path, measures: dict[str, str]) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump({
        **SMALL, "agents": 4, "generations": 2,
        "arms": {"on": {"learning": {"enabled": True, "rate": 1.0}},
                 "off": {"learning": {"enabled": False}}},
        "measures": measures}, sort_keys=False))
    return path


def test_arms_over_seeds_with_intervals(tmp_path: Path) -> None:
    path = experiment(tmp_path, {"adoptions": "adoptions",
                                 "payoff": "mean_over_generations.mean_payoff"})
    out = tmp_path / "out"
    assert run_cli("population", "experiment", str(path), "--seeds", "3", "--out", str(out),
                   "--quiet") == 0
    result = json.loads((out / "results.json").read_text())
    for arm in ("on", "off"):
        for seed in range(3):
            run = out / arm / f"seed-{seed}"
            assert json.loads((run / "config.json").read_text())["seed"] == seed
            assert run_cli("population", "verify", str(run)) == 0
        for measure in result["arms"][arm].values():
            low, high = measure["ci95"]
            assert low <= measure["mean"] <= high and len(measure["values"]) == 3
    assert result["arms"]["off"]["adoptions"]["values"] == [0, 0, 0]
    on = result["arms"]["on"]["adoptions"]["values"]
    assert result["difference"]["adoptions"]["values"] == on
    assert result["difference"]["of"] == "on - off"
    page = (out / "report.html").read_text()
    assert page.count("<svg") == 1 and "on - off (paired by seed)" in page
    again = tmp_path / "again.json"
    (out / "results.json").rename(again)
    assert run_cli("population", "experiment", str(path), "--seeds", "3", "--out", str(out),
                   "--quiet") == 0  # finished runs are read back, not run again
    assert (out / "results.json").read_text() == again.read_text()


def test_a_measure_not_in_the_metrics_is_named(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = experiment(tmp_path, {"x": "last_generation.nothing"})
    assert run_cli("population", "experiment", str(path), "--seeds", "1", "--out",
                   str(tmp_path / "o"), "--quiet") == 2
    assert f"{path}: measures.x: 'last_generation.nothing' is not in metrics.json" in \
        capsys.readouterr().err
