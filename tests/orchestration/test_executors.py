"""The executor interface: parsing --executor, job order, and identical results from
``local`` and ``process:2`` (Ray has its own test module, test_ray.py)."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from valuesneg.io.files import UserError
from valuesneg.orchestration.executors import (
    LOCAL,
    Executor,
    chunks,
    parse_executor,
    run_jobs,
)

ROOT = Path(__file__).resolve().parents[2]
CASINO = ROOT / "tests" / "evals" / "data" / "casino_two.json"


def test_parse_executor_forms() -> None:
    assert parse_executor("local") == LOCAL
    assert parse_executor("process:3") == Executor("process", workers=3)
    assert parse_executor("ray") == Executor("ray")
    assert parse_executor("ray:10.0.0.5:6379") == Executor("ray", address="10.0.0.5:6379")
    assert str(parse_executor("ray:10.0.0.5:6379")) == "ray:10.0.0.5:6379"
    assert str(parse_executor("process:2")) == "process:2"


@pytest.mark.parametrize("text", ["process", "process:0", "process:x", "ray:", "threads:2",
                                  "local:1"])
def test_parse_executor_refuses_with_the_text(text: str) -> None:
    with pytest.raises(UserError, match=f"--executor {text!r}"):
        parse_executor(text)


def test_chunks_cover_every_job_once_in_order() -> None:
    jobs = list(range(1000))
    parts = chunks(jobs, 2)
    assert [job for part in parts for job in part] == jobs
    assert len(parts) == 16  # 2 workers x 8 chunks each, 63 jobs a chunk
    assert chunks([1, 2, 3], 4) == [[1], [2], [3]]


def square_and_pid(n: int) -> tuple[int, int]:
    return n * n, os.getpid()


def test_process_pool_runs_elsewhere_and_yields_in_job_order() -> None:
    jobs = list(range(50))
    results = list(run_jobs(Executor("process", workers=2), square_and_pid, jobs))
    assert [square for square, _ in results] == [n * n for n in jobs]
    assert os.getpid() not in {pid for _, pid in results}
    local = list(run_jobs(LOCAL, square_and_pid, jobs))
    assert {pid for _, pid in local} == {os.getpid()}


def fails_on_seven(n: int) -> int:
    if n == 7:
        raise ValueError("seven")
    return n


def test_a_failing_job_raises_in_the_caller() -> None:
    with pytest.raises(ValueError, match="seven"):
        list(run_jobs(Executor("process", workers=2), fails_on_seven, list(range(20))))


def eval_winwin(out: Path, executor: str) -> subprocess.CompletedProcess[str]:
    """``valuesneg eval winwin`` on the two-dialogue CaSiNo fixture, this checkout's code."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "valuesneg.cli", "eval", "winwin",
                           "--dataset", f"casino:{CASINO}", "--out", str(out),
                           "--no-progress", "--executor", executor],
                          capture_output=True, text=True, env=env, check=False)


def eval_outputs(out: Path) -> dict[str, str]:
    """Everything the eval wrote that must not depend on the executor: metrics.json without
    its timing, executor and folder, the rows and every lineage."""
    metrics = json.loads((out / "metrics.json").read_text())
    run = metrics.pop("run")
    run.pop("seconds")
    assert run["config"].pop("executor") != ""
    run["config"].pop("out")
    files = {"metrics.json": json.dumps([metrics, run], sort_keys=True),
             "rows.jsonl": (out / "rows.jsonl").read_text()}
    files |= {f"lineages/{p.name}": p.read_text() for p in sorted(out.glob("lineages/*"))}
    return files


def test_eval_gives_the_same_results_locally_and_on_a_process_pool(tmp_path: Path) -> None:
    outputs = {}
    for executor in ("local", "process:2"):
        done = eval_winwin(tmp_path / executor.replace(":", ""), executor)
        assert done.returncode == 0, done.stderr
        outputs[executor] = eval_outputs(tmp_path / executor.replace(":", ""))
    assert len([k for k in outputs["local"] if k.startswith("lineages/")]) == 2
    assert '"agreement_rate": 1.0' in outputs["local"]["metrics.json"]
    assert outputs["local"] == outputs["process:2"]


def test_eval_refuses_an_executor_a_suite_cannot_use(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "valuesneg.cli", "eval", "bypass", "--out",
                           str(tmp_path / "b"), "--executor", "process:2"],
                          capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "valuesneg: error: --executor process:2: the bypass suite runs in this process only "
        "(suites with executors: winwin)"]
    assert not (tmp_path / "b").exists()


def test_a_model_crosses_to_another_process_as_its_endpoint_not_its_connection() -> None:
    from valuesneg.agents.openai_model import OpenAIChatModel

    model = OpenAIChatModel(model="m", base_url="http://127.0.0.1:9/v1", seed=7,
                            temperature=0.5, structured="json_object_schema",
                            llama_cpp_python=True, fold_system=True)
    copy = pickle.loads(pickle.dumps(model))
    assert copy is not model and copy._client is not model._client
    assert (copy.model, copy.base_url, copy.seed, copy.temperature, copy.structured_form,
            copy.fold_system) == ("m", "http://127.0.0.1:9/v1", 7, 0.5, "json_object_schema",
                                  True)
