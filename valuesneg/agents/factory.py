"""Building the agents of a scenario for a backend, and owning whatever they need running."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from valuesneg.io.files import UserError
from valuesneg.scenario import Scenario

from .base import Agent
from .human import HumanAgent
from .llm import LLMAgent, card_texts, describe_terminal_rules
from .menu import GUARDS, Guard
from .models import ChatModel
from .pool import ModelPool
from .prompts import load_prompt
from .strategies import strategy_agent
from .wrappers import Deliberating, DependencyAware

PROMPTS = ("negotiator.choose", "negotiator.propose", "negotiator.respond")


def scripted_agents(scenario: Scenario, humans: Collection[str] = ()) -> dict[str, Agent]:
    """Every party but ``humans`` played by its scripted strategy, with the behaviour the
    scenario gives it (asking for time, knowing of waits)."""
    return with_dependencies(scenario, _scripted(scenario, humans))


def _scripted(scenario: Scenario, humans: Collection[str] = ()) -> dict[str, Agent]:
    agents: dict[str, Agent] = {}
    for party in scenario.terms.party_ids:
        if party in humans:
            continue
        try:
            agents[party] = strategy_agent(party, scenario.agent_spec(party).strategy)
        except UserError as error:
            raise UserError(f"{scenario.path}: party {party!r}: {error}") from None
    return agents


def human_parties(scenario: Scenario, named: Collection[str] = ()) -> tuple[str, ...]:
    """The parties a person plays: those the scenario marks ``backend: human``, and ``named``
    (``--human PARTY``)."""
    unknown = sorted(set(named) - set(scenario.terms.party_ids))
    if unknown:
        raise UserError(f"--human {unknown[0]}: not a party of {scenario.path} (parties: "
                        f"{', '.join(scenario.terms.party_ids)})")
    return tuple(p for p in scenario.terms.party_ids
                 if p in named or scenario.agent_spec(p).backend == "human")


def with_dependencies(scenario: Scenario, agents: dict[str, Agent]) -> dict[str, Agent]:
    """Behaviour the scenario gives a party whatever drives it: knowing of waits elsewhere,
    asking for time before the first answer."""
    for party, agent in agents.items():
        spec = scenario.party_spec(party)
        if spec.agent.deliberates:
            agent = Deliberating(agent)
        if spec.depends_on or spec.knows:
            agent = DependencyAware(agent, spec.depends_on, spec.knows)
        agents[party] = agent
    return agents


def llm_agents(scenario: Scenario, model: ChatModel | ModelPool, explain: bool = False,
               humans: Collection[str] = (), guards: Mapping[str, str] | None = None
               ) -> dict[str, Agent]:
    """Parties the scenario marks as LLM-driven speak through ``model`` (or, from a pool,
    each through its own); others stay scripted. ``guards`` overrides a party's guard
    (key ``*``: every LLM party)."""
    agents = _scripted(scenario, humans)
    texts = card_texts(scenario.graph)
    rules = describe_terminal_rules(scenario.terms.policy.terminal)
    for party in agents:
        spec = scenario.agent_spec(party)
        if spec.backend == "llm":
            chat = model.chat(model.setting(scenario, party)) \
                if isinstance(model, ModelPool) else model
            agents[party] = LLMAgent(name=party, model=chat, cards=texts,
                                     terminal_rules=rules,
                                     schema_reasks=spec.schema_reasks,
                                     explain=explain, strategy=spec.strategy,
                                     guard=guard_of(scenario, party, guards))
    return with_dependencies(scenario, agents)


def guard_of(scenario: Scenario, party: str, guards: Mapping[str, str] | None) -> Guard:
    """The guard a party plays under: ``--guard PARTY=G``, then ``--guard G``, then the
    scenario's ``agent.guard``."""
    chosen = (guards or {}).get(party) or (guards or {}).get("*")
    if chosen is None:
        return scenario.agent_spec(party).guard
    if chosen not in GUARDS:
        raise UserError(f"--guard {chosen!r}: unknown (choose from {', '.join(GUARDS)})")
    return chosen


