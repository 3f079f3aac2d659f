"""The langgraph graph drives exactly the turns the plain driver loop does."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.types import interrupt

from valuesneg.agents.adversarial import BypassAgent
from valuesneg.agents.factory import scripted_agents
from valuesneg.agents.scripted import make_scripted
from valuesneg.core import Ledger, Terms
from valuesneg.orchestration.driver import Driver, Turn, turn_limit
from valuesneg.orchestration.graph import (
    THREAD,
    NegotiationState,
    build_graph,
    drive,
    recursion_limit,
)
from valuesneg.scenario import load_scenario

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "moral_graphs" / "scenarios")
                   .glob("*.yaml"))


def lines(ledger: Ledger) -> list[str]:
    return [entry.line() for entry in ledger.entries]


def timeless(turns: list[Turn]) -> list[Turn]:
    return [replace(turn, seconds=0.0) for turn in turns]


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_the_graph_writes_the_lineage_the_driver_loop_does(path: Path) -> None:
    scenario = load_scenario(path)
    looped = Driver.of(scenario, scripted_agents(scenario))
    looped.run()
    graphed = Driver.of(scenario, scripted_agents(scenario))
    drive(graphed)
    assert lines(graphed.ledger) == lines(looped.ledger)
    assert timeless(graphed.turns) == timeless(looped.turns)


def test_refusals_are_re_asked_then_defaulted_as_in_the_loop() -> None:
    """An attacker whose records the core refuses: re-asks within the budget, then silence."""
    terms = load_scenario(SCENARIOS[0]).terms

    def driver() -> Driver:
        return Driver(terms, {"ana": BypassAgent("ana", terms),
                              "ben": make_scripted("ben", "boulware")}, wind_down=False)

    looped, graphed = driver(), driver()
    looped.run()
    drive(graphed)
    assert lines(graphed.ledger) == lines(looped.ledger)
    assert timeless(graphed.turns) == timeless(looped.turns)
    assert any(t.defaulted for t in graphed.turns) and any(t.refusals for t in graphed.turns)


def test_the_recursion_limit_is_above_the_cores_bound(campsite_terms: Terms) -> None:
    """Every turn may use its whole re-ask budget and still fit under langgraph's limit."""
    steps_per_turn = 1 + 2 * (campsite_terms.policy.reask_budget + 1) + 1
    assert recursion_limit(campsite_terms) > turn_limit(campsite_terms) * steps_per_turn


def test_the_graph_has_one_turn_node() -> None:
    """One superstep per decision: the steps of a turn, and the wind-down after the outcome,
    run inside the ``turn`` node."""
    scenario = load_scenario(SCENARIOS[0])
    graph = build_graph(Driver(scenario.terms, scripted_agents(scenario)))
    assert set(graph.get_graph().nodes) == {"__start__", "turn", "__end__"}


def test_a_checkpoint_of_the_earlier_graph_layout_resumes_from_the_lineage() -> None:
    """A run paused at a node of the one-node-per-step graph of earlier versions (here a
    ``decide`` that asks a human) goes on in this graph from the lineage and the memory."""
    scenario = load_scenario(SCENARIOS[0])
    old = StateGraph(NegotiationState)
    old.add_node("decide", lambda state: interrupt({"party": "ana"}))
    old.add_edge(START, "decide")
    saver, config = InMemorySaver(), {"configurable": {"thread_id": THREAD}}
    old.compile(checkpointer=saver).invoke(
        {"turn": None, "settled": False, "memory": {}}, config)  # type: ignore[arg-type]
    looped, graphed = (Driver.of(scenario, scripted_agents(scenario)) for _ in range(2))
    looped.run()
    drive(graphed, saver)
    assert lines(graphed.ledger) == lines(looped.ledger)


@pytest.fixture
def campsite_terms() -> Terms:
    return load_scenario(SCENARIOS[0]).terms
