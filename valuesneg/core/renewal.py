"""Renewal: once settled, the holder of a grant that ended by expiry or an envelope change
may ask for it again (a request replying to that grant's seq); every grantor of the grant
must accept, and one refusal ends the renewal with a denial."""

from __future__ import annotations

from dataclasses import replace

from . import checks, grants
from .errors import Code
from .records import Accept, Denial, Header, Refuse, Request
from .state import RENEWABLE_ENDINGS, GrantState, Renewal
from .step import Step


def request(step: Step, record: Request) -> None:
    """A holder asks to renew a grant that expired or ended with an envelope change: the grant's
    own units of its own dimension, once."""
    state, policy = step.state, step.terms.policy
    grant_state = checks.subject(step, record)
    grant = grant_state.grant
    _check_renewable(step, grant_state)
    dim = grant.dimension
    if tuple(record.projection) != (dim,):
        raise step.violation(Code.PROJECTION_MISMATCH, "projection",
                             f"a renewal projects {dim!r} alone")
    if {d: dict(s) for d, s in record.proposal.items()} != {dim: {grant.grantee: grant.units}}:
        raise step.violation(Code.BAD_ALLOCATION, "proposal",
                             f"a renewal asks for the grant's own {grant.units} of {dim!r}")
    if dict(record.tiers) != {dim: policy.tier_of(grant.grantee, dim)}:
        raise step.violation(Code.TIER_MISMATCH, f"tiers.{dim}",
                             f"policy gives {grant.grantee!r} "
                             f"tier {policy.tier_of(grant.grantee, dim)!r}")
    if record.duration > policy.grant_duration_cap:
        raise step.violation(Code.DURATION_EXCEEDS_CAP, "duration",
                             f"cap is {policy.grant_duration_cap}")
    extra = next((f for f in ("reservation", "precondition", "depends_on", "dependencies")
                  if getattr(record, f)), None)
    if extra is not None:
        raise step.violation(Code.NOT_RENEWABLE, extra, f"a renewal carries no {extra}")
    if not state.envelopes[grant.grantee].projection(dim):
        raise step.violation(Code.OUTSIDE_ENVELOPE, "projection",
                             f"{dim!r} is outside {grant.grantee!r}'s envelope now")
    step.rationale(record, record.rationale, "rationale")
    step.change(renewal=Renewal(
        record.seq, grant.grant_id, record.duration, grant.grantors))


def _check_renewable(step: Step, grant_state: GrantState) -> None:
    grant_id = grant_state.grant.grant_id
    why = ("it is live" if grant_state.ended_by is None
           else f"it was ended by {grant_state.ended_by}"
           if grant_state.ended_by not in RENEWABLE_ENDINGS
           else "its end is not acknowledged" if not grant_state.acked
           else "its renewal was already decided" if grant_id in step.state.renewed
           else None)
    if why is not None:
        raise step.violation(Code.NOT_RENEWABLE, "reply_to",
                             f"{grant_id!r} cannot be renewed: {why}")


def accept(step: Step, record: Accept) -> None:
    """A grantor agrees to renew; when every grantor has, the grant is issued again."""
    renewal = _awaiting(step, record)
    step.rationale(record, record.rationale, "rationale")
    pending = tuple(p for p in renewal.pending if p != record.sender)
    if pending:  # every grantor of the grant must agree to give it again
        step.change(renewal=replace(renewal, pending=pending))
        return
    grant = step.state.grants[renewal.grant_id].grant
    step.change(renewal=None,
                        renewed=step.state.renewed | {renewal.grant_id})
    grants.issue(step, grant.dimension, grant.grantee, grant.units, renewal.duration,
                 (step.terms.policy.clauses.agreement,), None, reply_to=renewal.seq)


def refuse(step: Step, record: Refuse) -> None:
    """A grantor refuses to renew; the core records a denial and the grant stays ended."""
    renewal = _awaiting(step, record)
    if record.cycle:
        raise step.violation(Code.NO_CYCLE, "cycle", "a renewal opens no negotiation")
    step.rationale(record, record.reasons, "reasons")
    grant = step.state.grants[renewal.grant_id].grant
    step.change(renewal=None,
                        renewed=step.state.renewed | {renewal.grant_id})
    step.emit(Denial, party=grant.grantee, dimension=grant.dimension,
              requested=grant.units, granted=0, clauses=record.reasons, reply_to=renewal.seq)


def _awaiting(step: Step, record: Header) -> Renewal:
    """The renewal a grantor's answer replies to: the one awaiting it, by seq."""
    renewal = step.state.renewal
    assert renewal is not None  # checks.check_sender found one awaiting this grantor
    if record.reply_to != renewal.seq:
        raise step.violation(Code.STALE_REPLY, "reply_to",
                             f"the renewal awaiting answers is seq {renewal.seq}")
    return renewal
