"""Warnings about graphs that are valid but doubtful (pure).

Errors make a graph unusable and are raised while it is built (see :mod:`.model`). Warnings
are *returned*, never emitted through :mod:`warnings`: :func:`lint_graph` gives a list of
:class:`GraphWarning` that callers may show, log or turn into failures. The command line
prints them on stderr after ``graph import-mai`` and in ``graph show``.

Codes:

- ``slogan-card``: no attentional policy of the card names a thing attended to. MAI's
  convention writes that thing in CAPITALS ("WHETHER each camper has enough WATER"); a
  policy with no capitalised word of three or more letters (other than connectives such as
  WHETHER, WHEN, HOW) is taken not to name one.
- ``slogan-title``: the title reads as a position, not a value: it contains should, must,
  ought, always, never, deserve(s), demand, insist, starts with I/we/you/everyone/nobody, or
  ends with "!".
- ``policy-id-convention``: an attentional-policy id is not ``ap:<card slug>.<n>``.
- ``edge-without-context``: the edge holds in no context, so it only counts globally.
- ``counts-inconsistent``: ``impressions`` is smaller than the four vote counts together
  (every vote on a pair is also an impression of it).
- ``summary-mismatch``: an imported MAI edge's own ``summary`` disagrees with the values
  recomputed from its counts, beyond the precision the file wrote them with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .ids import CARD_PREFIX, POLICY_PREFIX
from .mai import summary_mismatches
from .model import MoralGraph, ValuesCard

CONNECTIVES = frozenset({
    "WHETHER", "WHEN", "HOW", "WHAT", "WHICH", "WHO", "WHY", "WHERE", "AND", "THE", "FOR",
    "NOT", "BUT", "WITH", "THAT", "THIS",
})
POSITION_WORDS = frozenset({
    "should", "must", "ought", "always", "never", "deserve", "deserves", "demand", "insist",
})
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_POSITION_START = re.compile(r"^(i|we|you|everyone|everybody|nobody|no one)\b")


@dataclass(frozen=True)
class GraphWarning:
    """A doubtful but valid part of a graph: ``code`` (see module doc), ``where``, message."""

    code: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"warning [{self.code}] {self.where}: {self.message}"


def attended_things(text: str) -> tuple[str, ...]:
    """The CAPITALISED words of an attentional policy (3+ letters, connectives excluded)."""
    found = []
    for word in _WORD.findall(text):
        letters = sum(ch.isalpha() for ch in word)
        if letters >= 3 and word.isupper() and word.upper() not in CONNECTIVES:
            found.append(word)
    return tuple(found)


def title_is_position(title: str) -> bool:
    """Whether a card's title reads as a position (a stance or an exclamation) rather than a
    value."""
    lowered = title.strip().lower()
    words = set(re.findall(r"[a-z]+", lowered))
    return (bool(words & POSITION_WORDS) or lowered.endswith("!")
            or _POSITION_START.match(lowered) is not None)


def lint_card(card: ValuesCard, where: str) -> list[GraphWarning]:
    """Warnings about a card that reads like a slogan or a position instead of what its holder
    attends to."""
    out: list[GraphWarning] = []
    if not any(attended_things(ap.text) for ap in card.attentional_policies):
        out.append(GraphWarning(
            "slogan-card", where,
            f"card {card.id!r} ({card.title!r}) reads like a slogan: none of its attentional "
            "policies names a thing attended to in CAPITALS"))
    if title_is_position(card.title):
        out.append(GraphWarning(
            "slogan-title", f"{where}.title",
            f"card {card.id!r}: title {card.title!r} states a position; a values card's title "
            "names what is cared about"))
    slug = card.id.removeprefix(CARD_PREFIX)
    for j, ap in enumerate(card.attentional_policies):
        rest = ap.id.removeprefix(POLICY_PREFIX)
        head, _, n = rest.rpartition(".")
        if head != slug or not n.isdigit():
            out.append(GraphWarning(
                "policy-id-convention", f"{where}.attentional_policies[{j}].id",
                f"attentional-policy id {ap.id!r} does not follow ap:{slug}.<n>"))
    return out


def lint_graph(graph: MoralGraph) -> list[GraphWarning]:
    """Every warning for ``graph``, cards first then edges, in document order."""
    out: list[GraphWarning] = []
    for i, card in enumerate(graph.cards):
        out.extend(lint_card(card, f"cards[{i}]"))
    for i, edge in enumerate(graph.edges):
        label = f"edge {edge.source} -> {edge.wiser}"
        if not edge.contexts:
            out.append(GraphWarning("edge-without-context", f"edges[{i}]",
                                    f"{label} holds in no context; it only counts in the "
                                    "global ranking"))
        c = edge.counts
        votes = c.marked_wiser + c.marked_not_wiser + c.marked_less_wise + c.marked_unsure
        if c.impressions < votes:
            out.append(GraphWarning("counts-inconsistent", f"edges[{i}].counts",
                                    f"{label}: impressions ({c.impressions}) < votes ({votes})"))
    for m in summary_mismatches(graph):
        out.append(GraphWarning(
            "summary-mismatch", f"edges[{m.edge_index}].provenance.extra.summary.{m.field}",
            f"the file says {m.file_value!r}, recomputed from the counts {m.computed!r} "
            f"(tolerance {m.tolerance:g})"))
    return out
