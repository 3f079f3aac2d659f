"""`valuesneg run` and `valuesneg resume` as a person uses them: one scenario or many.

One scenario runs in the foreground, with a live progress line and, for a human party,
prompts at the terminal or as JSON lines. Several (files, or every ``*.yaml`` in a folder)
run concurrently on a thread each under asyncio, at most ``concurrency`` at a time, all
speaking to one model endpoint: with the local backend, one embedded server is started for
all of them. Each run writes its own folder; a failed run does not stop the others.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rich.console import Console

from valuesneg.agents.base import Agent
from valuesneg.agents.factory import (
    agents_for,
    build_agents,
    chat_backend,
    human_parties,
    llm_parties,
)
from valuesneg.agents.pool import ModelPool
from valuesneg.io.faults import Faults
from valuesneg.io.files import UserError
from valuesneg.orchestration.run import (
    INVOCATION,
    LINEAGE,
    OUTCOME,
    REPORT,
    Hooks,
    RunResult,
    load_invocation,
    resume_scenario,
    run_scenario,
)
from valuesneg.scenario import Scenario, load_scenario

from .humans import Answerer, JsonAnswerer, NoAnswer, TerminalAnswerer
from .progress import Dashboard, RunProgress

PAUSED_EXIT = 4  # a human's turn is waiting for an answer that never came: resume later


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during runs: its message says how to continue the ones left unfinished."""

    def __init__(self, folders: Sequence[Path]) -> None:
        started = [f for f in folders if (f / INVOCATION).exists() and not (f / OUTCOME).exists()]
        super().__init__("; ".join(f"continue with: valuesneg resume {f}" for f in started))


@dataclass(frozen=True)
class Options:
    """How `valuesneg run` and `resume` were asked to run: the backend and models, seed, human
    parties and how they answer, checkpoints, display and signing keys."""

    backend: str = "local"
    model: str | None = None
    base_url: str | None = None
    seed: int = 0
    explain: bool = False
    humans: tuple[str, ...] = ()  # parties a person plays, besides those the scenario marks
    answers: Literal["terminal", "json"] = "terminal"
    checkpoint: str | None = None  # PostgreSQL URL; default: checkpoint.sqlite per run
    concurrency: int = 4
    quiet: bool = False
    models: tuple[tuple[str, str], ...] = ()  # --model PARTY=NAME
    guards: tuple[tuple[str, str], ...] = ()  # --guard [PARTY=]GUARD (party "*": every one)
    keys: str | None = None  # folder of Ed25519 private keys to sign with (ID.pem)
    faults: Faults | None = None  # a crash test's hook (valuesneg.io.faults); never saved

    @property
    def key_folder(self) -> Path | None:
        return None if self.keys is None else Path(self.keys)

    def agents(self, scenario: Scenario, out: Path
               ) -> AbstractContextManager[tuple[dict[str, Agent], dict[str, Any]]]:
        """``build_agents`` for these options: the agents of a run writing to ``out``."""
        return build_agents(scenario, self.backend, model=self.model, base_url=self.base_url,
                            seed=self.seed, out=out, explain=self.explain, humans=self.humans,
                            models=dict(self.models), guards=dict(self.guards))

    @classmethod
    def started(cls, how: Mapping[str, Any], now: Options) -> Options:
        """The options a run was started with (its run.json, ``how``), answered as asked
        ``now``: human turns, checkpoint, display, and any further human parties."""
        return cls(backend=how.get("backend", "local"), model=how.get("model"),
                   base_url=how.get("base_url"), seed=int(how.get("seed") or 0),
                   explain=bool(how.get("explain")),
                   humans=tuple(how.get("humans") or ()) + now.humans,
                   answers=now.answers, checkpoint=now.checkpoint, quiet=now.quiet,
                   models=tuple(sorted((how.get("models") or {}).items())),
                   guards=tuple(sorted((how.get("guards") or {}).items())),
                   faults=now.faults)

    def invocation(self, scenario: Path, meta: Mapping[str, Any]) -> dict[str, Any]:
        """What run.json keeps so that `valuesneg resume` builds the same agents, and the
        model and guard each LLM party had (``meta``, from ``build_agents``)."""
        return {"scenario": str(scenario.resolve()), "backend": self.backend,
                "model": self.model, "base_url": self.base_url, "seed": self.seed,
                "explain": self.explain, "humans": list(self.humans),
                "models": dict(self.models), "guards": dict(self.guards),
                "parties": meta.get("parties", {})}


