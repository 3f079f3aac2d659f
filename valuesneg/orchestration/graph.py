"""The negotiation as a langgraph ``StateGraph``: one thin node per step of a turn.

    who ──▶ decide ──▶ apply ──▶ who ... ──▶ wind_down ──▶ END
              ▲  │       │
              │  ▼       ▼
              └─ default ◀┘   (re-ask on refusal within budget, else silence)

Each node is a ``Driver`` step; the negotiation logic stays in the core. The graph state is
plain data: the turn in progress (the record a party gave, not yet applied; the refusals so
far) and what the agents learnt. The lineage is not in it: the lineage file is the record
of the negotiation, and a resumed run rebuilds the core from it (``valuesneg.orchestration.run``).

With ``durability="sync"`` each checkpoint is saved before the next node runs, so after a
crash the checkpoint is at most one node behind the lineage; the nodes that write to the
lineage skip what it already holds, so that one node can safely run again.

A human party's turn pauses inside ``decide`` (``interrupt()``, checkpointed). When the
answer comes, even from another process after a crash, langgraph runs that ``decide`` node
again from its start: it builds the party's view and asks the human agent, which now gets
the answer back from ``interrupt()``. Nothing else runs again: every earlier node, the other
parties' model calls among them, finished and was checkpointed before the pause.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from valuesneg.core import Terms
from valuesneg.io.faults import Faults, no_faults

from .driver import Driver, TurnProgress, next_step, turn_limit
from .humans import Answerer, NoAnswer
from .memory import Memory, restore, snapshot
from .progress import PAUSED, Step

THREAD = "negotiation"  # the thread of a run whose run.json names none (one per SQLite file)


class NegotiationState(TypedDict):
    """The LangGraph state of a run, checkpointed after every node: the turn under way, whether
    the core has settled, and each agent's memory."""

    turn: TurnProgress | None
    settled: bool  # the core reached a terminal outcome
    memory: dict[str, Memory]  # per party, as its agent was after its last decision


Graph = CompiledStateGraph[NegotiationState, None, NegotiationState, NegotiationState]


def recursion_limit(terms: Terms) -> int:
    """Above what the core's own bounds allow, so the core ends every negotiation: per turn
    ``who``, a decide and an apply per allowed attempt, and the default; then the wind-down."""
    per_turn = 2 + 2 * (terms.policy.reask_budget + 1)
    return turn_limit(terms) * per_turn + 3


def build_graph(driver: Driver, checkpointer: BaseCheckpointSaver[Any] | None = None,
                faults: Faults = no_faults) -> Graph:
    """The run's StateGraph: who acts, decide, apply, default, and the wind-down after the
    outcome, checkpointed by ``checkpointer``; ``faults`` is a crash test's hook."""
    nodes = _Nodes(driver, faults)
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


Observer = Callable[[Step], None]


def drive(driver: Driver, checkpointer: BaseCheckpointSaver[Any] | None = None, *,
          thread: str = THREAD, answer: Answerer | None = None,
          observe: Observer | None = None, faults: Faults = no_faults) -> None:
    """Run the negotiation to its end, continuing from the checkpoint if there is one.

    A human party's turn pauses the graph (``interrupt()``); ``answer`` is asked for the
    decision and the graph resumes with it. Without a checkpointer the run is kept in memory,
    since langgraph needs one to pause at all. ``faults`` is a crash test's hook.
    """
    graph = build_graph(driver, checkpointer or InMemorySaver(), faults)
    config: RunnableConfig = {"configurable": {"thread_id": thread},
                              "recursion_limit": recursion_limit(driver.terms)}
    saved = graph.get_state(config)
    for party, memory in saved.values.get("memory", {}).items():
        restore(driver.agents[party], memory)
    feed: NegotiationState | Command[Any] | None = None if saved.values else _start()
    paused = saved.interrupts if saved.values else ()
    watch: Observer = observe or (lambda _: None)
    while True:
        if paused:  # a human's turn: ask, then go on from the same node with the answer
            prompt = paused[0].value
            if answer is None:
                raise NoAnswer(f"{prompt['party']!r} is a human party, and nobody was given "
                               "to answer for them")
            watch(_step(driver, PAUSED, prompt["party"]))
            feed = Command(resume=answer(prompt))
        for update in graph.stream(feed, config, stream_mode="updates", durability="sync"):
            for node, change in update.items():
                if node != "__interrupt__":
                    turn = (change or {}).get("turn")
                    watch(_step(driver, node, turn["party"] if turn and not turn["done"]
                                else None))
        paused = graph.get_state(config).interrupts
        if not paused:
            return


def _step(driver: Driver, node: str, party: str | None) -> Step:
    return Step(node, party, driver.ledger.negotiation.state.rounds,
                driver.terms.policy.round_cap)


def _start() -> NegotiationState:
    return NegotiationState(turn=None, settled=False, memory={})


class _Nodes:
    def __init__(self, driver: Driver, faults: Faults) -> None:
        self.driver = driver
        self.faults = faults

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
        turn = self._turn(state)
        if turn["pending"] is not None:  # decided and checkpointed, not yet applied
            self.faults("before_applying", turn["seq"])
        return {"turn": self.driver.apply(turn)}

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
