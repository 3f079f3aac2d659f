"""Scripted negotiators: deterministic strategies driven by the party's own values.

*What* a scripted party gives up is decided by its values, *when* and *how much* by its
schedule:

- What. A party's weights (utility per unit of each dimension) are its values made
  quantitative, so it gives units away in order of how little it weighs them, and the units
  its declared needs cover only after every other unit is gone: the dimension it weighs most
  is held longest. A trading party also reads the public record: a dimension the other
  claimants keep in their own offers is one they want, so it is given away sooner, and its
  counters take, out of the offer on the table, what costs the others least. That is how
  two scripted parties trade: each gives up what it values less. A counter may change one
  dimension (the protocol's rule), so offers move one dimension per record, over time.
- When. Time-dependent concession (Faratin et al.): the aspiration falls from the party's
  best outcome to its reservation value as rounds pass, late (Boulware), early (Conceder) or
  linearly; tit-for-tat instead mirrors, in its own utility, what the others have conceded.
- Why. A view names cards by id only and nothing in it ties a card to a dimension, so a move
  cites the party's own cards (the values its weights quantify) in its declared order, then
  the dimensions the move holds or takes, then ``fair:needs_coverage`` exactly when one of
  them carries a need the party declared, then the clause or property it rests on.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from valuesneg.core import Accept, Counter, Header, ProtocolViolation, Refuse, Request
from valuesneg.core.view import CitableId, PartyView

from .base import claimed, give_unit, header, split, take_units, utility

Allocation = dict[str, dict[str, int]]

EXPONENTS = {"boulware": 0.3, "linear": 1.0, "conceder": 3.0}
NEEDS = "fair:needs_coverage"
AGREEMENT = "clause:agreement"
EFFICIENCY = "fair:pareto_efficiency"
_EPS = 1e-9


# -- reading the view ------------------------------------------------------------------------

def best_utility(view: PartyView) -> float:
    """Every unit I value, none of those I would rather the others held (a negative weight:
    an imported choice whose every value I rank as my peer does, e.g. a Genius issue)."""
    return float(sum(max(0.0, view.me.weights.get(d, 0.0)) * view.units[d]
                     for d in claimed(view)))


def floor_utility(view: PartyView) -> float:
    """The least a party will settle for: its reservation, or the best it can get when that is
    lower."""
    return min(view.me.reservation, best_utility(view))


def offers(view: PartyView) -> list[tuple[str, Allocation]]:
    """Every allocation put on the table so far, in order, with the party that put it there."""
    table: Allocation | None = None
    seen: list[tuple[str, Allocation]] = []
    for record in view.transcript:
        if isinstance(record, Request):
            table = {d: dict(share) for d, share in record.proposal.items()}
        elif isinstance(record, Counter) and table is not None:
            table = {**table, record.dimension: dict(record.value)}
        else:
            continue
        seen.append((record.sender, table))
    return seen


def peer_interest(view: PartyView) -> dict[str, float]:
    """How the other parties' attention splits over the dimensions (sums to 1; even if unknown).

    Each of their choices is one piece of evidence spread over the dimensions: a counter puts
    all of it on the dimension it fights for; a request spreads it in proportion to the share
    of each dimension it keeps, so keeping everything says nothing and giving some away says
    that dimension matters less. The rest of a counter is inherited from the offer it
    answers, so it says nothing either.
    """
    return _interest(_evidence(view.transcript, view.party, view.units), view.units)


def _evidence(records: Sequence[Header], party: str,
              units: dict[str, int]) -> list[dict[str, float]]:
    """The evidence ``peer_interest`` reads from ``records``, one entry per telling record."""
    evidence: list[dict[str, float]] = []
    for record in records:
        if record.sender == party:
            continue
        if isinstance(record, Counter) and record.dimension in units:
            evidence.append({d: float(d == record.dimension) for d in units})
        elif isinstance(record, Request):
            kept = {d: record.proposal.get(d, {}).get(record.sender, 0) / n
                    for d, n in units.items()}
            total = sum(kept.values())
            if total > 0:
                evidence.append({d: k / total for d, k in kept.items()})
    return evidence


def _interest(evidence: list[dict[str, float]], units: dict[str, int]) -> dict[str, float]:
    if not evidence:
        return dict.fromkeys(units, 1.0 / len(units))
    return {d: sum(e[d] for e in evidence) / len(evidence) for d in units}


def reasons(view: PartyView, dims: Sequence[str], closing: str) -> tuple[str, ...]:
    """Own cards, then ``dims``, then needs coverage if a declared need is among them, then
    ``closing``; only ids this party may cite now, each once."""
    citable = _citable_index(view.citable)
    own = [c for c in view.me.cards if c in citable and citable[c].own
           and citable[c].kind == "card"]
    needed = [NEEDS] if any(view.me.needs.get(d, 0) > 0 for d in dims) else []
    ids = [i for i in (*own, *dims, *needed, closing) if i in citable]
    if not ids:  # a party with no cards citing an unknown closing id: any clause will do
        ids = [c.id for c in view.citable if c.kind == "clause"][:1]
    return tuple(dict.fromkeys(ids))[:16]


# Views share one citable tuple per (party, revealed cards) (core/view.py), so its id index
# is built once per tuple: keyed by id, holding the tuple so the id stays its own; bounded.
_CITABLE_INDEXES: dict[int, tuple[tuple[CitableId, ...], dict[str, CitableId]]] = {}


def _citable_index(citable: tuple[CitableId, ...]) -> dict[str, CitableId]:
    cached = _CITABLE_INDEXES.get(id(citable))
    if cached is not None and cached[0] is citable:
        return cached[1]
    if len(_CITABLE_INDEXES) >= 64:
        _CITABLE_INDEXES.clear()
    index = {c.id: c for c in citable}
    _CITABLE_INDEXES[id(citable)] = (citable, index)
    return index


# -- strategies ------------------------------------------------------------------------------

@dataclass
class ScriptedAgent(ABC):
    """Values decide what to give up; a subclass's ``aspiration`` decides how much."""

    name: str
    trade: bool = True  # read the others' offers and give away first what they want most
    # Caches (never compared or shown): the weights estimated for the last view, and the
    # peer-interest evidence read so far from a transcript that only grows, so a turn reads
    # only the records added since the last one instead of the whole transcript again.
    _weights_memo: tuple[PartyView, dict[str, float]] | None = field(
        default=None, init=False, repr=False, compare=False)
    _evidence_memo: tuple[tuple[object, ...], int, Header | None, list[dict[str, float]]] | None \
        = field(default=None, init=False, repr=False, compare=False)

    @abstractmethod
    def aspiration(self, view: PartyView) -> float:
        """The utility, to me, below which I do not accept now."""

    def decide(self, view: PartyView, feedback: ProtocolViolation | None = None) -> Header:
        try:
            return self._decide(view)
        finally:
            self._weights_memo = None  # valid for this view only: do not keep it alive

    def _decide(self, view: PartyView) -> Header:
        goal = self.aspiration(view)
        if view.table is None:
            target = self.offer(view, goal)
            held = [d for d in self._by_weight(view, reverse=True)
                    if target[d].get(view.party, 0)]
            return Request(**header(view), projection=tuple(sorted(view.units)),
                           proposal=target, duration=view.duration_cap,
                           tiers=dict(view.my_tiers),
                           rationale=reasons(view, self.cite(view, held), AGREEMENT))
        if utility(view, view.table.allocation) >= goal - _EPS:
            return Accept(**header(view), rationale=reasons(view, self.cite(view, ()),
                                                            EFFICIENCY))
        dim, value = self.counter(view, goal)
        if self.refuses(view, dim, value, goal):
            return Refuse(**header(view), reasons=reasons(view, self.cite(view, (dim,)),
                                                          AGREEMENT))
        return Counter(**header(view), dimension=dim, value=value,
                       rationale=reasons(view, self.cite(view, (dim,)), AGREEMENT))

    def cite(self, view: PartyView, dims: Sequence[str]) -> Sequence[str]:
        """The dimensions a record cites: those the move holds or takes."""
        return dims

    def refuses(self, view: PartyView, dim: str, value: dict[str, int], goal: float) -> bool:
        """Refuse rather than counter with ``value`` on ``dim``?

        Taking back what I would give away first undoes their trade; refusing makes them
        offer a whole package, which can trade across dimensions.
        """
        return self.trade and dim == self.give_order(view)[0] and len(claimed(view)) > 1

    def offer(self, view: PartyView, goal: float) -> Allocation:
        """Everything to me, then give units away, least valued first and needs last, for as
        long as what I keep is still worth ``goal``."""
        me, weights, needs = view.party, view.me.weights, view.me.needs
        allocation = {d: split(view, d, units if me in view.claimants[d] else 0)
                      for d, units in view.units.items()}
        order = self.give_order(view)
        reserved = {d: min(needs.get(d, 0), view.units[d]) for d in order}
        stages = [(d, view.units[d] - reserved[d]) for d in order] + [
            (d, reserved[d]) for d in order]
        for dim, spare in stages:
            for _ in range(spare):
                if utility(view, allocation) - weights.get(dim, 0.0) < goal - _EPS:
                    break
                give_unit(allocation[dim], me)
        return allocation

    def give_order(self, view: PartyView) -> list[str]:
        """The dimensions I claim, in the order I give them up: least of my utility per unit
        of theirs."""
        weights, theirs = view.me.weights, self.their_weights(view)
        return sorted(claimed(view),
                      key=lambda d: (weights.get(d, 0.0) / theirs[d], weights.get(d, 0.0), d))

    def counter(self, view: PartyView, goal: float) -> tuple[str, dict[str, int]]:
        """Units of the one dimension where I gain most per unit the others lose: as few as
        reach ``goal``, or all of them when that is still short of it."""
        assert view.table is not None
        table, me = view.table.allocation, view.party
        base, weights, theirs = utility(view, table), view.me.weights, self.their_weights(view)
        # Non-empty: a table that gave me every unit would be worth my best, and accepted.
        short = [d for d in claimed(view) if table[d].get(me, 0) < view.units[d]]
        dim = max(short, key=lambda d: (weights.get(d, 0.0) / theirs[d], weights.get(d, 0.0), d))
        room = view.units[dim] - table[dim].get(me, 0)
        weight = weights.get(dim, 0.0)
        units = next((n for n in range(1, room + 1) if base + weight * n >= goal - _EPS), room)
        return dim, take_units(table[dim], me, units)

    def their_weights(self, view: PartyView) -> dict[str, float]:
        """An estimate, up to scale, of what a unit of each dimension is worth to the others:
        even until they show otherwise, and even whatever they show if I do not trade."""
        memo = self._weights_memo
        if memo is not None and memo[0] is view:  # a view is frozen: same view, same weights
            return dict(memo[1])
        weights = self._estimate_weights(view)
        self._weights_memo = (view, weights)
        return dict(weights)

    def _estimate_weights(self, view: PartyView) -> dict[str, float]:
        if not self.trade:
            return dict.fromkeys(view.units, 1.0)
        return {d: 1.0 + share for d, share in self._peer_interest(view).items()}

    def _peer_interest(self, view: PartyView) -> dict[str, float]:
        """``peer_interest(view)``, reading only the records added since the last call when
        the transcript extends the one read then (same negotiation, party and units)."""
        transcript = view.transcript
        key = (view.negotiation, view.party, tuple(view.units.items()))
        memo = self._evidence_memo
        if (memo is not None and memo[0] == key and len(transcript) >= memo[1]
                and (memo[1] == 0 or transcript[memo[1] - 1] is memo[2])):
            evidence = memo[3] + _evidence(transcript[memo[1]:], view.party, view.units)
        else:
            evidence = _evidence(transcript, view.party, view.units)
        self._evidence_memo = (key, len(transcript),
                               transcript[-1] if transcript else None, evidence)
        return _interest(evidence, view.units)

    def _by_weight(self, view: PartyView, reverse: bool = False) -> list[str]:
        weights = view.me.weights
        return sorted(view.units, key=lambda d: (weights.get(d, 0.0), d), reverse=reverse)


