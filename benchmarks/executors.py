"""Executors side by side: ``local``, ``process:2`` and ``ray`` (a local cluster on this
machine's CPUs), on the same jobs, results checked identical.

- the scripted winwin eval of every CaSiNo dialogue (``--casino``, 900 in casino_train.json):
  wall time of the whole suite per executor, and the speed-up over ``local``;
- Ray's overhead per job: no-op jobs through ``run_jobs`` (chunked, as every command sends
  them) and as one Ray task each;
- throughput on Ray from 100 to 10,000 scripted negotiations (the CaSiNo jobs, cycled);
- a tournament of 5 scripted competitors x 20 scenarios x 2 roles x 3 reps per executor.

Run from the repository root: ``.venv/bin/python benchmarks/executors.py [--json FILE]``
(``--smoke``: tiny sizes, to check that it runs). See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["PYTHONPATH"] = os.pathsep.join(  # pool and Ray workers import this checkout
    p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)

from valuesneg.evals.base import Dataset, EvalConfig  # noqa: E402
from valuesneg.evals.winwin import Job, cases_for, make_agents, negotiate, play  # noqa: E402
from valuesneg.evals.winwin import run as run_winwin  # noqa: E402
from valuesneg.orchestration.executors import (  # noqa: E402
    Executor,
    parse_executor,
    run_jobs,
    start,
)
from valuesneg.tournament.run import Options, run_tournament  # noqa: E402

CASINO = ROOT.parent / "shared" / "data" / "casino_train.json"
EXECUTORS = ("local", "process:2", "ray")
STRATEGIES = ("values", "boulware", "conceder", "linear", "tit-for-tat")


def timed(work: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def eval_speedups(casino: Path, limit: int | None, scratch: Path) -> dict[str, Any]:
    """Each executor runs 20 dialogues untimed first, so that no executor pays for warming
    this process's caches or Ray's idle workers' imports (a pool of processes is new on
    every run, so process:N pays its start-up in the timed run, as a user would)."""
    for name in EXECUTORS:
        run_winwin(EvalConfig(suite="winwin", out=scratch / f"warm-{name}", progress=False,
                              dataset=Dataset("casino", casino), limit=20, executor=name))
    seconds, metrics = {}, {}
    for name in EXECUTORS:
        config = EvalConfig(suite="winwin", out=scratch / f"eval-{name}", progress=False,
                            dataset=Dataset("casino", casino), limit=limit, executor=name)
        seconds[name], result = timed(lambda config=config: run_winwin(config))
        metrics[name] = json.dumps(result.metrics, sort_keys=True)
    assert len(set(metrics.values())) == 1, "executors disagree on the eval's metrics"
    return {"dialogues": json.loads(metrics["local"])["n"],
            "seconds": {k: round(v, 2) for k, v in seconds.items()},
            "speedup": {k: round(seconds["local"] / v, 2) for k, v in seconds.items()
                        if k != "local"}}


def cpu_timed(job: Job) -> tuple[int, float]:
    """Play ``job``; which process did, and the CPU seconds it spent."""
    started = time.process_time()
    play(job)
    return os.getpid(), time.process_time() - started


def eval_cpu(casino: Path, limit: int | None, scratch: Path) -> dict[str, Any]:
    """CPU seconds the eval's negotiations cost, per executor, and on its busiest worker.

    On a machine shared with other work, wall time says how much CPU the others left; CPU
    seconds say what the jobs cost. local's total over the busiest worker's is the speed-up
    the executor gives when its workers have free cores (transport and start-up aside)."""
    config = EvalConfig(suite="winwin", out=scratch, dataset=Dataset("casino", casino),
                        limit=limit)
    jobs = [Job(case, config, None) for case in cases_for(config)]
    figures = {}
    for name in EXECUTORS:
        per_worker: dict[int, float] = {}
        for pid, seconds in run_jobs(parse_executor(name), cpu_timed, jobs):
            per_worker[pid] = per_worker.get(pid, 0.0) + seconds
        figures[name] = {"cpu_s": round(sum(per_worker.values()), 2),
                         "busiest_worker_cpu_s": round(max(per_worker.values()), 2),
                         "workers": len(per_worker)}
    for name in EXECUTORS[1:]:
        figures[name]["speedup_on_free_cores"] = round(
            figures["local"]["cpu_s"] / figures[name]["busiest_worker_cpu_s"], 2)
    return figures


def noop(job: int) -> int:
    return job


def ray_overhead(jobs: int) -> dict[str, float]:
    import ray

    chunked, _ = timed(lambda: list(run_jobs(Executor("ray"), noop, list(range(jobs)))))
    task = ray.remote(noop)
    single, _ = timed(lambda: ray.get([task.remote(i) for i in range(jobs)]))
    return {"jobs": jobs, "ms_per_job_chunked": round(1000 * chunked / jobs, 3),
            "ms_per_job_one_task_each": round(1000 * single / jobs, 3)}


def outcome_only(job: Job) -> tuple[str, float]:
    """A negotiation that sends back only its outcome (10,000 lineages would measure
    transport of results, not running them)."""
    result, _ = negotiate(job.case, make_agents(job.case, job.config, None))
    return result.terminal, result.efficiency


def throughput(casino: Path, sizes: list[int], scratch: Path) -> list[dict[str, Any]]:
    config = EvalConfig(suite="winwin", out=scratch, dataset=Dataset("casino", casino))
    cases = cases_for(config)
    out = []
    for size in sizes:
        jobs = [Job(cases[i % len(cases)], config, None) for i in range(size)]
        seconds, results = timed(lambda jobs=jobs: list(run_jobs(Executor("ray"),
                                                                 outcome_only, jobs)))
        assert len(results) == size
        out.append({"jobs": size, "seconds": round(seconds, 2),
                    "negotiations_per_s": round(size / seconds, 1)})
    return out


def tournament(casino: Path, scenarios: int, reps: int, scratch: Path) -> dict[str, Any]:
    competitors = scratch / "competitors.yaml"
    competitors.write_text("competitors:\n" + "".join(
        f"  - {{name: {s}, strategy: {s}}}\n" for s in STRATEGIES))
    seconds, outputs, cells = {}, {}, 0
    for name in EXECUTORS:
        out = scratch / f"tournament-{name}"
        options = Options(competitors=competitors, out=out, dataset=Dataset("casino", casino),
                          limit=scenarios, reps=reps, rotate=True,
                          executor=parse_executor(name), progress=False)
        seconds[name], summary = timed(lambda options=options: run_tournament(
            options, say=lambda _: None))
        cells = summary.cells
        outputs[name] = (out / "scores.csv").read_bytes()
    assert len(set(outputs.values())) == 1, "executors disagree on scores.csv"
    return {"cells": cells, "seconds": {k: round(v, 2) for k, v in seconds.items()},
            "speedup": {k: round(seconds["local"] / v, 2) for k, v in seconds.items()
                        if k != "local"}}


def machine() -> dict[str, Any]:
    return {"python": platform.python_version(), "cpus": os.cpu_count(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--casino", type=Path, default=CASINO)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: does it run?")
    args = parser.parse_args()
    figures: dict[str, Any] = {"machine": machine()}
    started = time.perf_counter()
    ray_init, _ = timed(lambda: start(Executor("ray")))
    figures["ray_init_s"] = round(ray_init, 2)
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        figures["eval_winwin_casino"] = eval_speedups(args.casino, 20 if args.smoke else None,
                                                      scratch)
        figures["eval_winwin_cpu"] = eval_cpu(args.casino, 20 if args.smoke else None, scratch)
        figures["ray_overhead"] = ray_overhead(200 if args.smoke else 5000)
        sizes = [10, 50] if args.smoke else [100, 1000, 10_000]
        figures["ray_throughput"] = throughput(args.casino, sizes, scratch)
        figures["tournament_5x20x2x3"] = tournament(args.casino, 2 if args.smoke else 20,
                                                    1 if args.smoke else 3, scratch)
    figures["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    figures["total_s"] = round(time.perf_counter() - started, 1)
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