def scenario_files(paths: Sequence[str]) -> list[Path]:
    """The scenario files named, a folder standing for every ``*.yaml`` in it."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(path.glob("*.yaml"))
            if not found:
                raise UserError(f"{path}: no scenario files (*.yaml) in this folder")
            files += found
        else:
            files.append(path)  # a missing file is reported by load_scenario, by name
    return files


def free_dir(base: Path, taken: Sequence[Path] = ()) -> Path:
    """The one rule for where a run writes: ``base``, or, when that already holds a run (or
    another run of this batch took it), the first of ``base-2``, ``base-3``... that does
    not. A run is never written over, and running twice keeps both."""
    candidate, n = base, 1
    while (candidate / LINEAGE).exists() or candidate in taken:
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def run_command(paths: Sequence[str], out: str | None, options: Options) -> int:
    """`valuesneg run`: one scenario in the foreground, or several concurrently; every file is
    checked before any run starts."""
    files = scenario_files(paths)
    scenarios = [load_scenario(f) for f in files]  # every file checked before any run starts
    if len(scenarios) == 1:
        wanted = Path(out) if out else Path("runs") / scenarios[0].spec.scenario
        target = free_dir(wanted)
        if target != wanted:
            print(f"valuesneg: {wanted} already holds a run; this one goes to {target}",
                  file=sys.stderr)
        return _foreground(scenarios[0], target, options, resume=False)
    if options.concurrency < 1:
        raise UserError(f"--concurrency {options.concurrency}: must be at least 1")
    if any(human_parties(s, options.humans) for s in scenarios):
        raise UserError("human parties answer one negotiation at a time: run a scenario "
                        "with human parties on its own")
    base = Path(out or "runs")
    targets: list[Path] = []
    for scenario in scenarios:  # in order, so two runs never share a folder
        targets.append(free_dir(base / scenario.spec.scenario, targets))
    return _many(scenarios, targets, options, base)


def resume_command(directory: str, options: Options) -> int:
    """Continue a run as it was started (run.json), answering its human turns as asked now."""
    out = Path(directory)
    how = load_invocation(out)
    if (out / OUTCOME).exists() and (out / REPORT).exists():  # both are written last
        print(f"valuesneg: {out}: the run is already finished ({OUTCOME} and {REPORT} are "
              f"written); nothing to resume (`valuesneg verify {out}` checks it)",
              file=sys.stderr)
        return 0
    if how.get("python"):  # agents or a model that run.json cannot rebuild
        raise UserError(f"{out}: was started from Python with {python_objects(how)}; resume it "
                        f"from Python, passing them again: valuesneg.resume({str(out)!r}, ...)")
    started = Options.started(how, options)
    return _foreground(load_scenario(how["scenario"]), out, started, resume=True)


def python_objects(how: Mapping[str, Any]) -> str:
    """What a run started from Python was given that run.json names but cannot hold."""
    given = how.get("python") or {}
    parts = [f"its own agents for {', '.join(given['agents'])}"] if given.get("agents") else []
    return " and ".join(parts + (["a chat model"] if given.get("chat_model") else []))


# -- one run, in the foreground --------------------------------------------------------------

def _foreground(scenario: Scenario, out: Path, options: Options, *, resume: bool) -> int:
    as_json = options.answers == "json"
    # With JSON answers stdout carries only JSON lines; no number highlighting in prompts.
    console = Console(stderr=as_json, highlight=False)
    dashboard = Dashboard(console, live=_live(options), lines=not options.quiet)
    progress = dashboard.add(scenario.spec.scenario)
    hooks = Hooks(answer=_answerer(options, dashboard), observe=progress,
                  faults=options.faults)
    try:
        with dashboard, options.agents(scenario, out) as (agents, meta):
            if resume:
                result = resume_scenario(scenario, agents, out, meta,
                                         checkpoint=options.checkpoint, hooks=hooks)
            else:
                result = run_scenario(scenario, agents, out, meta,
                                      options.invocation(scenario.path, meta),
                                      checkpoint=options.checkpoint, hooks=hooks,
                                      keys=options.key_folder)
            progress.end(result.outcome.terminal)
    except NoAnswer as paused:
        print(f"valuesneg: paused: {paused}; the run is saved, continue it with: valuesneg "
              f"resume {out}" + (" --answers json" if as_json else ""), file=sys.stderr)
        return PAUSED_EXIT
    except KeyboardInterrupt:
        raise Interrupted([out]) from None
    _report(result, as_json)
    return 0


def _live(options: Options) -> bool:
    return not options.quiet and options.answers == "terminal" and sys.stdout.isatty()


def _answerer(options: Options, dashboard: Dashboard) -> Answerer:
    if options.answers == "json":
        return JsonAnswerer()
    terminal = TerminalAnswerer(dashboard.console)

    def answer(prompt: dict[str, Any]) -> Any:
        with dashboard.paused():
            return terminal(prompt)
    return answer


def _report(result: RunResult, as_json: bool) -> None:
    outcome, out = result.outcome, result.out
    files = [out / "lineage.jsonl", out / "outcome.json", out / "report.html"]
    if as_json:
        print(json.dumps({"type": "outcome", "terminal": outcome.terminal,
                          "allocation": outcome.allocation, "out": str(out)}, sort_keys=True))
        return
    print(f"{outcome.terminal}: {json.dumps(outcome.allocation, sort_keys=True)}")
    print("wrote " + ", ".join(str(f) for f in files))


# -- many runs at once -----------------------------------------------------------------------

def _many(scenarios: list[Scenario], targets: list[Path], options: Options, base: Path) -> int:
    dashboard = Dashboard(Console(), live=_live(options), lines=not options.quiet)
    rows = [dashboard.add(f"{s.spec.scenario} -> {t}") for s, t in zip(scenarios, targets,
                                                                       strict=True)]
    # One embedded server serves the whole batch, so its log belongs to no single run.
    with dashboard, chat_backend(options.backend, model=options.model,
                                 base_url=options.base_url, seed=options.seed,
                                 log_dir=base / "server-logs",
                                 overrides=dict(options.models)) as (chat, meta):
        jobs = [_Job(s, t, options, chat, meta, row)
                for s, t, row in zip(scenarios, targets, rows, strict=True)]
        try:
            results = asyncio.run(_gather(jobs, options.concurrency))
        except KeyboardInterrupt:
            raise Interrupted(targets) from None
    failed = 0
    for job, result in zip(jobs, results, strict=True):
        if isinstance(result, RunResult):
            print(f"{job.scenario.path}: {result.outcome.terminal}: "
                  f"{json.dumps(result.outcome.allocation, sort_keys=True)} -> {job.out}")
        else:
            failed += 1
            print(f"{job.scenario.path}: failed: {result}", file=sys.stderr)
    print(f"{len(jobs) - failed} of {len(jobs)} runs reached a terminal outcome")
    return 1 if failed else 0


@dataclass(frozen=True)
class _Job:
    scenario: Scenario
    out: Path
    options: Options
    chat: ModelPool | None
    meta: dict[str, Any]
    progress: RunProgress

    def __call__(self) -> RunResult | str:
        """Run to the end; a failure comes back as its message, so the others go on."""
        try:
            guards = dict(self.options.guards)
            agents = agents_for(self.scenario, self.chat, explain=self.options.explain,
                                guards=guards)
            meta = self.meta if self.chat is None else {
                **self.meta, "parties": llm_parties(self.scenario, self.chat, guards)}
            result = run_scenario(self.scenario, agents, self.out, meta,
                                  self.options.invocation(self.scenario.path, meta),
                                  checkpoint=self.options.checkpoint,
                                  hooks=Hooks(observe=self.progress,
                                              faults=self.options.faults),
                                  keys=self.options.key_folder)
        except Exception as error:  # one run's failure, reported with the others' results
            message = str(error) if isinstance(error, UserError) \
                else f"{type(error).__name__}: {error}"
            self.progress.end(f"failed: {message}")
            return message
        self.progress.end(result.outcome.terminal)
        return result


async def _gather(jobs: list[_Job], concurrency: int) -> list[RunResult | str]:
    limit = asyncio.Semaphore(concurrency)

    async def one(job: _Job) -> RunResult | str:
        async with limit:
            return await asyncio.to_thread(job)

    try:
        return list(await asyncio.gather(*(one(job) for job in jobs)))
    except asyncio.CancelledError:  # Ctrl-C: each running run stops at its next step
        for job in jobs:
            job.progress.stop.set()
        raise