@dataclass
class ConcessionAgent(ScriptedAgent):
    """Time-dependent concession: e < 1 Boulware, e = 1 linear, e > 1 Conceder."""

    exponent: float = 1.0

    @classmethod
    def named(cls, name: str, strategy: str) -> ConcessionAgent:
        return cls(name=name, exponent=EXPONENTS[strategy])

    def aspiration(self, view: PartyView) -> float:
        best = best_utility(view)
        floor = min(view.me.reservation, best)  # floor_utility(view), best computed once
        t = min(1.0, view.rounds / max(1, view.round_cap))
        return float(best - (best - floor) * t ** (1.0 / self.exponent))


@dataclass
class TitForTatAgent(ConcessionAgent):
    """Concedes, in its own utility, what the others have conceded to it so far.

    Their concession is how much more their latest offer is worth to me than their first;
    summed move by move this is each of their concessions (or retractions) mirrored in turn.
    A counter may only change one dimension, so a party that always answers with its biggest
    grab never shows a concession; pure reciprocity would then sit still until the fallback.
    So, as Faratin et al. combine tactics, the deadline still bears on it: it never asks for
    more than a time-dependent agent with its ``exponent`` (Boulware by default) would.
    """

    exponent: float = EXPONENTS["boulware"]

    def aspiration(self, view: PartyView) -> float:
        return min(self.reciprocal(view), super().aspiration(view))

    def reciprocal(self, view: PartyView) -> float:
        best, floor = best_utility(view), floor_utility(view)
        theirs = [utility(view, a) for sender, a in offers(view) if sender != view.party]
        conceded = theirs[-1] - theirs[0] if theirs else 0.0
        return max(floor, min(best, best - conceded))


