"""Running a tournament: plan the cells, skip those already done, play the rest on an
executor, then score everything.

Each finished cell is kept as it arrives, its lineage (``lineages/ID.jsonl``) before its row
(``cells/ID.json``), each written whole or not at all; a cell counts as done only once its
row exists. So a tournament killed at any point resumes with the same command: the cells
done are read back, and only the others are played (no model is asked about a done cell).
``tournament.json`` pins what the folder's tournament is, so a different one is refused
rather than mixed in.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from valuesneg.agents.models import ChatModel, ModelError
from valuesneg.evals.base import Dataset, progressing
from valuesneg.io.files import UserError, write_atomic
from valuesneg.orchestration.executors import LOCAL, Executor, run_jobs, start

from .outputs import write_outputs
from .play import CellJob, LLMPlayer, Player, play_cell
from .setup import Cell, Competitor, load_cases, load_competitors, plan
from .stats import Row, leaderboard


@dataclass(frozen=True)
class Options:
    """How a tournament is run: competitors, where it writes, the scenarios or corpus,
    repetitions, rotation, self-play, seed and executor."""

    competitors: Path
    out: Path
    scenarios: Path | None = None
    dataset: Dataset | None = None
    limit: int | None = None
    reps: int = 1
    rotate: bool = False
    self_play: bool = False
    seed: int = 0
    executor: Executor = LOCAL
    concurrency: int = 4  # cells in flight at once against model endpoints (local executor)
    progress: bool = True


@dataclass(frozen=True)
class Summary:
    """What a tournament run did: cells played and reused, the files written, the
    leaderboard."""

    cells: int
    reused: int  # cells found done in the folder and not played again
    paths: list[Path]
    board: dict[str, Any]


def run_tournament(options: Options, say: Callable[[str], None] = print) -> Summary:
    """Plan, play (skipping cells already done in the folder) and score a tournament."""
    started = time.perf_counter()
    competitors = load_competitors(options.competitors)
    cases, skipped = load_cases(options.scenarios, options.dataset, options.limit)
    for case in skipped:
        say(f"skipped {case.scenario.name}: {len(case.scenario.terms.party_ids)} parties, and "
            "a cell seats two")
    cells = plan(cases, [c.name for c in competitors], reps=options.reps,
                 rotate=options.rotate, self_play=options.self_play, seed=options.seed)
    start(options.executor)
    settings = claim(options, competitors, [c.scenario.name for c in cases])
    done = finished(options.out, cells)
    todo = [cell for cell in cells if cell.id not in done]
    say(f"{len(cells)} cells ({len(competitors)} competitors, {len(cases)} scenarios, "
        f"{options.reps} rep(s)); {len(done)} already done, {len(todo)} to play on "
        f"{options.executor}")
    by_name = {c.name: c for c in competitors}
    llm = any(c.llm for c in competitors)
    with players(competitors, options.out) as seated:
        jobs = [CellJob(cell, cases[cell.scenario],
                        tuple(seated(by_name[n], cell.seed) for n in cell.seats))  # type: ignore[arg-type]
                for cell in todo]
        results = run_jobs(options.executor, play_cell, jobs,
                           threads=options.concurrency if llm else 1)
        for row, lineage in progressing(results, len(jobs), label="tournament",
                                        progress=options.progress):
            keep(options.out, row, lineage)
            done[row["cell"]] = row
    rows = [done[cell.id] for cell in cells]
    board = leaderboard(rows, competitors, options.seed)
    paths = write_outputs(options.out, rows, board, settings,
                          time.perf_counter() - started)
    return Summary(len(cells), len(cells) - len(todo), paths, board)


def claim(options: Options, competitors: Sequence[Competitor], scenarios: list[str]
          ) -> dict[str, Any]:
    """Write ``tournament.json`` or check that the folder holds this same tournament."""
    settings = {"competitors": [c.model_dump() for c in competitors], "scenarios": scenarios,
                "reps": options.reps, "rotate": options.rotate,
                "self_play": options.self_play, "seed": options.seed}
    path = options.out / "tournament.json"
    if path.exists():
        try:
            before = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise UserError(f"{path}: unreadable ({error}); choose another --out") from None
        changed = [k for k in settings if before.get(k) != settings[k]]
        if changed:
            raise UserError(f"{path}: {options.out} holds a different tournament (its "
                            f"{changed[0]} differs); choose another --out")
    else:
        write_atomic(path, json.dumps(settings, indent=2, sort_keys=True) + "\n")
    return settings


def finished(out: Path, cells: Sequence[Cell]) -> dict[str, Row]:
    """The cells a previous run of this folder completed (row and lineage both written)."""
    done = {}
    for cell in cells:
        path = out / "cells" / f"{cell.id}.json"
        if path.exists() and (out / "lineages" / f"{cell.id}.jsonl").exists():
            done[cell.id] = json.loads(path.read_text(encoding="utf-8"))
    return done


def keep(out: Path, row: Row, lineage: str) -> None:
    """Write one cell's lineage and row as soon as it is played, so a killed tournament
    resumes."""
    write_atomic(out / "lineages" / f"{row['cell']}.jsonl", lineage)
    write_atomic(out / "cells" / f"{row['cell']}.json", json.dumps(row, sort_keys=True) + "\n")


@contextmanager
def players(competitors: Sequence[Competitor], out: Path
            ) -> Iterator[Callable[[Competitor, int], Player]]:
    """What sits in a seat: a scripted competitor's strategy, or the model an LLM competitor
    speaks through at a cell's seed (one per competitor and seed; the embedded model's
    server is started once, only if a competitor uses it, and stopped on exit)."""
    models: dict[tuple[str, int], LLMPlayer] = {}
    with ExitStack() as stack:
        server: Any = None

        def seated(competitor: Competitor, seed: int) -> Player:
            nonlocal server
            if not competitor.llm:
                return competitor.strategy
            key = (competitor.name, seed)
            if key not in models:
                if competitor.backend == "local" and server is None:
                    server = stack.enter_context(_local_server(out))
                models[key] = LLMPlayer(_model(competitor, seed, server), competitor.guard)
            return models[key]

        try:
            yield seated
        except ModelError as error:  # an unreachable endpoint, a missing key: the user's
            raise UserError(str(error)) from None


def _local_server(out: Path) -> Any:
    from valuesneg.agents.local_server import LocalModelServer

    return LocalModelServer(log_dir=out / "server-logs")


def _model(competitor: Competitor, seed: int, server: Any) -> ChatModel:
    if competitor.backend == "local":
        from valuesneg.agents.local_server import local_chat_model

        return local_chat_model(server, seed=seed)
    from valuesneg.agents.openai_model import OpenAIChatModel

    return OpenAIChatModel(model=competitor.model or "gpt-4o-mini",
                           base_url=competitor.base_url, seed=seed, structured="auto")
