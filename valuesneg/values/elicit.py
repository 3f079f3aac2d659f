"""``valuesneg values elicit``: an interview that turns a person's own words into a values card.

1. The model asks about a concrete choice the person faced in the context (prompt
   ``values.question``); the person answers.
2. The model proposes a card, its output constrained by :data:`CARD_SCHEMA` (prompt
   ``values.card``); the person accepts, edits or rejects it. A rejection (with what the card
   missed) gets a new proposal, at most :data:`MAX_PROPOSALS` in all.
3. The card store compares the card with the graph's cards; a near-duplicate
   (:data:`DUPLICATE_SCORE`) is shown and the person merges into it or keeps both.
4. The card is written into the graph (atomically) with its provenance: the answer, the
   question, the model and the prompt versions.

The interview's state is saved (atomically) after every step in ``GRAPH.interview.json``, so
when stdin closes mid-interview the same command, or ``--resume``, continues where it
stopped; nothing is asked of the model or the person twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from valuesneg.agents.models import ChatModel, Message
from valuesneg.agents.prompts import load_prompt
from valuesneg.core import strict_json
from valuesneg.io.files import UserError

from .errors import DataError
from .ids import allocate_slugs, card_id, context_id, policy_id, slugify
from .io import dump_graph, load_graph, write_text_atomic
from .model import GRAPH_FORMAT, AttentionalPolicy, Context, MoralGraph, Provenance, ValuesCard
from .people import MAX_POLICIES, MIN_POLICIES, Ask, card_problem

STATE_FORMAT = "valuesneg.interview/1"
MAX_PROPOSALS = 3
MODEL_REASKS = 2  # re-asks after a reply that is not JSON fitting the schema
# Mean over the new card's facets of the closest facet of a card (MiniLM cosine; see
# retrieval.select.similar_cards) at or above which that card is shown as a near-duplicate.
DUPLICATE_SCORE = 0.8
DEFAULT_CONTEXT = "Dividing scarce things between people"
QUESTION_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["question"],
    "properties": {"question": {"type": "string", "minLength": 10, "maxLength": 400}}}
CARD_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "required": ["title", "description", "attentional_policies"],
    "properties": {
        "title": {"type": "string", "minLength": 3, "maxLength": 60},
        "description": {"type": "string", "minLength": 10, "maxLength": 300},
        "attentional_policies": {"type": "array", "minItems": MIN_POLICIES,
                                 "maxItems": MAX_POLICIES,
                                 "items": {"type": "string", "minLength": 5,
                                           "maxLength": 200}}}}


class NoCard(Exception):
    """The interview ended without a card (every proposal rejected, or none parsed)."""


@dataclass
class Interviewer:
    """The model side of an interview: asks and proposes through ``model``."""

    model: ChatModel
    model_name: str

    def ask(self, prompt_name: str, values: Mapping[str, str], schema: dict[str, Any],
            check: Callable[[dict[str, Any]], str | None]) -> dict[str, Any]:
        """A reply that fits ``schema`` and passes ``check``, re-asked up to MODEL_REASKS."""
        prompt = load_prompt(prompt_name)
        messages = [Message("user", prompt.render(**values))]
        problem = "no reply"
        for _ in range(MODEL_REASKS + 1):
            reply = self.model.complete(messages, schema, schema_name=prompt_name)
            try:
                data = strict_json.loads(reply.text)
            except strict_json.JsonInputError as error:
                problem = f"not JSON: {error.message}"
            else:
                problem = (check(data) if isinstance(data, dict) else "not a JSON object") or ""
                if not problem:
                    return dict(data)
            messages = [*messages, Message("assistant", reply.text),
                        Message("user", f"That reply was not usable: {problem}. Reply again "
                                        "with one JSON object that follows the schema.")]
        raise NoCard(f"the model gave no usable {prompt_name} reply in {MODEL_REASKS + 1} "
                     f"tries (last: {problem})")


def _question_problem(data: dict[str, Any]) -> str | None:
    question = data.get("question")
    return None if isinstance(question, str) and question.strip() else "question is empty"


def state_path(graph_path: Path) -> Path:
    """Where an interview into ``graph_path`` is saved between steps."""
    return graph_path.with_name(graph_path.name + ".interview.json")


@dataclass
class Interview:
    """One interview, saved after every step so a closed stdin loses nothing."""

    path: Path  # the graph the card goes into
    context: str
    steps: list[dict[str, Any]]
    _at: int = field(default=0, init=False)  # steps taken (replayed or new) in this process

    @classmethod
    def start(cls, graph_path: Path, context: str, resume: bool) -> Interview:
        saved = state_path(graph_path)
        if not saved.exists():
            if resume:
                raise UserError(f"{saved}: no paused interview to resume")
            return cls(graph_path, context, [])
        data = _read_state(saved)
        if data["context"] != context and not resume:
            raise UserError(f"{saved}: an interview about {data['context']!r} is paused here; "
                            "continue it with --resume, or delete the file to start over")
        print(f"resuming the interview paused in {saved}")
        return cls(graph_path, data["context"], list(data["steps"]))

    def save(self) -> None:
        write_text_atomic(state_path(self.path), json.dumps(
            {"format": STATE_FORMAT, "context": self.context, "steps": self.steps},
            indent=2, ensure_ascii=False) + "\n")

    def done(self) -> None:
        with suppress(FileNotFoundError):
            state_path(self.path).unlink()

    def step(self, kind: str, make: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The next step of ``kind``: replayed from the saved state, else made and saved."""
        index, self._at = self._at, self._at + 1
        if index < len(self.steps):
            saved = self.steps[index]
            if not isinstance(saved, dict) or saved.get("kind") != kind or not isinstance(
                    saved.get("data"), dict):
                raise UserError(f"{state_path(self.path)}: step {index} is not the {kind!r} "
                                "this interview expects; delete the file to start over")
            return dict(saved["data"])
        data = make()
        self.steps.append({"kind": kind, "data": data})
        self.save()
        return data


