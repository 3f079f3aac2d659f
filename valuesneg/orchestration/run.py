"""Running a scenario end to end: agents, the graph, and the files a run leaves behind.

Crash safety rests on one rule: ``lineage.jsonl`` is the record of the negotiation, and
everything else defers to it. The order of writes for one turn is:

1. the party's record is decided and checkpointed (graph state, before it is applied);
2. the core applies it and its entries are appended to the lineage and fsynced;
   (the model calls behind it are appended to calls.jsonl just before);
3. the turn is appended to turns.jsonl; the next party is asked, and the checkpoint of its
   decision also says that this turn is over.

A resumed run rebuilds the core by replaying the lineage (``verify_lines``), drops a torn
last line and any entries of an input whose consequences were cut off, then lets the graph
continue from its checkpoint: a record checkpointed but not in the lineage is applied
without asking its agent again, and a step whose entries the lineage already holds is
skipped (see ``valuesneg.orchestration.driver``). The checkpoint is written without fsyncs
(``sqlite_saver``): it must survive a killed process, which it does; after a power loss it
may lag the lineage, or be damaged and set aside, and the lineage alone carries the run on.
The traces are non-binding: deduplicated by seq on resume, and a line lost to a crash
between steps 2 and 3 is only a trace line.

The checkpoints go to ``checkpoint.sqlite`` in the run folder, or to PostgreSQL when a URL
is given; run.json names the run's checkpoint thread, so many runs can share one database.
A human party's turn pauses the graph in its checkpoint (see ``orchestration.graph``), so a
run left waiting for an answer resumes at that very prompt.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, closing, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver

from valuesneg.agents.base import Agent
from valuesneg.core import CORE, Entry, Ledger, LineageError, Outcome, Verified, verify_lines
from valuesneg.core.lineage import Sign, head_bytes
from valuesneg.io.faults import Faults, no_faults
from valuesneg.io.files import LineageWriter, UserError, read_input, read_json, write_atomic
from valuesneg.io.inputs import LINEAGE_BYTES
from valuesneg.orchestration.driver import Driver, Turn
from valuesneg.orchestration.graph import THREAD, Observer, drive
from valuesneg.orchestration.humans import Answerer
from valuesneg.report import render_report
from valuesneg.scenario import Scenario
from valuesneg.signing import KEYS, RunKeys, check_signatures, run_keys, saved_keys

LINEAGE = "lineage.jsonl"
OUTCOME = "outcome.json"
REPORT = "report.html"
TURNS = "turns.jsonl"  # non-binding trace: attempts, refusals, latency; never read by the core
CALLS = "calls.jsonl"  # non-binding trace of every model call: prompt version, tokens, reply
CHECKPOINT = "checkpoint.sqlite"
INVOCATION = "run.json"  # how the run was started, so `valuesneg resume` can start it again


@dataclass(frozen=True)
class RunResult:
    """A finished run: the folder it wrote (``out``), the hash-chained ``ledger`` and the
    ``turns`` it took; ``outcome`` is the core's terminal outcome."""

    out: Path
    ledger: Ledger
    turns: tuple[Turn, ...]

    @property
    def outcome(self) -> Outcome:
        outcome = self.ledger.negotiation.outcome
        assert outcome is not None
        return outcome


@dataclass(frozen=True)
class Hooks:
    """Who answers for human parties, who watches the run go by (both optional), and the
    crash test's hook (``valuesneg.io.faults``; None in every real run)."""

    answer: Answerer | None = None
    observe: Observer | None = None
    faults: Faults | None = None


