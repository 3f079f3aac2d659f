"""Mediated and peer-to-peer runs of the same overlaps give the same assignments."""

from __future__ import annotations

import pytest
from builders import make_terms

from valuesneg.agents.scripted import ConcessionAgent
from valuesneg.core import Code, DependencyEdge, Ledger, ProtocolViolation, Terms
from valuesneg.core.mediator import Mediator
from valuesneg.core.view import view_for


def overlaps() -> list[Terms]:
    """Three simultaneous negotiations among overlapping parties, with different policies."""
    specs = [("neg:a", ("alice", "bob"), 2, "linear"), ("neg:b", ("bob", "carol"), 3, "nash"),
             ("neg:c", ("alice", "bob", "carol"), 1, "tier_break")]
    out = []
    for negotiation, parties, cap, rule in specs:
        terms = make_terms(parties=parties, round_cap=cap, terminal={
            "dim:spot": "tier_break", "dim:water": "nash" if rule == "linear" else rule,
            "dim:firewood": "equal_split" if rule == "nash" else "nash"})
        out.append(terms.model_copy(update={"negotiation": negotiation}))
    return out


def drive(apply: object, ledgers: dict[str, Ledger], strategy: str) -> None:
    """Interleave the negotiations turn by turn, as simultaneous overlaps would run."""
    live = True
    while live:
        live = False
        for ledger in ledgers.values():
            negotiation = ledger.negotiation
            if negotiation.outcome is None:
                live = True
                party = negotiation.expected()[0]
                agent = ConcessionAgent.named(party, strategy)
                apply(agent.decide(view_for(negotiation, party)))  # type: ignore[operator]


@pytest.mark.parametrize("strategy", ["boulware", "linear", "conceder"])
def test_mediated_equals_peer_to_peer(strategy: str) -> None:
    p2p = {t.negotiation: Ledger(t) for t in overlaps()}
    drive(lambda r: p2p[r.negotiation].apply(r), p2p, strategy)
    mediator = Mediator(overlaps())
    drive(mediator.apply, mediator.ledgers, strategy)
    assert mediator.outcomes() == {n: led.negotiation.outcome.allocation  # type: ignore[union-attr]
                                   for n, led in p2p.items()}
    assert all(led.head == mediator.ledgers[n].head for n, led in p2p.items())


def test_mediator_refuses_a_cycle_that_no_single_request_shows() -> None:
    a, b = overlaps()[:2]
    mediator = Mediator([a, b])
    agent_a = ConcessionAgent.named("alice", "linear")
    first = agent_a.decide(view_for(mediator.ledgers["neg:a"].negotiation, "alice"))
    mediator.apply(first.model_copy(update={"depends_on": ("neg:b",)}))
    agent_b = ConcessionAgent.named("bob", "linear")
    closing = agent_b.decide(view_for(mediator.ledgers["neg:b"].negotiation, "bob"))
    closing = closing.model_copy(update={"depends_on": ("neg:a",)})
    # Peer to peer, neg:b's core only sees the edge its own request carries: no cycle there.
    alone = Ledger(b)
    alone.apply(closing)
    with pytest.raises(ProtocolViolation) as caught:
        mediator.apply(closing)
    assert caught.value.code is Code.DEPENDENCY_CYCLE
    assert "neg:a -> neg:b -> neg:a" in caught.value.detail
    assert mediator.ledgers["neg:b"].negotiation.state.next_seq == 1  # nothing applied


def test_a_claim_about_another_negotiation_does_not_enter_the_global_graph() -> None:
    """neg:a's requester claims that neg:x waits on neg:b. Believed, it would make the
    mediator refuse neg:b's honest wait on neg:x as closing a cycle. Only what neg:b itself
    declares (or an authority vouches for) speaks for neg:b."""
    a, b = overlaps()[:2]
    mediator = Mediator([a, b])
    first = ConcessionAgent.named("alice", "linear").decide(
        view_for(mediator.ledgers["neg:a"].negotiation, "alice"))
    mediator.apply(first.model_copy(update={
        "dependencies": (DependencyEdge(waiter="neg:x", waits_on="neg:b"),)}))
    assert ("neg:x", "neg:b") not in mediator.graph
    honest = ConcessionAgent.named("bob", "linear").decide(
        view_for(mediator.ledgers["neg:b"].negotiation, "bob"))
    mediator.apply(honest.model_copy(update={"depends_on": ("neg:x",)}))
    assert mediator.graph == {("neg:b", "neg:x")}
