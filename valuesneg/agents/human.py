"""A human party: its records come from a structured interface, never from free text.

``HumanAgent.decide`` pauses the langgraph run with ``interrupt()`` and a *prompt*: plain
JSON listing what this person may do now (the legal actions, the units they may claim, the
ids they may cite, with the text of each card) and why their last answer was refused, if it
was. Whoever drives the graph (a terminal UI, a program over stdin) answers with a
*decision*: the same small ``Decision`` an LLM fills in, an action, its units, and rationale
ids picked from the list. The answer becomes a record exactly as an LLM's reply does, and the
core judges it like any other: a refused answer is asked again with the core's typed error.

langgraph re-runs the whole node when a run resumes after ``interrupt()``, so this agent
keeps nothing between calls: asking again computes the same prompt from the same view, and
what the node did before asking (applying the previous record) is skipped as already done.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from langgraph.types import interrupt
from pydantic import ValidationError

from valuesneg.core import Accept, Code, Header, ProtocolViolation
from valuesneg.core.view import PartyView

from .base import utility
from .llm import Decision, response_schema, to_record

PROMPT = "human_turn"  # the "type" of every prompt payload, so a program can tell them apart
# The core's bound on a rationale; the LLM schema keeps small models to fewer ids.
MAX_REASONS: int = Accept.model_json_schema()["properties"]["rationale"]["maxItems"]


@dataclass(frozen=True)
class HumanAgent:
    """A party a person plays: each decision pauses the graph (``interrupt``) with a prompt, and
    the answer becomes the record."""

    name: str
    cards: Mapping[str, str]  # card or attentional-policy id -> the text a person is shown

    def decide(self, view: PartyView, feedback: ProtocolViolation | None = None) -> Header:
        answer = interrupt(prompt_for(view, self.cards, feedback))
        return record_from(view, answer)


def prompt_for(view: PartyView, cards: Mapping[str, str],
               feedback: ProtocolViolation | None = None) -> dict[str, Any]:
    """Everything a person needs to choose, and nothing they may not see (it is their view)."""
    schema = answer_schema(view)
    table = None
    if view.table is not None:
        table = {"seq": view.table.seq, "proposer": view.table.proposer,
                 "allocation": view.table.allocation,
                 "utility_to_me": utility(view, view.table.allocation)}
    return {
        "type": PROMPT, "party": view.party, "negotiation": view.negotiation,
        "seq": view.next_seq, "round": view.rounds + 1, "round_cap": view.round_cap,
        "units": view.units, "weights": view.me.weights,
        "best_utility": sum(view.me.weights.get(d, 0.0) * u for d, u in view.units.items()),
        "reservation": view.me.reservation,  # what no deal is worth to this party
        "cards": list(view.me.cards), "revealed_by_peers": list(view.revealed_by_peers),
        "table": table,
        "actions": schema["properties"]["action"]["enum"],
        "rationale": [{"id": c.id, "kind": c.kind, "own": c.own, "text": cards.get(c.id, "")}
                      for c in view.citable],
        "max_reasons": MAX_REASONS,
        "feedback": None if feedback is None else feedback.as_dict(),
        "answer_schema": schema,
    }


def answer_schema(view: PartyView) -> dict[str, Any]:
    """The decision schema the LLM gets, with the core's own bound on reasons, and only the
    fields an action needs required (a person accepting names no units)."""
    schema = response_schema(view)
    properties = {**schema["properties"],
                  "rationale": {**schema["properties"]["rationale"], "maxItems": MAX_REASONS}}
    required = schema["required"] if view.table is None else ["action", "rationale"]
    return {**schema, "properties": properties, "required": required}


def record_from(view: PartyView, answer: object) -> Header:
    """The record an answer stands for; a malformed answer is refused like a bad record."""
    try:
        decision = Decision.model_validate(answer)
        if decision.reasoning is not None:
            raise ValueError("reasoning: a human answer carries ids only, no free text")
        return to_record(view, decision)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(["answer", *(str(p) for p in first["loc"])])
        raise ProtocolViolation(Code.SCHEMA, where, first["msg"],
                                seq=view.next_seq) from None
    except ValueError as error:
        raise ProtocolViolation(Code.SCHEMA, "answer", str(error), seq=view.next_seq) from None
