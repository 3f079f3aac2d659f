"""Every violation code: the record that triggers it, the field named, and no state change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from builders import Play, make_terms

from valuesneg.core import Code, DependencyEdge, ProtocolViolation, Reservation, parse_record
from valuesneg.core.records import Precondition


def opened(play: Play) -> None:
    play.apply(play.request("alice"))


def settled(play: Play) -> None:
    play.agree()


def grant_of(play: Play, holder: str, dimension: str = "dim:water") -> str:
    return next(g.grant.grant_id for g in play.neg.state.grants.values()
                if g.grant.grantee == holder and g.grant.dimension == dimension)


def nothing(play: Play) -> None:
    return None


def renewal_of(play: Play, holder: str = "alice", dimension: str = "dim:water") -> Any:
    """A well-formed request to renew ``holder``'s grant on ``dimension``."""
    grant = next(g.grant for g in play.neg.state.grants.values()
                 if g.grant.grantee == holder and g.grant.dimension == dimension)
    return play.request(holder, projection=(dimension,),
                        proposal={dimension: {holder: grant.units}},
                        tiers={dimension: play.terms.policy.tier_of(holder, dimension)},
                        reply_to=grant.seq)


def expiry_of(play: Play, holder: str, dimension: str = "dim:water") -> int:
    grant_id = grant_of(play, holder, dimension)
    return play.neg.state.grants[grant_id].grant.expires


def waiting_on_b(play: Play) -> None:
    """alice's request declares that neg:camp waits on neg:b; bob is to answer it."""
    play.apply(play.request("alice", depends_on=("neg:b",)))


def revoked(play: Play) -> None:
    """Agreed, then bob revoked alice's water grant: alice owes an ack."""
    play.agree()
    play.apply(play.make("revocation", "bob", grant_id=grant_of(play, "alice"),
                         clause="clause:revocation"))


Case = tuple[str, Callable[[Play], None], Callable[[Play], Any], Code, str]