def party_overrides(values: Collection[str], flag: str) -> dict[str, str]:
    """``PARTY=VALUE`` pairs of a repeated CLI flag; a bare ``VALUE`` applies to every party
    (key ``*``)."""
    out: dict[str, str] = {}
    for raw in values:
        party, sep, value = raw.partition("=")
        if not sep:
            party, value = "*", raw
        if not value:
            raise UserError(f"{flag} {raw!r}: expected PARTY=VALUE or VALUE")
        out[party] = value
    return out


def agents_for(scenario: Scenario, model: ChatModel | ModelPool | None, *,
               explain: bool = False, humans: Collection[str] = (),
               guards: Mapping[str, str] | None = None) -> dict[str, Agent]:
    """Every party's agent: people for ``humans``, the rest scripted when there is no model.

    A person decides for themselves, so the behaviour a scenario scripts for a party (asking
    for time, refusing on a known cycle) is not imposed on a human party.
    """
    agents = scripted_agents(scenario, humans) if model is None \
        else llm_agents(scenario, model, explain, humans, guards)
    texts = card_texts(scenario.graph)
    people = {p: HumanAgent(name=p, cards=texts) for p in humans}
    return {p: people[p] if p in people else agents[p] for p in scenario.terms.party_ids}


def llm_parties(scenario: Scenario, pool: ModelPool, guards: Mapping[str, str] | None,
                humans: Collection[str] = ()) -> dict[str, dict[str, Any]]:
    """Per LLM party: the model it spoke through and its guard (for run.json, outcome.json
    and the report)."""
    out = {}
    for party in scenario.terms.party_ids:
        if party in humans or scenario.agent_spec(party).backend != "llm":
            continue
        setting = pool.setting(scenario, party)
        out[party] = {**setting.describe(pool.served(setting)),
                      "guard": guard_of(scenario, party, guards)}
    return out


@contextmanager
def chat_backend(backend: str, *, model: str | None = None, base_url: str | None = None,
                 seed: int = 0, log_dir: Path | None = None,
                 overrides: Mapping[str, str] | None = None
                 ) -> Iterator[tuple[ModelPool | None, dict[str, Any]]]:
    """The models the LLM parties of one or many runs speak through (None when scripted),
    and a description of them; servers start on first use and stop on exit."""
    meta: dict[str, Any] = {"backend": backend, "seed": seed,
                            "prompts": [load_prompt(p).tag for p in PROMPTS]}
    if backend == "scripted":
        yield None, meta
        return
    with ModelPool(backend, model=model, base_url=base_url, seed=seed, log_dir=log_dir,
                   overrides=overrides) as pool:
        default = pool.default_setting()
        yield pool, {**meta, "model": pool.served(default) if default.local else default.model}


@contextmanager
def build_agents(scenario: Scenario, backend: str, *, model: str | None = None,
                 base_url: str | None = None, seed: int = 0, out: Path | None = None,
                 explain: bool = False, humans: Collection[str] = (),
                 models: Mapping[str, str] | None = None,
                 guards: Mapping[str, str] | None = None
                 ) -> Iterator[tuple[dict[str, Agent], dict[str, Any]]]:
    """Yield the agents and a description of how they were made; stop any server on exit."""
    people = human_parties(scenario, humans)
    named = set(models or {}) | set(guards or {})
    unknown = sorted(named - {"*"} - set(scenario.terms.party_ids))
    if unknown:
        raise UserError(f"--model/--guard {unknown[0]}=...: not a party of {scenario.path} "
                        f"(parties: {', '.join(scenario.terms.party_ids)})")
    log_dir = out / "server-logs" if out else None
    with chat_backend(backend, model=model, base_url=base_url, seed=seed,
                      log_dir=log_dir, overrides=models) as (pool, meta):
        agents = agents_for(scenario, pool, explain=explain, humans=people, guards=guards)
        if pool is not None:
            meta = {**meta, "parties": llm_parties(scenario, pool, guards, people)}
        yield agents, {**meta, "humans": list(people)} if people else meta