def run_scenario(scenario: Scenario, agents: Mapping[str, Agent], out: Path,
                 meta: Mapping[str, Any] | None = None,
                 invocation: Mapping[str, Any] | None = None, *,
                 checkpoint: str | None = None, hooks: Hooks = Hooks(),
                 keys: Path | None = None) -> RunResult:
    """Run to a terminal outcome; the lineage is written entry by entry as the core appends.

    ``checkpoint`` is a PostgreSQL URL to keep the checkpoints in (shared by many runs, each
    on its own thread); without one they go to ``checkpoint.sqlite`` in ``out``. ``keys`` is
    a folder of Ed25519 private keys to sign with (``ID.pem``; see ``valuesneg.signing``).
    """
    out.mkdir(parents=True, exist_ok=True)
    lineage = out / LINEAGE
    if lineage.exists():
        raise UserError(f"{lineage}: already exists; choose another --out or remove it")
    for stale in (CHECKPOINT, TURNS, CALLS):  # left by a run whose lineage was removed
        (out / stale).unlink(missing_ok=True)
    how = {**(invocation or {}), "thread": uuid.uuid4().hex,
           "checkpoint": None if checkpoint is None else redacted(checkpoint)}
    signing = run_keys(scenario.terms, scenario.spec.signing_keys, keys)
    signing.save(out / KEYS)  # before the genesis: resume signs on with these
    write_atomic(out / INVOCATION, json.dumps(how, indent=2, sort_keys=True) + "\n")
    return _drive(scenario, agents, out, meta or {}, resume_from=None,
                  where=Checkpoint(checkpoint, how["thread"]), hooks=hooks, signing=signing)


def load_invocation(out: Path) -> dict[str, Any]:
    """A run folder's run.json: how the run was started, so that it can be resumed the same
    way."""
    if not (out / INVOCATION).exists():
        raise UserError(f"{out}: not a run directory (no {INVOCATION}); nothing to resume")
    invocation = read_json(out / INVOCATION)
    if not isinstance(invocation, dict) or "scenario" not in invocation:
        raise UserError(f"{out / INVOCATION}: does not say which scenario was run")
    return invocation


def resume_scenario(scenario: Scenario, agents: Mapping[str, Agent], out: Path,
                    meta: Mapping[str, Any] | None = None, *,
                    checkpoint: str | None = None, hooks: Hooks = Hooks()) -> RunResult:
    """Continue an interrupted run from its lineage and checkpoint. ``checkpoint`` overrides
    the PostgreSQL URL run.json names (which is kept without its password)."""
    how = load_invocation(out)
    ledger = recover_lineage(out / LINEAGE)
    if ledger is not None and ledger.negotiation.terms.hashes() != scenario.terms.hashes():
        raise UserError(f"{out / LINEAGE}: was started under other terms than "
                        f"{scenario.path} holds now; cannot resume")
    where = Checkpoint(checkpoint or how.get("checkpoint"), how.get("thread") or THREAD)
    return _drive(scenario, agents, out, meta or {}, resume_from=ledger, where=where,
                  hooks=hooks)


@dataclass(frozen=True)
class Checkpoint:
    """Where a run's checkpoints live: a PostgreSQL URL (None: checkpoint.sqlite in the run
    folder) and the run's thread."""

    url: str | None  # PostgreSQL; None: checkpoint.sqlite in the run directory
    thread: str


def _drive(scenario: Scenario, agents: Mapping[str, Agent], out: Path,
           meta: Mapping[str, Any], resume_from: Ledger | None, where: Checkpoint,
           hooks: Hooks, signing: RunKeys | None = None) -> RunResult:
    with ExitStack() as stack:
        # The checkpointer first: a server that cannot be reached fails the run before the
        # lineage has its genesis entry, so the same --out can simply be used again.
        saver = stack.enter_context(checkpointer(where.url, out / CHECKPOINT))
        writer = stack.enter_context(LineageWriter(out / LINEAGE, hooks.faults))
        turns = stack.enter_context(TurnLog(out / TURNS))
        calls = CallLog(out / CALLS, agents)

        def log_entries(entries: tuple[Entry, ...]) -> None:
            calls.flush()  # the calls behind a record reach the trace before the record
            writer.write(entries)

        driver = Driver.of(scenario, agents, on_entries=log_entries, on_turn=turns.write,
                           resume_from=resume_from, signing=signing)
        drive(driver, saver, thread=where.thread, answer=hooks.answer, observe=hooks.observe,
              faults=hooks.faults or no_faults)
    result = RunResult(out, driver.ledger, tuple(turns.turns))
    write_outputs(scenario, result, meta)
    return result


