"""Grants: issuing them, and the records that use and end them (commit, ack, revocation,
pre-emption, an envelope change, expiry)."""

from __future__ import annotations

from dataclasses import replace

from . import checks
from .errors import Code
from .records import Ack, Commit, EnvelopeUpdate, Grant, Preemption, Revocation
from .state import GrantState, Proposal, owed_acks
from .step import Step
from .terms import Envelope


def issue(
    step: Step,
    dim: str,
    grantee: str,
    units: int,
    duration: int,
    clauses: tuple[str, ...],
    proposal: Proposal | None,
    reply_to: int | None = None,
) -> Grant:
    """Grant ``units`` of ``dim`` to ``grantee`` from every other claimant of it, now."""
    terms, tick = step.terms, step.state.tick
    grantors = tuple(sorted(p for p in terms.contested[dim] if p != grantee))
    versions = {p: step.state.envelopes[p].version for p in (grantee, *grantors)}
    grant = step.emit(
        Grant,
        grant_id=f"grant:{step.state.next_seq}",
        grantee=grantee,
        grantors=grantors,
        dimension=dim,
        units=units,
        starts=tick,
        expires=tick + duration,
        versions=versions,
        clauses=clauses,
        precondition=proposal.precondition if proposal else None,
        reservation=proposal.reservation if proposal else None,
        reply_to=reply_to,
    )
    assert isinstance(grant, Grant)
    grants = {**step.state.grants, grant.grant_id: GrantState(grant)}
    step.change(grants=grants)
    return grant


def end(step: Step, grant_id: str, how: str) -> None:
    """Mark a grant ended (``how``: revocation, expiry, preemption or envelope_change); its
    holder then owes an ack."""
    grants = {**step.state.grants, grant_id: replace(step.state.grants[grant_id], ended_by=how)}
    step.change(grants=grants)


def commit(step: Step, record: Commit) -> None:
    """A holder acts on contested scope: only under a current grant that covers it, within its
    own envelope, and with no ended grant left unacknowledged."""
    grant_state = checks.grant_state(step, record.grant_id)
    grant = grant_state.grant
    owed = owed_acks(step.state, record.sender)
    if owed:
        # The holder must ack an ended grant before it uses any claim again, so the
        # lineage shows it knew the claim was gone before it acted.
        raise step.violation(
            Code.ACK_OWED, "sender",
            f"{record.sender!r} must first acknowledge the end of {owed[0]!r}",
        )
    if not step.state.envelopes[record.sender].projection(record.dimension):
        # A subordinate re-checks admissibility: its own envelope must cover the scope.
        raise step.violation(
            Code.OUTSIDE_ENVELOPE,
            "dimension",
            f"{record.dimension!r} is outside {record.sender!r}'s envelope",
        )
    if not grant_state.current(record.tick) or not checks.precondition_holds(step, grant):
        raise step.violation(
            Code.DEAD_GRANT,
            "grant_id",
            f"{grant.grant_id!r} is not current at tick {record.tick}",
        )
    if record.dimension != grant.dimension or record.units > grant.units:
        raise step.violation(
            Code.NO_GRANT,
            "units",
            f"{grant.grant_id!r} covers {grant.units} of {grant.dimension!r}",
        )


def ack(step: Step, record: Ack) -> None:
    """A holder acknowledges that a grant has ended and that it holds no claim under it any
    more."""
    grant_state = checks.grant_state(step, record.grant_id)
    if grant_state.ended_by is None or grant_state.acked:
        raise step.violation(
            Code.NOTHING_TO_ACK, "grant_id", f"{record.grant_id!r} has not ended or is acked"
        )
    grants = {**step.state.grants, record.grant_id: replace(grant_state, acked=True)}
    step.change(grants=grants)


def revocation(step: Step, record: Revocation) -> None:
    """A grantor ends a current grant, citing one of the policy's revocation clauses."""
    grant_state = checks.grant_state(step, record.grant_id)
    if not grant_state.current(record.tick):
        raise step.violation(Code.DEAD_GRANT, "grant_id", f"{record.grant_id!r} ended")
    if record.clause not in step.terms.policy.clauses.revocation:
        raise step.violation(
            Code.WRONG_ID_KIND, "clause", f"{record.clause!r} is not a revocation clause"
        )
    end(step, record.grant_id, "revocation")


def preemption(step: Step, record: Preemption) -> None:
    """A party of a strictly higher tier ends a grant the policy marks pre-emptible at the
    holder's tier."""
    grant_state = checks.grant_state(step, record.grant_id)
    grant, policy = grant_state.grant, step.terms.policy
    if not grant_state.current(record.tick):
        raise step.violation(Code.DEAD_GRANT, "grant_id", f"{record.grant_id!r} ended")
    holder_tier = policy.tier_of(grant.grantee, grant.dimension)
    if not policy.preemptible_at(grant.dimension, holder_tier) or policy.tier_rank(
        record.sender, grant.dimension
    ) <= policy.tier_rank(grant.grantee, grant.dimension):
        raise step.violation(
            Code.NOT_PREEMPTIBLE,
            "grant_id",
            f"{grant.dimension!r} at {holder_tier!r} is not pre-emptible by {record.sender!r}",
        )
    step.rationale(record, record.rationale, "rationale")
    end(step, record.grant_id, "preemption")
    issue(
        step,
        grant.dimension,
        record.sender,
        grant.units,
        grant.expires - record.tick,
        (policy.clauses.preemption,),
        None,
        reply_to=record.seq,  # the new grant names the pre-emption that took the scope
    )


def envelope(step: Step, record: EnvelopeUpdate) -> None:
    """A party moves to another envelope; every live grant it gives or holds ends with the
    change."""
    step.rationale(record, record.rationale, "rationale")
    unknown = [d for d in record.scope if d not in step.terms.dimension_ids]
    if unknown:
        raise step.violation(
            Code.UNKNOWN_ID, f"scope.{unknown[0]}", f"{unknown[0]!r} is not a dimension"
        )
    checks.check_scope(step, record.scope)
    new = Envelope(scope=record.scope)
    if new.version == step.state.envelopes[record.sender].version:
        raise step.violation(Code.ILLEGAL_TRANSITION, "scope", "the envelope is unchanged")
    step.change(envelopes={**step.state.envelopes, record.sender: new})
    for grant_state in list(step.state.grants.values()):
        grant = grant_state.grant
        if grant_state.ended_by is None and record.sender in (grant.grantee, *grant.grantors):
            step.emit(
                Revocation,
                grant_id=grant.grant_id,
                clause=step.terms.policy.clauses.envelope_change,
            )
            end(step, grant.grant_id, "envelope_change")


def expire(step: Step, tick: int) -> None:
    """Logical time moved to ``tick``: end every grant that expired by then."""
    if tick < step.state.tick:
        raise step.violation(Code.TICK_REGRESSED, "tick", f"{tick} < {step.state.tick}")
    live = [g for g in step.state.grants.values() if g.ended_by is None]
    ended = [g for g in live if g.grant.expires <= tick]
    if not ended:
        raise step.violation(
            Code.ILLEGAL_TRANSITION, "tick", f"no grant expires by tick {tick}"
        )
    last = max(g.grant.expires for g in live)
    if tick > last:
        # Time passes to an expiry, never beyond the last one: nothing is left to end.
        raise step.violation(Code.TICK_TOO_FAR, "tick", f"the last grant expires at {last}")
    step.change(tick=tick)
    for grant_state in ended:
        grant = grant_state.grant
        step.emit(Revocation, grant_id=grant.grant_id, clause=step.terms.policy.clauses.expiry)
        end(step, grant.grant_id, "expiry")