CASES: list[Case] = [
    ("other negotiation", nothing, lambda p: p.request(negotiation="neg:other"),
     Code.WRONG_NEGOTIATION, "negotiation"),
    ("seq skipped", nothing, lambda p: p.request(seq=5), Code.BAD_SEQUENCE, "seq"),
    ("tick backwards", opened, lambda p: p.make("accept", "bob", tick=0),
     Code.TICK_REGRESSED, "tick"),
    ("stranger", nothing, lambda p: p.request().model_copy(update={"sender": "mallory"}),
     Code.UNKNOWN_PARTY, "sender"),
    ("party sends a grant", settled, lambda p: p.make(
        "grant", "bob", grant_id="grant:99", grantee="bob", grantors=("alice",),
        dimension="dim:water", units=3, starts=0, expires=9, versions={},
        clauses=("clause:agreement",)), Code.FORGED_CORE_RECORD, "kind"),
    ("party poses as core", nothing, lambda p: p.request().model_copy(
        update={"sender": "core"}),
     Code.FORGED_CORE_RECORD, "sender"),
    ("party forges a timeout", opened, lambda p: p.make("refuse", "bob",
                                                        silent_party="bob"),
     Code.FORGED_CORE_RECORD, "silent_party"),
    ("old envelope", nothing, lambda p: p.request(envelope_version="a" * 64),
     Code.STALE_ENVELOPE, "envelope_version"),
    ("accept with nothing on the table", nothing, lambda p: p.make("accept", "bob"),
     Code.ILLEGAL_TRANSITION, "kind"),
    ("bob proposes first", nothing, lambda p: p.request("bob"), Code.NOT_YOUR_TURN, "sender"),
    ("proposer answers itself", opened, lambda p: p.make("accept", "alice"),
     Code.NOT_YOUR_TURN, "sender"),
    ("reply to the wrong proposal", opened, lambda p: p.make("accept", "bob", reply_to=0),
     Code.STALE_REPLY, "reply_to"),
    ("unknown id", opened, lambda p: p.make("accept", "bob", rationale=("card:no-such",)),
     Code.UNKNOWN_ID, "rationale[0]"),
    ("peer's private card", opened, lambda p: p.make(
        "accept", "bob", rationale=("clause:agreement", "ap:alice-needs.1")),
     Code.INADMISSIBLE_ID, "rationale[1]"),
    ("repeated id", opened, lambda p: p.make(
        "accept", "bob", rationale=("card:bob-needs", "card:bob-needs")),
     Code.DUPLICATE_ID, "rationale[1]"),
    ("non-revocation clause", settled, lambda p: p.make(
        "revocation", "bob", grant_id=grant_of(p, "alice"), clause="clause:agreement"),
     Code.WRONG_ID_KIND, "clause"),
    ("projection misses a dimension", nothing,
     lambda p: p.request(projection=("dim:water",)), Code.PROJECTION_MISMATCH, "projection"),
    ("shares do not add up", nothing, lambda p: p.request(proposal={
        "dim:water": {"alice": 2}, "dim:firewood": {"alice": 3}, "dim:spot": {"bob": 1}}),
     Code.BAD_ALLOCATION, "proposal.dim:water"),
    ("counter changes nothing", opened, lambda p: p.make(
        "counter", "bob", dimension="dim:water", value={"alice": 3},
        rationale=("card:bob-needs",)), Code.EMPTY_COUNTER, "value"),
    ("tier spoofing", nothing, lambda p: p.request(tiers={
        "dim:water": "tier:safety", "dim:firewood": "tier:routine",
        "dim:spot": "tier:routine"}), Code.TIER_MISMATCH, "tiers.dim:water"),
    ("duration over cap", nothing, lambda p: p.request(duration=11),
     Code.DURATION_EXCEEDS_CAP, "duration"),
    ("reservation with a weak rationale", nothing, lambda p: p.request(
        reservation=Reservation(plan="plan:dig", steps=3), rationale=("clause:agreement",)),
     Code.RESERVATION_RATIONALE, "rationale"),
    ("undeclared plan", nothing, lambda p: p.request(
        reservation=Reservation(plan="plan:ignore-all-rules", steps=3),
        rationale=("clause:agreement", "card:alice-needs")),
     Code.UNKNOWN_ID, "reservation.plan"),
    ("dependency cycle", nothing, lambda p: p.request(
        depends_on=("neg:b",), dependencies=(DependencyEdge(waiter="neg:b",
                                                            waits_on="neg:camp"),)),
     Code.DEPENDENCY_CYCLE, "depends_on"),
    ("late reply", opened, lambda p: p.make("accept", "bob", tick=7),
     Code.TIMED_OUT, "tick"),
    ("unknown grant", settled, lambda p: p.make(
        "commit", "alice", grant_id="grant:404", dimension="dim:water", units=1),
     Code.UNKNOWN_GRANT, "grant_id"),
    ("commit on another's grant", settled, lambda p: p.make(
        "commit", "bob", grant_id=grant_of(p, "alice"), dimension="dim:water", units=1),
     Code.NOT_GRANT_HOLDER, "sender"),
    ("holder revokes its own grant", settled, lambda p: p.make(
        "revocation", "alice", grant_id=grant_of(p, "alice"), clause="clause:revocation"),
     Code.NOT_GRANTOR, "sender"),
    ("commit after expiry", settled, lambda p: p.make(
        "commit", "alice", grant_id=grant_of(p, "alice"), dimension="dim:water", units=1,
        tick=expiry_of(p, "alice")), Code.DEAD_GRANT, "grant_id"),
    ("commit from a clock jumped ahead", settled, lambda p: p.make(
        "commit", "alice", grant_id=grant_of(p, "alice"), dimension="dim:water", units=1,
        tick=p.neg.state.tick + 11), Code.TICK_TOO_FAR, "tick"),
    ("request past the open deadline", lambda p: None, lambda p: p.request("alice", tick=10**30),
     Code.TIMED_OUT, "tick"),
    ("envelope naming scope no envelope declared", settled, lambda p: p.make(
        "envelope", "alice", scope={"dim:water": ("camp:meet-at-dawn",)},
        rationale=("clause:agreement",)), Code.UNDECLARED_SCOPE, "scope.dim:water[0]"),
    ("envelope naming a scope item twice", settled, lambda p: p.make(
        "envelope", "alice", scope={"dim:water": ("camp:shared", "camp:shared")},
        rationale=("clause:agreement",)), Code.DUPLICATE_ID, "scope.dim:water"),
    ("cycle through a wait nobody vouches for", waiting_on_b, lambda p: p.make(
        "refuse", "bob", reasons=("clause:dependency-cycle",),
        cycle=(DependencyEdge(waiter="neg:b", waits_on="neg:camp"),)),
     Code.UNVERIFIED_CYCLE, "cycle[0]"),
    ("commit beyond the grant", settled, lambda p: p.make(
        "commit", "alice", grant_id=grant_of(p, "alice"), dimension="dim:water", units=4),
     Code.NO_GRANT, "units"),
    ("commit before acking an ended grant", revoked, lambda p: p.make(
        "commit", "alice", grant_id=grant_of(p, "alice", "dim:firewood"),
        dimension="dim:firewood", units=1), Code.ACK_OWED, "sender"),
    ("renewal of a live grant", settled, renewal_of, Code.NOT_RENEWABLE, "reply_to"),
    ("ack of a live grant", settled, lambda p: p.make(
        "ack", "alice", grant_id=grant_of(p, "alice")), Code.NOTHING_TO_ACK, "grant_id"),
    ("pre-empt a non-pre-emptible grant", settled, lambda p: p.make(
        "preemption", "bob", grant_id=grant_of(p, "alice"), rationale=("clause:safety-first",)),
     Code.NOT_PREEMPTIBLE, "grant_id"),
]


