"""Checks a party record must pass: the header every record carries, who may send it (the
role ``machine.TRANSITIONS`` names, checked here and nowhere else), and the fields a kind
carries. Each raises a ``ProtocolViolation`` naming the offending field."""

from __future__ import annotations

from collections.abc import Mapping

from .cycles import find_cycle
from .errors import Code
from .ids import CORE
from .records import (
    CORE_KINDS,
    Ack,
    Allocation,
    Commit,
    Grant,
    Header,
    Precondition,
    Preemption,
    Refuse,
    Request,
    Revocation,
)
from .state import GrantState, Phase, Proposal, Role
from .step import Step


def check_header(step: Step, record: Header, kind: str) -> None:
    """What every party record must get right before its kind is looked at: this negotiation, a
    party sender, the next seq, a tick neither going back nor jumping too far, the sender's
    current envelope version."""
    terms, state = step.terms, step.state
    if record.negotiation != terms.negotiation:
        raise step.violation(
            Code.WRONG_NEGOTIATION,
            "negotiation",
            f"{record.negotiation!r} is not {terms.negotiation!r}",
        )
    if record.sender == CORE or kind in CORE_KINDS:
        raise step.violation(
            Code.FORGED_CORE_RECORD,
            "kind" if kind in CORE_KINDS else "sender",
            f"only the core may produce {kind!r}",
        )
    if record.sender not in step.facts.parties:
        raise step.violation(Code.UNKNOWN_PARTY, "sender", f"{record.sender!r}")
    if record.seq != state.next_seq:
        raise step.violation(
            Code.BAD_SEQUENCE, "seq", f"expected {state.next_seq}, got {record.seq}"
        )
    if record.tick < state.tick:
        raise step.violation(Code.TICK_REGRESSED, "tick", f"{record.tick} < {state.tick}")
    check_jump(step, record.tick)
    version = state.envelopes[record.sender].version
    if record.envelope_version != version:
        # The full value, so an agent (or a person using `check`) can paste it back.
        sent = "missing" if record.envelope_version is None else "stale"
        raise step.violation(
            Code.STALE_ENVELOPE,
            "envelope_version",
            f"{sent}; {record.sender!r} is at {version}",
        )
    if isinstance(record, Refuse) and record.silent_party is not None:
        raise step.violation(
            Code.FORGED_CORE_RECORD, "silent_party", "only the core records a timeout"
        )


def check_jump(step: Step, tick: int) -> None:
    """How far ahead of the negotiation's clock a party may date its record. In the open
    phase, up to the proposer's deadline: past it only the core's timeout may speak, so
    one state never has two legal continuations. Once settled, up to the end of the
    longest grant the policy allows, since no grant outlives that. A reply's deadline
    is checked with the reply."""
    phase = step.state.phase
    if phase is Phase.PROPOSED:
        return
    facts = step.facts
    limit = step.state.tick + (facts.timeout_ticks if phase is Phase.OPEN
                               else max(facts.timeout_ticks, facts.duration_cap))
    if tick > limit:
        code = Code.TIMED_OUT if phase is Phase.OPEN else Code.TICK_TOO_FAR
        raise step.violation(code, "tick", f"{tick} is past tick {limit}")


