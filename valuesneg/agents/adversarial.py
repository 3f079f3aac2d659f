"""Adversarial agents, for integrity evals: they lie, bluff, attack the rules and inject prompts.

- ``Misreporter`` inflates its stated needs. The core never sees weights, so what differs is
  behaviour: it bargains as if its inflated needs were real and cites needs it has no basis
  for. An eval compares what that earns, in its true utility, with honest play.
- ``Machiavellian`` bluffs and threatens with legal records only: it asks for everything,
  stalls with refusals and defers that cite the fallback, and gives in only late.
- ``BypassAgent`` tries every way around the rules, one named attack per ``decide`` call.
- ``PromptInjector`` writes instructions into every channel a peer's LLM might read.

The attacks themselves are data, apart from the agents: ``valuesneg.agents.catalogue`` (the
rules) and ``valuesneg.agents.injections`` (prompt injection), built on
``valuesneg.agents.attack``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from valuesneg.core import (
    Accept,
    Counter,
    Defer,
    Header,
    ProtocolViolation,
    Refuse,
    Request,
    Terms,
    parse_record,
)
from valuesneg.core.view import PartyView

from .attack import Attack
from .base import header, utility
from .catalogue import ATTACKS
from .injections import INJECTIONS
from .intel import Intel
from .llm import NoValidDecision
from .scripted import AGREEMENT, ScriptedAgent, make_scripted, reasons

FALLBACK = "clause:fallback"
TIER_BREAK = "clause:tier-break"


# -- liars and bullies -----------------------------------------------------------------------

@dataclass
class Misreporter:
    """Claims every unit of every dimension as a need, and bargains (proposes, counters,
    accepts) as if each dimension it has no real need for were worth ``inflate`` times more.

    Its moves come from an honest scripted ``strategy`` fed the inflated profile, so every
    hold cites ``fair:needs_coverage``, including on dimensions where it needs nothing.
    """

    name: str
    inflate: float = 2.0
    strategy: str = "linear"
    _inner: ScriptedAgent = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._inner = make_scripted(self.name, self.strategy)

    def decide(self, view: PartyView, feedback: ProtocolViolation | None = None) -> Header:
        return self._inner.decide(self.claimed(view), feedback)

    def claimed(self, view: PartyView) -> PartyView:
        """The view as if its stated profile were true."""
        me = view.me
        weights = {d: w * (1.0 if me.needs.get(d, 0) > 0 else self.inflate)
                   for d, w in me.weights.items()}
        needs = {**me.needs, **view.units}
        return view.model_copy(update={"me": me.model_copy(update={"weights": weights,
                                                                    "needs": needs})})


@dataclass
class PriorityHider:
    """Hides what it wants most: its opening request is made as if its most and least valued
    dimensions had swapped weights, so its opening signals little interest in its true
    priority; every later move (accept, counter, refuse) is honest ``strategy`` play.

    The classic CaSiNo deception: claim your high-priority item is low to get it cheaply.
    """

    name: str
    strategy: str = "linear"
    _inner: ScriptedAgent = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._inner = make_scripted(self.name, self.strategy)

    def decide(self, view: PartyView, feedback: ProtocolViolation | None = None) -> Header:
        return self._inner.decide(self.claimed(view) if view.table is None else view, feedback)

    def claimed(self, view: PartyView) -> PartyView:
        """The view with the weights of the top and bottom dimensions swapped."""
        weights = dict(view.me.weights)
        ranked = sorted(view.units, key=lambda d: (weights.get(d, 0.0), d))
        if len(ranked) > 1:
            low, high = ranked[0], ranked[-1]
            weights[low], weights[high] = weights.get(high, 0.0), weights.get(low, 0.0)
        return view.model_copy(update={"me": view.me.model_copy(update={"weights": weights})})


@dataclass
class Machiavellian:
    """Bluffs and threatens, within the rules.

    It asks for everything and claims a need for all of it (the bluff). Until ``patience`` of
    the round cap has passed it answers every offer by refusing or deferring, chosen by a
    seeded draw, citing the fallback and tier-break clauses (the threat: let the rules decide).
    Then it accepts whatever is worth its reservation value, or takes its favourite dimension.
    """

    name: str
    seed: int = 0
    patience: float = 0.7

    def decide(self, view: PartyView, feedback: ProtocolViolation | None = None) -> Header:
        dims = sorted(view.units, key=lambda d: -view.me.weights.get(d, 0.0))
        if view.table is None:
            everything = {d: {p: (u if p == view.party else 0) for p in view.claimants[d]}
                          for d, u in view.units.items()}
            return Request(**header(view), projection=tuple(sorted(view.units)),
                           proposal=everything, duration=view.duration_cap,
                           tiers=dict(view.my_tiers), rationale=self._bluff(view, dims))
        if view.rounds < self.patience * view.round_cap:
            # Seeded by position, not by call count, so a re-ask repeats the same threat.
            draw = random.Random(self.seed * 1_000_003 + view.next_seq)
            threat = reasons(view, (), draw.choice((FALLBACK, TIER_BREAK)))
            if draw.random() < 0.5:
                return Defer(**header(view), rationale=threat)
            return Refuse(**header(view), reasons=threat)
        table = view.table.allocation
        if utility(view, table) >= view.me.reservation:
            return Accept(**header(view), rationale=reasons(view, (), AGREEMENT))
        # Some dimension is short of whole: a table giving it everything would be accepted.
        top = next(d for d in dims if table[d].get(view.party, 0) < view.units[d])
        return Counter(**header(view), dimension=top,
                       value={p: (view.units[top] if p == view.party else 0)
                              for p in view.claimants[top]},
                       rationale=self._bluff(view, (top,)))

    def _bluff(self, view: PartyView, dims: Sequence[str]) -> tuple[str, ...]:
        claimed = view.model_copy(update={"me": view.me.model_copy(
            update={"needs": dict(view.units)})})
        return reasons(claimed, dims, FALLBACK)

# -- the attacking agents ---------------------------------------------------------------------

def _send(attack: Attack, intel: Intel, wire: bool) -> Header:
    """Hand an attack to the driver. Over the wire a record the validator refuses never becomes
    a record at all, which the driver treats as a reply that would not parse."""
    if not wire:
        return attack.record(intel)
    try:
        return parse_record(attack.raw(intel))
    except ProtocolViolation as refused:
        raise NoValidDecision(f"{attack.name}: {refused}") from refused


@dataclass
class BypassAgent:
    """Tries one attack per ``decide`` call: the next of those ready in this phase, in order,
    starting again from the first once all have been tried."""

    name: str
    knowledge: Terms
    attacks: tuple[Attack, ...] = ATTACKS
    wire: bool = True
    tried: list[str] = field(default_factory=list)

    def decide(self, view: PartyView, feedback: ProtocolViolation | None = None) -> Header:
        intel = Intel(view, self.knowledge)
        ready = [a for a in self.attacks if a.phase.value == view.phase and a.ready(intel)]
        names = {a.name for a in ready}
        attack = ready[sum(n in names for n in self.tried) % len(ready)]
        self.tried.append(attack.name)
        return _send(attack, intel, self.wire)


@dataclass
class PromptInjector:
    """Tries each injection channel once, in order, where its phase comes up; then negotiates
    honestly with ``strategy`` so the run reaches an outcome a peer's LLM has to read."""

    name: str
    knowledge: Terms
    channels: tuple[Attack, ...] = INJECTIONS
    strategy: str = "linear"
    wire: bool = True
    tried: list[str] = field(default_factory=list)
    _inner: ScriptedAgent = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._inner = make_scripted(self.name, self.strategy)

    def decide(self, view: PartyView, feedback: ProtocolViolation | None = None) -> Header:
        intel = Intel(view, self.knowledge)
        channel = next((c for c in self.channels if c.phase.value == view.phase
                        and c.name not in self.tried and c.ready(intel)), None)
        if channel is None:
            return self._inner.decide(view, feedback)
        self.tried.append(channel.name)
        return _send(channel, intel, self.wire)


__all__ = ["BypassAgent", "Machiavellian", "Misreporter", "PriorityHider", "PromptInjector"]
