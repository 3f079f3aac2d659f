"""The sound-move menu: what an LLM negotiator may choose from under ``guard: sound``.

A small model asked for free-form units and ids accepts any opening, even one worth less
than walking away, and cites values that do not fit its move. The guard does not decide
for it; it narrows the choice to moves that are *sound* for the party, and the model picks
one and cites ids that fit it. Sound, for a party, means:

- never agreeing to less than its no-deal value: ``accept`` is offered only when the offer
  is worth at least the reservation and at least the party's aspiration (its concession
  curve, :class:`~valuesneg.agents.scripted.ConcessionAgent`) less a band, so the model may
  take a good offer early, but not the first crumb; an offer that meets the aspiration
  itself leaves ``accept`` as the only sound move;
- packages and counters computed from its own weights and needs and from the priorities
  its peers revealed (:class:`~valuesneg.agents.scripted.ValuesAgent`'s trading order):
  openings at several levels of ambition at and below its aspiration, none that keeps
  everything (unless nothing else reaches its no-deal value) and none below its no-deal
  value; counters on the two dimensions where it gains most per unit the others lose,
  none leaving it below its no-deal value (the others may accept it);
- refusing only when the values agent would, or when nothing else is left;
- not ending the talks in the fallback while a sound deal is on the table: at the last
  round only ``accept`` stays when it is worth the no-deal value.

Each option carries what it is worth to the party and the ids that fit it: the dimensions
it holds or takes, the party's own cards that bear on them (:func:`card_dimensions`), and
the fairness properties the move actually has. The decoder may only cite those, so a misfit
citation cannot be spelled. Options are shuffled by a hash of the view, so their position
says nothing about their worth.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from valuesneg.core import Accept, Counter, Header, Refuse, Request
from valuesneg.core.view import PartyView

from .base import claimed, header, take_units, utility
from .scripted import (
    AGREEMENT,
    EFFICIENCY,
    EXPONENTS,
    NEEDS,
    ValuesAgent,
    best_utility,
)

Guard = Literal["sound", "none"]
GUARDS: tuple[Guard, ...] = ("sound", "none")
Allocation = dict[str, dict[str, int]]

EQUAL = "fair:equal_split"
ACCEPT_BAND = 0.2  # of (best - floor): how far below its aspiration a party may accept
LEVELS = (0.0, -0.2, -0.4)  # package ambition below the aspiration, as a share of the range
MAX_COUNTERS = 2
_EPS = 1e-9
# Words by which a card attends to what is being divided rather than to the relationship
# or the manner of the talks (a card that names a dimension bears on that one alone). Words
# with an everyday second sense ("share a campsite", "it costs me little") are left out.
_DIVISION_WORDS = frozenset((
    "supply", "supplies", "resource", "resources", "capacity", "package", "packages", "split",
    "splits", "division", "divide", "divided", "allocation", "allocate", "allocated", "units",
    "unit", "amount", "amounts", "need", "needs", "needed", "reserve", "quota", "slot", "slots",
    "request", "requests", "requested", "claim", "claims", "scope", "task", "tasks", "deadline",
    "deadlines", "demand", "demands", "trade", "trades", "swap", "exchange", "usage", "dimension",
    "dimensions",
))


@dataclass(frozen=True)
class Option:
    """One sound move: the record it stands for, its worth to the party, what fits it."""

    label: str
    record: Header
    worth: float | None  # None for a refusal: what follows it is not known yet
    fits: tuple[str, ...]  # the ids the model may cite for this move, best first
    text: str

    @property
    def action(self) -> str:
        return self.record.kind

    def summary(self) -> dict[str, Any]:
        """How the option is kept in the trace and shown in the report."""
        return {"label": self.label, "action": self.action, "worth": self.worth,
                "move": move_of(self.record), "fits": list(self.fits), "text": self.text}


def move_of(record: Header) -> dict[str, Any]:
    """What a record does, without its reasons: the part two agents' choices are compared on."""
    if isinstance(record, Request):
        return {"kind": "request", "proposal": record.proposal}
    if isinstance(record, Counter):
        return {"kind": "counter", "dimension": record.dimension, "value": record.value}
    return {"kind": record.kind}


def advisor(party: str, strategy: str) -> ValuesAgent:
    """The scripted values agent whose reading of a view the menu starts from (and which
    ``choice_divergence`` compares the model with): the party's concession curve if its
    scenario names one, linear otherwise."""
    return ValuesAgent(name=party, exponent=EXPONENTS.get(strategy, 1.0))


def menu(view: PartyView, texts: Mapping[str, str], strategy: str = "values") -> list[Option]:
    """The sound options for this view, shuffled and labelled A, B, C, ..."""
    agent = advisor(view.party, strategy)
    goal = agent.aspiration(view)
    raw = _opening(view, agent, goal) if view.table is None else _answers(view, agent, goal)
    fitted = [(record, worth, _fits(view, record, texts), text) for record, worth, text in raw]
    order = sorted(range(len(fitted)), key=lambda i: _shuffle_key(view, fitted[i][0]))
    return [Option(chr(ord("A") + n), *fitted[i]) for n, i in enumerate(order)]


