"""An LLM negotiator: a view becomes a prompt and a JSON schema, the reply becomes a record.

The schema is generated from what is legal now and from the ids this party may cite (enums),
so a grammar-constrained model cannot even spell an inadmissible id. Its reply is parsed
into a small ``Decision`` model, turned into a protocol record, and judged by the core like
any other. A reply that does not parse is re-asked here (validation re-ask); a record the
core refuses is re-asked by the driver with the core's typed error as ``feedback``. The
policy's re-ask budget bounds each: at most budget + 1 replies per decision here, and at
most budget + 1 decisions per turn in the driver (so at most (budget + 1)^2 model calls a
turn, each logged in calls.jsonl). Neither is a transport retry: those live in the model
layer.

Under ``guard: sound`` (the default) the model does not spell units: it picks one option of
the sound-move menu (``valuesneg.agents.menu``) by letter and cites ids from that option's
own list, so the schema makes a move below the party's no-deal value, or a citation that
does not fit the move, impossible to express. When only one option is sound (accepting at
the last round) no model is asked. ``guard: none`` keeps the raw design (free units, any
citable id, prompts ``negotiator.propose``/``negotiator.respond``) for studying models.
Either way every decision records what the scripted values agent would have done in the
same view (``Call.scripted``), so ``choice_divergence`` shows whether the model chose.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from valuesneg.core import (
    Accept,
    Counter,
    Defer,
    Header,
    ProtocolViolation,
    Refuse,
    Request,
    content_hash,
    strict_json,
)
from valuesneg.core.view import PartyView

from .base import header, split, utility
from .menu import Guard, Option, advisor, describe, menu, move_of
from .models import ChatModel, Message
from .prompts import Prompt, load_prompt

Parse = Callable[[str], tuple[Header | None, str | None, str]]


class NoValidDecision(Exception):
    """The model gave no parseable decision within the re-ask budget."""


class Decision(BaseModel):
    """The free-form reply a model gives under ``guard: none``: an action, the units it keeps,
    the dimension it counters on, and the ids it cites."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["request", "accept", "counter", "refuse", "defer"]
    rationale: list[str]
    my_units: dict[str, int] | int | None = None
    dimension: str | None = None
    reasoning: str | None = None  # only when asked for; goes to the trace, never the core


@dataclass(frozen=True)
class Call:
    """One model call: what it cost and whether its reply was usable (non-binding trace)."""

    party: str
    prompt: str
    attempt: int
    valid: bool
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_s: float
    reply: str
    # Links the trace to the lineage: content_hash of the record this reply became, which a
    # reviewer recomputes from the entry. The core never reads the trace.
    record_hash: str | None = None
    reasoning: str | None = None
    guard: str = "none"
    options: tuple[dict[str, Any], ...] = ()  # the sound options offered (guard: sound)
    chosen: str | None = None  # the label of the option taken
    scripted: dict[str, Any] | None = None  # what the scripted values agent would do here
    diverges: bool | None = None  # this decision's move differs from the scripted agent's


