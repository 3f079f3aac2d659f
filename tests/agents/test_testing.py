"""The library's test models, and the bound they make checkable: one turn of an LLM party
costs at most (reask_budget + 1) * (schema_reasks + 1) model calls."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from valuesneg.agents.factory import llm_agents
from valuesneg.agents.llm import LLMAgent, NoValidDecision, card_texts
from valuesneg.agents.models import Message
from valuesneg.agents.scripted import make_scripted
from valuesneg.agents.testing import FunctionModel, RecordingModel, Replies, never_called
from valuesneg.core import Ledger, Terms
from valuesneg.core.view import view_for
from valuesneg.orchestration.driver import Driver
from valuesneg.scenario import Scenario, load_scenario

CAMPSITE = Path(__file__).resolve().parents[2] / "moral_graphs" / "scenarios" / \
    "campsite_supplies.yaml"
# ana opens; an accept with nothing on the table fits the schema and the core refuses it.
REFUSED = json.dumps({"action": "accept", "rationale": ["clause:agreement"]})


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(CAMPSITE)


def with_reask_budget(terms: Terms, budget: int) -> Terms:
    return terms.model_copy(update={"policy": terms.policy.model_copy(
        update={"reask_budget": budget})})


def raw_agent(scenario: Scenario, model: Any, schema_reasks: int) -> LLMAgent:
    return LLMAgent(name="ana", model=model, cards=card_texts(scenario.graph),
                    terminal_rules="nash", schema_reasks=schema_reasks, guard="none")


@pytest.mark.parametrize(("reask_budget", "schema_reasks"), [(0, 0), (1, 2), (2, 1)])
def test_a_turn_costs_at_most_the_product_of_the_two_budgets(
        scenario: Scenario, reask_budget: int, schema_reasks: int) -> None:
    """Every decision spends its schema re-asks (junk, then junk, then a record), and the
    core refuses every record: the worst case, reached exactly."""
    def junk_until_the_last(messages: Sequence[Message], schema: Mapping[str, Any]) -> str:
        return REFUSED if model.calls % (schema_reasks + 1) == 0 else "not json"

    model = FunctionModel(junk_until_the_last)
    terms = with_reask_budget(scenario.terms, reask_budget)
    agents = {p: make_scripted(p, "linear") for p in terms.party_ids}
    driver = Driver(terms, {**agents, "ana": raw_agent(scenario, model, schema_reasks)})
    turn = driver.turn()
    assert turn.party == "ana" and turn.defaulted
    assert len(turn.refusals) == reask_budget + 1
    assert model.calls == (reask_budget + 1) * (schema_reasks + 1)


def test_schema_reasks_do_not_follow_the_policys_reask_budget(scenario: Scenario) -> None:
    model = FunctionModel(lambda messages, schema: "not json")
    agent = raw_agent(scenario, model, schema_reasks=1)
    view = view_for(Ledger(with_reask_budget(scenario.terms, 7)).negotiation, "ana")
    with pytest.raises(NoValidDecision, match="in 2 replies"):
        agent.decide(view)
    assert model.calls == 2
    shipped = llm_agents(scenario, FunctionModel(never_called))
    assert {a.schema_reasks for a in shipped.values() if isinstance(a, LLMAgent)} == {2}


def test_replies_answers_in_turn_and_refuses_to_improvise() -> None:
    replies = Replies(["a", "b"])
    asked = [Message("user", "one")]
    assert [replies.complete(asked, {}).text for _ in range(2)] == ["a", "b"]
    assert replies.asked == [asked, asked]
    with pytest.raises(AssertionError, match="call 3 to a model scripted with 2 replies"):
        replies.complete(asked, {})


def test_recording_model_keeps_what_was_sent_and_passes_the_reply_through() -> None:
    inner = FunctionModel(lambda messages, schema: messages[-1].content.upper())
    recording = RecordingModel(inner)
    reply = recording.complete([Message("system", "s"), Message("user", "hi")], {},
                               schema_name="decision")
    assert reply.text == "HI" and recording.sent == ["s", "hi"] and inner.calls == 1


def test_never_called_fails_the_test_that_calls_it() -> None:
    with pytest.raises(AssertionError, match="the model was called"):
        FunctionModel(never_called).complete([Message("user", "x")], {})
