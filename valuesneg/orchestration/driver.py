"""The turn loop: ask the core who must act, get that party's record, apply it, repeat.

The driver owns no negotiation logic. A refused record goes back to its agent with the
core's typed error, within the policy's re-ask budget; when the budget is spent the party
is treated as silent, which the core records as a refusal (the policy's default).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from valuesneg.agents.base import Agent, header
from valuesneg.agents.housekeeping import next_use
from valuesneg.agents.llm import NoValidDecision
from valuesneg.core import (
    Code,
    Entry,
    EnvelopeUpdate,
    Header,
    Ledger,
    ProtocolViolation,
    Terms,
)
from valuesneg.core.view import view_for

_NO_DECISION = ProtocolViolation(Code.SCHEMA, "(reply)", "the model gave no usable decision")


@dataclass(frozen=True)
class Turn:
    """What one decision cost and how the core judged it (kept outside the lineage)."""

    party: str
    seq: int
    attempts: int
    refusals: tuple[dict[str, str | int | None], ...]
    seconds: float
    defaulted: bool


@dataclass
class Driver:
    terms: Terms
    agents: Mapping[str, Agent]
    on_entries: Callable[[tuple[Entry, ...]], None] = lambda entries: None
    on_turn: Callable[[Turn], None] = lambda turn: None
    wind_down: bool = True  # after the outcome, use and end the grants it produced
    # Envelopes some parties move to once they have used their grants (a re-scoped project,
    # a robot reassigned): each change ends the grants that party gives or holds.
    envelope_changes: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    ledger: Ledger = field(init=False)
    turns: list[Turn] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ledger = Ledger(self.terms)
        self.on_entries(tuple(self.ledger.entries))

    @property
    def transcript(self) -> tuple[Header, ...]:
        return tuple(self.ledger.records)

    def run(self, max_turns: int | None = None) -> Ledger:
        # Every non-accepting move costs a round, so the cap bounds the turns; the margin
        # covers accepts in n-ary rounds.
        limit = max_turns or (self.terms.policy.round_cap + 1) * (len(self.terms.parties) + 1)
        while self.ledger.negotiation.outcome is None:
            if len(self.turns) >= limit:
                raise RuntimeError(f"no terminal outcome after {limit} turns")
            self.turn()
        if self.wind_down:
            self.use_grants()
        return self.ledger

    def use_grants(self) -> None:
        """Holders use their grants, pre-emptions happen, then time runs out on the rest."""
        self._housekeeping()
        for party, scope in self.envelope_changes.items():
            view = view_for(self.ledger.negotiation, party, self.transcript)
            self.on_entries(self.ledger.apply(EnvelopeUpdate(
                **{**header(view), "reply_to": None}, scope=dict(scope),
                rationale=(self.terms.policy.clauses.envelope_change,))))
            self._housekeeping()
        negotiation = self.ledger.negotiation
        live = [g.grant.expires for g in negotiation.state.grants.values()
                if g.ended_by is None]
        if live:
            self.on_entries(self.ledger.advance(max(live)))
            self._housekeeping()

    def _housekeeping(self) -> None:
        used: dict[str, set[str]] = {p: set() for p in self.terms.party_ids}
        progress = True
        while progress:
            progress = False
            for party in self.terms.party_ids:
                view = view_for(self.ledger.negotiation, party, self.transcript)
                record = next_use(view, used[party])
                if record is not None:
                    self.on_entries(self.ledger.apply(record))
                    progress = True

    def turn(self) -> Turn:
        negotiation = self.ledger.negotiation
        party = negotiation.expected()[0]
        agent = self.agents[party]
        budget = self.terms.policy.reask_budget
        refusals: list[ProtocolViolation] = []
        started = time.perf_counter()
        seq = negotiation.state.next_seq
        for _attempt in range(budget + 1):
            view = view_for(negotiation, party, self.transcript)
            try:
                record = agent.decide(view, refusals[-1] if refusals else None)
            except NoValidDecision:
                refusals.extend([_NO_DECISION] * (budget + 1 - len(refusals)))
                break
            try:
                if record.sender != party:  # an agent may only speak for its own party
                    raise ProtocolViolation(Code.NOT_YOUR_TURN, "sender",
                                            f"{party!r} is to act, not {record.sender!r}",
                                            seq=record.seq)
                entries = self.ledger.apply(record)
                break
            except ProtocolViolation as violation:
                refusals.append(violation)
        if len(refusals) > budget:
            entries = self._default(party)
        self.on_entries(entries)
        turn = Turn(party=party, seq=seq, attempts=len(refusals) + (0 if len(refusals) > budget
                                                                    else 1),
                    refusals=tuple(v.as_dict() for v in refusals),
                    seconds=time.perf_counter() - started, defaulted=len(refusals) > budget)
        self.turns.append(turn)
        self.on_turn(turn)
        return turn

    def _default(self, party: str) -> tuple[Entry, ...]:
        """Budget spent: the party is silent past its deadline, which the core counts as refusal."""
        negotiation = self.ledger.negotiation
        deadline = negotiation.deadline()
        tick = (negotiation.state.tick if deadline is None else deadline) + 1
        return self.ledger.timeout(party, tick)