@dataclass
class LLMAgent:
    """The LLM negotiator: renders the view into a prompt, asks its chat model for a reply that
    fits a JSON Schema (a menu of sound moves under ``guard: sound``), re-asks on a reply it
    cannot use, and turns the reply into a record."""

    name: str
    model: ChatModel
    cards: Mapping[str, str]  # card or attentional-policy id -> the text the model is shown
    terminal_rules: str
    # Re-asks within one decision after a reply the agent cannot use (not JSON that fits
    # the schema, or not one of the options). Separate from the policy's ``reask_budget``,
    # which the driver spends re-asking after the core refuses a record: one turn costs at
    # most (reask_budget + 1) * (schema_reasks + 1) model calls.
    schema_reasks: int = 2
    explain: bool = False  # ask the model for free-text reasoning, kept in the trace only
    guard: Guard = "sound"
    strategy: str = "values"  # the concession curve the menu starts from (menu.advisor)
    calls: list[Call] = field(default_factory=list)

    def decide(self, view: PartyView, feedback: ProtocolViolation | None = None) -> Header:
        scripted = move_of(advisor(view.party, self.strategy).decide(view))
        if self.guard == "sound":
            return self._choose(view, feedback, scripted)
        prompt = load_prompt("negotiator.propose" if view.table is None
                             else "negotiator.respond")
        schema = response_schema(view, explain=self.explain)
        messages = [Message("user", self._render(prompt, view, feedback))]
        return self._ask(view, prompt, messages, schema,
                         lambda text: self._parse(view, text), scripted)

    def _choose(self, view: PartyView, feedback: ProtocolViolation | None,
                scripted: dict[str, Any]) -> Header:
        options = menu(view, self.cards, self.strategy)
        if len(options) == 1:  # nothing to choose: no model call, but the trace says so
            record = _cited(options[0].record, options[0].fits[:3])
            self.calls.append(Call(view.party, "guard:forced", 0, True, None, None, 0.0, "",
                                   content_hash(record), None, self.guard,
                                   (options[0].summary(),), options[0].label, scripted,
                                   move_of(record) != scripted))
            return record
        prompt = load_prompt("negotiator.choose")
        messages = [Message("user", self._render(prompt, view, feedback, options))]
        return self._ask(view, prompt, messages, menu_schema(options, self.explain),
                         lambda text: self._pick(options, text), scripted, options)

    def _ask(self, view: PartyView, prompt: Prompt, messages: list[Message],
             schema: dict[str, Any], parse: Parse, scripted: dict[str, Any],
             options: list[Option] | None = None) -> Header:
        shown = tuple(o.summary() for o in options or ())
        for attempt in range(self.schema_reasks + 1):
            reply = self.model.complete(messages, schema, schema_name="decision")
            record, reasoning, problem = parse(reply.text)
            chosen = _label(reply.text) if options else None
            self.calls.append(Call(view.party, prompt.tag, attempt, record is not None,
                                   reply.prompt_tokens, reply.completion_tokens,
                                   reply.latency_s, reply.text,
                                   content_hash(record) if record is not None else None,
                                   reasoning, self.guard, shown, chosen, scripted,
                                   None if record is None else move_of(record) != scripted))
            if record is not None:
                return record
            messages = [*messages, Message("assistant", reply.text),
                        Message("user", f"That reply was not usable: {problem}. Reply again "
                                        "with one JSON object that follows the schema.")]
        raise NoValidDecision(f"{view.party}: no valid decision in {self.schema_reasks + 1} "
                              "replies")

    def _pick(self, options: list[Option], text: str) -> tuple[Header | None, str | None, str]:
        try:
            strict_json.loads(text)  # a key twice or NaN is refused, not resolved by pydantic
            choice = MenuChoice.model_validate_json(text)
        except ValidationError as error:
            first = error.errors()[0]
            return None, None, f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
        except strict_json.JsonInputError as error:
            return None, None, str(error)
        option = next((o for o in options if o.label == choice.choice.option), None)
        if option is None:
            return None, None, f"option {choice.choice.option!r} is not one of the options"
        cited = [i for i in choice.choice.rationale if i in option.fits]
        if not cited:
            return None, None, f"cite ids from option {option.label}'s list"
        return _cited(option.record, cited), choice.reasoning, ""

    def _parse(self, view: PartyView, text: str) -> tuple[Header | None, str | None, str]:
        try:
            strict_json.loads(text)  # a key twice or NaN is refused, not resolved by pydantic
            decision = Decision.model_validate_json(text)
            return to_record(view, decision), decision.reasoning, ""
        except ValidationError as error:
            first = error.errors()[0]
            return None, None, f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
        except ValueError as error:
            return None, None, str(error)

    def _render(self, prompt: Prompt, view: PartyView, feedback: ProtocolViolation | None,
                options: list[Option] | None = None) -> str:
        weights = view.me.weights
        values: dict[str, str] = {
            "party": view.party, "negotiation": view.negotiation,
            "cards": self._cards(view),
            "dimensions": "\n".join(f"- {d}: {u} units, each worth {weights.get(d, 0):g} to you"
                                    for d, u in view.units.items()),
            "round": str(view.rounds + 1), "round_cap": str(view.round_cap),
            "terminal_rules": self.terminal_rules, "reservation": f"{view.me.reservation:g}",
            "citable": "\n".join(f"- {c.id}: {self.cards.get(c.id, c.kind)}"
                                 for c in view.citable),
            "feedback": "" if feedback is None else (
                f"\nYour last record was REFUSED by the protocol: {feedback.code.value} at "
                f"{feedback.field} ({feedback.detail}). Choose differently."),
        }
        best = sum(weights.get(d, 0.0) * u for d, u in view.units.items())
        revealed = [f"- {i}: {self.cards.get(i, i)}" for i in view.revealed_by_peers]
        values["best"] = f"{best:g}"
        values["peer_values"] = ("Values your peers have revealed:\n" + "\n".join(revealed)
                                 + "\n") if revealed else ""
        if options is not None:
            values |= {"situation": self._situation(view),
                       "options": describe(options, self.cards),
                       "citable": "\n".join(f"- {o.label}: {', '.join(o.fits)}"
                                             for o in options)}
        if view.table is not None:
            offer = view.table.allocation
            mine = {d: s.get(view.party, 0) for d, s in offer.items()}
            values |= {
                "proposer": view.table.proposer,
                "offer": "; ".join(f"{d}: " + ", ".join(f"{p} {n}" for p, n in s.items())
                                   for d, s in offer.items()),
                "offer_for_me": ", ".join(f"{d} {n}" for d, n in mine.items()),
                "offer_utility": f"{utility(view, offer):g}",
            }
        return prompt.render(**values)

    @staticmethod
    def _situation(view: PartyView) -> str:
        if view.table is None:
            return "It is your turn to propose how to divide everything."
        mine = ", ".join(f"{d} {s.get(view.party, 0)}" for d, s in view.table.allocation.items())
        return (f"{view.table.proposer} proposes to give you: {mine}, worth "
                f"{utility(view, view.table.allocation):g} to you.")

    def _cards(self, view: PartyView) -> str:
        own = [c.id for c in view.citable if c.own and c.kind == "card"]
        return "\n".join(f"- {card}: {self.cards.get(card, card)}" for card in own) or "- (none)"


