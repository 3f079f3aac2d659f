"""What every corpus importer yields: a named, runnable scenario with the original utilities.

A :class:`CorpusScenario` holds the core's ``Terms`` (what a negotiation runs under), the
values cards its parties hold (so LLM agents can be shown them), the exact utility space of
the original game (what the eval metrics are computed on) and, when the corpus records it,
what the people in the corpus actually agreed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from valuesneg.core import Clauses, Dimension, Envelope, Party, Policy, Terms
from valuesneg.core.division import MAX_SPACE
from valuesneg.io.files import UserError
from valuesneg.values.ids import card_id, policy_id, slugify
from valuesneg.values.model import AttentionalPolicy, Provenance, ValuesCard
from valuesneg.values.vocab import FAIRNESS_PROPERTIES, vocabulary_for

from .space import UtilitySpace

Allocation = dict[str, dict[str, int]]  # dimension -> party -> units
TIER = "tier:party"
ROUND_CAP = 10


class CorpusError(UserError):
    """A corpus file is malformed; the message names the file and the line or element."""

    def __init__(self, message: str, *, path: str | Path, where: str | None = None) -> None:
        at = f" {where}:" if where else ""
        super().__init__(f"{path}:{at} {message}")
        self.path = Path(path)
        self.where = where
        self.message = message
        self.reason = f"{where}: {message}" if where else message  # without the path


@dataclass(frozen=True)
class Recorded:
    """What the corpus says happened: the deal (if any) and what each party scored by it."""

    agreed: bool
    allocation: Allocation | None  # in the scenario's own dimensions and party ids
    utilities: dict[str, float]  # party -> utility of the recorded result (the no-deal value
    # when there was no deal)


@dataclass(frozen=True)
class CorpusScenario:
    """One negotiation imported from a corpus: its core terms, the original game's utility space
    (which metrics are computed on), the cards it carries, and what the people recorded did, if
    known."""

    name: str  # unique within a load, e.g. "dond-17" or "genius-holiday-prof1-prof2"
    corpus: str  # "casino", "dond", "genius" or "scenario"
    source: str  # where it came from: "FILE:LINE", "FILE" or a folder
    terms: Terms
    space: UtilitySpace  # the original game's utilities, which metrics are computed on
    cards: tuple[ValuesCard, ...] = ()
    recorded: Recorded | None = None
    issues: dict[str, str] = field(default_factory=dict)  # dimension id -> the corpus's name
    exact: bool = True  # the terms' linear utilities are the original ones (see genius.py)


@dataclass(frozen=True)
class CorpusLoad:
    """What a ``--dataset`` read: its scenarios, a summary of what was read and skipped (and
    why), and notes for a report."""

    scenarios: list[CorpusScenario]
    summary: dict[str, Any]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PartySpec:
    """One side of an imported two-party game, before it becomes a core ``Party``."""

    id: str
    weights: Mapping[str, float]  # dimension -> utility per unit
    reservation: float
    cards: tuple[ValuesCard, ...]


def issue_cards(corpus: str, key: str, party: str, labels: Mapping[str, str],
                weights: Mapping[str, float], unit: str = "point") -> tuple[ValuesCard, ...]:
    """One values card per issue, most valued first: what a party attends to, derived from
    its own utilities (so citing a card reveals a priority, as CaSiNo's cards do)."""
    order = sorted(weights, key=lambda d: (-weights[d], d))
    cards = []
    for rank, dim in enumerate(order, start=1):
        label = labels[dim]
        # The rank keeps ids unique when two labels slugify alike; lengths keep it <= 64.
        card = card_id(f"{corpus}-{slugify(key, max_length=20)}-{party}-{rank}-"
                       f"{slugify(label, max_length=12)}")
        worth = f"{weights[dim]:g} {unit}{'' if weights[dim] == 1 else 's'} a unit"
        cards.append(ValuesCard(
            id=card, title=f"{label} (priority {rank} of {len(order)})",
            description=f"Bargains for {label} as priority {rank} of {len(order)} ({worth})",
            attentional_policies=(AttentionalPolicy(
                id=policy_id(card, 1),
                text=f"HOW MUCH {label.upper()} I come away with: {worth} to me"),),
            provenance=Provenance(source=corpus, source_id=f"{key}/{party}/{label}",
                                  extra={"dimension": dim, "weight": weights[dim],
                                         "rank": rank})))
    return tuple(cards)


def division_terms(negotiation: str, corpus: str, units: Mapping[str, int],
                   parties: Sequence[PartySpec], *, round_cap: int = ROUND_CAP) -> Terms:
    """Two or more parties claiming the same pool, each with its own linear utilities.

    The fallback at the round cap is Nash bargaining over the declared utilities, the
    credible default; when the space is too large to search exactly it is an equal split,
    and Pareto efficiency is not measured on the outcome (the core would refuse the terms).
    """
    dims = tuple(sorted(units))
    pool = {d: (f"pool:{corpus}",) for d in dims}
    size = _space_size(units, len(parties))
    rule = "nash" if size <= MAX_SPACE else "equal_split"
    fairness = FAIRNESS_PROPERTIES if size <= MAX_SPACE else tuple(
        f for f in FAIRNESS_PROPERTIES if f != "fair:pareto_efficiency")
    policy = Policy(id=f"policy:{corpus}", round_cap=round_cap, timeout_ticks=10,
                    grant_duration_cap=24, tier_order=(TIER,),
                    tiers={p.id: dict.fromkeys(dims, TIER) for p in parties},
                    terminal=dict.fromkeys(dims, rule), fairness=fairness)
    holdings = [(p.id, card, True) for p in parties for card in p.cards]
    return Terms(
        negotiation=negotiation,
        dimensions=tuple(Dimension(id=d, units=units[d]) for d in dims),
        parties=tuple(Party(id=p.id, envelope=Envelope(scope=pool), reservation=p.reservation,
                            weights={d: float(p.weights.get(d, 0.0)) for d in dims},
                            cards=tuple(c.id for c in p.cards)) for p in parties),
        policy=policy,
        vocabulary=vocabulary_for(Clauses().ids(), dims, holdings, fairness),
    )


def _space_size(units: Mapping[str, int], parties: int) -> int:
    from math import comb, prod

    return prod(comb(u + parties - 1, parties - 1) for u in units.values())


def dimension_id(label: str) -> str:
    """A dimension id for a corpus label (``dim:`` and a slug of it)."""
    return f"dim:{slugify(label, max_length=40)}"