# -- which moves ------------------------------------------------------------------------------

def _opening(view: PartyView, agent: ValuesAgent, goal: float
             ) -> list[tuple[Header, float, str]]:
    best, floor = best_utility(view), view.me.reservation
    packages: list[Allocation] = []
    for level in LEVELS:
        target = min(_modest(view, best), max(floor, goal + level * (best - floor)))
        package = agent.offer(view, target)
        if package not in packages and utility(view, package) >= floor - _EPS:
            packages.append(package)
    return [(Request(**header(view), projection=tuple(sorted(view.units)), proposal=p,
                     duration=view.duration_cap, tiers=dict(view.my_tiers), rationale=(
                         AGREEMENT,)), utility(view, p), "propose: " + _package_text(view, p))
            for p in packages]


def _modest(view: PartyView, best: float) -> float:
    """The most a package may keep: all but the unit I value least, so that there is
    something for the others to accept (all of it when that is the only way to reach my
    no-deal value, or when nothing is divisible)."""
    weights = [view.me.weights.get(d, 0.0) for d in claimed(view) if view.units[d] > 0]
    least = min((w for w in weights if w > 0), default=0.0)
    if sum(view.units[d] for d in claimed(view)) < 2 or best - least < view.me.reservation:
        return best
    return best - least


def _answers(view: PartyView, agent: ValuesAgent, goal: float
             ) -> list[tuple[Header, float | None, str]]:
    """Accept alone when the offer meets my aspiration (or at the last round, when it is
    worth my no-deal value); accept or improve it when it is within the band below; improve
    it otherwise. Refuse when the values agent would, or when nothing else is left."""
    assert view.table is not None
    table = view.table.allocation
    offered = utility(view, table)
    best, floor = best_utility(view), view.me.reservation
    accept = (Accept(**header(view), rationale=(AGREEMENT,)), offered,
              "accept the offer as it stands")
    sound = offered >= floor - _EPS
    if sound and (offered >= goal - _EPS or view.rounds + 1 >= view.round_cap):
        return [accept]  # better is not sound to ask for; at the cap it is the fallback
    options: list[tuple[Header, float | None, str]] = []
    if sound and offered >= goal - ACCEPT_BAND * (best - floor) - _EPS:
        options.append(accept)
    for dim, value in _counters(view, agent, goal):
        after = {**table, dim: value}
        if utility(view, after) < floor - _EPS:
            continue  # the others may accept a counter: it must be worth walking away
        options.append((Counter(**header(view), dimension=dim, value=value,
                                rationale=(AGREEMENT,)), utility(view, after),
                        f"counter on {dim}: ask for {value.get(view.party, 0)} of "
                        f"{view.units[dim]}"))
    if "refuse" in view.legal_kinds and (len(options) < 2 or _advisor_refuses(view, agent)):
        options.append((Refuse(**header(view), reasons=(AGREEMENT,)), None,
                        "refuse, so that a whole new package is proposed"))
    return options


def _counters(view: PartyView, agent: ValuesAgent, goal: float
              ) -> list[tuple[str, dict[str, int]]]:
    """On the dimension where I gain most per unit the others lose (and any that ties with
    it): as few units as reach my aspiration (all I lack when that is still short of it),
    and one unit fewer, a gentler ask. A grab on a dimension the others value more would
    only make a deal worse for both."""
    if "counter" not in view.legal_kinds:
        return []
    assert view.table is not None
    table, me = view.table.allocation, view.party
    mine, theirs = view.me.weights, agent.their_weights(view)
    short = [d for d in claimed(view) if table[d].get(me, 0) < view.units[d]
             and mine.get(d, 0.0) > 0]
    if not short:
        return []
    ratio = {d: mine.get(d, 0.0) / theirs[d] for d in short}
    top = max(ratio.values())
    base = utility(view, table)
    out = []
    for dim in sorted((d for d in short if ratio[d] >= top - _EPS),
                      key=lambda d: (-mine.get(d, 0.0), d))[:MAX_COUNTERS]:
        room = view.units[dim] - table[dim].get(me, 0)
        weight = mine.get(dim, 0.0)
        units = next((n for n in range(1, room + 1) if base + weight * n >= goal - _EPS), room)
        out += [(dim, take_units(table[dim], me, n)) for n in dict.fromkeys((units, units - 1))
                if n >= 1]
    return out


def _advisor_refuses(view: PartyView, agent: ValuesAgent) -> bool:
    return isinstance(agent.decide(view), Refuse)


def _package_text(view: PartyView, package: Allocation) -> str:
    return ", ".join(f"{d} {package[d].get(view.party, 0)} of {n}" for d, n in view.units.items())


def _shuffle_key(view: PartyView, record: Header) -> str:
    seed = f"{view.negotiation}|{view.party}|{view.next_seq}|{move_of(record)}"
    return hashlib.sha256(seed.encode()).hexdigest()


