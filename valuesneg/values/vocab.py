"""Building a negotiation's reasons vocabulary from policy clauses, dimensions and cards."""

from __future__ import annotations

from collections.abc import Iterable

from valuesneg.core import Vocabulary, VocabularyEntry

from .model import ValuesCard

FAIRNESS_PROPERTIES = ("fair:needs_coverage", "fair:proportionality", "fair:equal_split",
                       "fair:pareto_efficiency", "fair:envy_freeness")


def vocabulary_for(clauses: Iterable[str], dimensions: Iterable[str],
                   holdings: Iterable[tuple[str, ValuesCard, bool]],
                   fairness: Iterable[str] = FAIRNESS_PROPERTIES) -> Vocabulary:
    """``holdings`` are (owner, card, private): a card and its attentional policies are
    citable by their holder, and by everyone once public or revealed."""
    entries = [VocabularyEntry(id=c, kind="clause") for c in dict.fromkeys(clauses)]
    entries += [VocabularyEntry(id=d, kind="dimension") for d in dimensions]
    entries += [VocabularyEntry(id=f, kind="fairness") for f in fairness]
    for owner, card, private in holdings:
        entries.append(VocabularyEntry(id=card.id, kind="card", owner=owner, private=private))
        entries += [VocabularyEntry(id=ap.id, kind="policy", owner=owner, private=private)
                    for ap in card.attentional_policies]
    return Vocabulary(entries=tuple(entries))
