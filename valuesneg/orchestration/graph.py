"""The negotiation as a langgraph ``StateGraph``: one thin node per step of a turn.

    who ──▶ decide ──▶ apply ──▶ who ... ──▶ wind_down ──▶ END
              ▲  │       │
              │  ▼       ▼
              └─ default ◀┘   (re-ask on refusal within budget, else silence)

Each node is a ``Driver`` step; the negotiation logic stays in the core. The graph state is
plain data: the turn in progress (the record a party gave, not yet applied; the refusals so
far) and what the agents learnt. The lineage is not in it: the lineage file is the record
of the negotiation, and a resumed run rebuilds the core from it (``valuesneg.run``).

With ``durability="sync"`` each checkpoint is saved before the next node runs, so after a
crash the checkpoint is at most one node behind the lineage; the nodes that write to the
lineage skip what it already holds, so that one node can safely run again.
"""

from __future__ import annotations

from typing import Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from valuesneg.core import Terms

from .driver import Driver, TurnProgress, next_step, turn_limit
from .memory import Memory, restore, snapshot

THREAD = "negotiation"  # one negotiation per run directory, so one thread per checkpoint file


class NegotiationState(TypedDict):
    turn: TurnProgress | None
    settled: bool  # the core reached a terminal outcome
    memory: dict[str, Memory]  # per party, as its agent was after its last decision


Graph = CompiledStateGraph[NegotiationState, None, NegotiationState, NegotiationState]


def recursion_limit(terms: Terms) -> int:
    """Above what the core's own bounds allow, so the core ends every negotiation: per turn
    ``who``, a decide and an apply per allowed attempt, and the default; then the wind-down."""
    per_turn = 2 + 2 * (terms.policy.reask_budget + 1)
    return turn_limit(terms) * per_turn + 3


def build_graph(driver: Driver, checkpointer: BaseCheckpointSaver[Any] | None = None) -> Graph:
    nodes = _Nodes(driver)
    graph = StateGraph(NegotiationState)
    graph.add_node("who", nodes.who)
    graph.add_node("decide", nodes.decide)
    graph.add_node("apply", nodes.apply)
    graph.add_node("default", nodes.default)
    graph.add_node("wind_down", nodes.wind_down)
    graph.add_edge(START, "who")
    graph.add_conditional_edges("who", nodes.after_who, ["decide", "wind_down"])
    for name in ("decide", "apply", "default"):
        graph.add_conditional_edges(name, nodes.route, ["decide", "apply", "default", "who"])
    graph.add_edge("wind_down", END)
    return graph.compile(checkpointer=checkpointer)


def drive(driver: Driver, checkpointer: BaseCheckpointSaver[Any] | None = None) -> None:
    """Run the negotiation to its end, continuing from the checkpoint if there is one."""
    graph = build_graph(driver, checkpointer)
    config: RunnableConfig = {"configurable": {"thread_id": THREAD},
                              "recursion_limit": recursion_limit(driver.terms)}
    if checkpointer is None:  # (langgraph 1.2 fails on a durability without a checkpointer)
        graph.invoke(_start(), config)
        return
    saved = graph.get_state(config)
    for party, memory in saved.values.get("memory", {}).items():
        restore(driver.agents[party], memory)
    graph.invoke(None if saved.values else _start(), config, durability="sync")


def _start() -> NegotiationState:
    return NegotiationState(turn=None, settled=False, memory={})


class _Nodes:
    def __init__(self, driver: Driver) -> None:
        self.driver = driver

    def who(self, state: NegotiationState) -> dict[str, Any]:
        """Ask the core who must act, or note that it has reached its outcome."""
        settled = self.driver.ledger.negotiation.outcome is not None
        return {"turn": None if settled else self.driver.begin(), "settled": settled}

    def decide(self, state: NegotiationState) -> dict[str, Any]:
        turn = self._turn(state)
        party = turn["party"]
        turn = self.driver.decide(turn)
        memory = {**state["memory"], party: snapshot(self.driver.agents[party])}
        return {"turn": turn, "memory": memory}

    def apply(self, state: NegotiationState) -> dict[str, Any]:
        return {"turn": self.driver.apply(self._turn(state))}

    def default(self, state: NegotiationState) -> dict[str, Any]:
        return {"turn": self.driver.default(self._turn(state))}

    def wind_down(self, state: NegotiationState) -> dict[str, Any]:
        if self.driver.wind_down:
            self.driver.use_grants()
        return {"settled": True}

    def after_who(self, state: NegotiationState) -> str:
        return "wind_down" if state["settled"] else "decide"

    def route(self, state: NegotiationState) -> str:
        step = next_step(self._turn(state), self.driver.budget)
        return "who" if step == "done" else step

    @staticmethod
    def _turn(state: NegotiationState) -> TurnProgress:
        turn = state["turn"]
        assert turn is not None, "a turn step ran outside a turn"
        return turn
