"""JSON that enters from a model or a person goes through the strict parser too: a reply with
a key twice is re-asked with the reason, not resolved by whichever value pydantic keeps."""

from __future__ import annotations

import io
import json
from pathlib import Path

from valuesneg.agents.llm import LLMAgent
from valuesneg.agents.menu import menu
from valuesneg.agents.testing import Replies
from valuesneg.core import Negotiation
from valuesneg.core.view import PartyView, view_for
from valuesneg.orchestration.humans import JsonAnswerer
from valuesneg.scenario import Scenario, load_scenario

SCENARIO = Path(__file__).resolve().parents[2] / "moral_graphs" / "scenarios" / \
    "campsite_supplies.yaml"


def _ana() -> tuple[PartyView, Scenario]:
    scenario = load_scenario(SCENARIO)
    return view_for(Negotiation(scenario.terms), "ana"), scenario


def test_a_raw_reply_with_a_key_twice_is_re_asked_with_the_reason() -> None:
    view, scenario = _ana()
    own = json.dumps({d: 3 for d in scenario.terms.contested})
    twice = ('{"action": "request", "rationale": ["clause:agreement"], "my_units": '
             + own + ', "my_units": 0}')
    once = twice.replace(', "my_units": 0}', "}")
    model = Replies([twice, once])
    agent = LLMAgent(name="ana", model=model, cards={}, terminal_rules="", guard="none")
    record = agent.decide(view)
    assert [c.valid for c in agent.calls] == [False, True]
    assert "key 'my_units' appears twice in one object" in model.asked[1][-1].content
    assert record.kind == "request"


def test_a_menu_pick_with_a_key_twice_is_re_asked_with_the_reason() -> None:
    view, _ = _ana()
    options = menu(view, {})
    assert len(options) > 1
    pick = json.dumps({"option": options[0].label, "rationale": [options[0].fits[0]]})
    twice = '{"choice": ' + pick + ', "choice": ' + pick.replace(
        options[0].label, options[1].label) + "}"
    model = Replies([twice, '{"choice": ' + pick + "}"])
    agent = LLMAgent(name="ana", model=model, cards={}, terminal_rules="")
    record = agent.decide(view)
    assert [c.valid for c in agent.calls] == [False, True]
    assert "key 'choice' appears twice in one object" in model.asked[1][-1].content
    assert record.kind == options[0].record.kind


def test_a_json_answer_with_a_key_twice_is_passed_on_as_text_for_the_core_to_refuse() -> None:
    answers = JsonAnswerer(input=io.StringIO('{"kind": "accept", "kind": "refuse"}\n{"a": 1}\n'),
                           output=io.StringIO())
    assert answers({"party": "ana"}) == '{"kind": "accept", "kind": "refuse"}'
    assert answers({"party": "ana"}) == {"a": 1}