def response_schema(view: PartyView, explain: bool = False) -> dict[str, Any]:
    """The JSON Schema of a decision that is legal now, with every id an enum."""
    schema = _decision_schema(view)
    if explain:  # free text is allowed here only because it never becomes part of a record
        schema["properties"] = {"reasoning": {"type": "string", "maxLength": 600},
                                **schema["properties"]}
        schema["required"] = ["reasoning", *schema["required"]]
    return schema


def _decision_schema(view: PartyView) -> dict[str, Any]:
    ids = [c.id for c in view.citable]
    rationale = {"type": "array", "items": {"type": "string", "enum": ids}, "minItems": 1,
                 "maxItems": 3}
    # Unit counts are enums, not min/max ranges: llama.cpp's grammar honours enums exactly.
    if view.table is None:
        units = {"type": "object", "properties": {
            d: {"type": "integer", "enum": list(range(u + 1)) if view.party in view.claimants[d]
                else [0]} for d, u in view.units.items()},
            "required": list(view.units), "additionalProperties": False}
        return {"type": "object", "properties": {
            "action": {"type": "string", "enum": ["request"]}, "my_units": units,
            "rationale": rationale}, "required": ["action", "my_units", "rationale"],
            "additionalProperties": False}
    actions = [k for k in ("accept", "counter", "refuse", "defer") if k in view.legal_kinds]
    return {"type": "object", "properties": {
        "action": {"type": "string", "enum": actions},
        "dimension": {"type": "string", "enum": list(view.units)},
        "my_units": {"type": "integer", "enum": list(range(max(view.units.values()) + 1))},
        "rationale": rationale},
        "required": ["action", "dimension", "my_units", "rationale"],
        "additionalProperties": False}


