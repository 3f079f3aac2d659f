"""Running a population, generation by generation, durably.

Each encounter's lineage is written whole to ``lineages/`` (a temporary file renamed), then
its summary is appended to ``population.jsonl``; the summary comes from the ledger the core
built while negotiating, not from replaying the lineage (``population verify`` does that).
Everything else (the credibility ledger, the events, the generation rows) is derived from
those summaries at the end of each generation and appended the same way, and then the files
the generation wrote (its lineages and the journals) are synced to disk: the generation is
the unit of durability, so no encounter waits on the disk. A SIGKILL loses nothing the
kernel already holds, which is every line written.

``resume`` replays the summaries already recorded instead of re-running their encounters,
summarizes a lineage that was written but not yet recorded (from the lineage, asking no
agent again), and runs the rest; every line it re-derives is checked against the line
already on disk. So a SIGKILL at any point loses nothing and runs no encounter twice, and
the finished folder is byte-identical to an uninterrupted run's.
"""

from __future__ import annotations

import fcntl
import gc
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from valuesneg.agents.models import ChatModel
from valuesneg.agents.pool import ModelPool
from valuesneg.core import LineageError, ProtocolViolation
from valuesneg.io.faults import Faults, no_faults
from valuesneg.io.files import UserError, read_json, sync_files, write_atomic
from valuesneg.orchestration.executors import parse_executor, run_jobs
from valuesneg.orchestration.executors import start as connect

from .config import LLM, PopulationConfig, config_json, parse_config
from .encounter import EncounterJob, Played, replay_job, run_job
from .evolve import learn, spread
from .journal import Journal, write_whole
from .ledger import Credibility, canonical
from .stats import columns, csv_line, generation_row, metrics
from .world import Member, founders, graph, pairings, wisdom

FILES = ("population.jsonl", "credibility.jsonl", "events.jsonl", "generations.csv")


@dataclass
class Run:
    """A population run under way: its config, folder, members, credibility ledger, and what it
    has recorded."""

    config: PopulationConfig
    out: Path
    members: tuple[Member, ...]
    credibility: Credibility
    model: ChatModel | None = None  # what the ``llm`` members speak through
    rows: list[dict[str, Any]] = field(default_factory=list)
    adoptions: int = 0
    switches: int = 0
    recorded: int = 0  # encounters recorded so far (the crash points count these)
    faults: Faults = no_faults  # a crash test's hook (valuesneg.io.faults)


def start(config: PopulationConfig, out: Path, executor_spec: str = "local",
          progress: bool = True, concurrency: int = 4,
          faults: Faults = no_faults) -> dict[str, Any]:
    """A new run in ``out``, which must not hold one already. ``concurrency``: encounters in
    flight at once against the model endpoint when the population has ``llm`` members;
    ``faults`` is a crash test's hook."""
    if (out / "population.jsonl").exists():
        raise UserError(f"{out}: already holds a population run; `valuesneg population "
                        f"resume {out}` continues it")
    write_atomic(out / "config.json", config_json(config))
    return _run(config, out, executor_spec, progress, concurrency, faults)


def resume(out: Path, executor_spec: str = "local", progress: bool = True,
           concurrency: int = 4, faults: Faults = no_faults) -> dict[str, Any]:
    """Continue the run in ``out`` from its journals: no encounter lost, none run twice."""
    path = out / "config.json"
    if not path.exists():
        raise UserError(f"{out}: not a population run folder (no config.json in it)")
    return _run(parse_config(read_json(path), path), out, executor_spec, progress,
                concurrency, faults)


def _run(config: PopulationConfig, out: Path, executor_spec: str,
         progress: bool, concurrency: int, faults: Faults = no_faults) -> dict[str, Any]:
    run = Run(config, out, founders(config), Credibility(config.credibility.signals),
              faults=faults)
    scores = wisdom(graph(config.moral_graph), config.context)
    per_generation = len(_jobs(run, 0))
    llm = config.strategies.get(LLM, 0) > 0
    with ExitStack() as stack:
        stack.enter_context(_only_writer(out))
        stack.enter_context(_heap_frozen())
        if llm:
            run.model = _model(stack, config, out)
        journals = {name: _journal(stack, out / name) for name in FILES}
        csv = journals["generations.csv"]
        csv.append(csv_line(columns(config)))
        executor = parse_executor(executor_spec)
        connect(executor)  # a Ray cluster that cannot be reached fails before any encounter

        (out / "lineages").mkdir(exist_ok=True)

        def work(function: Callable[[EncounterJob], Played], jobs: Sequence[EncounterJob]
                 ) -> Iterator[Played]:
            return run_jobs(executor, function, jobs, threads=concurrency if llm else 1)

        tick = stack.enter_context(_bar(config.generations * per_generation, progress))
        for generation in range(config.generations):
            jobs = _jobs(run, generation)
            results = _encounters(run, jobs, journals["population.jsonl"], work, tick)
            _close_generation(run, generation, results, journals, scores)
            sync_files([*(out / _lineage(job) for job in jobs),
                        *(journal.path for journal in journals.values())])
    document = metrics(config, run.rows, run.members, run.credibility, run.adoptions,
                       run.switches, lineages=run.recorded, wisdom=scores)
    write_atomic(out / "metrics.json", json.dumps(document, indent=2, sort_keys=True) + "\n")
    from .report import render

    write_atomic(out / "report.html", render(config, run.rows, document, out))
    return document


