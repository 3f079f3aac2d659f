"""What every eval suite takes and gives back.

A suite is a function ``run(config) -> SuiteResult``. It owns its negotiations and its
metrics; ``valuesneg eval`` writes ``metrics.json`` and ``report.html`` from the result, so
a suite never touches the output folder itself except through ``config.out`` for the
lineages and traces it wants a reviewer to be able to replay.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

import matplotlib

matplotlib.use("Agg")  # no screen here, and reports are files

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DatasetKind = Literal["casino", "dond", "genius"]
Backend = Literal["scripted", "local", "openai"]


@dataclass(frozen=True)
class Dataset:
    """``--dataset KIND:PATH``: a public corpus, read from where the user keeps it."""

    kind: str  # a DatasetKind, or a corpus plugin's name (valuesneg.plugins)
    path: Path


@dataclass(frozen=True)
class EvalConfig:
    """How an eval suite is run: where it writes, the seed, backend and strategy, the dataset,
    and limits for quick runs."""

    suite: str
    out: Path
    seed: int = 0
    backend: Backend = "scripted"
    strategy: str = "values"  # the scripted strategy of the agents under test
    dataset: Dataset | None = None
    limit: int | None = None  # at most this many negotiations (or attacks), for quick runs
    axes: tuple[str, ...] | None = None  # margin: sweep only these axes (None: all)
    concurrency: int = 4  # negotiations in flight at once against one model endpoint
    model: str | None = None
    base_url: str | None = None
    progress: bool = True  # a progress bar on the terminal for long runs
    guard: str = "sound"  # LLM agents: pick among sound moves, or "none" (the raw model)
    executor: str = "local"  # where the negotiations run: local, process:N, ray[:ADDRESS]


@dataclass(frozen=True)
class Plot:
    """A figure for the report, already rendered (matplotlib to SVG text)."""

    title: str
    svg: str
    caption: str = ""


@dataclass
class SuiteResult:
    """What a suite produces: metrics (JSON), plots, notes and one row per negotiation for the
    report."""

    metrics: dict[str, Any]  # JSON-serialisable; the keys the evals issue names are required
    plots: list[Plot] = field(default_factory=list)
    # Paragraphs for the report: what was run, published figures to compare with, caveats.
    notes: list[str] = field(default_factory=list)
    # One row per negotiation/attack/pair, for the report's tables (plain JSON values).
    rows: list[dict[str, Any]] = field(default_factory=list)


Suite = Callable[[EvalConfig], SuiteResult]


T = TypeVar("T")
R = TypeVar("R")


# -- shared machinery: every suite runs many things, shows progress and plots ---------------

def run_many(work: Callable[[T], R], items: Sequence[T], *, concurrency: int = 1,
                   label: str = "", progress: bool = False) -> list[R]:
    """``work`` over ``items``, at most ``concurrency`` at once, results in input order.

    Threads, not processes: the time goes to model endpoints (I/O); scripted negotiations
    run with concurrency 1. An exception in any item propagates after the bar closes.
    """
    results: list[R | None] = [None] * len(items)
    with _bar(label, len(items), progress) as advance:
        if concurrency <= 1:
            for index, item in enumerate(items):
                results[index] = work(item)
                advance()
        else:
            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                futures = {pool.submit(work, item): index for index, item in enumerate(items)}
                for future in as_completed(futures):
                    results[futures[future]] = future.result()
                    advance()
    return cast(list[R], results)


def progressing(results: Iterable[R], total: int, *, label: str = "",
                progress: bool = False) -> Iterator[R]:
    """Pass ``results`` (e.g. from ``run_jobs``) through, advancing a bar as each arrives."""
    with _bar(label, total, progress) as advance:
        for result in results:
            yield result
            advance()


@contextmanager
def _bar(label: str, total: int, enabled: bool) -> Iterator[Callable[[], None]]:
    if not enabled:
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), transient=True) as bar:
        task = bar.add_task(label or "running", total=total)
        yield lambda: bar.advance(task)


def svg(figure: Figure) -> str:
    """A matplotlib figure as standalone SVG text (closed afterwards, to free its memory)."""
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    # No date and a fixed salt for the SVG's element ids: the same figure gives the same
    # bytes, so a report can be reproduced byte for byte (population runs promise it).
    with plt.rc_context({"svg.hashsalt": "valuesneg"}):
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg"):]
