"""The prompts a scenario's LLM parties are sent, without a model: for replaying real turns'
prompts on a model (the prompt-cache test and `benchmarks/prefix_cache.py`)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from valuesneg.agents.factory import llm_agents
from valuesneg.agents.models import Message
from valuesneg.agents.testing import FunctionModel
from valuesneg.orchestration.driver import Driver
from valuesneg.scenario import load_scenario


def first_option_prompts(scenario_path: str | Path) -> list[tuple[str, str, dict[str, Any]]]:
    """(party, prompt, schema) of every model call in a run of the scenario whose LLM parties each
    take the first option offered: real prompts of real turns, with no model asked (the
    prompt-cache test and benchmark replay them on the embedded model)."""
    asked: list[tuple[str, str, dict[str, Any]]] = []

    def first(messages: Sequence[Message], schema: Mapping[str, Any]) -> str:
        option = schema["properties"]["choice"]["anyOf"][0]["properties"]
        text = messages[-1].content  # "You are PARTY, negotiating ..."
        asked.append((text.split()[2].rstrip(","), text, dict(schema)))
        return json.dumps({"choice": {"option": option["option"]["enum"][0],
                                      "rationale": option["rationale"]["items"]["enum"][:1]}})

    scenario = load_scenario(scenario_path)
    Driver(scenario.terms, llm_agents(scenario, FunctionModel(first)), wind_down=False).run()
    return asked