def _read_state(path: Path) -> dict[str, Any]:
    try:
        data = strict_json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, strict_json.JsonInputError) as error:
        raise UserError(f"{path}: not a readable interview state ({error}); delete it to "
                        "start over") from None
    if not isinstance(data, dict) or data.get("format") != STATE_FORMAT or not isinstance(
            data.get("steps"), list) or not isinstance(data.get("context"), str):
        raise UserError(f"{path}: not an interview state (format {STATE_FORMAT}); delete it "
                        "to start over")
    return data


def run_interview(interview: Interview, context: str, model: Interviewer,
                  ask: Ask) -> dict[str, Any]:
    """The accepted card draft and where it came from (question, answer, edits); ``context``
    is the situation's title, as the model and the person see it."""
    question = interview.step("question", lambda: model.ask(
        "values.question", {"context": context, "previous": ""}, QUESTION_SCHEMA,
        _question_problem))["question"]
    answer = interview.step("answer", lambda: ask(
        {"type": "interview_question", "party": "interviewee", "context": context,
         "question": question}))["answer"]
    rejected = ""
    for _ in range(MAX_PROPOSALS):
        # step() calls each lambda at once (or not at all), so the loop variables are current.
        card = interview.step("proposal", lambda: model.ask(
            "values.card", {"context": context, "question": question, "answer": answer,
                            "rejected": rejected}, CARD_SCHEMA, card_problem))  # noqa: B023
        verdict = interview.step("verdict", lambda: ask(
            {"type": "card_proposal", "party": "interviewee", "card": card,  # noqa: B023
             "choices": ["accept", "edit", "reject"]}))
        if verdict["decision"] != "reject":
            final = card if verdict["decision"] == "accept" else verdict["card"]
            return {"card": final, "question": question, "answer": answer,
                    "edited": verdict["decision"] == "edit", "model": model.model_name}
        rejected = (f'\nThey rejected the card "{card["title"]}"'
                    + (f', saying: {verdict["reason"]}' if verdict["reason"] else "")
                    + ". Write a different card that fits their words better.\n")
    raise NoCard(f"all {MAX_PROPOSALS} proposed cards were rejected; nothing was written")


def open_graph(path: Path) -> MoralGraph | None:
    """The graph at ``path``, None when there is none yet; one clear error when it is not a
    moral graph."""
    if not path.exists():
        return None
    try:
        return load_graph(path)
    except DataError as error:
        raise UserError(f"{path}: not a moral graph the card can go into: {error}") from None


def new_graph(path: Path) -> MoralGraph:
    """An empty moral graph for ``path``, named after the file."""
    return MoralGraph(format=GRAPH_FORMAT, id=f"graph:{slugify(path.stem, fallback='values')}",
                      title="Values cards elicited from people", cards=())


def with_context(graph: MoralGraph, key: str) -> tuple[MoralGraph, str]:
    """The graph with context ``key`` (an id or title; declared when new), and its id."""
    try:
        return graph, graph.resolve_context(key).id
    except KeyError:
        taken = {c.id.removeprefix("ctx:") for c in graph.contexts}
        slug = allocate_slugs([key], taken=taken)[key]
        added = Context(id=context_id(slug), title=key)
        # Validated anew, not model_copy: that would carry the cached context index over.
        return MoralGraph.model_validate({**graph.model_dump(), "contexts": [
            *(c.model_dump() for c in graph.contexts), added.model_dump()]}), added.id


