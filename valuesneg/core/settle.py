"""Terminal outcomes: agreement, tier-break or fallback, each with its trade-off record.

Everything here is recomputed on replay, so the justification is a computation the reviewer
can repeat, not a claim the log makes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from . import tiebreak
from .division import DivisionProblem
from .fairness import SATISFIED_TOLERANCE, measure
from .fallback import FALLBACKS
from .records import Allocation, DimensionDecision, Justification, Sacrifice, TierCandidate
from .terms import FAIRNESS_PREFIX, Terms


@dataclass(frozen=True)
class TierBreakParts:
    """The winner of a tier-break and the candidates it was chosen from."""

    winner: str
    candidates: tuple[TierCandidate, ...]


@dataclass(frozen=True)
class Settlement:
    """How a negotiation ends, before it is written as records: the terminal kind, the
    allocation, each dimension's decision and tier-breaks, and the Nash product when a fallback
    used it."""

    terminal: str
    allocation: Allocation
    decisions: tuple[DimensionDecision, ...]
    tier_breaks: tuple[tuple[str, TierBreakParts], ...]
    nash_product: float | None


def full_allocation(terms: Terms, allocation: Mapping[str, Mapping[str, int]]) -> Allocation:
    """Every contested dimension, every claimant, zeros included: one canonical shape."""
    return {
        dim: {party: int(allocation.get(dim, {}).get(party, 0)) for party in claimants}
        for dim, claimants in terms.contested.items()
    }


def agreed(terms: Terms, allocation: Allocation) -> Settlement:
    """The settlement of an accepted proposal: every contested dimension agreed."""
    decisions = tuple(DimensionDecision(dimension=d, rule="agreed") for d in terms.contested)
    return Settlement("agreement", full_allocation(terms, allocation), decisions, (), None)


def by_terminal_rules(terms: Terms, first_proposal: Mapping[str, int]) -> Settlement:
    """The round cap was hit: tier-break indivisible scope, fall back on divisible scope."""
    allocation: dict[str, dict[str, int]] = {}
    decisions: list[DimensionDecision] = []
    breaks: list[tuple[str, TierBreakParts]] = []
    rules = terms.policy.terminal
    for dim, claimants in terms.contested.items():
        if rules[dim] != "tier_break":
            continue
        ranked = tiebreak.candidates(terms, dim, first_proposal)
        win = tiebreak.winner(ranked)
        allocation[dim] = {p: terms.dimension(dim).units if p == win else 0 for p in claimants}
        decisions.append(DimensionDecision(dimension=dim, rule="tier_break", winner=win))
        breaks.append((dim, TierBreakParts(win, ranked)))
    nash_product = _fall_back(terms, allocation, decisions)
    terminal = "tier_break" if all(d.rule == "tier_break" for d in decisions) else "fallback"
    ordered = tuple(sorted(decisions, key=lambda d: d.dimension))
    return Settlement(
        terminal, full_allocation(terms, allocation), ordered, tuple(breaks), nash_product
    )


def _fall_back(
    terms: Terms, allocation: dict[str, dict[str, int]], decisions: list[DimensionDecision]
) -> float | None:
    """Apply each fallback mechanism to its dimensions, the tier-broken scope held fixed."""
    nash_product: float | None = None
    for mechanism in ("nash", "equal_split", "priority"):
        dims = [
            d
            for d, rule in terms.policy.terminal.items()
            if rule == mechanism and d in terms.contested
        ]
        # Nash trades across dimensions, so it is solved jointly; the others are per dimension.
        groups = [dims] if mechanism == "nash" and dims else [[d] for d in dims]
        for group in groups:
            problem = division_problem(terms, group, allocation)
            result = FALLBACKS[mechanism](problem)
            for dim in group:
                allocation[dim] = dict(result.allocation[dim])
                decisions.append(DimensionDecision(dimension=dim, rule=mechanism))
            if mechanism == "nash":
                nash_product = _nash_product(terms, result.utilities)
    return nash_product


def division_problem(
    terms: Terms, dims: list[str], fixed: Mapping[str, Mapping[str, int]]
) -> DivisionProblem:
    """The fairness problem of dividing ``dims`` among their claimants, the rest of the
    allocation (``fixed``) held as it is."""
    parties = _priority_order(terms, dims)
    return DivisionProblem(
        parties=parties,
        units={d: terms.dimension(d).units for d in dims},
        weights={p: {d: terms.party(p).weights.get(d, 0.0) for d in dims} for p in parties},
        fixed_utility={p: utility(terms, fixed, p) for p in parties},
        disagreement={p: terms.party(p).reservation for p in parties},
        needs={p: {d: terms.party(p).needs.get(d, 0) for d in dims} for p in parties},
        contributions={p: terms.party(p).contribution for p in parties},
    )


def _priority_order(terms: Terms, dims: list[str]) -> tuple[str, ...]:
    """Claimants of ``dims``, highest tier first; declaration order breaks ties."""
    parties = [p for p in terms.claimants if any(p in terms.contested[d] for d in dims)]
    return tuple(
        sorted(
            parties,
            key=lambda p: (
                -max(terms.policy.tier_rank(p, d) for d in dims if p in terms.contested[d])
            ),
        )
    )


def utility(terms: Terms, allocation: Mapping[str, Mapping[str, int]], party: str) -> float:
    """What an allocation is worth to a party: its units weighted by its declared weights."""
    weights = terms.party(party).weights
    return float(sum(weights.get(d, 0.0) * share.get(party, 0) for d, share in allocation.items()))


def _nash_product(terms: Terms, utilities: Mapping[str, float]) -> float:
    product = 1.0
    for party, value in sorted(utilities.items()):
        product *= value - terms.party(party).reservation
    return round(product, 9)


def justification(
    terms: Terms,
    settlement: Settlement,
    rounds: int,
    accepted_by: tuple[str, ...],
    extra_clause: str | None = None,
) -> Justification:
    """The computed, re-checkable justification of a settlement: the rules applied, the clauses
    cited, the rounds taken and who accepted."""
    clauses = terms.policy.clauses
    cited = {
        "agreement": clauses.agreement,
        "tier_break": clauses.tier_break,
        "fallback": clauses.fallback,
    }
    used = sorted(
        {cited[settlement.terminal]}
        | ({clauses.tier_break} if settlement.tier_breaks else set())
        | ({extra_clause} if extra_clause else set())
    )
    utilities = {p: round(utility(terms, settlement.allocation, p), 9) for p in terms.claimants}
    disagreement = {p: float(terms.party(p).reservation) for p in terms.claimants}
    return Justification(
        decisions=settlement.decisions,
        rounds=rounds,
        accepted_by=accepted_by,
        utilities=utilities,
        disagreement=disagreement,
        clauses=tuple(used),
        nash_product=settlement.nash_product,
        all_above_disagreement=all(utilities[p] >= disagreement[p] for p in utilities),
    )


def trade_offs(
    terms: Terms, allocation: Allocation
) -> tuple[tuple[str, ...], tuple[Sacrifice, ...]]:
    """Which declared fairness properties the allocation satisfies, and what it sacrifices.

    Dimensions are measured in groups that share the same claimants (a party cannot be owed
    a share of scope it never claimed); a property's magnitude is its worst over the groups.
    """
    ids = terms.policy.fairness
    if not ids:
        return (), ()
    names = [i.removeprefix(FAIRNESS_PREFIX) for i in ids]
    worst = dict.fromkeys(names, 0.0)
    problems = terms.cache.fairness_problems
    for dims in _claimant_groups(terms):
        # Fixed by the terms (no fixed utility): built once per terms object and shared, so
        # its search space (division.maximise) is built once too.
        key = tuple(dims)
        problem = problems.get(key)
        if problem is None:
            problem = problems[key] = division_problem(terms, dims, {})
        group = {d: allocation[d] for d in dims}
        for m in measure(problem, group, names):
            worst[m.property] = max(worst[m.property], m.magnitude)
    satisfied = tuple(FAIRNESS_PREFIX + n for n in names if worst[n] <= SATISFIED_TOLERANCE)
    sacrificed = tuple(
        Sacrifice(property=FAIRNESS_PREFIX + n, magnitude=worst[n])
        for n in names
        if worst[n] > SATISFIED_TOLERANCE
    )
    return satisfied, sacrificed


def _claimant_groups(terms: Terms) -> list[list[str]]:
    groups: dict[tuple[str, ...], list[str]] = {}
    for dim, claimants in terms.contested.items():
        groups.setdefault(claimants, []).append(dim)
    return list(groups.values())