def check_sender(step: Step, role: Role, record: Header) -> None:
    """Whether ``record``'s sender holds ``role`` now. A kind about a grant is judged
    against the grant it names, which must exist."""
    state, sender = step.state, record.sender
    if role is Role.RESPONDER:
        renewal = state.renewal
        if state.phase is Phase.PROPOSED:
            if sender not in state.pending:
                raise step.violation(Code.NOT_YOUR_TURN, "sender", f"{sender!r} is not awaited")
        elif renewal is None:
            raise step.violation(Code.ILLEGAL_TRANSITION, "kind",
                                 "no proposal or renewal is awaiting an answer")
        elif sender not in renewal.pending:
            raise step.violation(Code.NOT_YOUR_TURN, "sender",
                                 f"{sender!r} is not a grantor awaited by renewal "
                                 f"#{renewal.seq}")
        return
    if role is Role.PROPOSER:
        if sender != state.next_proposer:
            raise step.violation(
                Code.NOT_YOUR_TURN, "sender", f"{state.next_proposer!r} is to propose"
            )
        return
    if role is Role.ANY:
        return  # check_header made sure the sender is a party
    grant = subject(step, record).grant
    if role is Role.GRANTEE or role is Role.HOLDER:
        # A team's subordinate acts under its team's grant; only the team itself answers
        # for the grant (acknowledges its end, asks to renew it).
        if sender != grant.grantee and not (
            role is Role.HOLDER and sender in step.terms.party(grant.grantee).represents
        ):
            raise step.violation(Code.NOT_GRANT_HOLDER, "sender",
                                 f"{grant.grant_id!r} is held by {grant.grantee!r}")
    elif sender not in grant.grantors:  # a grantor, or a rival: the same parties
        if role is Role.GRANTOR:
            raise step.violation(Code.NOT_GRANTOR, "sender", "only a grantor may revoke")
        raise step.violation(Code.NOT_PREEMPTIBLE, "sender",
                             f"{sender!r} does not claim {grant.dimension!r}")


def subject(step: Step, record: Header) -> GrantState:
    """The grant a settled-phase record is about: the one it names by id, or for a renewal
    request the one whose seq it replies to."""
    if isinstance(record, (Commit, Ack, Revocation, Preemption)):
        return grant_state(step, record.grant_id)
    state = step.state
    if state.renewal is not None:
        # One renewal at a time, so each grantor answers a single question.
        raise step.violation(Code.ILLEGAL_TRANSITION, "kind",
                             f"renewal #{state.renewal.seq} is still awaiting its grantors")
    found = next((g for g in state.grants.values() if g.grant.seq == record.reply_to), None)
    if found is None:
        raise step.violation(Code.UNKNOWN_GRANT, "reply_to",
                             "a renewal names the grant it renews by that grant's seq")
    return found


def grant_state(step: Step, grant_id: str) -> GrantState:
    """The grant a record names, or ``unknown_grant``."""
    found = step.state.grants.get(grant_id)
    if found is None:
        raise step.violation(Code.UNKNOWN_GRANT, "grant_id", f"{grant_id!r}")
    return found


def check_reply(step: Step, record: Header) -> Proposal:
    """A responder's record answers the proposal on the table, before its deadline."""
    proposal = step.state.proposal
    assert proposal is not None  # the PROPOSED phase always has one
    if record.reply_to != proposal.seq:
        raise step.violation(
            Code.STALE_REPLY, "reply_to", f"the proposal on the table is seq {proposal.seq}"
        )
    deadline = step.deadline()
    if deadline is not None and record.tick > deadline:
        raise step.violation(Code.TIMED_OUT, "tick", f"deadline was tick {deadline}")
    return proposal


def allocation(step: Step, proposed: Mapping[str, Mapping[str, int]], field: str) -> Allocation:
    """A proposed division of the contested units, complete and with every share owed."""
    facts = step.facts
    checked = {dim: share_of(step, dim, units, field) for dim, units in proposed.items()}
    if len(proposed) != len(facts.contested):  # every key is contested: some are missing
        missing = [d for d in facts.contested if d not in proposed]
        raise step.violation(Code.BAD_ALLOCATION, field, f"no share for {missing[0]!r}")
    # settle.full_allocation, with every dimension known to be present.
    return {dim: checked[dim] for dim in facts.contested}


def share_of(step: Step, dim: str, share: Mapping[str, int], field: str) -> dict[str, int]:
    """One dimension of a proposed division: a contested dimension, only its claimants, its
    units in all; normalised to one entry per claimant, in the terms' order."""
    facts = step.facts
    claimants = facts.claimant_sets.get(dim)
    if claimants is None:
        raise step.violation(Code.BAD_ALLOCATION, f"{field}.{dim}", f"{dim!r} is not contested")
    if not claimants.issuperset(share):
        party = next(p for p in share if p not in claimants)
        raise step.violation(
            Code.BAD_ALLOCATION, f"{field}.{dim}.{party}", f"{party!r} does not claim {dim!r}"
        )
    units = facts.units[dim]
    if sum(share.values()) != units:
        raise step.violation(
            Code.BAD_ALLOCATION, f"{field}.{dim}", f"shares must add up to {units}"
        )
    return {party: share.get(party, 0) for party in facts.contested[dim]}  # strict ints