def to_record(view: PartyView, decision: Decision) -> Header:
    """Turn a model's decision into the protocol record it stands for.

    Grammar-constrained decoding cannot enforce ``uniqueItems``, and small models repeat
    ids; the core refuses a repeated id, so the agent keeps the first of each (the model's
    raw reply stays in the agent's call trace).
    """
    rationale = tuple(dict.fromkeys(decision.rationale))
    base = header(view)
    if decision.action == "request":
        if not isinstance(decision.my_units, dict):
            raise ValueError("my_units must give units per item for a request")
        proposal = {d: split(view, d, decision.my_units.get(d, 0)) for d in view.units}
        return Request(**base, projection=tuple(sorted(view.units)), proposal=proposal,
                       duration=view.duration_cap, tiers=dict(view.my_tiers),
                       rationale=rationale)
    if decision.action == "counter":
        if decision.dimension not in view.units or not isinstance(decision.my_units, int):
            raise ValueError("a counter needs a dimension and my_units as a whole number")
        return Counter(**base, dimension=decision.dimension,
                       value=split(view, decision.dimension, decision.my_units),
                       rationale=rationale)
    if decision.action == "refuse":
        return Refuse(**base, reasons=rationale)
    if decision.action == "defer":
        return Defer(**base, rationale=rationale)
    return Accept(**base, rationale=rationale)


class _Choice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    option: str
    rationale: list[str]


class MenuChoice(BaseModel):
    """A model's pick from the sound-move menu: one option's letter and ids from its list."""

    model_config = ConfigDict(extra="forbid")

    choice: _Choice
    reasoning: str | None = None  # only when asked for; goes to the trace, never the core


def menu_schema(options: list[Option], explain: bool = False) -> dict[str, Any]:
    """One branch per option: its letter, and a rationale drawn from its own fitting ids
    (the root stays an object, as OpenAI's strict mode requires)."""
    branches = [{"type": "object", "properties": {
        "option": {"type": "string", "enum": [o.label]},
        "rationale": {"type": "array", "items": {"type": "string", "enum": list(o.fits)},
                      "minItems": 1, "maxItems": 3}},
        "required": ["option", "rationale"], "additionalProperties": False}
        for o in options]
    properties: dict[str, Any] = {"choice": {"anyOf": branches}}
    if explain:
        properties = {"reasoning": {"type": "string", "maxLength": 600}, **properties}
    return {"type": "object", "properties": properties, "required": list(properties),
            "additionalProperties": False}


def _label(text: str) -> str | None:
    try:
        return MenuChoice.model_validate_json(text).choice.option
    except ValidationError:
        return None


def _cited(record: Header, ids: Any) -> Header:
    """``record`` with its reasons replaced by ``ids`` (each once, in the order given)."""
    field_name = "reasons" if isinstance(record, Refuse) else "rationale"
    return record.model_copy(update={field_name: tuple(dict.fromkeys(ids))})


def llm_calls(agents: Mapping[str, Any]) -> list[Call]:
    """Every model call (and forced choice) of the LLM agents among ``agents``, wrappers
    looked through."""
    calls: list[Call] = []
    for agent in agents.values():
        layer = agent
        while layer is not None:
            if isinstance(layer, LLMAgent):
                calls += layer.calls
            layer = getattr(layer, "inner", None)
    return calls


def card_texts(graph: Any) -> dict[str, str]:
    """What the model is shown for each card and attentional-policy id of a moral graph."""
    texts: dict[str, str] = {}
    for card in graph.cards:
        texts[card.id] = f"{card.title}. {card.description}"
        for ap in card.attentional_policies:
            texts[ap.id] = f"attends to: {ap.text}"
    return texts


def describe_terminal_rules(terminal: Mapping[str, str]) -> str:
    """The policy's terminal rules in a line the prompt can show (``dim:water by nash;
    ...``)."""
    return "; ".join(f"{d} by {rule.replace('_', ' ')}" for d, rule in terminal.items())


__all__ = [
    "Call",
    "Decision",
    "LLMAgent",
    "MenuChoice",
    "NoValidDecision",
    "card_texts",
    "describe_terminal_rules",
    "llm_calls",
    "menu_schema",
    "response_schema",
    "to_record",
]