@contextmanager
def sqlite_saver(path: Path) -> Iterator[SqliteSaver]:
    """A SQLite checkpoint saver in WAL mode that never waits for an fsync
    (``synchronous=OFF``): what it writes is in the kernel's hands when a call returns, so
    every checkpoint survives a SIGKILL, which is the promise runs make. Only a power loss or
    a kernel crash could leave the file stale or damaged; the lineage, which is fsynced, is
    the durable record, and ``resume`` sets a damaged file aside and rebuilds the run from
    the lineage. The fsyncs of the schema, of each commit and of the close were most of the
    SQLite cost of a run (benchmarks/README.md)."""
    set_aside_if_damaged(path)
    with SqliteSaver.from_conn_string(str(path)) as saver:
        # Before the schema is made, so that making it waits for no fsync either.
        saver.conn.executescript("PRAGMA synchronous=OFF; PRAGMA journal_mode=WAL")
        saver.setup()
        yield saver


def set_aside_if_damaged(path: Path) -> Path | None:
    """Move a checkpoint file that SQLite finds damaged (after a power loss) out of the way,
    to ``NAME.damaged``, and say so on stderr; the run then continues from its lineage alone,
    so the only loss is what the lineage does not hold: a decision not yet applied (its
    agent is asked again) and what the agents learnt. Returns where it went, if it moved."""
    if not path.exists():
        return None
    try:
        with closing(sqlite3.connect(path)) as conn:
            sound = conn.execute("PRAGMA quick_check").fetchone() == ("ok",)
    except sqlite3.DatabaseError:
        sound = False
    if sound:
        return None
    aside = path.with_name(path.name + ".damaged")
    path.replace(aside)
    for part in ("-wal", "-shm"):  # the damaged file's log, of no use to a new one
        path.with_name(path.name + part).unlink(missing_ok=True)
    print(f"valuesneg: {path}: damaged (moved to {aside.name}); the run goes on from its "
          "lineage, and a decision not yet in it is asked again", file=sys.stderr)
    return aside


@contextmanager
def checkpointer(url: str | None, path: Path) -> Iterator[BaseCheckpointSaver[Any]]:
    """The checkpoint saver for a run: SQLite at ``path``, or PostgreSQL at ``url``, with a
    clear error when it cannot be reached."""
    if url is None:
        with sqlite_saver(path) as saver:
            yield saver
        return
    try:
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg import Error
    except ImportError:
        raise UserError(f"checkpoint {redacted(url)}: PostgreSQL checkpoints need the postgres "
                        "extra: pip install 'valuesneg[postgres]'") from None

    try:
        with PostgresSaver.from_conn_string(url) as saver:
            saver.setup()  # creates or migrates its tables; safe to repeat
            yield saver
    except Error as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
        raise UserError(f"checkpoint {redacted(url)}: {reason}") from None


