"""Bargaining: proposals, the answers to them, silence, and the settlement that ends it
(agreement, tier-break or fallback), with the grants and denials the settlement issues."""

from __future__ import annotations

from . import checks, grants, settle
from .cycles import reaches
from .errors import Code
from .fast import built
from .records import (
    Accept,
    Allocation,
    Counter,
    Defer,
    Denial,
    Header,
    Outcome,
    Precondition,
    Refuse,
    Request,
    Reservation,
    TierBreak,
)
from .state import Phase, Proposal
from .step import Step


def request(step: Step, record: Request) -> None:
    """A proposal: the whole overlap projected, the policy's tiers, a duration within the cap,
    and a rationale the party may cite; it goes on the table for the others to answer."""
    terms = step.terms
    contested = step.facts.contested_sorted
    if sorted(record.projection) != contested or len(set(record.projection)) != len(
        record.projection
    ):
        raise step.violation(
            Code.PROJECTION_MISMATCH, "projection", f"the overlap is {contested}"
        )
    checks.check_tiers(step, record)
    if record.duration > terms.policy.grant_duration_cap:
        raise step.violation(
            Code.DURATION_EXCEEDS_CAP, "duration", f"cap is {terms.policy.grant_duration_cap}"
        )
    checks.check_precondition(step, record.precondition)
    allocation = checks.allocation(step, record.proposal, "proposal")
    step.rationale(record, record.rationale, "rationale")
    if record.reservation is not None:
        checks.check_reservation(step, record)
    checks.check_dependencies(step, record)
    _propose(step, record, allocation, record.duration, record.reservation, record.precondition)


def counter(step: Step, record: Counter) -> None:
    """A change to one contested dimension of the proposal on the table; it costs a round and
    becomes the new proposal (or the round cap decides)."""
    proposal = checks.check_reply(step, record)
    if record.dimension not in step.facts.contested:
        raise step.violation(
            Code.PROJECTION_MISMATCH, "dimension", f"{record.dimension!r} is not contested"
        )
    # Only the countered dimension is new: the others are the proposal's, checked already.
    dim, current = record.dimension, proposal.allocation
    share = checks.share_of(step, dim, record.value, f"value({dim})")
    if share == current[dim]:
        raise step.violation(Code.EMPTY_COUNTER, "value", "the counter changes nothing")
    allocation = {d: share if d == dim else current[d] for d in current}
    step.rationale(record, record.rationale, "rationale")
    step.change(rounds=step.state.rounds + 1)
    if not _cap_reached(step):
        _propose(
            step, record, allocation, proposal.duration, proposal.reservation,
            proposal.precondition,
        )


def accept(step: Step, record: Accept) -> None:
    """One responder agrees to the proposal on the table; once the multiparty rule is met, the
    proposal settles as the agreement."""
    proposal = checks.check_reply(step, record)
    step.rationale(record, record.rationale, "rationale")
    state = step.state
    accepted = (*state.accepted, record.sender)
    pending = tuple(p for p in state.pending if p != record.sender)
    step.change(accepted=accepted, pending=pending)
    if _agreed(step):
        _settle(step, settle.agreed(step.terms, proposal.allocation), proposal)


def defer(step: Step, record: Defer) -> None:
    """A responder asks for time; it costs a round, so deferring cannot dodge the round cap."""
    checks.check_reply(step, record)
    step.rationale(record, record.rationale, "rationale")
    # A defer costs a round, so deferring forever cannot dodge the round cap.
    step.change(rounds=step.state.rounds + 1)
    _cap_reached(step)


def refuse(step: Step, record: Refuse) -> None:
    """A responder refuses the proposal on the table, or shows a dependency cycle that makes the
    tier-break decide at once."""
    checks.check_reply(step, record)
    step.rationale(record, record.reasons, "reasons")
    if record.cycle:
        _break_cycle(step, record)
    else:
        _refused(step, record.sender)


