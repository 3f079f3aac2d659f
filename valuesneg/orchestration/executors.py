"""Where independent negotiation jobs run: ``--executor local | process:N | ray[:ADDRESS]``.

One interface for ``eval``, ``tournament`` and populations: ``run_jobs(executor, work, jobs)``
calls the module-level function ``work`` on every job and yields the results **in job
order**, whichever executor ran them, so everything written from them is byte-identical
across executors. A job carries all it needs (its scenario, its seed, the model's endpoint):
with ``process:N`` and ``ray`` it is pickled to another interpreter.

- ``local``: this process, as before; ``threads`` > 1 overlaps jobs that wait on a model
  endpoint (I/O). Scripted negotiations are CPU-bound, and threads do not help them.
- ``process:N``: ``concurrent.futures.ProcessPoolExecutor`` with N workers on this machine.
- ``ray`` / ``ray:ADDRESS``: Ray tasks (``pip install 'valuesneg[distributed]'``). Without an
  address ``ray.init()`` starts a local cluster; with one it joins that cluster. A task whose
  worker dies is re-run through Ray's own task retries; jobs are deterministic, so the retry
  produces the same result and the same lineage.

Jobs are sent in chunks: a scripted negotiation takes milliseconds, about what shipping one
task costs, so one task per job would spend as much time on transport as on work.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import socket
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from valuesneg.io.files import UserError

J = TypeVar("J")
R = TypeVar("R")

RAY_RETRIES = 3  # re-runs of a task whose worker died (Ray's max_retries)
CHUNKS_PER_WORKER = 8  # enough chunks to even out uneven jobs, few enough to amortise transport
MAX_CHUNK = 64  # so results (and the progress bar) keep streaming on big runs
CONNECT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Executor:
    """A parsed ``--executor``: ``kind`` is local, process or ray."""

    kind: str
    workers: int = 1  # process: the pool size
    address: str | None = None  # ray: an existing cluster (None: start a local one)

    def __str__(self) -> str:
        if self.kind == "process":
            return f"process:{self.workers}"
        return f"ray:{self.address}" if self.address else self.kind


LOCAL = Executor("local")


def parse_executor(text: str) -> Executor:
    """``local``, ``process:N`` (N >= 1) or ``ray[:ADDRESS]``; ``UserError`` otherwise."""
    kind, sep, rest = text.partition(":")
    if kind == "local" and not sep:
        return LOCAL
    if kind == "process":
        if not rest.isdigit() or int(rest) < 1:
            raise UserError(f"--executor {text!r}: expected process:N with N a whole number "
                            "of worker processes, at least 1")
        return Executor("process", workers=int(rest))
    if kind == "ray":
        if sep and not rest:
            raise UserError(f"--executor {text!r}: expected ray or ray:ADDRESS")
        return Executor("ray", address=rest or None)
    raise UserError(f"--executor {text!r}: expected local, process:N, ray or ray:ADDRESS")


def add_executor_argument(parser: argparse.ArgumentParser) -> None:
    """The ``--executor`` option of the commands that run many negotiations."""
    parser.add_argument("--executor", default="local", metavar="E",
                        help="where the negotiations run: local (default), process:N (N "
                             "worker processes), ray (a local Ray cluster) or ray:ADDRESS")


def run_jobs(executor: Executor, work: Callable[[J], R], jobs: Sequence[J], *,
             threads: int = 1) -> Iterator[R]:
    """``work(job)`` for every job, yielded in job order as soon as each is available.

    ``work`` must be a module-level function and the jobs picklable unless ``executor`` is
    local. An exception raised by a job propagates to the caller.
    """
    if not jobs:
        return iter(())
    if executor.kind == "local":
        return _local(work, jobs, threads)
    if executor.kind == "process":
        return _process(work, jobs, executor.workers)
    return _ray(work, jobs, executor.address)


def _local(work: Callable[[J], R], jobs: Sequence[J], threads: int) -> Iterator[R]:
    if threads <= 1:
        yield from map(work, jobs)
        return
    with ThreadPoolExecutor(max_workers=threads) as pool:
        yield from pool.map(work, jobs)


def chunks(jobs: Sequence[J], workers: int) -> list[list[J]]:
    """``jobs`` in consecutive chunks sized so each worker gets about ``CHUNKS_PER_WORKER``."""
    size = max(1, min(MAX_CHUNK, math.ceil(len(jobs) / (workers * CHUNKS_PER_WORKER))))
    return [list(jobs[i:i + size]) for i in range(0, len(jobs), size)]


def run_chunk(work: Callable[[J], R], chunk: Sequence[J]) -> list[R]:
    """What one worker task does: its chunk's jobs, in order."""
    return [work(job) for job in chunk]


