"""The embedded local model as a negotiator: validity, cost and framework overhead.

Runs every shipped scenario on the local backend and reports, per decision: whether the
model's first reply was schema-valid, whether the core accepted the resulting record on the
first try, seconds and tokens, and the share of decision time spent outside the model call
(the framework's overhead).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from valuesneg.agents.base import Agent
from valuesneg.agents.factory import llm_agents
from valuesneg.agents.llm import LLMAgent, card_texts, describe_terminal_rules
from valuesneg.agents.local_server import LocalModelServer, local_chat_model
from valuesneg.agents.models import ChatModel
from valuesneg.core import Terms
from valuesneg.orchestration.driver import Driver
from valuesneg.scenario import load_scenario
from valuesneg.values import load_casino
from valuesneg.values.casino_terms import casino_terms

ROOT = Path(__file__).resolve().parents[1]


def casino_runs(path: Path, count: int) -> list[tuple[str, Terms, Callable[[ChatModel],
                                                                         dict[str, Agent]]]]:
    """The first ``count`` CaSiNo dialogues, both participants played by the model."""
    runs = []
    for dialogue in load_casino(path)[:count]:
        terms = casino_terms(dialogue)
        texts = card_texts(dialogue.to_graph())
        rules = describe_terminal_rules(terms.policy.terminal)

        def agents(model: ChatModel, terms: Terms = terms, texts: dict[str, str] = texts,
                   rules: str = rules) -> dict[str, Agent]:
            return {p: LLMAgent(name=p, model=model, cards=texts, terminal_rules=rules)
                    for p in terms.party_ids}

        runs.append((f"casino-{dialogue.dialogue_id}", terms, agents))
    return runs


def scenario_runs(paths: list[Path]) -> list[tuple[str, Terms, Callable[[ChatModel],
                                                                        dict[str, Agent]]]]:
    runs = []
    for path in paths:
        scenario = load_scenario(path)
        runs.append((path.stem, scenario.terms,
                     lambda model, scenario=scenario: llm_agents(scenario, model)))
    return runs


def measure(scenarios: list[Path] | None = None, casino: Path | None = None,
            casino_count: int = 0) -> dict[str, float | int]:
    paths = scenarios or sorted((ROOT / "moral_graphs" / "scenarios").glob("*.yaml"))
    runs = scenario_runs(paths) + (casino_runs(casino, casino_count) if casino else [])
    calls, turns, outcomes = [], [], {}
    with tempfile.TemporaryDirectory() as logs, LocalModelServer(log_dir=Path(logs)) as server:
        model = local_chat_model(server)
        for name, terms, make_agents in runs:
            agents = make_agents(model)
            driver = Driver(terms, agents, wind_down=False)
            started = time.perf_counter()
            ledger = driver.run()
            outcomes[name] = (ledger.negotiation.outcome.terminal  # type: ignore[union-attr]
                              , round(time.perf_counter() - started, 1))
            llm_parties = {p for p, a in agents.items() if isinstance(a, LLMAgent)}
            turns += [t for t in driver.turns if t.party in llm_parties]
            calls += [c for a in agents.values() if isinstance(a, LLMAgent) for c in a.calls]
    first = [c for c in calls if c.attempt == 0]
    model_s = sum(c.latency_s for c in calls)
    turn_s = sum(t.seconds for t in turns)
    return {
        "decisions": len(turns),
        "model_calls": len(calls),
        "schema_valid_first_try": round(sum(c.valid for c in first) / max(1, len(first)), 3),
        "core_accepted_first_try": round(
            sum(not t.refusals for t in turns) / max(1, len(turns)), 3),
        "defaulted_decisions": sum(t.defaulted for t in turns),
        "seconds_per_decision": round(turn_s / max(1, len(turns)), 2),
        "prompt_tokens_per_call": round(sum(c.prompt_tokens or 0 for c in calls)
                                        / max(1, len(calls))),
        "completion_tokens_per_call": round(sum(c.completion_tokens or 0 for c in calls)
                                            / max(1, len(calls))),
        "llm_overhead_fraction": round(max(0.0, turn_s - model_s) / max(1e-9, turn_s), 4),
        "outcomes": outcomes,  # type: ignore[dict-item]
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scenarios", nargs="*", type=Path)
    parser.add_argument("--casino", type=Path, help="a CaSiNo JSON split to add dialogues from")
    parser.add_argument("--count", type=int, default=20, help="CaSiNo dialogues to run")
    args = parser.parse_args()
    print(json.dumps(measure(args.scenarios or None, args.casino, args.count), indent=2))
