"""The notebook face of valuesneg: run, resume and verify a negotiation from Python.

Each function is a thin layer over what `valuesneg run`, `resume` and `verify` do, so a
run started here leaves the same folder (lineage, outcome, report, checkpoint, run.json)
and can be resumed or verified from either side. Orchestration (LangGraph, the model
servers) is imported when a function is called, never by ``import valuesneg``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from valuesneg.core import Verified
from valuesneg.io.files import UserError
from valuesneg.scenario import Scenario, load_scenario

if TYPE_CHECKING:
    from valuesneg.agents.base import Agent
    from valuesneg.agents.models import ChatModel
    from valuesneg.orchestration.launch import Options
    from valuesneg.orchestration.run import RunResult

__all__ = ["resume", "run", "verify"]


def run(scenario: Scenario | str | Path, backend: str = "scripted",
        out: str | Path | None = None, *, agents: Mapping[str, Agent] | None = None,
        chat_model: ChatModel | None = None, model: str | None = None,
        base_url: str | None = None, seed: int = 0, keys: str | Path | None = None
        ) -> RunResult:
    """Run one negotiation to its terminal outcome and write its run folder.

    ``scenario`` is a loaded [`Scenario`][valuesneg.scenario.Scenario] or the path of a
    scenario file. The parties' agents are built as `valuesneg run --backend BACKEND`
    builds them (``scripted``, ``local`` for the embedded model, ``openai`` with ``model``
    and ``base_url``); ``chat_model`` instead makes every LLM party speak through that
    [`ChatModel`][valuesneg.agents.models.ChatModel] (for example a test model of
    `valuesneg.agents.testing`), and ``agents`` replaces the agents of the parties it
    names with your own. ``out`` is the run folder; by default ``runs/SCENARIO`` under
    the current directory, or the first free ``runs/SCENARIO-N`` (a run is never written
    over). ``keys`` is a folder of Ed25519 private keys to sign with (``ID.pem``).

    Returns the run's result: ``.outcome`` (the core's `Outcome`), ``.ledger`` (the
    hash-chained negotiation) and ``.out`` (the folder written).
    """
    from valuesneg.orchestration.launch import Options, free_dir
    from valuesneg.orchestration.run import run_scenario

    loaded = _loaded(scenario)
    folder = free_dir(Path("runs") / loaded.spec.scenario) if out is None else Path(out)
    options = Options(backend=backend, model=model, base_url=base_url, seed=seed,
                      keys=None if keys is None else str(keys))
    with _agents(loaded, folder, options, agents, chat_model) as (built, meta):
        how = options.invocation(loaded.path, meta)
        if agents or chat_model is not None:  # so that resume asks for them again
            how["python"] = {"agents": sorted(agents or {}), "chat_model": chat_model is not None}
        return run_scenario(loaded, built, folder, meta, how, keys=options.key_folder)


def resume(out: str | Path, *, agents: Mapping[str, Agent] | None = None,
           chat_model: ChatModel | None = None) -> RunResult:
    """Continue an interrupted run from its folder, as `valuesneg resume OUT` does.

    The agents are built again from the folder's run.json (the scenario, backend, model and
    seed it was started with); a run started with your own ``agents`` or ``chat_model``
    needs them passed again, since run.json cannot hold Python objects.
    """
    from valuesneg.orchestration.launch import Options, python_objects
    from valuesneg.orchestration.run import load_invocation, resume_scenario

    folder = Path(out)
    how = load_invocation(folder)
    given = how.get("python") or {}
    lacking = sorted(set(given.get("agents", ())) - set(agents or {}))
    if lacking or (given.get("chat_model") and chat_model is None):
        raise UserError(f"{folder}: was started with {python_objects(how)}; pass "
                        f"{'agents for ' + ', '.join(lacking) if lacking else 'the chat model'}"
                        " again")
    scenario = load_scenario(how["scenario"])
    options = Options.started(how, Options())
    with _agents(scenario, folder, options, agents, chat_model) as (built, meta):
        return resume_scenario(scenario, built, folder, meta)


def verify(path: str | Path, *, partial: bool = False, unsigned: bool = False,
           trust: str | Path | None = None, head: str | None = None) -> Verified:
    """Replay a lineage through the core and check it, as `valuesneg verify` does.

    ``path`` is a lineage.jsonl or a run folder. Checks the hash chain and every record
    against the protocol, the signatures (an unsigned lineage only with ``unsigned``), the
    attestations, the run's outcome.json when there is one, and, with ``trust`` (a scenario
    file), that the genesis holds that scenario's terms and keys. ``partial`` accepts a
    lineage without an outcome yet; ``head`` is the hash the lineage must end at.

    Returns the [`Verified`][valuesneg.core.lineage.Verified] lineage (its ``outcome``,
    ``records``, ``head`` and ``negotiation``); raises `LineageError` naming the first
    line that fails.
    """
    from valuesneg.verification import verify_run

    return verify_run(path, partial=partial, unsigned=unsigned,
                      trust=None if trust is None else str(trust), head=head)


def _loaded(scenario: Scenario | str | Path) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


@contextmanager
def _agents(scenario: Scenario, out: Path, options: Options,
            agents: Mapping[str, Agent] | None, chat_model: ChatModel | None
            ) -> Iterator[tuple[dict[str, Agent], dict[str, Any]]]:
    """The run's agents as the options build them (or speaking through ``chat_model``),
    the parties ``agents`` names played by the agents given, and how they were made."""
    from valuesneg.agents.factory import PROMPTS, agents_for
    from valuesneg.agents.prompts import load_prompt

    unknown = sorted(set(agents or {}) - set(scenario.terms.party_ids))
    if unknown:
        raise UserError(f"agents[{unknown[0]!r}]: not a party of {scenario.path} (parties: "
                        f"{', '.join(scenario.terms.party_ids)})")
    if chat_model is None:
        with options.agents(scenario, out) as (built, meta):
            yield {**built, **(agents or {})}, meta
        return
    built = agents_for(scenario, chat_model, explain=options.explain)
    yield {**built, **(agents or {})}, {"backend": "python", "model": type(chat_model).__name__,
                                        "prompts": [load_prompt(p).tag for p in PROMPTS]}
