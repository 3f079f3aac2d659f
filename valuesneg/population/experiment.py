"""``valuesneg population experiment EXP.yaml``: one population config run over many seeds
under each of its arms (the switches being compared), every run a full population run with
its own folder of lineages, and each measure reported per arm and as the paired difference
between the first two arms (same seed, so same founders), with 95% percentile-bootstrap
confidence intervals over seeds.

An experiment file is a population config plus ``arms`` (name -> settings merged into the
config) and ``measures`` (name -> a dotted path into each run's ``metrics.json``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from valuesneg.evals.common import mean_ci
from valuesneg.io.files import UserError, write_atomic

from .config import config_from, merged
from .experiment_report import render
from .runner import resume, start
from .world import check_world


def load_experiment(path: Path) -> dict[str, Any]:
    """An experiment file: shared settings, the arms that vary them, and the measures to
    compare."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise UserError(f"{path}: cannot read ({type(error).__name__})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: must be a mapping of settings")
    for key in ("arms", "measures"):
        if not isinstance(data.get(key), dict) or not data[key]:
            raise UserError(f"{path}: {key}: a mapping of at least one entry is required")
    return data


def run_experiment(path: Path, seeds: int, out: Path, executor: str = "local",
                   tick: Callable[[str], None] = lambda _: None, concurrency: int = 4
                   ) -> dict[str, Any]:
    """Run every arm with each seed and summarise each measure per arm, with the difference
    between arms."""
    data = load_experiment(path)
    arms, measures = data.pop("arms"), data.pop("measures")
    values: dict[str, dict[str, list[float]]] = {a: {m: [] for m in measures} for a in arms}
    for arm, settings in arms.items():
        for seed in range(seeds):
            metrics = _one_run(path, merged(data, settings), seed, out / arm / f"seed-{seed}",
                               executor, concurrency)
            for name, where in measures.items():
                values[arm][name].append(_at(metrics, where, path, name))
            tick(f"{arm} seed {seed}")
    result = {"experiment": data["name"], "seeds": seeds, "config": str(path),
              "measures": measures,
              "arms": {a: {m: _ci(v) for m, v in per.items()} for a, per in values.items()}}
    if len(arms) >= 2:
        first, second = list(arms)[:2]
        result["difference"] = {"of": f"{first} - {second}", **{
            m: _ci([x - y for x, y in zip(values[first][m], values[second][m], strict=True)])
            for m in measures}}
    write_atomic(out / "results.json", json.dumps(result, indent=2, sort_keys=True) + "\n")
    write_atomic(out / "report.html", render(result))
    return result


def _one_run(path: Path, data: Mapping[str, Any], seed: int, folder: Path,
             executor: str, concurrency: int) -> dict[str, Any]:
    """A finished run's metrics; a run an earlier attempt left half-way is resumed."""
    if (folder / "metrics.json").exists():
        metrics: dict[str, Any] = json.loads((folder / "metrics.json").read_text())
        return metrics
    if (folder / "population.jsonl").exists():
        return resume(folder, executor, progress=False, concurrency=concurrency)
    config = config_from({**data, "seed": seed}, path)
    check_world(config, str(path))
    return start(config, folder, executor, progress=False, concurrency=concurrency)


def _at(metrics: Mapping[str, Any], where: str, path: Path, name: str) -> float:
    value: Any = metrics
    for part in where.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise UserError(f"{path}: measures.{name}: {where!r} is not in metrics.json")
        value = value[part]
    if not isinstance(value, int | float):
        raise UserError(f"{path}: measures.{name}: {where!r} is not a number in every run")
    return float(value)


def _ci(values: list[float]) -> dict[str, Any]:
    mean, low, high = mean_ci(values)
    return {"mean": round(mean, 4), "ci95": [round(low, 4), round(high, 4)],
            "values": [round(v, 4) for v in values]}
