"""Runs the server drives: each on a thread of its own, human turns answered from the web.

A ``WebAnswerer`` is the ``Answerer`` of ``valuesneg.orchestration.humans`` for a browser:
the run's thread hands it the prompt ``HumanAgent`` raised and waits; a request from that
party's page hands back the answer, which goes to the graph untouched, exactly as a line of
``--answers json`` does, so the core judges it and a refused answer is asked again with its
typed error. Each prompt gets a fresh ``turn`` id: an answer to any other turn is stale.

A run's folder holds ``serve.json`` (the hashes of its parties' tokens, never the tokens).
When the server starts again, every unfinished run with one resumes from its checkpoint
(``resume_scenario``), paused at the very prompt it was waiting at.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from valuesneg.agents.factory import human_parties
from valuesneg.io.files import UserError, read_json, write_atomic
from valuesneg.orchestration.humans import NoAnswer
from valuesneg.orchestration.launch import Options, free_dir
from valuesneg.orchestration.progress import PAUSED, Step
from valuesneg.orchestration.run import (
    OUTCOME,
    Hooks,
    load_invocation,
    resume_scenario,
    run_scenario,
)
from valuesneg.scenario import Scenario, load_scenario

SERVE = "serve.json"  # in a run folder: the run is the server's, with its parties' token hashes


class Refused(Exception):
    """A request the server turns down, with its HTTP status; nothing has changed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def digest(token: str) -> str:
    """What ``serve.json`` keeps of a token: its SHA-256, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()


class Broadcast:
    """Wakes every page listening to a run (server-sent events) when the run changes."""

    def __init__(self) -> None:
        self.version = 0
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def notify(self) -> None:
        with self._lock:
            self.version += 1
            waiters = list(self._waiters)
        for loop, event in waiters:
            loop.call_soon_threadsafe(event.set)

    async def changed(self, seen: int, timeout: float) -> int:
        """The version once it is past ``seen``, or as it is after ``timeout`` seconds."""
        event = asyncio.Event()
        entry = (asyncio.get_running_loop(), event)
        with self._lock:
            if self.version != seen:
                return self.version
            self._waiters.add(entry)
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            with self._lock:
                self._waiters.discard(entry)
        return self.version


@dataclass
class WebAnswerer:
    """Answers human prompts with what a party's page sends (one prompt at a time per run)."""

    changes: Broadcast
    prompt: dict[str, Any] | None = None
    turn: str | None = None
    _answer: list[Any] = field(default_factory=list)
    _stop: bool = False
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def __call__(self, prompt: dict[str, Any]) -> Any:
        with self._cond:
            self.prompt, self.turn, self._answer = prompt, secrets.token_hex(8), []
        self.changes.notify()
        with self._cond:
            self._cond.wait_for(lambda: bool(self._answer) or self._stop)
            if not self._answer:
                raise NoAnswer(f"the server stopped while {prompt['party']} was choosing")
            return self._answer[0]

    def submit(self, party: str, turn: object, answer: Any) -> None:
        with self._cond:
            if self.prompt is None or self.prompt["party"] != party:
                raise Refused(409, f"it is not {party}'s turn now; the page shows the "
                                   "current state")
            if turn != self.turn:
                raise Refused(409, "this answer is for a turn that is over (stale page); "
                                   "the page shows the current turn")
            self._answer, self.prompt, self.turn = [answer], None, None
            self._cond.notify_all()
        self.changes.notify()

    def pending(self, party: str) -> tuple[dict[str, Any], str] | None:
        with self._cond:
            if self.prompt is None or self.prompt["party"] != party or self.turn is None:
                return None
            return self.prompt, self.turn

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()


@dataclass
class LineageTail:
    """What a page has shown of a lineage being written: the bytes read so far and one line per
    record in them, so each refresh reads only what was appended since the last one."""

    offset: int = 0
    lines: list[str] = field(default_factory=list)


