"""``--executor ray`` on a local two-CPU cluster: the same results as ``local`` for an eval
and a tournament, workers that run this checkout's code, and a job whose worker dies is
re-run by Ray's task retries into the same lineage."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import ray  # the dev extra installs it (valuesneg[distributed])

import valuesneg
from valuesneg.evals.base import Dataset, EvalConfig
from valuesneg.evals.winwin import Job, cases_for, play
from valuesneg.evals.winwin import run as run_winwin
from valuesneg.orchestration.executors import LOCAL, Executor, run_jobs
from valuesneg.tournament.run import Options, run_tournament

ROOT = Path(__file__).resolve().parents[2]
CASINO = ROOT / "tests" / "evals" / "data" / "casino_two.json"
RAY = Executor("ray")


@pytest.fixture(scope="module", autouse=True)
def cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    # This module's own job functions travel by value: workers cannot import a test module.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    ray.shutdown()


def where_valuesneg_is(_: int) -> str:
    return valuesneg.__file__


def test_workers_import_this_checkout() -> None:
    assert set(run_jobs(RAY, where_valuesneg_is, [1, 2, 3])) == {valuesneg.__file__}


def test_a_run_left_early_is_cancelled_and_the_next_one_is_whole() -> None:
    results = run_jobs(RAY, abs, list(range(-100, 0)))
    assert next(iter(results)) == 100
    results.close()  # type: ignore[attr-defined]  # run_jobs gives a generator
    assert list(run_jobs(RAY, abs, list(range(-100, 0)))) == list(range(100, 0, -1))


def test_eval_gives_the_same_metrics_rows_and_lineages_as_local(tmp_path: Path) -> None:
    results = {}
    for executor in ("local", "ray"):
        config = EvalConfig(suite="winwin", out=tmp_path / executor, progress=False,
                            dataset=Dataset("casino", CASINO), executor=executor)
        result = run_winwin(config)
        lineages = {p.name: p.read_text() for p in sorted(config.out.glob("lineages/*"))}
        results[executor] = (json.dumps(result.metrics, sort_keys=True), result.rows, lineages)
    assert len(results["local"][2]) == 2
    assert results["local"] == results["ray"]


def test_tournament_gives_the_same_bytes_as_local(tmp_path: Path) -> None:
    competitors = tmp_path / "competitors.yaml"
    competitors.write_text("competitors:\n  - {name: v, strategy: values}\n"
                           "  - {name: b, strategy: boulware}\n"
                           "  - {name: t, strategy: tit-for-tat}\n")
    outputs = []
    for executor in (LOCAL, RAY):
        out = tmp_path / executor.kind
        summary = run_tournament(Options(competitors=competitors, out=out,
                                         dataset=Dataset("casino", CASINO), rotate=True,
                                         reps=2, executor=executor, progress=False),
                                 say=lambda _: None)
        assert summary.board["lineages_verified"] == summary.cells == 24
        outputs.append([(out / n).read_bytes() for n in ("scores.csv", "leaderboard.json")])
    assert outputs[0] == outputs[1]


def dies_the_first_time(job: tuple[str, Job]) -> tuple[object, str]:
    """Kill the worker process outright on a job's first attempt (as a crashed or evicted
    node would), then play it normally when Ray retries it."""
    marker, inner = job
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return play(inner)
    os._exit(1)


def test_a_job_whose_worker_dies_is_retried_into_the_same_lineage(tmp_path: Path) -> None:
    config = EvalConfig(suite="winwin", out=tmp_path, progress=False,
                        dataset=Dataset("casino", CASINO))
    jobs = [Job(case, config, None) for case in cases_for(config)]
    markers = [str(tmp_path / f"attempted-{i}") for i in range(len(jobs))]
    retried = list(run_jobs(RAY, dies_the_first_time, list(zip(markers, jobs, strict=True))))
    assert all(Path(m).exists() for m in markers)  # every first attempt ran, and died
    assert retried == [play(job) for job in jobs]