def to_card(graph: MoralGraph, context: str, elicited: dict[str, Any],
            prompts: tuple[str, ...]) -> ValuesCard:
    """The accepted draft as a card of ``graph`` in ``context``, with a fresh id and its
    provenance (the answer, the model, the prompt versions)."""
    draft = elicited["card"]
    taken = {c.id.removeprefix("card:") for c in graph.cards}
    taken |= {p.removeprefix("ap:").rpartition(".")[0] for p in graph.policy_ids()}
    slug = allocate_slugs([draft["title"]], taken=taken)[draft["title"]]
    cid = card_id(slug)
    return ValuesCard(
        id=cid, title=draft["title"].strip(), description=draft["description"].strip(),
        attentional_policies=tuple(
            AttentionalPolicy(id=policy_id(cid, n), text=text.strip())
            for n, text in enumerate(draft["attentional_policies"], 1)),
        contexts=(context,),
        provenance=Provenance(source="elicited", quote=elicited["answer"], extra={
            "question": elicited["question"], "model": elicited["model"],
            "prompts": list(prompts), "edited": elicited["edited"]}))


def merge_into(graph: MoralGraph, existing: str, card: ValuesCard) -> MoralGraph:
    """The existing card keeps its words; it gains the context and the interview's record."""
    old = graph.card(existing)
    record = {"quote": card.provenance.quote, "proposed": card.title, **card.provenance.extra}
    extra = {**old.provenance.extra,
             "elicited": [*_as_list(old.provenance.extra.get("elicited")), record]}
    merged = old.model_copy(update={
        "contexts": tuple(dict.fromkeys((*old.contexts, *card.contexts))),
        "provenance": old.provenance.model_copy(update={"extra": extra})})
    cards = tuple(merged if c.id == existing else c for c in graph.cards)
    return MoralGraph.model_validate({**graph.model_dump(), "cards": [
        c.model_dump() for c in cards]})


def _as_list(value: object) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def add_card(graph: MoralGraph, card: ValuesCard) -> MoralGraph:
    """``graph`` with ``card`` added, validated again as a whole."""
    return MoralGraph.model_validate({**graph.model_dump(), "cards": [
        *(c.model_dump() for c in graph.cards), card.model_dump()]})


def near_duplicate(graph: MoralGraph, card: ValuesCard) -> dict[str, Any] | None:
    """The graph's closest card when it is at least DUPLICATE_SCORE similar, for showing."""
    if not graph.cards:
        return None
    from valuesneg.retrieval.select import similar_cards

    texts = [f"{card.title}. {card.description}", *(p.text for p in card.attentional_policies)]
    closest, score = similar_cards(graph, texts)[0]
    if score < DUPLICATE_SCORE:
        return None
    found = graph.card(closest)
    return {"id": found.id, "title": found.title, "description": found.description,
            "attentional_policies": [p.text for p in found.attentional_policies],
            "score": score}


PROMPTS = ("values.question", "values.card")


def elicit(graph_path: Path, context: str, model: Interviewer, ask: Ask,
           resume: bool = False) -> tuple[MoralGraph, str]:
    """Run (or continue) an interview and write its card; the graph written and a summary."""
    graph = open_graph(graph_path)  # before any question: a bad file fails first
    interview = Interview.start(graph_path, context, resume)
    interview.save()
    graph, ctx = with_context(graph or new_graph(graph_path), interview.context)
    try:
        elicited = run_interview(interview, graph.context(ctx).title, model, ask)
    except NoCard:
        interview.done()  # replaying the same rejections would end the same way
        raise
    card = to_card(graph, ctx, elicited, tuple(load_prompt(p).tag for p in PROMPTS))
    close = near_duplicate(graph, card)
    choice = "keep"
    if close is not None:
        choice = interview.step("duplicate", lambda: ask(
            {"type": "near_duplicate", "party": "interviewee",
             "card": {"title": card.title, "description": card.description,
                      "attentional_policies": [p.text for p in card.attentional_policies]},
             "existing": close, "choices": ["merge", "keep"]}))["decision"]
    if choice == "merge":
        assert close is not None
        graph, said = merge_into(graph, close["id"], card), f"merged into {close['id']}"
    else:
        graph, said = add_card(graph, card), f"added {card.id}"
    dump_graph(graph, graph_path)
    interview.done()
    return graph, f"{said} ({len(card.attentional_policies)} attentional policies)"