# -- which reasons fit -------------------------------------------------------------------------

def _fits(view: PartyView, record: Header, texts: Mapping[str, str]) -> tuple[str, ...]:
    citable = {c.id: c for c in view.citable}
    dims = _focus(view, record)
    own = [c for c in view.me.cards if c in citable and citable[c].own
           and citable[c].kind == "card"]
    about = {c: card_dimensions(card_text(c, texts), view.units) for c in own}
    cards = [c for c in own if dims & about[c]]
    fair = _fair_ids(view, record, dims)
    peers = list(view.revealed_by_peers) if isinstance(record, Accept) else []
    if isinstance(record, Accept):  # an agreement rests on the values it serves for me
        cards = [c for c in own if about[c]] or own
    ranked = sorted(dims, key=lambda d: (-view.me.weights.get(d, 0.0), d))
    closing = [AGREEMENT] if not isinstance(record, Refuse) else []
    ids = [i for i in (*cards, *ranked, *fair, *peers, *closing) if i in citable]
    return tuple(dict.fromkeys(ids)) or (next(iter(citable)),)


def _focus(view: PartyView, record: Header) -> set[str]:
    """The dimensions a move is about: those a package keeps, a counter's, those a refusal
    wants more of, those an accepted offer gives me."""
    me = view.party
    if isinstance(record, Request):
        return {d for d, share in record.proposal.items() if share.get(me, 0) > 0}
    if isinstance(record, Counter):
        return {record.dimension}
    table = view.table.allocation if view.table is not None else {}
    if isinstance(record, Refuse):
        return {d for d in claimed(view) if table.get(d, {}).get(me, 0) < view.units[d]
                and view.me.weights.get(d, 0.0) > 0}
    return {d for d, share in table.items() if share.get(me, 0) > 0}


def _fair_ids(view: PartyView, record: Header, dims: set[str]) -> list[str]:
    allocation = _resulting(view, record)
    if allocation is None:
        return []
    me, needs = view.party, view.me.needs
    out = []
    if any(needs.get(d, 0) for d in dims) and all(
            allocation[d].get(me, 0) >= needs.get(d, 0) for d in dims):
        out.append(NEEDS)
    if all(max(s.values()) - min(s.values()) <= 1 for s in allocation.values() if s):
        out.append(EQUAL)
    if isinstance(record, Accept | Request) and _trades(view, allocation):
        out.append(EFFICIENCY)
    return out


def _resulting(view: PartyView, record: Header) -> Allocation | None:
    if isinstance(record, Request):
        return record.proposal
    table = view.table.allocation if view.table is not None else None
    if isinstance(record, Counter) and table is not None:
        return {**table, record.dimension: dict(record.value)}
    return table if isinstance(record, Accept) else None


def _trades(view: PartyView, allocation: Allocation) -> bool:
    """I keep more of what I weigh most than of what I weigh least: a trade on priorities."""
    mine = sorted(claimed(view), key=lambda d: (-view.me.weights.get(d, 0.0), d))
    if len(mine) < 2:
        return False
    share = {d: allocation[d].get(view.party, 0) / view.units[d] for d in mine}
    return share[mine[0]] > share[mine[-1]]


def card_text(card: str, texts: Mapping[str, str]) -> str:
    """A card's title and description with its attentional policies (``ap:<card>.<n>``)."""
    prefix = "ap:" + card.split(":", 1)[-1] + "."
    return " ".join([texts.get(card, ""), *(t for i, t in texts.items() if i.startswith(prefix))])


def card_dimensions(text: str, units: Mapping[str, int]) -> set[str]:
    """The contested dimensions a card bears on, read from its own words: those it names;
    if it names none but attends to what is divided (needs, shares, capacity, ...), all of
    them; none if it attends only to the relationship or the manner of the talks."""
    words = set(re.findall(r"[a-z0-9]+", text.lower()))
    named = {d for d in units if _dim_words(d) and _dim_words(d) <= words}
    if named:
        return named
    return set(units) if words & _DIVISION_WORDS else set()


def _dim_words(dim: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", dim.split(":", 1)[-1].lower())) - {"dim"}


def describe(options: Sequence[Option], texts: Mapping[str, str]) -> str:
    """The options as the prompt shows them: worth, move, and the ids each may cite."""
    lines = []
    for option in options:
        worth = "unknown yet" if option.worth is None else f"{option.worth:g}"
        cards = [i for i in option.fits if i.startswith("card:")]
        serves = "; ".join(texts.get(c, c).split(". ")[0] for c in cards) or "none of your cards"
        lines.append(f"{option.label}) {option.text}. Worth to you: {worth}. "
                     f"Serves: {serves}.")
    return "\n".join(lines)


__all__ = ["ACCEPT_BAND", "GUARDS", "Guard", "Option", "advisor", "card_dimensions",
           "describe", "menu", "move_of"]