@dataclass
class LiveRun:
    """One negotiation the server drives, from its folder."""

    folder: Path
    scenario: Scenario
    humans: tuple[str, ...]
    tokens: dict[str, str]  # party -> sha256 of its token
    changes: Broadcast = field(default_factory=Broadcast)
    status: str = "starting"
    round: str = "-"
    finished: bool = False
    error: str | None = None
    tail: LineageTail = field(default_factory=LineageTail)
    answerer: WebAnswerer = field(init=False)

    def __post_init__(self) -> None:
        self.answerer = WebAnswerer(self.changes)

    @property
    def name(self) -> str:
        return self.folder.name

    def party_of(self, party: str, token: str) -> str:
        """``party`` if ``token`` is its token; a 403 otherwise (the same for any party)."""
        expected = self.tokens.get(party)
        if expected is None or not hmac.compare_digest(expected, digest(token)):
            raise Refused(403, "this link's token does not give access to that party")
        return party

    def observe(self, step: Step) -> None:
        self.round = f"{step.round}/{step.round_cap}"
        if step.node == PAUSED:
            self.status = f"waiting for {step.party}"
        elif step.party is not None:
            self.status = f"{step.party} to move"
        self.changes.notify()

    def start(self, options: Options, resume: bool) -> None:
        threading.Thread(target=self._work, args=(options, resume), daemon=True,
                         name=f"run {self.name}").start()

    def _work(self, options: Options, resume: bool) -> None:
        hooks = Hooks(answer=self.answerer, observe=self.observe)
        try:
            with options.agents(self.scenario, self.folder) as (agents, meta):
                if resume:
                    result = resume_scenario(self.scenario, agents, self.folder, meta,
                                             hooks=hooks)
                else:
                    how = options.invocation(self.scenario.path, meta)
                    result = run_scenario(self.scenario, agents, self.folder, meta, how,
                                          hooks=hooks)
            self.status, self.finished = f"finished: {result.outcome.terminal}", True
        except NoAnswer:
            self.status = "stopped with the server; it resumes when the server starts again"
        except UserError as error:
            self.status, self.error = "failed", str(error)
        except Exception as error:  # a bug: shown on the run's page, the server goes on
            self.status, self.error = "failed", f"internal error: {type(error).__name__}: {error}"
        self.changes.notify()


class Runs:
    """The server's runs folder and the runs it drives."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.live: dict[str, LiveRun] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> LiveRun:
        run = self.live.get(name)
        if run is None:
            raise Refused(404, f"no run {name!r} is driven by this server")
        return run

    def start(self, scenario_path: Path, humans: Collection[str], backend: str,
              model: str | None = None) -> tuple[LiveRun, dict[str, str]]:
        """A new run; returns it and each human party's token (shown once, stored hashed)."""
        scenario = load_scenario(scenario_path)
        people = human_parties(scenario, humans)
        if not people:
            raise UserError("choose at least one party for a person to play")
        options = Options(backend=backend, model=model, humans=tuple(people))
        tokens = {p: secrets.token_urlsafe(24) for p in people}
        with self._lock:
            taken = [self.root / n for n in self.live]
            folder = free_dir(self.root / scenario.spec.scenario, taken)
            folder.mkdir(parents=True, exist_ok=True)
            write_atomic(folder / SERVE, json.dumps(
                {"tokens": {p: digest(t) for p, t in tokens.items()}}, indent=2) + "\n")
            run = LiveRun(folder, scenario, tuple(people), {p: digest(t) for p, t in
                                                            tokens.items()})
            self.live[run.name] = run
        run.start(options, resume=False)
        return run, tokens

    def resume_all(self) -> list[str]:
        """Pick up every unfinished run of this server's (after a restart); their names."""
        resumed = []
        for folder in sorted(p for p in self.root.glob("*/") if (p / SERVE).exists()):
            served = read_json(folder / SERVE)
            tokens = served.get("tokens", {}) if isinstance(served, dict) else {}
            try:
                how = load_invocation(folder)
                scenario = load_scenario(how["scenario"])
            except UserError as error:
                print(f"valuesneg serve: {folder.name}: cannot resume: {error}", flush=True)
                continue
            options = Options.started(how, Options())
            run = LiveRun(folder, scenario, options.humans, dict(tokens))
            self.live[run.name] = run
            if (folder / OUTCOME).exists():
                run.status, run.finished = "finished", True
                continue
            run.status = "resuming from its checkpoint"
            run.start(options, resume=True)
            resumed.append(run.name)
        return resumed

    def stop(self) -> None:
        for run in self.live.values():
            run.answerer.stop()
