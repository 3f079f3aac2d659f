"""The embedded local model as a negotiator: validity, cost and framework overhead.

Runs every shipped scenario on the local backend and reports, per decision: whether the
model's first reply was schema-valid, whether the core accepted the resulting record on the
first try, seconds and tokens, and the share of decision time spent outside the model call
(the framework's overhead).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from valuesneg.agents.factory import llm_agents
from valuesneg.agents.llm import LLMAgent
from valuesneg.agents.local_server import LocalModelServer, local_chat_model
from valuesneg.orchestration.driver import Driver
from valuesneg.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def measure(scenarios: list[Path] | None = None) -> dict[str, float | int]:
    paths = scenarios or sorted((ROOT / "moral_graphs" / "scenarios").glob("*.yaml"))
    calls, turns, outcomes = [], [], {}
    with tempfile.TemporaryDirectory() as logs, LocalModelServer(log_dir=Path(logs)) as server:
        model = local_chat_model(server)
        for path in paths:
            scenario = load_scenario(path)
            agents = llm_agents(scenario, model)
            driver = Driver(scenario.terms, agents, wind_down=False)
            started = time.perf_counter()
            ledger = driver.run()
            outcomes[path.stem] = (ledger.negotiation.outcome.terminal  # type: ignore[union-attr]
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
    chosen = [Path(p) for p in sys.argv[1:]] or None
    print(json.dumps(measure(chosen), indent=2))
