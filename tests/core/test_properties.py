"""Property tests: whatever arrives, the core advances or refuses with its own error type,
never anything else; a refusal changes nothing; replaying what it accepted reproduces it."""

from __future__ import annotations

import itertools
from typing import Any

from builders import Play, make_terms
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from valuesneg.agents.scripted import ConcessionAgent
from valuesneg.core import (
    RECORD_TYPES,
    Code,
    DependencyEdge,
    Ledger,
    ProtocolViolation,
    verify_lines,
)
from valuesneg.core.cycles import find_cycle
from valuesneg.core.mediator import Mediator
from valuesneg.core.view import PartyView, view_for

SENDERS = ("alice", "bob", "carol", "core", "mallory")
IDS = ("card:alice-needs", "card:bob-needs", "ap:alice-needs.1", "clause:agreement",
       "clause:revocation", "clause:safety-first", "dim:water", "fair:envy_freeness",
       "card:unknown", "neg:camp", "neg:b", "neg:c")
DIMS = ("dim:water", "dim:firewood", "dim:spot", "dim:other")
NEGOTIATIONS = ("neg:camp", "neg:b", "neg:c", "neg:d")


def has_cycle(edges: set[tuple[str, str]]) -> bool:
    """The test's own oracle: some node reaches itself (plain search, not the core's)."""
    def reaches(a: str, b: str) -> bool:
        seen, todo = set(), [a]
        while todo:
            node = todo.pop()
            for x, y in edges:
                if x == node and y not in seen:
                    if y == b:
                        return True
                    seen.add(y)
                    todo.append(y)
        return False

    return any(reaches(n, n) for n in {n for edge in edges for n in edge})

ids = st.sampled_from(IDS)
rationale = st.lists(ids, min_size=1, max_size=4).map(tuple)
share = st.dictionaries(st.sampled_from(SENDERS[:3]), st.integers(0, 4), max_size=3)
edges = st.lists(st.builds(DependencyEdge, waiter=st.sampled_from(NEGOTIATIONS),
                           waits_on=st.sampled_from(NEGOTIATIONS)), max_size=4).map(tuple)


def field_values(kind: str, play: Play) -> dict[str, Any]:
    """Strategies for the body of a record of ``kind``: plausible, often wrong."""
    grants = tuple(play.neg.state.grants) or ("grant:1",)
    grant_id = st.sampled_from((*grants, "grant:404"))
    common: dict[str, Any] = {
        "request": {"projection": st.just(tuple(play.terms.contested)) | st.lists(
            st.sampled_from(DIMS), min_size=1, max_size=3).map(tuple),
            "proposal": st.dictionaries(st.sampled_from(DIMS), share, max_size=3),
            "duration": st.integers(1, 12),
            "tiers": st.dictionaries(st.sampled_from(DIMS), st.sampled_from(
                ("tier:routine", "tier:safety")), max_size=3),
            "rationale": rationale,
            "depends_on": st.lists(st.sampled_from(NEGOTIATIONS), max_size=2).map(tuple),
            "dependencies": edges},
        "accept": {"rationale": rationale},
        "defer": {"rationale": rationale},
        "refuse": {"reasons": rationale, "cycle": edges},
        "counter": {"dimension": st.sampled_from(DIMS), "value": share, "rationale": rationale},
        "commit": {"grant_id": grant_id, "dimension": st.sampled_from(DIMS),
                   "units": st.integers(1, 4)},
        "ack": {"grant_id": grant_id},
        "revocation": {"grant_id": grant_id, "clause": st.sampled_from(
            ("clause:revocation", "clause:agreement"))},
        "preemption": {"grant_id": grant_id, "rationale": rationale},
        "envelope": {"scope": st.dictionaries(st.sampled_from(DIMS), st.just(("camp:shared",)),
                                              max_size=3), "rationale": rationale},
    }
    return common.get(kind, {})


@st.composite
def arbitrary_record(draw: st.DrawFn, play: Play) -> Any:
    kind = draw(st.sampled_from(("request", "accept", "defer", "refuse", "counter", "commit",
                                 "ack", "revocation", "preemption", "envelope", "outcome")))
    if kind == "outcome":  # a forged core record, well-typed
        outcome = play.neg.outcome
        if outcome is None:
            kind = "accept"
        else:
            return outcome.model_copy(update={"seq": play.neg.state.next_seq})
    record_type = next(t for t in RECORD_TYPES if t.model_fields["kind"].default == kind)
    state = play.neg.state
    sender = draw(st.sampled_from((*play.terms.party_ids * 4, *SENDERS)))
    envelope = (state.envelopes[sender].version if sender in play.terms.party_ids
                else "0" * 64)
    header = {
        "negotiation": draw(st.sampled_from(("neg:camp",) * 9 + ("neg:other",))),
        "sender": sender,
        "seq": state.next_seq + draw(st.sampled_from((0,) * 8 + (1, -1))),
        "tick": max(0, state.tick + draw(st.integers(-1, 8))),
        "reply_to": draw(st.sampled_from((state.proposal.seq if state.proposal else None,
                                          None, 0))),
        "envelope_version": draw(st.sampled_from((envelope,) * 8 + ("f" * 64,))),
    }
    body = {name: draw(strategy) for name, strategy in field_values(kind, play).items()}
    return record_type(**header, **body)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), parties=st.sampled_from((("alice", "bob"), ("alice", "bob", "carol"))),
       rule=st.sampled_from(("unanimity", "majority")))
