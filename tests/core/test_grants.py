"""Grants and their endings, cycles, n-ary rules, hierarchy and the typed failure path.

Each test fails if its mechanism is removed from the core."""

from __future__ import annotations

import pytest
from builders import Play, make_terms
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from valuesneg.core import (
    Code,
    DependencyEdge,
    Grant,
    Outcome,
    Phase,
    ProtocolViolation,
    Revocation,
    Terms,
    TierBreak,
)
from valuesneg.core.confidentiality import AttestedWait
from valuesneg.core.records import Denial
from valuesneg.io.attest import forged_attestations

SAFETY_BOB = {"alice": {"dim:water": "tier:routine", "dim:firewood": "tier:routine",
                        "dim:spot": "tier:routine"},
              "bob": {"dim:water": "tier:safety", "dim:firewood": "tier:routine",
                      "dim:spot": "tier:routine"}}


def water_grant(play: Play, holder: str = "alice") -> Grant:
    return next(g.grant for g in play.neg.state.grants.values()
                if g.grant.grantee == holder and g.grant.dimension == "dim:water")


def refused(play: Play, record: object) -> Code:
    before = play.neg.state
    with pytest.raises(ProtocolViolation) as caught:
        play.apply(record)
    assert play.neg.state is before
    return caught.value.code


def commit(play: Play, sender: str, grant: Grant, units: int = 1) -> object:
    return play.make("commit", sender, grant_id=grant.grant_id, dimension=grant.dimension,
                     units=units)


def test_commit_on_a_current_grant_is_logged() -> None:
    play = Play(make_terms())
    play.agree()
    record = commit(play, "alice", water_grant(play))
    assert play.apply(record) == (record,)


def test_revoked_grant_must_be_acked_and_is_dead_after() -> None:
    play = Play(make_terms())
    play.agree()
    grant = water_grant(play)
    play.apply(play.make("revocation", "bob", grant_id=grant.grant_id,
                         clause="clause:revocation"))
    assert play.neg.expected() == ("alice",)  # the holder owes an ack
    # Until it acks, the holder can use no claim at all, not even one still live.
    other = next(g.grant for g in play.neg.state.grants.values()
                 if g.grant.grantee == "alice" and g.grant.grant_id != grant.grant_id)
    assert refused(play, commit(play, "alice", grant)) is Code.ACK_OWED
    assert refused(play, commit(play, "alice", other)) is Code.ACK_OWED
    play.apply(play.make("ack", "alice", grant_id=grant.grant_id))
    assert play.neg.expected() == ()
    assert refused(play, commit(play, "alice", grant)) is Code.DEAD_GRANT
    play.apply(commit(play, "alice", other))
    assert refused(play, play.make("ack", "alice", grant_id=grant.grant_id)) \
        is Code.NOTHING_TO_ACK


def test_expiry_is_logged_by_the_core_when_time_advances() -> None:
    play = Play(make_terms())
    play.agree()
    grant = water_grant(play)
    appended = play.neg.advance(grant.expires)
    assert {r.kind for r in appended} == {"revocation"}
    assert all(isinstance(r, Revocation) and r.clause == "clause:expiry" for r in appended)
    assert "alice" in play.neg.expected()
    with pytest.raises(ProtocolViolation):
        play.neg.advance(grant.expires)  # nothing more expires: no empty entry is logged


def test_preemption_by_a_higher_tier_on_a_preemptible_dimension() -> None:
    terms = make_terms(tiers=SAFETY_BOB,
                       preemptible=({"dimension": "dim:water", "tier": "tier:routine"},))
    play = Play(terms)
    play.agree()
    grant = water_grant(play)
    preemption = play.make("preemption", "bob", grant_id=grant.grant_id,
                           rationale=("clause:safety-first",))
    appended = play.apply(preemption)
    new = [r for r in appended if isinstance(r, Grant)]
    assert len(new) == 1 and new[0].grantee == "bob" and new[0].units == grant.units
    assert new[0].clauses == ("clause:preemption",)
    assert new[0].reply_to == preemption.seq  # the new grant names the pre-empting record
    assert refused(play, commit(play, "alice", grant)) is Code.ACK_OWED
    play.apply(play.make("ack", "alice", grant_id=grant.grant_id))
    assert refused(play, commit(play, "alice", grant)) is Code.DEAD_GRANT


def test_preemption_needs_a_strictly_higher_tier() -> None:
    terms = make_terms(preemptible=({"dimension": "dim:water", "tier": "tier:routine"},))
    play = Play(terms)
    play.agree()
    record = play.make("preemption", "bob", grant_id=water_grant(play).grant_id,
                       rationale=("clause:safety-first",))
    assert refused(play, record) is Code.NOT_PREEMPTIBLE


