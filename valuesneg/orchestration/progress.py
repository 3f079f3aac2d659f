"""A live view of running negotiations (rich): per run, the round, who is thinking, how long.

The graph reports each node it finishes as a ``Step``; a ``RunProgress`` turns steps into a
status line, and a ``Dashboard`` shows one line per run, redrawn a few times a second so the
elapsed time moves while a model thinks. It is only a view: nothing in it feeds back into a
negotiation, except that a run can be told to stop at its next step (Ctrl-C over many runs).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from rich.console import Console
from rich.live import Live
from rich.table import Table


@dataclass(frozen=True)
class Step:
    """A node of the graph has finished (or, for ``paused``, a human is being asked)."""

    node: str
    party: str | None  # whose turn it is; None when no turn is under way
    round: int  # rounds spent so far (each non-accepting response costs one)
    round_cap: int


PAUSED = "paused"  # the node name of the step reported when a human party is asked


class Stopped(Exception):
    """The run was told to stop; its lineage and checkpoint are consistent, so it resumes."""


@dataclass
class RunProgress:
    """One run's line on the dashboard: its status and round, updated at every step; ``stop``
    asks the run to end at its next step."""

    name: str
    started: float = field(default_factory=time.monotonic)
    status: str = "starting"
    round: str = "-"
    finished: float | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    echo: Callable[[str], None] | None = None  # one plain line per turn, when not drawn live

    def __call__(self, step: Step) -> None:
        if self.stop.is_set():
            raise Stopped(f"{self.name}: stopped")
        self.round = f"{step.round}/{step.round_cap}"  # rounds spent of the cap
        if self.echo is not None and step.node == "decide":
            self.echo(f"{self.name}: {step.party} answered ({self.round} rounds spent, "
                      f"{self.elapsed:.1f}s)")
        if step.node == PAUSED:
            self.status = f"waiting for {step.party} (human)"
        elif step.party is not None and step.node in ("who", "apply", "default"):
            self.status = f"{step.party} thinking"
        elif step.party is not None:
            self.status = f"core judging {step.party}'s record"
        else:
            self.status = "outcome reached; winding down"

    def end(self, status: str) -> None:
        self.status, self.finished = status, time.monotonic()
        if self.echo is not None:
            self.echo(f"{self.name}: {status} ({self.elapsed:.1f}s)")

    @property
    def elapsed(self) -> float:
        return (self.finished or time.monotonic()) - self.started


class Dashboard:
    """One line per run, redrawn live when ``live`` (stdout is a terminal, not --quiet);
    otherwise, with ``lines``, one plain line per turn on stderr, so a run whose output goes
    to a file or a pipe still shows it is moving."""

    def __init__(self, console: Console, live: bool, lines: bool = False) -> None:
        self.console = console
        self.runs: list[RunProgress] = []
        self._live = Live(console=console, refresh_per_second=4, get_renderable=self._table,
                          transient=False) if live else None
        self._lines = lines and not live
        self._lock = threading.Lock()  # runs in a batch report from their own threads

    def add(self, name: str) -> RunProgress:
        progress = RunProgress(name, echo=self._echo if self._lines else None)
        self.runs.append(progress)
        return progress

    def _echo(self, line: str) -> None:
        with self._lock:
            print(line, file=sys.stderr, flush=True)

    def _table(self) -> Table:
        table = Table("run", "rounds", "now", "elapsed", box=None, padding=(0, 2))
        for run in self.runs:
            table.add_row(run.name, run.round, run.status, f"{run.elapsed:6.1f}s")
        return table

    def __enter__(self) -> Dashboard:
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Stop redrawing while someone types an answer at the terminal."""
        if self._live is None:
            yield
            return
        self._live.stop()
        try:
            yield
        finally:
            self._live.start()
