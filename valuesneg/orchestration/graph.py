"""The negotiation as a langgraph ``StateGraph``: one superstep, so one checkpoint, per decision.

    START ──▶ turn ──▶ turn ... ──▶ END

The ``turn`` node runs the driver's steps (``valuesneg.orchestration.driver``) until an
agent has decided: it applies the record the last checkpoint holds (or re-asks, or defaults,
as the core's judgement of it requires), asks the core who acts next, asks that party's
agent, and returns the decision, which the checkpoint then holds. Once the core has reached
its outcome the node winds down instead (grants used, acknowledged, renewed), which it works
out from the lineage alone, and the graph ends. The negotiation logic stays in the core. The
graph state is plain data: the turn in progress (the record a party gave, not yet applied;
the refusals so far), whether the core has settled, and what the agents learnt. The lineage
is not in it: the lineage file is the record of the negotiation, and a resumed run rebuilds
the core from it (``valuesneg.orchestration.run``).

Why one node rather than one per step: each superstep costs langgraph's bookkeeping and a
checkpoint write, and only a decision needs one. A decision may have cost a model seconds,
so it is checkpointed (``durability="sync"``) before its record is applied, and a run killed
after that is never asked it again. Everything else a superstep does is worked out again from
the lineage and that checkpoint: applying a record the lineage already holds, or ending a
turn it already ended, is skipped, so a superstep cut short by a crash simply runs again.

A human party's turn pauses inside ``turn`` (``interrupt()``, checkpointed). When the answer
comes, even from another process after a crash, langgraph runs that node again from its
start: what it did before asking the human is skipped as done (the lineage holds it), and the
human agent now gets the answer back from ``interrupt()``. No other party is asked again:
their decisions were each checkpointed in an earlier superstep.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
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
    """The LangGraph state of a run, checkpointed after every decision: the turn under way,
    whether the core has settled, and each agent's memory."""

    turn: TurnProgress | None
    settled: bool  # the core reached a terminal outcome
    memory: dict[str, Memory]  # per party, as its agent was after its last decision


Graph = CompiledStateGraph[NegotiationState, None, NegotiationState, NegotiationState]
Observer = Callable[[Step], None]


def recursion_limit(terms: Terms) -> int:
    """Above what the core's own bounds allow, so the core ends every negotiation: per turn at
    most a superstep per allowed attempt, counted with room to spare (a who, a decide and an
    apply per attempt, and the default); then the wind-down."""
    per_turn = 2 + 2 * (terms.policy.reask_budget + 1)
    return turn_limit(terms) * per_turn + 3


def build_graph(driver: Driver, checkpointer: BaseCheckpointSaver[Any] | None = None,
                faults: Faults = no_faults, observe: Observer | None = None) -> Graph:
    """The run's StateGraph: turns until the outcome and its wind-down, checkpointed by
    ``checkpointer``; ``observe`` is told each step as it ends, ``faults`` is a crash test's
    hook. The layout is compiled once per process (that took longer than a turn); each run
    gets a copy bound to its checkpointer and, through its config, to its driver."""
    nodes = _Nodes(driver, faults, observe or (lambda _: None))
    return _layout().copy(update={"checkpointer": checkpointer}).with_config(
        configurable={_RUN: nodes})


_RUN = "valuesneg_run"  # the config key of a run's nodes (``_Nodes``)


@cache
def _layout() -> Graph:
    graph = StateGraph(NegotiationState)
    graph.add_node("turn", _turn)
    graph.add_edge(START, "turn")
    graph.add_conditional_edges("turn", _route, ["turn", END])
    return graph.compile()


def _turn(state: NegotiationState, config: RunnableConfig) -> dict[str, Any]:
    nodes: _Nodes = config["configurable"][_RUN]
    return nodes.turn(state)


def _route(state: NegotiationState) -> str:
    return END if state["settled"] else "turn"


def drive(driver: Driver, checkpointer: BaseCheckpointSaver[Any] | None = None, *,
          thread: str = THREAD, answer: Answerer | None = None,
          observe: Observer | None = None, faults: Faults = no_faults) -> None:
    """Run the negotiation to its end, continuing from the checkpoint if there is one.

    A human party's turn pauses the graph (``interrupt()``); ``answer`` is asked for the
    decision and the graph resumes with it. Without a checkpointer the run is kept in memory,
    since langgraph needs one to pause at all. ``faults`` is a crash test's hook.
    """
    watch: Observer = observe or (lambda _: None)
    graph = build_graph(driver, checkpointer or InMemorySaver(), faults, watch)
    config: RunnableConfig = {"configurable": {"thread_id": thread},
                              "recursion_limit": recursion_limit(driver.terms)}
    saved = graph.get_state(config)
    for party, memory in saved.values.get("memory", {}).items():
        restore(driver.agents[party], memory)
    feed: NegotiationState | Command[Any] | None = None if saved.values else _start()
    if saved.values and not saved.next:
        # Either the graph ended (nothing is left to do: langgraph runs nothing, and a turn
        # node run would find the outcome and the wind-down done in the lineage), or the
        # checkpoint waits at a node this graph lacks: the one-node-per-step graph of earlier
        # versions saved it. The turn node carries on from its state: a decided record is
        # applied, a human's pending question is asked again.
        feed = Command(goto="turn")
    paused = saved.interrupts if feed is None else ()
    while True:
        if paused:  # a human's turn: ask, then go on from the same node with the answer
            prompt = paused[0].value
            if answer is None:
                raise NoAnswer(f"{prompt['party']!r} is a human party, and nobody was given "
                               "to answer for them")
            watch(_step(driver, PAUSED, prompt["party"]))
            feed = Command(resume=answer(prompt))
        for _ in graph.stream(feed, config, stream_mode="updates", durability="sync"):
            pass
        paused = graph.get_state(config).interrupts
        if not paused:
            return


def _step(driver: Driver, node: str, party: str | None) -> Step:
    return Step(node, party, driver.ledger.negotiation.state.rounds,
                driver.terms.policy.round_cap)


def _start() -> NegotiationState:
    return NegotiationState(turn=None, settled=False, memory={})


class _Nodes:
    def __init__(self, driver: Driver, faults: Faults, observe: Observer) -> None:
        self.driver = driver
        self.faults = faults
        self.observe = observe

    def turn(self, state: NegotiationState) -> dict[str, Any]:
        """Move the negotiation on to the next decision, and return it for the checkpoint; or,
        once the core has settled, wind down."""
        driver, progress, memory = self.driver, state["turn"], state["memory"]
        while True:
            if progress is None or progress["done"]:
                if driver.ledger.negotiation.outcome is not None:
                    self._wind_down()
                    return {"turn": progress, "settled": True}
                progress = driver.begin()
                self._report("who", progress)
            step = next_step(progress, driver.budget)
            if step == "decide":
                party = progress["party"]
                progress = driver.decide(progress)
                if progress["pending"] is not None:
                    self.faults("decided", progress["seq"])  # not yet checkpointed
                self._report("decide", progress)
                return {"turn": progress,
                        "memory": {**memory, party: snapshot(driver.agents[party])}}
            if step == "apply" and not driver.recorded(progress):
                self.faults("before_applying", progress["seq"])  # decided and checkpointed
            progress = driver.apply(progress) if step == "apply" else driver.default(progress)
            self._report(step, progress)

    def _wind_down(self) -> None:
        self.observe(_step(self.driver, "wind_down", None))
        if self.driver.wind_down:
            self.driver.use_grants()

    def _report(self, step: str, progress: TurnProgress) -> None:
        self.observe(_step(self.driver, step, None if progress["done"] else progress["party"]))