def test_envelope_change_ends_every_grant_of_that_party() -> None:
    play = Play(make_terms())
    play.agree()
    old_version = play.terms.party("bob").envelope.version
    appended = play.apply(play.make("envelope", "bob",
                                    scope={"dim:firewood": ("camp:shared",)},
                                    rationale=("clause:envelope-change",)))
    ended = [r for r in appended if isinstance(r, Revocation)]
    assert ended and all(r.clause == "clause:envelope-change" for r in ended)
    assert len(ended) == len(play.neg.state.grants)  # alice holds them all, bob granted all
    stale = play.make("ack", "bob", grant_id=ended[0].grant_id, envelope_version=old_version)
    assert refused(play, stale) is Code.STALE_ENVELOPE


def attested(terms: Terms, waiter: str, waits_on: str) -> Terms:
    """``terms`` with an authority vouching (Ed25519) that ``waiter`` waits on ``waits_on``."""
    key = Ed25519PrivateKey.generate()
    wait = {"waiter": waiter, "waits_on": waits_on, "authority": "authority:scheduler"}
    unsigned = AttestedWait(**wait, signature="0" * 128)
    return Terms.model_validate({
        **terms.model_dump(mode="json"),
        "authorities": {"authority:scheduler": key.public_key().public_bytes_raw().hex()},
        "waits": [{**wait, "signature": key.sign(unsigned.message()).hex()}]})


def test_a_shown_cycle_forces_the_tier_break_at_once() -> None:
    terms = attested(make_terms(round_cap=10), "neg:b", "neg:camp")
    assert forged_attestations(terms) == []
    play = Play(terms)
    play.apply(play.request("alice", depends_on=("neg:b",)))
    cycle = (DependencyEdge(waiter="neg:b", waits_on="neg:camp"),)
    appended = play.apply(play.make("refuse", "bob", reasons=("clause:dependency-cycle",),
                                    cycle=cycle))
    outcome = next(r for r in appended if isinstance(r, Outcome))
    assert outcome.terminal == "fallback"
    assert "clause:dependency-cycle" in outcome.justification.clauses
    assert any(isinstance(r, TierBreak) for r in appended)
    assert play.neg.state.rounds == 1  # well before the cap of 10


def test_a_fake_cycle_is_refused() -> None:
    play = Play(make_terms(round_cap=10))
    play.apply(play.request("alice"))
    fake = (DependencyEdge(waiter="neg:b", waits_on="neg:c"),)
    record = play.make("refuse", "bob", reasons=("clause:dependency-cycle",), cycle=fake)
    assert refused(play, record) is Code.NO_CYCLE


@pytest.mark.parametrize(("rule", "agreed_after_one"), [("unanimity", False),
                                                         ("majority", True)])
def test_nary_rule_combines_responses(rule: str, agreed_after_one: bool) -> None:
    play = Play(make_terms(parties=("alice", "bob", "carol"), multiparty_rule=rule))
    play.apply(play.request("alice"))
    play.apply(play.make("accept", "bob"))
    assert (play.neg.outcome is not None) is agreed_after_one
    if not agreed_after_one:
        play.apply(play.make("accept", "carol"))
        assert play.neg.outcome is not None and play.neg.outcome.terminal == "agreement"


def test_majority_fails_once_a_majority_is_impossible() -> None:
    play = Play(make_terms(parties=("alice", "bob", "carol"), multiparty_rule="majority"))
    play.apply(play.request("alice"))
    play.apply(play.make("refuse", "bob"))
    assert play.neg.state.phase is Phase.PROPOSED  # carol could still make it 2 of 3
    play.apply(play.make("refuse", "carol"))
    assert play.neg.state.phase is Phase.OPEN
    assert play.neg.expected() == ("alice",)


def test_subordinate_commits_under_its_team_grant_only_within_its_own_envelope() -> None:
    scopes = {"dave": {"dim:water": ("camp:shared",)}, "erin": {"dim:spot": ("camp:shared",)}}
    terms = make_terms(parties=("alice", "bob", "dave", "erin"), scopes=scopes)
    terms = terms.model_copy(update={"parties": tuple(
        p.model_copy(update={"represents": ("dave", "erin")}) if p.id == "alice" else p
        for p in terms.parties)})
    terms = type(terms).model_validate(terms.model_dump())
    assert terms.claimants == ("alice", "bob")  # the team claims for its subordinates
    play = Play(terms)
    play.agree()
    grant = water_grant(play)
    record = commit(play, "dave", grant)
    assert play.apply(record) == (record,)
    assert refused(play, commit(play, "erin", grant)) is Code.OUTSIDE_ENVELOPE
    assert refused(play, commit(play, "bob", grant)) is Code.NOT_GRANT_HOLDER


def test_typed_failure_path_names_dimension_and_clause() -> None:
    terms = make_terms(round_cap=1, tiers=SAFETY_BOB,
                       terminal={d: "tier_break" for d in ("dim:spot", "dim:water",
                                                           "dim:firewood")})
    play = Play(terms)
    play.apply(play.request("alice"))  # alice asks for everything
    appended = play.apply(play.make("refuse", "bob"))
    denials = [r for r in appended if isinstance(r, Denial)]
    assert [(d.party, d.dimension, d.requested, d.granted, d.clauses) for d in denials] == [
        ("alice", "dim:water", 3, 0, ("clause:tier-break",))]  # bob's safety tier wins water