@contextmanager
def _only_writer(out: Path) -> Iterator[None]:
    """Two processes appending to the same journals would interleave them: the second is
    refused while the first holds the folder's lock (released by the kernel on a kill)."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / ".lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(f"{out}: another process is running this population") from None
        yield


@contextmanager
def _heap_frozen() -> Iterator[None]:
    """What is alive once the run is set up (modules, the moral graph, the members) lives as
    long as the run: kept out of the collector's reach, so its full collections walk only what
    the run makes since (they took ~10% of an encounter's time re-walking it all). Released
    when the run ends, so the caller's objects are collectable again."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _journal(stack: ExitStack, path: Path) -> Journal:
    journal = Journal(path)
    stack.callback(journal.close)
    return journal


def _jobs(run: Run, generation: int) -> list[EncounterJob]:
    config = run.config
    scores = {m.id: run.credibility.score(m.id) for m in run.members}
    pairs = [pair for round_ in range(config.encounters_per_agent)
             for pair in pairings(run.members, scores, config, generation, round_)]
    return [EncounterJob(config.seed, generation, n, pair, config.moral_graph,
                         config.round_cap, wind_down=config.grants.wind_down,
                         model=run.model if any(m.strategy == LLM for m in pair) else None,
                         guard=config.llm.guard) for n, pair in enumerate(pairs)]


def _model(stack: ExitStack, config: PopulationConfig, out: Path) -> ChatModel:
    """The one endpoint every ``llm`` member speaks through, as ``valuesneg run`` opens it
    (the embedded model's server is started here and stopped when the run ends)."""
    settings = config.llm
    pool = stack.enter_context(ModelPool(settings.backend, model=settings.model,
                                         base_url=settings.base_url, seed=config.seed,
                                         log_dir=out / "server-logs"))
    return pool.chat(pool.default_setting())


def _encounters(run: Run, jobs: Sequence[EncounterJob], journal: Journal,
                work: Callable[..., Iterator[Played]], tick: Callable[[], None]
                ) -> list[dict[str, Any]]:
    """The generation's summaries in job order: recorded ones replayed, written lineages
    summarized, the rest run (through the executor)."""
    recorded = max(0, min(len(jobs), len(journal.lines) - journal.position))
    fresh = work(run_job, [job for job in jobs[recorded:]
                           if not (run.out / _lineage(job)).exists()])
    results: list[dict[str, Any]] = []
    for job in jobs:
        path = run.out / _lineage(job)
        line = journal.recorded()
        if line is None:
            if path.exists():
                line = canonical(_summary(job, path))
            else:
                played = next(fresh)
                write_whole(path, played.lineage)
                run.faults("before_recording", run.recorded + 1)
                line = canonical(played.summary)
        elif _name(line) != job.name or not path.exists():
            raise UserError(f"{journal.path}: line {journal.position + 1}: not encounter "
                            f"{job.name} of this run, or its lineage is gone")
        journal.append(line)
        run.recorded += 1
        results.append(json.loads(line))
        run.faults("encounters_recorded", run.recorded)
        tick()
    return results


def _name(line: str) -> object:
    try:
        data = json.loads(line)
    except json.JSONDecodeError:
        return None
    return data.get("name") if isinstance(data, dict) else None


def _lineage(job: EncounterJob) -> str:
    return f"lineages/{job.name}.jsonl"


def _summary(job: EncounterJob, path: Path) -> dict[str, Any]:
    try:
        return replay_job(job, path.read_text(encoding="utf-8"))
    except (LineageError, ProtocolViolation, ValueError) as error:
        raise UserError(f"{path}: does not verify ({error}); it was written whole, so it "
                        "was changed after the run") from None


def _close_generation(run: Run, generation: int, results: list[dict[str, Any]],
                      journals: dict[str, Journal], scores: dict[str, float]) -> None:
    for result in results:
        journals["credibility.jsonl"].append(canonical(run.credibility.record(result)))
    played = run.members
    members, adoptions = learn(played, results, run.config)
    members, switches = spread(members, results, run.config, generation)
    for event in (*adoptions, *switches):
        journals["events.jsonl"].append(canonical(event))
    row = generation_row(generation, played, results, run.credibility,
                         [*adoptions, *switches], scores, run.config)
    journals["generations.csv"].append(csv_line(list(row.values())))
    run.rows.append(row)
    run.members = members
    run.adoptions += len(adoptions)
    run.switches += len(switches)


@contextmanager
def _bar(total: int, enabled: bool) -> Iterator[Callable[[], None]]:
    if not enabled:
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress("encounters", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  transient=True) as bar:
        task = bar.add_task("encounters", total=total)
        yield lambda: bar.advance(task)
