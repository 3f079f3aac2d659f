"""Building the agents of a scenario for a backend, and owning whatever they need running."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from valuesneg.io.files import UserError
from valuesneg.scenario import Scenario

from .base import Agent
from .human import HumanAgent
from .llm import LLMAgent, card_texts, describe_terminal_rules
from .local_server import LocalModelServer, local_chat_model
from .models import ChatModel, ModelError
from .openai_model import OpenAIChatModel
from .prompts import load_prompt
from .scripted import STRATEGIES, make_scripted
from .wrappers import Deliberating, DependencyAware

PROMPTS = ("negotiator.propose", "negotiator.respond")


def scripted_agents(scenario: Scenario, humans: Collection[str] = ()) -> dict[str, Agent]:
    return with_dependencies(scenario, _scripted(scenario, humans))


def _scripted(scenario: Scenario, humans: Collection[str] = ()) -> dict[str, Agent]:
    agents: dict[str, Agent] = {}
    for party in scenario.terms.party_ids:
        if party in humans:
            continue
        strategy = scenario.agent_spec(party).strategy
        if strategy not in STRATEGIES:
            raise UserError(f"{scenario.path}: party {party!r}: unknown scripted strategy "
                            f"{strategy!r} (choose from {', '.join(sorted(STRATEGIES))})")
        agents[party] = make_scripted(party, strategy)
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


def llm_agents(scenario: Scenario, model: ChatModel, explain: bool = False,
               humans: Collection[str] = ()) -> dict[str, Agent]:
    """Parties the scenario marks as LLM-driven speak through ``model``; others stay scripted."""
    agents = _scripted(scenario, humans)
    texts = card_texts(scenario.graph)
    rules = describe_terminal_rules(scenario.terms.policy.terminal)
    for party in agents:
        if scenario.agent_spec(party).backend == "llm":
            agents[party] = LLMAgent(name=party, model=model, cards=texts,
                                     terminal_rules=rules,
                                     reask_budget=scenario.terms.policy.reask_budget,
                                     explain=explain)
    return with_dependencies(scenario, agents)


def agents_for(scenario: Scenario, model: ChatModel | None, *, explain: bool = False,
               humans: Collection[str] = ()) -> dict[str, Agent]:
    """Every party's agent: people for ``humans``, the rest scripted when there is no model.

    A person decides for themselves, so the behaviour a scenario scripts for a party (asking
    for time, refusing on a known cycle) is not imposed on a human party.
    """
    agents = scripted_agents(scenario, humans) if model is None \
        else llm_agents(scenario, model, explain, humans)
    texts = card_texts(scenario.graph)
    people = {p: HumanAgent(name=p, cards=texts) for p in humans}
    return {p: people[p] if p in people else agents[p] for p in scenario.terms.party_ids}


@contextmanager
def chat_backend(backend: str, *, model: str | None = None, base_url: str | None = None,
                 seed: int = 0, log_dir: Path | None = None
                 ) -> Iterator[tuple[ChatModel | None, dict[str, Any]]]:
    """The model every LLM party of one or many runs speaks through (None when scripted),
    and a description of it; a local server is started once and stopped on exit."""
    meta: dict[str, Any] = {"backend": backend, "seed": seed,
                            "prompts": [load_prompt(p).tag for p in PROMPTS]}
    if backend == "scripted":
        yield None, meta
        return
    try:
        if backend == "local":
            with LocalModelServer(log_dir=log_dir) as server:
                yield local_chat_model(server, seed=seed), {**meta, "model": server.model}
            return
        chat = OpenAIChatModel(model=model or "gpt-4o-mini", base_url=base_url, seed=seed,
                               structured="auto")
        chat.structured_form  # noqa: B018 - asks GET /models now: an unreachable endpoint
        # fails here, before a run has written anything, not at its first decision
        yield chat, {**meta, "model": chat.model}
    except ModelError as error:
        raise UserError(str(error)) from None


@contextmanager
def build_agents(scenario: Scenario, backend: str, *, model: str | None = None,
                 base_url: str | None = None, seed: int = 0, out: Path | None = None,
                 explain: bool = False, humans: Collection[str] = ()
                 ) -> Iterator[tuple[dict[str, Agent], dict[str, Any]]]:
    """Yield the agents and a description of how they were made; stop any server on exit."""
    people = human_parties(scenario, humans)
    log_dir = out / "server-logs" if out else None
    with chat_backend(backend, model=model, base_url=base_url, seed=seed,
                      log_dir=log_dir) as (chat, meta):
        agents = agents_for(scenario, chat, explain=explain, humans=people)
        yield agents, {**meta, "humans": list(people)} if people else meta