def expired_and_acked(play: Play) -> Grant:
    """alice's water grant, after time ran out on it and she acknowledged."""
    play.agree()
    grant = water_grant(play)
    play.neg.advance(grant.expires)
    for g in list(play.neg.state.grants.values()):
        if g.grant.grantee == "alice":
            play.apply(play.make("ack", "alice", grant_id=g.grant.grant_id))
    return grant


def renewal(play: Play, grant: Grant, **fields: object) -> object:
    return play.request("alice", **{
        "projection": (grant.dimension,), "proposal": {grant.dimension: {"alice": grant.units}},
        "tiers": {grant.dimension: "tier:routine"}, "reply_to": grant.seq, **fields})


def test_an_expired_grant_is_renewed_when_its_grantors_accept() -> None:
    play = Play(make_terms())
    grant = expired_and_acked(play)
    request = renewal(play, grant, duration=4)
    play.apply(request)
    assert play.neg.expected() == ("bob",)  # the grantor must answer
    appended = play.apply(play.make("accept", "bob", reply_to=request.seq))
    renewed = [r for r in appended if isinstance(r, Grant)]
    assert len(renewed) == 1 and renewed[0].reply_to == request.seq
    assert (renewed[0].grantee, renewed[0].units, renewed[0].dimension) == (
        "alice", grant.units, grant.dimension)
    assert renewed[0].expires == renewed[0].starts + 4
    play.apply(commit(play, "alice", renewed[0]))
    # decided once: the same grant cannot be renewed again
    assert refused(play, renewal(play, grant)) is Code.NOT_RENEWABLE


def test_a_refused_renewal_is_a_typed_denial() -> None:
    play = Play(make_terms())
    grant = expired_and_acked(play)
    request = renewal(play, grant)
    play.apply(request)
    appended = play.apply(play.make("refuse", "bob", reply_to=request.seq))
    assert [type(r) for r in appended] == [type(appended[0]), Denial]
    denial = appended[-1]
    assert isinstance(denial, Denial) and (denial.party, denial.requested, denial.granted) == (
        "alice", grant.units, 0)
    assert play.neg.state.renewal is None and play.neg.expected() == ()


def test_only_an_ended_acknowledged_grant_is_renewed_and_only_as_it_was() -> None:
    play = Play(make_terms())
    play.agree()
    grant = water_grant(play)
    assert refused(play, renewal(play, grant)) is Code.NOT_RENEWABLE  # still live
    play.apply(play.make("revocation", "bob", grant_id=grant.grant_id,
                         clause="clause:revocation"))
    play.apply(play.make("ack", "alice", grant_id=grant.grant_id))
    assert refused(play, renewal(play, grant)) is Code.NOT_RENEWABLE  # taken back on purpose
    play = Play(make_terms())
    play.agree()
    grant = water_grant(play)
    play.neg.advance(grant.expires)
    assert refused(play, renewal(play, grant)) is Code.NOT_RENEWABLE  # not acknowledged
    play = Play(make_terms())
    grant = expired_and_acked(play)
    assert refused(play, renewal(play, grant, proposal={grant.dimension: {
        "alice": grant.units + 1}})) is Code.BAD_ALLOCATION
    assert refused(play, renewal(play, grant, duration=11)) is Code.DURATION_EXCEEDS_CAP
    assert refused(play, play.request("bob", reply_to=grant.seq, projection=(
        grant.dimension,))) is Code.NOT_GRANT_HOLDER


def test_a_cycle_through_an_unattested_wait_cannot_cut_the_cap_short() -> None:
    """Peer to peer, 'neg:b waits on neg:camp' is the refuser's word alone: refused."""
    play = Play(make_terms(round_cap=10))
    play.apply(play.request("alice", depends_on=("neg:b",)))
    before = play.neg.state
    record = play.make("refuse", "bob", reasons=("clause:dependency-cycle",),
                       cycle=(DependencyEdge(waiter="neg:b", waits_on="neg:camp"),))
    assert refused(play, record) is Code.UNVERIFIED_CYCLE
    assert play.neg.state is before and play.neg.outcome is None


def test_an_attested_wait_with_a_bad_signature_is_named_by_the_adapter() -> None:
    terms = attested(make_terms(), "neg:b", "neg:camp")
    dumped = terms.model_dump(mode="json")
    signature = dumped["waits"][0]["signature"]
    dumped["waits"][0]["signature"] = ("1" if signature[0] == "0" else "0") + signature[1:]
    assert forged_attestations(Terms.model_validate(dumped)) == ["waits[0]"]


def test_terms_without_attested_waits_dump_as_before() -> None:
    # The genesis of every lineage written before attested waits existed stays byte-identical.
    assert "waits" not in make_terms().model_dump(mode="json")
