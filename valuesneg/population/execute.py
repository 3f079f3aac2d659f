"""Where encounter jobs run: ``local`` (in this process) or ``process:N`` (a pool of N
worker processes). Either way results come back in job order, so the outputs are the same
bytes whichever executor ran them. (The project-wide executor interface, with ``ray``,
replaces this module once it lands; the jobs are already plain picklable data for it.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from valuesneg.io.files import UserError

J = TypeVar("J")
R = TypeVar("R")
Mapper = Callable[[Callable[[J], R], Sequence[J]], Iterator[R]]


def parse_executor(spec: str) -> tuple[str, int]:
    if spec == "local":
        return "local", 1
    kind, _, count = spec.partition(":")
    if kind == "process" and count.isdigit() and int(count) >= 1:
        return "process", int(count)
    if kind == "ray":
        raise UserError(f"--executor {spec}: ray is not available for populations yet "
                        "(use local or process:N)")
    raise UserError(f"--executor {spec!r}: expected local or process:N (N >= 1)")


@contextmanager
def executor(spec: str) -> Iterator[Callable[[Callable[[J], R], Sequence[J]], Iterator[R]]]:
    """A ``map`` that yields results in job order; a pool is shared by every call."""
    kind, workers = parse_executor(spec)
    if kind == "local":
        yield lambda work, jobs: map(work, jobs)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        # Chunks amortise pickling; small enough that progress still moves.
        yield lambda work, jobs: pool.map(work, jobs, chunksize=max(1, len(jobs) // (workers
                                                                                 * 8)))
