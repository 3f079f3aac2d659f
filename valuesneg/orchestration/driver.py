"""The turn, in steps: ask the core who must act, get that party's record, apply it, route.

The driver owns no negotiation logic. A refused record goes back to its agent with the
core's typed error, within the policy's re-ask budget; when the budget is spent the party
is treated as silent, which the core records as a refusal (the policy's default).

A turn is a ``TurnProgress`` (plain data) moved on by one step at a time: ``Driver.turn``
runs the steps in a loop, the langgraph graph runs them in a node that checkpoints each
decision before its record is applied. The steps that write to the lineage first check
whether their effect is already in it, so a run resumed from a checkpoint older than its
lineage never writes a record twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import InitVar, dataclass, field
from typing import Any, Literal, TypedDict

from valuesneg.agents.base import Agent, header
from valuesneg.agents.housekeeping import next_use, renewal_accept, renewal_request
from valuesneg.agents.llm import NoValidDecision
from valuesneg.core import (
    CORE,
    Code,
    Commit,
    Entry,
    EnvelopeUpdate,
    Header,
    Ledger,
    ProtocolViolation,
    Revocation,
    Terms,
    parse_record,
)
from valuesneg.core.view import view_for
from valuesneg.core.wire import wire_form
from valuesneg.scenario import Scenario
from valuesneg.signing import RunKeys

Violation = dict[str, str | int | None]
Step = Literal["decide", "apply", "default", "done"]

_NO_DECISION = ProtocolViolation(Code.SCHEMA, "(reply)", "the model gave no usable decision")


@dataclass(frozen=True)
class Turn:
    """What one decision cost and how the core judged it (kept outside the lineage)."""

    party: str
    seq: int
    attempts: int
    refusals: tuple[Violation, ...]
    seconds: float
    defaulted: bool


class TurnProgress(TypedDict):
    """One party's turn so far; plain data, so a checkpoint can hold it."""

    party: str
    seq: int  # the seq the party's record must carry: the turn is over once the lineage has it
    pending: dict[str, Any] | None  # the record as it goes on the wire, not yet applied
    refusals: list[Violation]
    seconds: float
    defaulted: bool
    done: bool


def check_sender(record: Header, party: str) -> None:
    """An agent may only speak for its own party. The core judges what a party may say, not
    who is on the wire: binding a channel to a party is the caller's job (sans-IO)."""
    if record.sender != party:
        raise ProtocolViolation(Code.NOT_YOUR_TURN, "sender",
                                f"{party!r} is to act, not {record.sender!r}", seq=record.seq)


def next_step(progress: TurnProgress, budget: int) -> Step:
    """What a turn does next: apply a decided record, default after the re-ask budget is spent,
    ask the agent (again), or stop."""
    if progress["done"]:
        return "done"
    if progress["pending"] is not None:
        return "apply"
    return "default" if len(progress["refusals"]) > budget else "decide"


def turn_limit(terms: Terms) -> int:
    """Every non-accepting move costs a round, so the cap bounds the turns; the margin covers
    accepts in n-ary rounds."""
    return (terms.policy.round_cap + 1) * (len(terms.parties) + 1)