def _process(work: Callable[[J], R], jobs: Sequence[J], workers: int) -> Iterator[R]:
    # Not fork: this process has threads (a progress bar, a model client) whose locks a
    # forked child could inherit held. A fork server that has already imported the work's
    # module starts workers nearly as fast.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([work.__module__])
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(run_chunk, work, chunk) for chunk in chunks(jobs, workers)]
        try:
            for future in futures:
                yield from future.result()
        finally:  # an early exit (an error, a consumer that stops) drops the queued chunks
            for future in futures:
                future.cancel()


def start(executor: Executor) -> None:
    """Connect now to what ``executor`` needs (a Ray cluster), so that a bad address fails
    before anything is written rather than at the first job."""
    if executor.kind == "ray":
        ray = import_ray()
        if not ray.is_initialized():
            connect_ray(executor.address)


def _ray(work: Callable[[J], R], jobs: Sequence[J], address: str | None) -> Iterator[R]:
    ray = import_ray()
    start(Executor("ray", address=address))
    task = ray.remote(max_retries=RAY_RETRIES, retry_exceptions=False)(run_chunk)
    workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
    yield from _in_order(ray, [task.remote(work, chunk) for chunk in chunks(jobs, workers)])


def _in_order(ray: Any, refs: list[Any]) -> Iterator[Any]:
    """Stream finished chunks back with ``ray.wait``, releasing them in submission order."""
    position = {ref: i for i, ref in enumerate(refs)}
    done: dict[int, list[Any]] = {}
    pending, head = list(refs), 0
    try:
        while head < len(refs):
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                done[position[ref]] = ray.get(ref)
            while head in done:
                yield from done.pop(head)
                head += 1
    finally:  # an error or a consumer that stops early: drop what has not run yet
        for ref in pending:
            ray.cancel(ref)


def import_ray() -> Any:
    """Ray, or a clear error saying which extra installs it."""
    try:
        import ray
    except ModuleNotFoundError:
        raise UserError("--executor ray needs Ray: pip install 'valuesneg[distributed]'"
                        ) from None
    return ray


def connect_ray(address: str | None) -> None:
    """Join the cluster at ``address``, or start a local one on this machine's CPUs.

    Workers must import this same valuesneg: a local cluster inherits this environment
    (``PYTHONPATH`` included); a remote cluster must have it installed.
    """
    ray = import_ray()
    if address is not None:
        _check_reachable(address)
    try:
        if address is None:
            ray.init(include_dashboard=False, log_to_driver=False,
                     num_cpus=os.cpu_count() or 1)
        else:
            ray.init(address=address, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as error:
        where = address or "a local cluster"
        raise UserError(f"--executor ray{':' + address if address else ''}: could not "
                        f"connect to {where}: {error}") from None


def _check_reachable(address: str) -> None:
    """Fail fast on a ``HOST:PORT`` nobody listens at: ``ray.init`` would retry for minutes.
    (``auto`` and ``ray://`` client addresses are left to Ray.)"""
    host, sep, port = address.rpartition(":")
    if address.startswith("ray://") or not sep or not port.isdigit():
        return
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as error:
        raise UserError(f"--executor ray:{address}: no Ray cluster answers there "
                        f"({error.strerror or error}); start one with `ray start --head`"
                        ) from None