def silence(step: Step, party: str, tick: int) -> None:
    """Silence past the timeout counts as refusal; the core records it for the party."""
    state, deadline = step.state, step.deadline()
    awaited = (
        state.pending
        if state.phase is Phase.PROPOSED
        else ((state.next_proposer,) if state.phase is Phase.OPEN else ())
    )
    if party not in awaited or deadline is None:
        raise step.violation(
            Code.ILLEGAL_TRANSITION, "silent_party", f"no record is awaited from {party!r}"
        )
    if tick < state.tick or tick <= deadline:
        raise step.violation(
            Code.NOT_TIMED_OUT, "tick", f"deadline {deadline} not passed at tick {tick}"
        )
    if tick != deadline + 1:
        # Silence is known the tick after the deadline; a later tick would let the
        # recorder of the timeout move the clock at will.
        raise step.violation(
            Code.TICK_TOO_FAR, "tick", f"a timeout is recorded at tick {deadline + 1}"
        )
    step.change(tick=tick)
    reply_to = state.proposal.seq if state.proposal else None
    step.emit(
        Refuse,
        reasons=(step.terms.policy.clauses.timeout,),
        silent_party=party,
        reply_to=reply_to,
    )
    if state.phase is Phase.PROPOSED:
        _refused(step, party)
    else:
        _skip_proposer(step, party)


def _skip_proposer(step: Step, party: str) -> None:
    """A silent proposer loses its turn (and a round) to the next claimant."""
    claimants = step.terms.claimants
    after = claimants[(claimants.index(party) + 1) % len(claimants)]
    step.change(rounds=step.state.rounds + 1, next_proposer=after)
    _cap_reached(step)


def _break_cycle(step: Step, record: Refuse) -> None:
    """A shown dependency cycle through this negotiation is dissolved by tier-break now.

    The cycle must leave this negotiation by a wait it really declared (an accepted
    edge); the rest of the path, through other negotiations, is the refuser's evidence,
    which only a mediator seeing every negotiation can confirm.
    """
    shown = {(e.waiter, e.waits_on) for e in record.cycle}
    edges = set(step.state.dependencies) | shown
    here = step.terms.negotiation
    if not any(waiter == here and reaches(edges, target, here)
               for waiter, target in step.state.dependencies):
        raise step.violation(
            Code.NO_CYCLE,
            "cycle",
            f"no cycle runs through a wait {here!r} declared",
        )
    _check_shown_waits(step, record)
    # The tier-break settles this negotiation, so it waits on nothing any more: the shown
    # edges are evidence for the break, never accepted as standing dependencies.
    step.change(rounds=step.state.rounds + 1)
    _settle(
        step,
        settle.by_terminal_rules(step.terms, step.state.first_proposal),
        step.state.proposal,
        extra_clause=step.terms.policy.clauses.dependency_cycle,
    )


def _check_shown_waits(step: Step, record: Refuse) -> None:
    """Every wait the refuser shows must be one a peer can check: this negotiation's own,
    declared in its lineage, or one an authority in the terms vouches for. A wait only
    the refuser asserts could invent a cycle to cut the round cap short."""
    here, declared = step.terms.negotiation, step.state.dependencies
    for position, edge in enumerate(record.cycle):
        wait = (edge.waiter, edge.waits_on)
        if not ((edge.waiter == here and wait in declared) or wait in step.facts.attested):
            raise step.violation(Code.UNVERIFIED_CYCLE, f"cycle[{position}]",
                                 f"no peer can check that {edge.waiter!r} waits on "
                                 f"{edge.waits_on!r}")


def _refused(step: Step, party: str) -> None:
    state = step.state
    proposal = state.proposal
    assert proposal is not None
    refused = (*state.refused, party)
    pending = tuple(p for p in state.pending if p != party)
    step.change(refused=refused, pending=pending, rounds=state.rounds + 1)
    if _cap_reached(step):
        return
    if not _can_still_agree(step):
        step.change(phase=Phase.OPEN,
            proposal=None,
            pending=(),
            accepted=(),
            refused=(),
            next_proposer=proposal.proposer,
        )