@dataclass
class Driver:
    """Runs one negotiation turn by turn: asks the core who acts, asks that party's agent for a
    record, re-asks it with the core's refusal, and after the outcome has holders use, ack and
    renew their grants."""

    terms: Terms
    agents: Mapping[str, Agent]
    on_entries: Callable[[tuple[Entry, ...]], None] = lambda entries: None
    on_turn: Callable[[Turn], None] = lambda turn: None
    wind_down: bool = True  # after the outcome, use and end the grants it produced
    # Envelopes some parties move to once they have used their grants (a re-scoped project,
    # a robot reassigned): each change ends the grants that party gives or holds.
    envelope_changes: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    # Parties that, once grants they held ended with an envelope change, ask to renew them.
    renewals: Collection[str] = ()
    resume_from: InitVar[Ledger | None] = None  # a ledger rebuilt from a run's lineage
    signing: InitVar[RunKeys | None] = None  # a new lineage is signed with these keys
    ledger: Ledger = field(init=False)
    turns: list[Turn] = field(default_factory=list)
    _parsed: tuple[dict[str, Any], Header] | None = field(default=None, init=False, repr=False,
                                                          compare=False)

    @classmethod
    def of(cls, scenario: Scenario, agents: Mapping[str, Agent], **options: Any) -> Driver:
        """The driver of a scenario: its terms, and its wind-down (envelope changes,
        renewals) as the scenario file declares."""
        return cls(scenario.terms, agents, envelope_changes=scenario.envelope_changes(),
                   renewals=scenario.renewals(), **options)

    def __post_init__(self, resume_from: Ledger | None, signing: RunKeys | None) -> None:
        if resume_from is not None:
            self.ledger = resume_from
            return
        self.ledger = Ledger(self.terms) if signing is None else \
            Ledger(self.terms, signing.public, signing.sign)
        self.on_entries(tuple(self.ledger.entries))

    @property
    def transcript(self) -> tuple[Header, ...]:
        return tuple(self.ledger.records)

    @property
    def budget(self) -> int:
        return self.terms.policy.reask_budget

    def run(self, max_turns: int | None = None) -> Ledger:
        limit = max_turns or turn_limit(self.terms)
        while self.ledger.negotiation.outcome is None:
            if len(self.turns) >= limit:
                raise RuntimeError(f"no terminal outcome after {limit} turns")
            self.turn()
        if self.wind_down:
            self.use_grants()
        return self.ledger

    def turn(self) -> Turn:
        progress = self.begin()
        steps = {"decide": self.decide, "apply": self.apply, "default": self.default}
        while (step := next_step(progress, self.budget)) != "done":
            progress = steps[step](progress)
        return self.turns[-1]

    # -- the steps of a turn ----------------------------------------------------------------

    def begin(self) -> TurnProgress:
        negotiation = self.ledger.negotiation
        return TurnProgress(party=negotiation.expected()[0], seq=negotiation.state.next_seq,
                            pending=None, refusals=[], seconds=0.0, defaulted=False,
                            done=False)

    def decide(self, progress: TurnProgress) -> TurnProgress:
        """Ask the party's agent, telling it why its last record was refused, if it was."""
        party, seq, refusals = progress["party"], progress["seq"], progress["refusals"]
        started = time.perf_counter()
        view = view_for(self.ledger.negotiation, party, self.transcript)
        pending: dict[str, Any] | None
        try:
            record = self.agents[party].decide(view, _violation(refusals[-1]) if refusals
                                               else None)
            # The wire form is what a checkpoint keeps; the core judges nothing else anyway.
            valid, pending = wire_form(record, seq)
            # apply() need not parse this very dict again: it is what ``valid`` dumps to.
            self._parsed = (pending, valid)
        except NoValidDecision:
            pending, refusals = None, refusals + [_NO_DECISION.as_dict()] * (
                self.budget + 1 - len(refusals))
        except ProtocolViolation as violation:
            pending, refusals = None, [*refusals, violation.as_dict()]
        return {**progress, "pending": pending, "refusals": refusals,
                "seconds": progress["seconds"] + time.perf_counter() - started}

    def apply(self, progress: TurnProgress) -> TurnProgress:
        if self.recorded(progress):
            return self._finish(progress)
        pending = progress["pending"]
        assert pending is not None
        parsed, self._parsed = self._parsed, None
        # The record decide() validated this dict from, if it is that dict (a checkpoint
        # resumed in another process hands over a copy, which is parsed as any wire input).
        record = parsed[1] if parsed is not None and parsed[0] is pending else parse_record(pending)
        try:
            check_sender(record, progress["party"])
            entries = self.ledger.apply(record)
        except ProtocolViolation as violation:
            return {**progress, "pending": None,
                    "refusals": [*progress["refusals"], violation.as_dict()]}
        self.on_entries(entries)
        return self._finish(progress)

    def default(self, progress: TurnProgress) -> TurnProgress:
        """Budget spent: the party is silent past its deadline, which the core counts as
        refusal."""
        progress = {**progress, "defaulted": True}
        if self.recorded(progress):
            return self._finish(progress)
        negotiation = self.ledger.negotiation
        deadline = negotiation.deadline()
        tick = (negotiation.state.tick if deadline is None else deadline) + 1
        self.on_entries(self.ledger.timeout(progress["party"], tick))
        return self._finish(progress)

    def recorded(self, progress: TurnProgress) -> bool:
        """The lineage already holds this turn's outcome (written just before a crash)."""
        return self.ledger.negotiation.state.next_seq > progress["seq"]

    def _finish(self, progress: TurnProgress) -> TurnProgress:
        if self.turns and self.turns[-1].seq == progress["seq"]:  # ended already, in a graph
            return {**progress, "pending": None, "done": True}  # node run again after a pause
        refusals = progress["refusals"]
        turn = Turn(party=progress["party"], seq=progress["seq"],
                    attempts=len(refusals) + (0 if progress["defaulted"] else 1),
                    refusals=tuple(refusals), seconds=progress["seconds"],
                    defaulted=progress["defaulted"])
        self.turns.append(turn)
        self.on_turn(turn)
        return {**progress, "pending": None, "done": True}

    # -- after the outcome ------------------------------------------------------------------

    def use_grants(self) -> None:
        """Holders use their grants, pre-emptions happen, then time runs out on the rest."""
        while (entries := self.wind_down_step()) is not None:
            self.on_entries(entries)

    def wind_down_step(self) -> tuple[Entry, ...] | None:
        """Apply the next post-outcome input, or return None when there is none left.

        Worked out from the lineage alone (no counters kept here), so a run killed half-way
        through resumes exactly where it stopped. The phases: parties use their grants; each
        envelope change, each followed by another round of use; time runs out on what is
        left, and the holders acknowledge.
        """
        since = self._since_outcome()
        record = self._next_use(since) or self._next_renewal()
        if record is not None:
            return self.ledger.apply(record)
        expired = any(self._expiry(r) for r in since)
        changes = list(self.envelope_changes.items())
        made = sum(isinstance(r, EnvelopeUpdate) for r in since)
        if not expired and made < len(changes):
            party, scope = changes[made]
            view = view_for(self.ledger.negotiation, party, self.transcript)
            return self.ledger.apply(EnvelopeUpdate(
                **{**header(view), "reply_to": None}, scope=dict(scope),
                rationale=(self.terms.policy.clauses.envelope_change,)))
        live = [g.grant.expires for g in self.ledger.negotiation.state.grants.values()
                if g.ended_by is None]
        return None if expired or not live else self.ledger.advance(max(live))

    def _next_renewal(self) -> Header | None:
        """The pending renewal's next grantor accepts; else the next renewing party asks for
        the next grant it held that an envelope change ended (each once, in grant order).
        A grant whose dimension the holder's envelope no longer covers is not asked for:
        the core would refuse it (outside_envelope), and the holder has no use for it."""
        negotiation = self.ledger.negotiation
        state, clause = negotiation.state, self.terms.policy.clauses.agreement
        if state.renewal is not None:
            grantor = state.renewal.pending[0]
            view = view_for(negotiation, grantor, self.transcript)
            return renewal_accept(view, state.renewal.seq, clause)
        for grant_state in state.grants.values():
            grant = grant_state.grant
            if (grant.grantee in self.renewals and grant_state.ended_by == "envelope_change"
                    and grant_state.acked and grant.grant_id not in state.renewed
                    and state.envelopes[grant.grantee].projection(grant.dimension)):
                view = view_for(negotiation, grant.grantee, self.transcript)
                return renewal_request(view, grant, clause)
        return None

    def _since_outcome(self) -> Sequence[Header]:
        records = self.ledger.records
        ends = [i for i, r in enumerate(records) if r.kind == "outcome"]
        return records[ends[0] + 1:] if ends else []

    def _expiry(self, record: Header) -> bool:
        """Time ran out: only the core's advance ends grants by expiry."""
        return isinstance(record, Revocation) and record.sender == CORE \
            and record.clause == self.terms.policy.clauses.expiry

    def _next_use(self, since: Sequence[Header]) -> Header | None:
        """Parties take turns, in order, at their next use of a grant until none has any
        left; a grant is used once per phase (phases start at each envelope change and when
        time runs out)."""
        starts = [i + 1 for i, r in enumerate(since) if isinstance(r, EnvelopeUpdate)
                  or self._expiry(r)]
        phase = since[starts[-1] if starts else 0:]
        parties = self.terms.party_ids
        acted = [r.sender for r in phase if r.sender in parties]
        first = parties.index(acted[-1]) + 1 if acted else 0
        for party in (*parties[first:], *parties[:first]):
            used = {r.grant_id for r in phase if isinstance(r, Commit) and r.sender == party}
            view = view_for(self.ledger.negotiation, party, self.transcript)
            record = next_use(view, used)
            if record is not None:
                return record
        return None


def _violation(raw: Violation) -> ProtocolViolation:
    seq = raw["seq"]
    return ProtocolViolation(Code(str(raw["code"])), str(raw["field"]), str(raw["detail"]),
                             seq=seq if isinstance(seq, int) else None)
