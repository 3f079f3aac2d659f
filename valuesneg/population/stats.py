"""Per-generation figures (``generations.csv``) and the run's ``metrics.json``."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from .config import PopulationConfig
from .evolve import is_misreport
from .ledger import Credibility
from .world import Member

Summary = Mapping[str, Any]
BASE_COLUMNS = ("generation", "encounters", "agreement_rate", "mean_payoff", "honest_payoff",
                "misreport_payoff", "flagged_rate", "honest_credibility",
                "misreport_credibility", "misreport_share", "adoptions", "switches", "mean_wisdom",
                "distinct_cards", "card_rank_correlation")


def columns(config: PopulationConfig) -> list[str]:
    """The columns of the generations table: the base figures and each strategy's share."""
    return [*BASE_COLUMNS, *(f"share:{s}" for s in config.strategies)]


def generation_row(generation: int, members: Sequence[Member], results: Sequence[Summary],
                   credibility: Credibility, events: Sequence[Mapping[str, Any]],
                   wisdom: Mapping[str, float], config: PopulationConfig) -> dict[str, Any]:
    """The generation as played: ``members`` as they were at its start; credibility after
    its ledger entries; adoptions and switches made at its end."""
    seats = [seen for r in results for seen in r["parties"].values()]
    honest = [s["payoff"] for s in seats if not is_misreport(s["strategy"])]
    liars = [s["payoff"] for s in seats if is_misreport(s["strategy"])]
    row: dict[str, Any] = {
        "generation": generation, "encounters": len(results),
        "agreement_rate": _mean([float(r["agreed"]) for r in results]),
        "mean_payoff": _mean([s["payoff"] for s in seats]),
        "honest_payoff": _mean(honest), "misreport_payoff": _mean(liars),
        "flagged_rate": _mean([float(bool(s["flags"])) for s in seats]),
        "honest_credibility": _mean([credibility.score(m.id) for m in members
                                     if not is_misreport(m.strategy)]),
        "misreport_credibility": _mean([credibility.score(m.id) for m in members
                                        if is_misreport(m.strategy)]),
        "misreport_share": round(sum(is_misreport(m.strategy) for m in members)
                                 / len(members), 6),
        "adoptions": sum(e["event"] == "adoption" for e in events),
        "switches": sum(e["event"] == "switch" for e in events),
        "mean_wisdom": _mean([statistics.fmean(wisdom[c] for c in m.cards) for m in members]),
        "distinct_cards": len({c for m in members for c in m.cards}),
        "card_rank_correlation": rank_correlation(_card_counts(members), wisdom),
    }
    for s in config.strategies:
        row[f"share:{s}"] = round(sum(m.strategy == s for m in members) / len(members), 6)
    return row


def csv_line(values: Sequence[Any]) -> str:
    """One CSV line (None as an empty cell)."""
    return ",".join("" if v is None else str(v) for v in values)


def _mean(values: Sequence[float]) -> float | None:
    return round(statistics.fmean(values), 6) if values else None


def metrics(config: PopulationConfig, rows: Sequence[Mapping[str, Any]],
            members: Sequence[Member], credibility: Credibility, adoptions: int,
            switches: int, lineages: int, wisdom: Mapping[str, float]) -> dict[str, Any]:
    """What the run came to: the first and last generation side by side, totals, where the
    ledger ends, and the final population's shares."""
    first, last = rows[0], rows[-1]
    keys = [c for c in BASE_COLUMNS if c not in ("generation", "encounters")]
    return {
        "name": config.name, "seed": config.seed, "agents": config.agents,
        "generations": config.generations,
        "encounters": sum(r["encounters"] for r in rows), "lineages": lineages,
        "switches": {"credibility_visible": config.credibility.visible,
                     "learning": config.learning.enabled, "dynamics": config.dynamics.rule},
        "first_generation": {k: first[k] for k in keys},
        "last_generation": {k: last[k] for k in keys},
        "mean_over_generations": {k: _mean([r[k] for r in rows if r[k] is not None])
                                  for k in ("agreement_rate", "mean_payoff", "honest_payoff",
                                            "misreport_payoff", "flagged_rate",
                                            "honest_credibility", "misreport_credibility")},
        # Misreporters' payoff minus honest agents' in the generations that had both.
        "misreport_advantage": _mean([r["misreport_payoff"] - r["honest_payoff"] for r in rows
                                      if r["misreport_payoff"] is not None
                                      and r["honest_payoff"] is not None]),
        "final_misreport_share": round(sum(is_misreport(m.strategy) for m in members)
                                       / len(members), 6),
        "final_wisdom": _mean([statistics.fmean(wisdom[c] for c in m.cards) for m in members]),
        "final_shares": {s: round(sum(m.strategy == s for m in members) / len(members), 6)
                         for s in config.strategies},
        "final_cards": _card_counts(members),
        # Spearman's rho between how many agents hold each card of the context and the
        # card's PageRank there: does the population come to hold what the graph ranks wise?
        "final_card_rank_correlation": rank_correlation(_card_counts(members), wisdom),
        "adoptions": adoptions, "strategy_switches": switches,
        "credibility_ledger": {"entries": credibility.count, "head": credibility.head},
    }


def _card_counts(members: Sequence[Member]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for m in members:
        for c in m.cards:
            counts[c] = counts.get(c, 0) + 1
    return dict(sorted(counts.items()))


def rank_correlation(counts: Mapping[str, int], wisdom: Mapping[str, float]) -> float | None:
    """Spearman's rho (ties take their average rank) between the count of each card of the
    context and its score; None when either side does not vary."""
    cards = sorted(wisdom)
    try:
        rho = statistics.correlation(_ranks([counts.get(c, 0) for c in cards]),
                                     _ranks([wisdom[c] for c in cards]))
    except statistics.StatisticsError:
        return None
    return round(rho, 6)


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for i in order[start:end + 1]:
            ranks[i] = (start + end) / 2 + 1
        start = end + 1
    return ranks