def check_tiers(step: Step, record: Request) -> None:
    """A request claims exactly the tiers the policy gives its sender, on the dimensions it
    claims."""
    if record.tiers == step.facts.tiers.get(record.sender):
        return  # exactly the policy's tiers on the dimensions it claims, nothing else
    policy = step.terms.policy
    contested = step.terms.contested
    mine = [d for d in contested if record.sender in contested[d]]
    for dim in mine:
        claimed = record.tiers.get(dim)
        actual = policy.tier_of(record.sender, dim)
        if claimed != actual:
            raise step.violation(
                Code.TIER_MISMATCH,
                f"tiers.{dim}",
                f"policy gives {record.sender!r} tier {actual!r}",
            )
    extra = set(record.tiers) - set(mine)
    if extra:
        raise step.violation(
            Code.TIER_MISMATCH, f"tiers.{sorted(extra)[0]}",
            f"not a contested dimension {record.sender!r} claims",
        )


def check_precondition(step: Step, precondition: Precondition | None) -> None:
    """A conditional request's precondition names a known dimension and party (whether the
    predicted overlap happens is ``precondition_holds``, when the grant is used)."""
    if precondition is None:
        return
    terms = step.terms
    if precondition.dimension not in terms.dimension_ids:
        raise step.violation(
            Code.UNKNOWN_ID, "precondition.dimension", f"{precondition.dimension!r}"
        )
    if precondition.party not in terms.party_ids:
        raise step.violation(
            Code.UNKNOWN_PARTY, "precondition.party", f"{precondition.party!r}"
        )


def precondition_holds(step: Step, grant: Grant) -> bool:
    """A conditional grant is live only once the predicted overlap really exists."""
    pre = grant.precondition
    if pre is None:
        return True
    return bool(step.state.envelopes[pre.party].projection(pre.dimension))


def check_reservation(step: Step, record: Request) -> None:
    """A reservation (scope held over a multi-step plan) cites every id kind the policy requires
    and names a plan the policy declares."""
    vocab = step.terms.vocabulary
    kinds = {entry.kind for i in record.rationale if (entry := vocab.get(i)) is not None}
    for required in step.terms.policy.reservation_requires:
        if required not in kinds:
            raise step.violation(
                Code.RESERVATION_RATIONALE,
                "rationale",
                f"a reservation must cite a {required} id",
            )
    plan = record.reservation.plan if record.reservation else None
    if plan not in step.terms.policy.plans:
        # Plan ids are shown to reviewers, so only declared ones may enter the lineage.
        raise step.violation(Code.UNKNOWN_ID, "reservation.plan",
                             f"{plan!r} is not a plan the policy declares")


def check_dependencies(step: Step, record: Request) -> None:
    """Accept the waits a request declares unless they would close a cycle."""
    if not record.dependencies and not record.depends_on:
        # No new edge: the accepted ones passed this very check when they were added.
        return
    edges = set(step.state.dependencies)
    edges.update((e.waiter, e.waits_on) for e in record.dependencies)
    edges.update((step.terms.negotiation, d) for d in record.depends_on)
    cycle = find_cycle(edges)
    if cycle:
        raise step.violation(Code.DEPENDENCY_CYCLE, "depends_on", " -> ".join(cycle))
    step.change(dependencies=frozenset(edges))


def check_scope(step: Step, scope: Mapping[str, tuple[str, ...]]) -> None:
    """Every scope item of an envelope update was declared on its dimension by some genesis
    envelope, each named once: scope cannot carry a message."""
    for dim, items in scope.items():
        declared = step.facts.scope_items[dim]
        for position, item in enumerate(items):
            if item not in declared:
                raise step.violation(Code.UNDECLARED_SCOPE, f"scope.{dim}[{position}]",
                                     f"{item!r} is not scope any envelope declared "
                                     f"on {dim!r}")
        if len(set(items)) != len(items):
            raise step.violation(Code.DUPLICATE_ID, f"scope.{dim}",
                                 "a scope item named twice")
