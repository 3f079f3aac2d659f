"""Values cards and moral graphs: the data model (pure; pydantic v2 and the standard library).

A *values card* names something its holder cares about through the *attentional policies*
they follow when choosing (the things they pay attention to, e.g. "WHETHER each camper has
enough WATER to stay safe"). A *moral graph* is a set of cards plus directed *wiser-than*
edges, each holding in one or more declared contexts, with the vote counts behind it.

All models are frozen and reject unknown fields. A :class:`MoralGraph` validates its own
structure on construction; every structural error is a :class:`GraphError` whose ``where``
names the offending card or edge (``cards[3].id``, ``edges[7]``). Pydantic wraps errors raised
during validation in ``ValidationError``; use :func:`valuesneg.values.io.parse_graph` or
:func:`valuesneg.values.io.load_graph` to get the :class:`GraphError` itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    NonNegativeInt,
    Strict,
    model_validator,
)

from valuesneg.core.canonical import content_hash

from .errors import GraphError
from .ids import (
    CARD_PREFIX,
    CONTEXT_PREFIX,
    ID_MAX_LENGTH,
    ID_PATTERN,
    POLICY_PREFIX,
    id_problem,
)

GRAPH_FORMAT = "valuesneg.moral-graph/1"

# The reference edge filter of the MAI moral graph (edges kept in the published graph).
REFERENCE_MIN_MARKED_WISER = 2
REFERENCE_MIN_WISER_LIKELIHOOD = 0.33
REFERENCE_MAX_ENTROPY = 1.69


def _id_validator(prefix: str | None) -> Callable[[str], str]:
    def check(value: str) -> str:
        problem = id_problem(value)
        if problem is not None:
            raise ValueError(problem)
        if prefix is not None and not value.startswith(prefix):
            raise ValueError(f"id {value!r} must start with {prefix!r}")
        return value

    return check


def _pattern(prefix: str | None) -> str:
    return ID_PATTERN if prefix is None else f"^{prefix}[a-z0-9]+(?:[._:-][a-z0-9]+)*$"


def _id_schema(prefix: str | None) -> Any:
    return Field(json_schema_extra={"pattern": _pattern(prefix), "maxLength": ID_MAX_LENGTH})


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or only whitespace")
    return value


Id = Annotated[str, Strict(), AfterValidator(_id_validator(None)), _id_schema(None)]
CardId = Annotated[str, Strict(), AfterValidator(_id_validator(CARD_PREFIX)),
                   _id_schema(CARD_PREFIX)]
PolicyId = Annotated[str, Strict(), AfterValidator(_id_validator(POLICY_PREFIX)),
                     _id_schema(POLICY_PREFIX)]
ContextId = Annotated[str, Strict(), AfterValidator(_id_validator(CONTEXT_PREFIX)),
                      _id_schema(CONTEXT_PREFIX)]
Text = Annotated[str, Strict(), AfterValidator(_text), Field(min_length=1)]
Count = Annotated[NonNegativeInt, Strict()]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AttentionalPolicy(_Frozen):
    """One thing the holder attends to when choosing; MAI writes the thing in CAPITALS."""

    id: PolicyId
    text: Text


class Provenance(_Frozen):
    """Where a card, edge or graph came from.

    ``source`` names the origin ("authored", "mai", "casino"); ``source_id`` is the id the
    item had there (MAI's integer value id, a CaSiNo "dialogue/agent/priority" key);
    ``quote`` keeps original words verbatim (a CaSiNo participant's stated reason);
    ``extra`` keeps every other original field verbatim so an import loses nothing.
    """

    source: Annotated[str, Strict(), Field(pattern=r"^[a-z][a-z0-9-]*$", max_length=32)]
    source_id: Annotated[str, Strict()] | Annotated[int, Strict()] | None = None
    quote: str | None = None
    extra: dict[str, JsonValue] = Field(default_factory=dict)


class Context(_Frozen):
    """A situation in which cards apply and edges hold, e.g. "When sharing scarce supplies"."""

    id: ContextId
    title: Text


class ValuesCard(_Frozen):
    """A value, expressed as the attentional policies its holder follows (not a slogan)."""

    id: CardId
    title: Text
    description: Text  # how the holder acts
    attentional_policies: tuple[AttentionalPolicy, ...]
    contexts: tuple[ContextId, ...] = ()
    provenance: Provenance

    @model_validator(mode="after")
    def _check_card(self) -> ValuesCard:
        if not self.attentional_policies:
            raise GraphError(f"card {self.id!r} has no attentional policies; a values card "
                             "lists the things its holder attends to",
                             where="attentional_policies")
        seen: dict[str, int] = {}
        for i, ap in enumerate(self.attentional_policies):
            if ap.id in seen:
                raise GraphError(
                    f"card {self.id!r} repeats attentional-policy id {ap.id!r} "
                    f"(also attentional_policies[{seen[ap.id]}])",
                    where=f"attentional_policies[{i}].id")
            seen[ap.id] = i
        for i, ctx in enumerate(self.contexts):
            if ctx in self.contexts[:i]:
                raise GraphError(f"card {self.id!r} lists context {ctx!r} twice",
                                 where=f"contexts[{i}]")
        return self

    def policy_ids(self) -> tuple[str, ...]:
        return tuple(ap.id for ap in self.attentional_policies)


class VoteCounts(_Frozen):
    """Aggregated votes on one wiser-than edge, as in the MAI export's ``counts``."""

    marked_wiser: Count
    marked_not_wiser: Count
    marked_less_wise: Count
    marked_unsure: Count
    impressions: Count  # every time the pair was shown, voted on or not

    def __add__(self, other: VoteCounts) -> VoteCounts:
        return VoteCounts(
            marked_wiser=self.marked_wiser + other.marked_wiser,
            marked_not_wiser=self.marked_not_wiser + other.marked_not_wiser,
            marked_less_wise=self.marked_less_wise + other.marked_less_wise,
            marked_unsure=self.marked_unsure + other.marked_unsure,
            impressions=self.impressions + other.impressions,
        )


def wiser_likelihood(counts: VoteCounts) -> float:
    """MAI's ``wiserLikelihood``: (wiser - less wise) / (wiser + not wiser + unsure + less wise).

    Zero when nobody voted (the reference returns 0 for an empty total).
    """
    total = (counts.marked_wiser + counts.marked_not_wiser + counts.marked_unsure
             + counts.marked_less_wise)
    if total == 0:
        return 0.0
    return (counts.marked_wiser - counts.marked_less_wise) / total


def entropy(counts: VoteCounts) -> float:
    """MAI's ``entropy``: base-2 Shannon entropy over the five count fields.

    ``impressions`` is included as if it were a fifth kind of response: that is a quirk of
    the reference implementation, copied so the numbers match theirs. Zero counts contribute
    nothing; an all-zero edge has entropy 0.
    """
    values = (counts.marked_wiser, counts.marked_not_wiser, counts.marked_less_wise,
              counts.marked_unsure, counts.impressions)  # the reference's key order
    total = sum(values)
    result = 0.0
    for count in values:
        if count > 0:
            p = count / total
            result -= p * math.log2(p)
    return result


def passes_reference_filter(counts: VoteCounts) -> bool:
    """True when MAI would keep the edge in its published graph.

    markedWiser >= 2, wiserLikelihood >= 0.33 and entropy <= 1.69.
    """
    return (counts.marked_wiser >= REFERENCE_MIN_MARKED_WISER
            and wiser_likelihood(counts) >= REFERENCE_MIN_WISER_LIKELIHOOD
            and entropy(counts) <= REFERENCE_MAX_ENTROPY)


class WiserEdge(_Frozen):
    """``wiser`` is wiser than ``source`` (the less wise card) in each of ``contexts``.

    An edge with several contexts carries one set of counts aggregated over them, exactly as
    MAI exports do. An edge with no context only counts in the global ranking.
    """

    source: CardId
    wiser: CardId
    contexts: tuple[ContextId, ...] = ()
    counts: VoteCounts
    provenance: Provenance | None = None

    @property
    def wiser_likelihood(self) -> float:
        return wiser_likelihood(self.counts)

    @property
    def entropy(self) -> float:
        return entropy(self.counts)

    @property
    def passes_reference_filter(self) -> bool:
        return passes_reference_filter(self.counts)


class MoralGraph(_Frozen):
    """Values cards plus wiser-than edges per context; ``content_hash`` is its version."""

    format: Literal["valuesneg.moral-graph/1"]
    id: Id
    title: Text
    description: str = ""
    contexts: tuple[Context, ...] = ()
    cards: tuple[ValuesCard, ...]
    edges: tuple[WiserEdge, ...] = ()
    provenance: Provenance | None = None

    @model_validator(mode="after")
    def _check_structure(self) -> MoralGraph:
        context_at: dict[str, int] = {}
        for i, ctx in enumerate(self.contexts):
            if ctx.id in context_at:
                raise GraphError(f"duplicate context id {ctx.id!r} (also contexts"
                                 f"[{context_at[ctx.id]}])", where=f"contexts[{i}].id")
            context_at[ctx.id] = i
        card_at: dict[str, int] = {}
        policy_at: dict[str, tuple[int, str]] = {}
        for i, card in enumerate(self.cards):
            if card.id in card_at:
                raise GraphError(f"duplicate card id {card.id!r} (also cards"
                                 f"[{card_at[card.id]}])", where=f"cards[{i}].id")
            card_at[card.id] = i
            for j, ap in enumerate(card.attentional_policies):
                if ap.id in policy_at:
                    k, owner = policy_at[ap.id]
                    raise GraphError(
                        f"duplicate attentional-policy id {ap.id!r} in card {card.id!r} "
                        f"(also used by card {owner!r}, cards[{k}])",
                        where=f"cards[{i}].attentional_policies[{j}].id")
                policy_at[ap.id] = (i, card.id)
            for j, ctx_id in enumerate(card.contexts):
                if ctx_id not in context_at:
                    raise GraphError(f"card {card.id!r} names context {ctx_id!r}, which the "
                                     "graph does not declare in 'contexts'",
                                     where=f"cards[{i}].contexts[{j}]")
        edge_at: dict[tuple[str, str, str], int] = {}
        for i, edge in enumerate(self.edges):
            label = f"edge {edge.source} -> {edge.wiser}"
            for end, card_id in (("source", edge.source), ("wiser", edge.wiser)):
                if card_id not in card_at:
                    raise GraphError(f"{label}: unknown card {card_id!r}",
                                     where=f"edges[{i}].{end}")
            if edge.source == edge.wiser:
                raise GraphError(f"{label}: a card cannot be wiser than itself",
                                 where=f"edges[{i}]")
            for j, ctx_id in enumerate(edge.contexts):
                if ctx_id not in context_at:
                    raise GraphError(f"{label}: context {ctx_id!r} is not declared in "
                                     "'contexts'", where=f"edges[{i}].contexts[{j}]")
                key = (edge.source, edge.wiser, ctx_id)
                if key in edge_at:
                    raise GraphError(f"{label} appears twice in context {ctx_id!r} (also "
                                     f"edges[{edge_at[key]}])", where=f"edges[{i}]")
                edge_at[key] = i
            if not edge.contexts:
                key = (edge.source, edge.wiser, "")
                if key in edge_at:
                    raise GraphError(f"{label} appears twice without a context (also "
                                     f"edges[{edge_at[key]}])", where=f"edges[{i}]")
                edge_at[key] = i
        return self

    @cached_property
    def content_hash(self) -> str:
        """sha256 hex of the canonical JSON of the whole graph: the graph's version."""
        return content_hash(self)

    @cached_property
    def _card_index(self) -> dict[str, ValuesCard]:
        return {card.id: card for card in self.cards}

    @cached_property
    def _context_index(self) -> dict[str, Context]:
        return {ctx.id: ctx for ctx in self.contexts}

    def card(self, card_id: str) -> ValuesCard:
        """The card with this id; ``KeyError`` naming the id when there is none."""
        try:
            return self._card_index[card_id]
        except KeyError:
            raise KeyError(f"graph {self.id!r} has no card {card_id!r}") from None

    def has_card(self, card_id: str) -> bool:
        return card_id in self._card_index

    def context(self, context_id: str) -> Context:
        try:
            return self._context_index[context_id]
        except KeyError:
            raise KeyError(f"graph {self.id!r} has no context {context_id!r}") from None

    def resolve_context(self, key: str) -> Context:
        """A context by id, or else by exact title; ``KeyError`` listing the choices."""
        if key in self._context_index:
            return self._context_index[key]
        for ctx in self.contexts:
            if ctx.title == key:
                return ctx
        choices = ", ".join(ctx.id for ctx in self.contexts) or "none"
        raise KeyError(f"graph {self.id!r} has no context {key!r} (by id or title); "
                       f"declared: {choices}")

    def card_ids(self) -> tuple[str, ...]:
        return tuple(card.id for card in self.cards)

    def policy_ids(self) -> tuple[str, ...]:
        """Every attentional-policy id, in card order then policy order."""
        return tuple(ap.id for card in self.cards for ap in card.attentional_policies)

    def policy(self, policy_id: str) -> tuple[ValuesCard, AttentionalPolicy]:
        """The card holding an attentional policy, and the policy itself."""
        for card in self.cards:
            for ap in card.attentional_policies:
                if ap.id == policy_id:
                    return card, ap
        raise KeyError(f"graph {self.id!r} has no attentional policy {policy_id!r}")

    def cards_in_context(self, context_id: str) -> tuple[ValuesCard, ...]:
        """Cards that list ``context_id`` among their contexts."""
        return tuple(card for card in self.cards if context_id in card.contexts)

    def edges_in_context(self, context_id: str) -> tuple[WiserEdge, ...]:
        return tuple(edge for edge in self.edges if context_id in edge.contexts)