def test_any_sequence_advances_or_refuses_and_replays(data: st.DataObject,
                                                      parties: tuple[str, ...],
                                                      rule: str) -> None:
    terms = make_terms(parties=parties, multiparty_rule=rule, round_cap=5,
                       preemptible=({"dimension": "dim:water", "tier": "tier:routine"},))
    play = Play(terms)
    ledger = Ledger(terms)
    play.neg = ledger.negotiation  # records go through the ledger, so the lineage is kept
    agents = {p: ConcessionAgent.named(p, "linear") for p in parties}
    for _ in range(data.draw(st.integers(1, 40))):
        before = ledger.negotiation.state
        choice = data.draw(st.sampled_from(("agent", "random", "random", "timeout", "advance")))
        try:
            if choice == "agent" and ledger.negotiation.expected():
                party = ledger.negotiation.expected()[0]
                ledger.apply(agents[party].decide(view_for(ledger.negotiation, party)))
            elif choice == "timeout":
                ledger.timeout(data.draw(st.sampled_from(parties)),
                               before.tick + data.draw(st.integers(0, 12)))
            elif choice == "advance":
                ledger.advance(before.tick + data.draw(st.integers(0, 20)))
            else:
                ledger.apply(data.draw(arbitrary_record(play)))
        except ProtocolViolation as violation:
            assert ledger.negotiation.state is before
            event(f"refused: {violation.code.value}")
        assert find_cycle(ledger.negotiation.state.dependencies) == []
        for party in parties:
            # Views are built without validation from the core's own data: they must be
            # exactly what validating the same data would give.
            view = view_for(ledger.negotiation, party, tuple(ledger.records))
            assert PartyView.model_validate(view.model_dump(exclude={"transcript"})
                                            | {"transcript": view.transcript}) == view
    event(f"phase: {ledger.negotiation.state.phase.value}")
    replayed = verify_lines([e.line() for e in ledger.entries], require_outcome=False)
    assert replayed.negotiation.state == ledger.negotiation.state
    assert replayed.outcome == ledger.negotiation.outcome
    assert replayed.head == ledger.head


@settings(max_examples=200, deadline=None)
@given(graph=st.lists(st.tuples(st.sampled_from(NEGOTIATIONS), st.sampled_from(NEGOTIATIONS)),
                      max_size=8))
def test_cycle_finder_agrees_with_reachability(graph: list[tuple[str, str]]) -> None:
    edges = set(graph)
    cycle = find_cycle(edges)
    assert bool(cycle) == has_cycle(edges)
    if cycle:
        assert cycle[0] == cycle[-1]
        assert all(edge in edges for edge in itertools.pairwise(cycle))


EDGES = st.tuples(st.sampled_from(NEGOTIATIONS), st.sampled_from(NEGOTIATIONS)).filter(
    lambda e: e[0] != e[1])


@settings(max_examples=300, deadline=None)
@given(steps=st.permutations(NEGOTIATIONS).flatmap(lambda order: st.tuples(*(st.tuples(
    st.just(n), st.sets(st.sampled_from([m for m in NEGOTIATIONS if m != n]), max_size=2),
    st.sets(EDGES, max_size=2)) for n in order))))
def test_no_accepted_state_ever_contains_a_cycle(
        steps: tuple[tuple[str, set[str], set[tuple[str, str]]], ...]) -> None:
    """Random dependency graphs, one request per negotiation, each waiting on random others
    and reporting random edges elsewhere, through a mediator (the global graph) and peer to
    peer: a request is accepted exactly when it closes no cycle, and no accepted state ever
    holds one."""
    base = make_terms()
    terms = {n: base.model_copy(update={"negotiation": n}) for n in NEGOTIATIONS}
    mediator = Mediator(terms.values())
    for negotiation, waits_on, known in steps:
        request = Play(terms[negotiation]).request(
            depends_on=tuple(sorted(waits_on)),
            dependencies=tuple(DependencyEdge(waiter=a, waits_on=b) for a, b in sorted(known)))
        new = {(negotiation, d) for d in waits_on} | known
        closes_alone, closes_globally = has_cycle(new), has_cycle(set(mediator.graph) | new)
        try:
            Ledger(terms[negotiation]).apply(request)  # peer to peer: its own edges only
            assert not closes_alone
        except ProtocolViolation as refused:
            assert closes_alone and refused.code is Code.DEPENDENCY_CYCLE
        before = mediator.graph
        try:
            mediator.apply(request)
            assert not closes_globally
            event("accepted")
        except ProtocolViolation as refused:
            assert closes_globally and refused.code is Code.DEPENDENCY_CYCLE
            assert mediator.graph == before
            event("refused: closes a cycle")
        assert not has_cycle(set(mediator.graph))