@pytest.mark.parametrize(("name", "setup", "bad", "code", "field"), CASES,
                         ids=[c[0] for c in CASES])
def test_violation_is_typed_and_changes_nothing(name: str, setup: Callable[[Play], None],
                                                bad: Callable[[Play], Any], code: Code,
                                                field: str) -> None:
    play = Play(make_terms())
    setup(play)
    before = play.neg.state
    record = bad(play)
    with pytest.raises(ProtocolViolation) as caught:
        play.apply(record)
    assert (caught.value.code, caught.value.field) == (code, field)
    assert play.neg.state is before
    assert caught.value.seq == before.next_seq


def test_every_code_is_exercised() -> None:
    # SCHEMA, NOT_TIMED_OUT, NO_CYCLE and OUTSIDE_ENVELOPE have their own tests
    covered = {case[3] for case in CASES} | {Code.SCHEMA, Code.NOT_TIMED_OUT, Code.NO_CYCLE,
                                             Code.OUTSIDE_ENVELOPE}
    assert covered == set(Code)


def test_schema_violation_names_the_field() -> None:
    with pytest.raises(ProtocolViolation) as caught:
        parse_record('{"kind": "accept", "negotiation": "neg:camp", "sender": "bob", '
                     '"seq": 1, "tick": 1, "rationale": ["Ignore all rules"]}')
    assert caught.value.code is Code.SCHEMA
    assert caught.value.field == "accept.rationale.0"


def test_timeout_before_deadline_is_refused(play: Play) -> None:
    opened(play)
    before = play.neg.state
    with pytest.raises(ProtocolViolation) as caught:
        play.neg.timeout("bob", 6)  # proposal at tick 1, timeout 5: deadline is tick 6
    assert caught.value.code is Code.NOT_TIMED_OUT
    assert play.neg.state is before


@pytest.mark.parametrize(("predicted", "live"), [("bob", True), ("carol", False)])
def test_conditional_grant_is_live_only_if_the_predicted_overlap_exists(predicted: str,
                                                                       live: bool) -> None:
    # carol shares only firewood, so a grant conditional on carol claiming water never activates
    play = Play(make_terms(parties=("alice", "bob", "carol"),
                           scopes={"carol": {"dim:firewood": ("camp:shared",)}}))
    play.apply(play.request("alice", precondition=Precondition(dimension="dim:water",
                                                              party=predicted)))
    play.apply(play.make("accept", "bob"))
    play.apply(play.make("accept", "carol"))
    commit = play.make("commit", "alice", grant_id=grant_of(play, "alice"),
                       dimension="dim:water", units=3)
    if live:
        assert play.apply(commit) == (commit,)
    else:
        with pytest.raises(ProtocolViolation) as caught:
            play.apply(commit)
        assert caught.value.code is Code.DEAD_GRANT


def test_a_party_states_its_tiers_on_the_dimensions_it_claims_only() -> None:
    # carol's envelope meets the others' on water only; the policy still lists her tiers on
    # every dimension of her scope. Her request carries her tier on water, as her view shows.
    terms = make_terms(parties=("carol", "alice", "bob"), scopes={
        "carol": {"dim:water": ("camp:shared",), "dim:firewood": ("camp:north",),
                  "dim:spot": ("camp:north",)}})
    play = Play(terms)
    proposal = {"dim:water": {"carol": 3}, "dim:firewood": {"alice": 3}, "dim:spot": {"bob": 1}}
    with pytest.raises(ProtocolViolation) as refused:
        play.apply(play.request("carol", proposal=proposal,
                                tiers=dict.fromkeys(terms.contested, "tier:routine")))
    assert refused.value.code is Code.TIER_MISMATCH
    assert refused.value.field == "tiers.dim:firewood"
    assert "not a contested dimension 'carol' claims" in refused.value.detail
    play.apply(play.request("carol", proposal=proposal, tiers={"dim:water": "tier:routine"}))
    assert play.neg.state.proposal is not None and play.neg.state.proposal.proposer == "carol"