def _propose(
    step: Step,
    record: Header,
    allocation: Allocation,
    duration: int,
    reservation: Reservation | None,
    precondition: Precondition | None,
) -> None:
    state = step.state
    proposal = built(
        Proposal,
        seq=record.seq,
        proposer=record.sender,
        tick=record.tick,
        allocation=allocation,
        duration=duration,
        reservation=reservation,
        precondition=precondition,
    )
    first = state.first_proposal
    if record.sender not in first:
        first = {**first, record.sender: record.tick}
    pending = step.facts.others[record.sender]  # a proposer is always a claimant
    asks = {**state.asks, record.sender: allocation}
    step.change(phase=Phase.PROPOSED,
        proposal=proposal,
        pending=pending,
        accepted=(),
        refused=(),
        first_proposal=first,
        asks=asks,
    )


def _agreed(step: Step) -> bool:
    state, n = step.state, len(step.facts.claimants)
    if step.facts.unanimity:
        return not state.pending and not state.refused
    return 1 + len(state.accepted) > n / 2  # the proposer's own yes counts


def _can_still_agree(step: Step) -> bool:
    state, n = step.state, len(step.facts.claimants)
    if step.facts.unanimity:
        return not state.refused
    return 1 + len(state.accepted) + len(state.pending) > n / 2


def _cap_reached(step: Step) -> bool:
    if step.state.rounds < step.facts.round_cap:
        return False
    proposal = step.state.proposal
    _settle(step, settle.by_terminal_rules(step.terms, step.state.first_proposal), proposal)
    return True


# -- settlement -----------------------------------------------------------------------------


def _settle(
    step: Step,
    settlement: settle.Settlement,
    proposal: Proposal | None,
    extra_clause: str | None = None,
) -> None:
    terms, clauses = step.terms, step.terms.policy.clauses
    for dim, parts in settlement.tier_breaks:
        step.emit(
            TierBreak,
            dimension=dim,
            winner=parts.winner,
            candidates=parts.candidates,
            clauses=tuple(
                dict.fromkeys((clauses.tier_break, *((extra_clause,) if extra_clause else ())))
            ),
        )
    satisfied, sacrificed = settle.trade_offs(terms, settlement.allocation)
    justification = settle.justification(
        terms, settlement, step.state.rounds, step.state.accepted, extra_clause
    )
    outcome = step.emit(
        Outcome,
        terminal=settlement.terminal,
        allocation=settlement.allocation,
        satisfied=satisfied,
        sacrificed=sacrificed,
        justification=justification,
    )
    assert isinstance(outcome, Outcome)
    step.change(phase=Phase.SETTLED, outcome=outcome, pending=())
    agreed = settlement.terminal == "agreement" and proposal is not None
    duration = proposal.duration if agreed and proposal else terms.policy.grant_duration_cap
    clause = (
        clauses.agreement
        if agreed
        else clauses.tier_break
        if settlement.terminal == "tier_break"
        else clauses.fallback
    )
    if not agreed:
        _deny(step, settlement)
    for dim, share in settlement.allocation.items():
        for party, units in share.items():
            if units > 0:
                grants.issue(
                    step, dim, party, units, duration, (clause,), proposal if agreed else None
                )


def _deny(step: Step, settlement: settle.Settlement) -> None:
    """Tell each requester, by dimension, what it asked for and did not get, and why."""
    clauses = step.terms.policy.clauses
    rule_clause = {
        d.dimension: clauses.tier_break if d.rule == "tier_break" else clauses.fallback
        for d in settlement.decisions
    }
    for party in step.terms.claimants:
        ask = step.state.asks.get(party, {})
        for dim, share in ask.items():
            granted = settlement.allocation[dim].get(party, 0)
            if share.get(party, 0) > granted:
                step.emit(
                    Denial,
                    party=party,
                    dimension=dim,
                    requested=share[party],
                    granted=granted,
                    clauses=(rule_clause[dim],),
                )