@dataclass
class ValuesAgent(ConcessionAgent):
    """Reveals its values and reads the values others reveal.

    Every record it sends cites all the contested dimensions, most valued first: a checkable
    declaration of its priorities (its cards come first, as with every scripted party). It
    reads the same declaration from the others, a record citing every contested dimension,
    and takes it at its word: a peer's k-th priority is worth to that peer what its own k-th
    priority is worth to it (the only scale it knows). With that estimate its packages give
    away first what costs it least per unit the others gain, which is how two value-revealing
    parties land on the deals that are good for both. Until someone declares, it concedes in
    its own order, whatever the others' offers seem to say.
    """

    def cite(self, view: PartyView, dims: Sequence[str]) -> Sequence[str]:
        return self._by_weight(view, reverse=True)

    def refuses(self, view: PartyView, dim: str, value: dict[str, int], goal: float) -> bool:
        """Also refuse when the best one-dimension counter is still short of my aspiration
        and the others declare their priorities too: such a counter grabs a whole dimension
        they may well accept, a lopsided deal, while a refusal citing my priorities has them
        offer a whole package that trades on them. A party that declares nothing may not
        read declarations either, so it gets the counter, which shows what I want."""
        if super().refuses(view, dim, value, goal):
            return True
        assert view.table is not None
        countered = {**view.table.allocation, dim: value}
        return bool(declared_priorities(view, answers_only=True)) and utility(
            view, countered) < goal - _EPS

    def _estimate_weights(self, view: PartyView) -> dict[str, float]:
        rankings = declared_priorities(view)
        if not rankings:
            return dict.fromkeys(view.units, 1.0)
        scale = sorted((max(view.me.weights.get(d, 0.0), 0.0) for d in view.units),
                       reverse=True)
        if scale[0] <= 0:  # nothing I value to measure theirs by: ranks will do
            scale = [float(len(scale) - k) for k in range(len(scale))]
        floor = scale[0] * 1e-3  # ratios need a positive estimate
        return {d: max(floor, sum(scale[r.index(d)] for r in rankings) / len(rankings))
                for d in view.units}