def redacted(url: str) -> str:
    """The URL without its password, fit for run.json and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}@{host}"))


# -- rebuilding the core from the lineage ------------------------------------------------------

def recover_lineage(path: Path) -> Ledger | None:
    """The ledger the lineage file holds, after dropping what a crash may have cut short;
    None when not even the genesis entry was written."""
    if not path.exists():
        return None
    text = read_input(path, LINEAGE_BYTES)
    lines = text.split("\n")[:-1]  # the last piece is "" or a line torn before its newline
    whole = _whole_inputs(path, lines)
    if whole != lines or (text and not text.endswith("\n")):
        write_atomic(path, "".join(line + "\n" for line in whole))
    if not whole:
        return None
    verified = verify_lines(whole, require_outcome=False)
    return Ledger.resumed(verified, _resume_signer(path, verified))


def _resume_signer(path: Path, verified: Verified) -> Sign | None:
    """A signed lineage goes on with the keys its run left in ``keys/``, once every
    signature so far verifies under its genesis keys."""
    if verified.keys is None:
        return None
    try:
        check_signatures(verified)
    except LineageError as error:
        raise UserError(f"{path}: line {error.line}: {error.reason}; cannot resume") from None
    return saved_keys(path.parent / KEYS, verified.keys).sign


def _whole_inputs(path: Path, lines: list[str]) -> list[str]:
    """Drop the entries of a last input whose consequences the crash cut off (the core
    appends them again when the input is applied again); anything else wrong is an error."""
    while lines:
        try:
            verify_lines(lines, require_outcome=False)
            return lines
        except LineageError as error:
            if error.code != "truncated" or error.line <= len(lines):
                raise UserError(f"{path}: line {error.line}: {error.reason}; "
                                "cannot resume") from None
            lines = lines[:-1]
    return lines


# -- traces ------------------------------------------------------------------------------------

class TurnLog:
    """turns.jsonl, appended as turns end; a turn already there (seq) is not written twice."""

    def __init__(self, path: Path) -> None:
        lines = path.read_text(encoding="utf-8").split("\n")[:-1] if path.exists() else []
        self.turns = [_turn(json.loads(line)) for line in lines]
        write_atomic(path, "".join(line + "\n" for line in lines))  # drops a torn last line
        self._handle = path.open("a", encoding="utf-8")

    def write(self, turn: Turn) -> None:
        if any(t.seq == turn.seq for t in self.turns):
            return
        self.turns.append(turn)
        self._handle.write(json.dumps(asdict(turn)) + "\n")
        self._handle.flush()

    def __enter__(self) -> TurnLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()


def _turn(raw: dict[str, Any]) -> Turn:
    return Turn(**{**raw, "refusals": tuple(raw["refusals"])})


class CallLog:
    """calls.jsonl: each model call of every agent (wrapped or not), appended as records are."""

    def __init__(self, path: Path, agents: Mapping[str, Agent]) -> None:
        self.path = path
        # Each LLM agent appends its calls to one list for its lifetime.
        self._traces: list[list[Any]] = [
            calls for agent in agents.values() for layer in _layers(agent)
            if isinstance(calls := getattr(layer, "calls", None), list)]
        self._written = [0] * len(self._traces)

    def flush(self) -> None:
        lines = []
        for index, calls in enumerate(self._traces):
            lines += [json.dumps(asdict(call)) + "\n" for call in calls[self._written[index]:]]
            self._written[index] = len(calls)
        if lines:
            with self.path.open("a", encoding="utf-8") as handle:
                handle.writelines(lines)


def _layers(agent: object) -> Iterator[object]:
    while agent is not None:
        yield agent
        agent = getattr(agent, "inner", None)


# -- outputs -----------------------------------------------------------------------------------

def _read_calls(path: Path) -> list[dict[str, Any]]:
    """calls.jsonl's whole lines (a trace: a torn last line is only a lost trace line)."""
    if not path.exists():
        return []
    calls = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            calls.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return calls


def write_outputs(scenario: Scenario, result: RunResult, meta: Mapping[str, Any]) -> None:
    """outcome.json (with the lineage head, signed when the run signs) and report.html, both
    written atomically after the lineage is complete."""
    outcome = result.outcome
    summary = {
        "scenario": scenario.spec.scenario,
        "negotiation": scenario.terms.negotiation,
        "terminal": outcome.terminal,
        "allocation": outcome.allocation,
        "satisfied": list(outcome.satisfied),
        "sacrificed": [s.model_dump() for s in outcome.sacrificed],
        "justification": outcome.justification.model_dump(mode="json"),
        "lineage_head": result.ledger.head,
        "lineage_entries": len(result.ledger.entries),
        **meta,
    }
    ledger = result.ledger
    if ledger.sign is not None:  # the run's key vouches for where the lineage ends
        summary["lineage_signature"] = ledger.sign(CORE, head_bytes(ledger.head,
                                                                    len(ledger.entries)))
    write_atomic(result.out / OUTCOME, json.dumps(summary, indent=2, sort_keys=True) + "\n")
    html = render_report(scenario, result.ledger.records, result.turns,
                         _read_calls(result.out / CALLS), meta.get("parties"))
    write_atomic(result.out / REPORT, html)
