"""Building the agents of a scenario for a backend, and owning whatever they need running."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from valuesneg.io.files import UserError
from valuesneg.scenario import Scenario

from .base import Agent
from .llm import LLMAgent, card_texts, describe_terminal_rules
from .local_server import LocalModelServer, local_chat_model
from .models import ChatModel, ModelError
from .openai_model import OpenAIChatModel
from .prompts import load_prompt
from .scripted import STRATEGIES, make_scripted
from .wrappers import Deliberating, DependencyAware

PROMPTS = ("negotiator.propose", "negotiator.respond")


def scripted_agents(scenario: Scenario) -> dict[str, Agent]:
    return with_dependencies(scenario, _scripted(scenario))


def _scripted(scenario: Scenario) -> dict[str, Agent]:
    agents: dict[str, Agent] = {}
    for party in scenario.terms.party_ids:
        strategy = scenario.agent_spec(party).strategy
        if strategy not in STRATEGIES:
            raise UserError(f"{scenario.path}: party {party!r}: unknown scripted strategy "
                            f"{strategy!r} (choose from {', '.join(sorted(STRATEGIES))})")
        agents[party] = make_scripted(party, strategy)
    return agents


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


def llm_agents(scenario: Scenario, model: ChatModel, explain: bool = False
               ) -> dict[str, Agent]:
    """Parties the scenario marks as LLM-driven speak through ``model``; others stay scripted."""
    agents = _scripted(scenario)
    texts = card_texts(scenario.graph)
    rules = describe_terminal_rules(scenario.terms.policy.terminal)
    for party in scenario.terms.party_ids:
        if scenario.agent_spec(party).backend == "llm":
            agents[party] = LLMAgent(name=party, model=model, cards=texts,
                                     terminal_rules=rules,
                                     reask_budget=scenario.terms.policy.reask_budget,
                                     explain=explain)
    return with_dependencies(scenario, agents)


@contextmanager
def build_agents(scenario: Scenario, backend: str, *, model: str | None = None,
                 base_url: str | None = None, seed: int = 0, out: Path | None = None,
                 explain: bool = False) -> Iterator[tuple[dict[str, Agent], dict[str, Any]]]:
    """Yield the agents and a description of how they were made; stop any server on exit."""
    meta: dict[str, Any] = {"backend": backend, "seed": seed,
                            "prompts": [load_prompt(p).tag for p in PROMPTS]}
    if backend == "scripted":
        yield scripted_agents(scenario), meta
        return
    try:
        if backend == "local":
            log_dir = out / "server-logs" if out else None
            with LocalModelServer(log_dir=log_dir) as server:
                chat = local_chat_model(server, seed=seed)
                yield llm_agents(scenario, chat, explain), {**meta, "model": server.model}
            return
        chat = OpenAIChatModel(model=model or "gpt-4o-mini", base_url=base_url, seed=seed,
                               structured="auto")
        yield llm_agents(scenario, chat, explain), {**meta, "model": chat.model}
    except ModelError as error:
        raise UserError(str(error)) from None
