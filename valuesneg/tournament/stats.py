"""The leaderboard, computed from the cells' rows alone (so a resumed tournament, or one run on
another executor, gives the same bytes).

- per competitor: mean advantage over every seat it took, with a 95% percentile-bootstrap
  interval (seeded, as the eval suites' intervals are);
- per ordered pair: how often the first out-gained the second in the cells they shared (a tie
  counts half), and a two-sided exact sign test on wins against losses (ties dropped): the
  probability of a split at least this uneven if each cell were a fair coin;
- per pairing: mean distance of its outcomes from the Pareto frontier and the Nash point.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from valuesneg.evals.common import mean_ci

from .setup import Competitor

SIGNIFICANCE = 0.05
Row = dict[str, Any]


def seats(row: Row) -> list[tuple[str, float]]:
    """(competitor, advantage) for both seats of a cell."""
    return [(row[f"competitor_{s}"], float(row[f"advantage_{s}"])) for s in (1, 2)]


def leaderboard(rows: Sequence[Row], competitors: Sequence[Competitor], seed: int
                ) -> dict[str, Any]:
    """The whole leaderboard: standings, pairwise duels and pairings."""
    names = [c.name for c in competitors]
    return {"competitors": standings(rows, competitors, seed),
            "pairwise": [duel(rows, a, b) for a, b in itertools.permutations(names, 2)],
            "pairings": [pairing(rows, a, b)
                         for a, b in itertools.combinations_with_replacement(names, 2)
                         if any(_pair(row) == _sorted(a, b) for row in rows)],
            "cells": len(rows),
            "lineages_verified": sum(1 for row in rows if row["lineage_verified"])}


def standings(rows: Sequence[Row], competitors: Sequence[Competitor], seed: int
              ) -> list[dict[str, Any]]:
    """Each competitor's mean advantage (the share of its possible gain over no deal that it
    got) over the seats it took, with a bootstrap 95% interval."""
    table = []
    for entrant in competitors:
        gains = [gain for row in rows for name, gain in seats(row) if name == entrant.name]
        mean, low, high = mean_ci(gains, seed=seed) if gains else (math.nan,) * 3
        table.append({"name": entrant.name, "backend": entrant.backend,
                      "strategy": entrant.strategy if not entrant.llm else None,
                      "model": entrant.model, "seats": len(gains),
                      "mean_advantage": _round(mean),
                      "ci95": [_round(low), _round(high)]})
    table.sort(key=_ranking)
    for rank, entry in enumerate(table, 1):
        entry["rank"] = rank
    return table


def _ranking(entry: dict[str, Any]) -> tuple[float, str]:
    mean = entry["mean_advantage"]
    return (-mean if mean is not None else math.inf, entry["name"])


def duel(rows: Sequence[Row], name: str, opponent: str) -> dict[str, Any]:
    """How often ``name`` beat ``opponent`` where they met, with a sign test."""
    wins = losses = ties = 0
    for row in rows:
        by_name = dict(seats(row))
        if set(by_name) != {name, opponent}:
            continue
        difference = by_name[name] - by_name[opponent]
        wins, losses, ties = (wins + (difference > 0), losses + (difference < 0),
                              ties + (difference == 0))
    cells = wins + losses + ties
    p = sign_test(wins, losses)
    return {"competitor": name, "opponent": opponent, "cells": cells, "wins": wins,
            "losses": losses, "ties": ties,
            "win_rate": _round((wins + ties / 2) / cells) if cells else None,
            "p_value": _round(p), "significant": p < SIGNIFICANCE}


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact binomial test of ``wins`` against ``losses`` at p = 1/2."""
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(wins, losses) + 1))
    return min(1.0, float(Fraction(2 * tail, 1 << n)))  # exact: n may pass a float's range


def pairing(rows: Sequence[Row], a: str, b: str) -> dict[str, Any]:
    """How a pair of competitors did together: agreement rate, and distances to the Pareto
    frontier and the Nash point."""
    mine = [row for row in rows if _pair(row) == _sorted(a, b)]
    return {"competitors": [a, b], "cells": len(mine),
            "agreement_rate": _round(statistics.fmean(float(r["agreed"]) for r in mine)),
            "pareto_distance": _round(statistics.fmean(r["pareto_distance"] for r in mine)),
            "nash_distance": _round(statistics.fmean(r["nash_distance"] for r in mine))}


def _pair(row: Row) -> tuple[str, str]:
    return _sorted(row["competitor_1"], row["competitor_2"])


def _sorted(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


def _round(value: float) -> float | None:
    return None if math.isnan(value) else round(float(value), 6)
