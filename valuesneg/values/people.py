"""Asking a person during elicitation: at a terminal, or as JSON lines for a program.

Every question is a prompt (a JSON object with a ``type``); every answer is checked by
:func:`check_answer`, and a bad one is asked again with the problem in ``feedback``, at the
terminal as over JSON. JSON lines go through the same :class:`JsonAnswerer` human turns of
a negotiation use, so stdin closing raises the same ``NoAnswer``.

Prompt types and their answers:

- ``interview_question`` {question} -> {"answer": "text"} (a bare JSON string also works)
- ``card_proposal`` {card} -> {"decision": "accept"} | {"decision": "edit", "card": {...}}
  | {"decision": "reject", "reason": "text"}
- ``near_duplicate`` {card, existing} -> {"decision": "merge" | "keep"}
- ``wiser_vote`` {story, from, to} -> {"vote": "wiser" | "not_wiser" | "unsure"}
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.prompt import Prompt

from valuesneg.orchestration.humans import JsonAnswerer

Ask = Callable[[dict[str, Any]], dict[str, Any]]
MIN_POLICIES = 3
MAX_POLICIES = 6
VOTES = ("wiser", "not_wiser", "unsure")


def check_answer(prompt: dict[str, Any], raw: object) -> dict[str, Any] | str:
    """The answer, normalised; or what is wrong with it, to show the person."""
    kind = prompt["type"]
    if kind == "interview_question":
        text = raw if isinstance(raw, str) else raw.get("answer") if isinstance(raw, dict) \
            else None
        if not isinstance(text, str) or not text.strip():
            return "an empty answer says nothing: describe a choice you faced, in a sentence " \
                   "or more"
        return {"answer": text.strip()}
    if not isinstance(raw, dict):
        return "answer with one JSON object"
    if kind == "card_proposal":
        return _card_decision(raw)
    if kind == "near_duplicate":
        if raw.get("decision") not in ("merge", "keep"):
            return 'decision must be "merge" or "keep"'
        return {"decision": raw["decision"]}
    if kind == "wiser_vote":
        if raw.get("vote") not in VOTES:
            return f"vote must be one of {', '.join(VOTES)}"
        return {"vote": raw["vote"]}
    raise ValueError(f"unknown prompt type {kind!r}")


def _card_decision(raw: dict[str, Any]) -> dict[str, Any] | str:
    decision = raw.get("decision")
    if decision == "accept":
        return {"decision": "accept"}
    if decision == "reject":
        reason = raw.get("reason", "")
        return {"decision": "reject", "reason": reason.strip() if isinstance(reason, str)
                else ""}
    if decision == "edit":
        problem = card_problem(raw.get("card"))
        return {"decision": "edit", "card": raw["card"]} if problem is None else problem
    return 'decision must be "accept", "edit" or "reject"'


def card_problem(card: object) -> str | None:
    """Why ``card`` is not a card draft (title, description, 3 to 6 policies), or None."""
    if not isinstance(card, dict) or set(card) != {"title", "description",
                                                   "attentional_policies"}:
        return "a card has exactly: title, description, attentional_policies"
    for key in ("title", "description"):
        if not isinstance(card[key], str) or not card[key].strip():
            return f"card {key} must be a non-empty text"
    policies = card["attentional_policies"]
    if not isinstance(policies, list) or not all(
            isinstance(p, str) and p.strip() for p in policies):
        return "attentional_policies must be a list of non-empty texts"
    if not MIN_POLICIES <= len(policies) <= MAX_POLICIES:
        return f"a card lists {MIN_POLICIES} to {MAX_POLICIES} attentional policies, not " \
               f"{len(policies)}"
    return None


def asking(answers: str, console: Console | None = None) -> Ask:
    """The person: ``terminal`` or ``json`` (prompts on stdout, answers on stdin)."""
    if answers == "json":
        return checked(JsonAnswerer())
    return checked(TerminalPerson(console or Console()))


def checked(answer: Callable[[dict[str, Any]], Any]) -> Ask:
    """``answer`` asked again, with the reason, until what it gives is a valid answer."""
    def ask(prompt: dict[str, Any]) -> dict[str, Any]:
        feedback = None
        while True:
            result = check_answer(prompt, answer({**prompt, "feedback": feedback}))
            if isinstance(result, dict):
                return result
            feedback = result
    return ask


@dataclass
class TerminalPerson:
    """A person answering the interview at the terminal."""

    console: Console = field(default_factory=Console)

    def __call__(self, prompt: dict[str, Any]) -> Any:
        out = self.console
        if prompt.get("feedback"):
            out.print(f"[red]{prompt['feedback']}[/]")
        kind = prompt["type"]
        if kind == "interview_question":
            return {"answer": Prompt.ask(prompt["question"], console=out)}
        if kind == "card_proposal":
            self._show_card("Proposed card", prompt["card"])
            return self._card_decision(prompt["card"])
        if kind == "near_duplicate":
            self._show_card("Your card", prompt["card"])
            self._show_card(f"is close to {prompt['existing']['id']} (similarity "
                            f"{prompt['existing']['score']:.2f})", prompt["existing"])
            return {"decision": Prompt.ask("Merge into it, or keep both?", console=out,
                                           choices=["merge", "keep"])}
        if kind == "wiser_vote":
            out.rule(f"{prompt['from']['title']} -> {prompt['to']['title']}")
            out.print(prompt["story"])
            return {"vote": Prompt.ask("Did this person become wiser?", console=out,
                                       choices=list(VOTES))}
        raise ValueError(f"unknown prompt type {kind!r}")

    def _show_card(self, heading: str, card: dict[str, Any]) -> None:
        self.console.rule(heading)
        self.console.print(f"[bold]{card['title']}[/]: {card['description']}")
        for policy in card["attentional_policies"]:
            self.console.print(f"  - {policy}")

    def _card_decision(self, card: dict[str, Any]) -> dict[str, Any]:
        decision = Prompt.ask("Accept, edit or reject it?", console=self.console,
                              choices=["accept", "edit", "reject"])
        if decision == "reject":
            return {"decision": "reject",
                    "reason": Prompt.ask("What does it miss?", console=self.console,
                                         default="")}
        if decision == "accept":
            return {"decision": "accept"}
        title = Prompt.ask("Title", console=self.console, default=card["title"])
        description = Prompt.ask("Description", console=self.console,
                                 default=card["description"])
        policies = [Prompt.ask(f"Attentional policy {n} (empty: none)", console=self.console,
                               default=old)
                    for n, old in enumerate([*card["attentional_policies"], "", ""], 1)]
        return {"decision": "edit", "card": {
            "title": title, "description": description,
            "attentional_policies": [p for p in policies if p.strip()]}}