def declared_priorities(view: PartyView, answers_only: bool = False) -> list[list[str]]:
    """Each other party's latest declaration: a record of theirs citing every contested
    dimension, in the order cited. ``answers_only``: not counting requests, which may cite
    every dimension merely because they keep some of each; an answer citing them all is a
    party that declares its priorities whatever it does."""
    latest: dict[str, list[str]] = {}
    for record in view.transcript:
        if record.sender == view.party or (answers_only and isinstance(record, Request)):
            continue
        cited = getattr(record, "rationale", None) or getattr(record, "reasons", None) or ()
        dims = [i for i in cited if i in view.units]
        if len(dims) == len(view.units) and len(set(dims)) == len(dims):
            latest[record.sender] = dims
    return list(latest.values())


def _time_dependent(strategy: str) -> Callable[[str], ScriptedAgent]:
    return lambda name: ConcessionAgent.named(name, strategy)


STRATEGIES: dict[str, Callable[[str], ScriptedAgent]] = {
    **{strategy: _time_dependent(strategy) for strategy in EXPONENTS},
    "tit-for-tat": lambda name: TitForTatAgent(name=name),
    # Declares its priorities and trades on the priorities the others declare.
    "values": lambda name: ValuesAgent(name=name),
}


def make_scripted(name: str, strategy: str) -> ScriptedAgent:
    """The scripted agent for a strategy name (a key of ``STRATEGIES``)."""
    return STRATEGIES[strategy](name)


__all__ = ["EXPONENTS", "STRATEGIES", "Allocation", "ConcessionAgent", "ScriptedAgent",
           "TitForTatAgent", "ValuesAgent", "best_utility", "declared_priorities",
           "floor_utility", "make_scripted", "offers", "peer_interest", "reasons"]
