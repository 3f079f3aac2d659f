"""Scripted strategies: they terminate with verifiable lineages, concede on schedule, mirror
concessions, give up what their values weigh least first, and trade well with each other."""

from __future__ import annotations

import itertools
import random
from pathlib import Path
from typing import Any

import pytest
from builders import make_terms

from valuesneg.agents.base import header, utility
from valuesneg.agents.scripted import (
    EXPONENTS,
    NEEDS,
    STRATEGIES,
    ConcessionAgent,
    TitForTatAgent,
    make_scripted,
    offers,
)
from valuesneg.core import (
    Ledger,
    Request,
    Terms,
    parse_record,
    verify_lines,
)
from valuesneg.core.view import PartyView, view_for
from valuesneg.orchestration.driver import Driver
from valuesneg.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
CAMPSITE = load_scenario(ROOT / "moral_graphs" / "scenarios" / "campsite_supplies.yaml").terms


def negotiate(terms: Terms, first: str, second: str) -> Ledger:
    ana, ben = terms.claimants[:2]
    return Driver(terms, {ana: make_scripted(ana, first), ben: make_scripted(ben, second)}).run()


def view_of(ledger: Ledger, party: str, **changes: Any) -> PartyView:
    view = view_for(ledger.negotiation, party, tuple(ledger.records))
    return view.model_copy(update=changes)


def send(ledger: Ledger, party: str, **record: Any) -> None:
    """A hand-written record from ``party``, with the header its view gives it."""
    view = view_for(ledger.negotiation, party, tuple(ledger.records))
    ledger.apply(parse_record({**header(view), **record}))


@pytest.mark.parametrize("terms", [CAMPSITE, make_terms()], ids=["campsite", "camp"])
@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_each_strategy_reaches_an_outcome_whose_lineage_verifies(terms: Terms,
                                                                 strategy: str) -> None:
    for first, second in ((strategy, strategy), (strategy, "linear"), ("linear", strategy)):
        ledger = negotiate(terms, first, second)
        assert ledger.negotiation.outcome is not None
        verified = verify_lines([e.line() for e in ledger.entries])
        assert verified.outcome == ledger.negotiation.outcome


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_a_party_claiming_only_some_dimensions_negotiates_on_those(strategy: str) -> None:
    # carol's envelope overlaps the others' on water only: she proposes a share of the
    # other dimensions among their claimants and never asks for a unit of them.
    shared = ("camp:shared",)
    terms = make_terms(parties=("carol", "alice", "bob"), scopes={
        "carol": {"dim:water": shared, "dim:firewood": ("camp:north",),
                  "dim:spot": ("camp:north",)}})
    assert terms.claimants[0] == "carol" and "carol" not in terms.contested["dim:firewood"]
    agents = {p: make_scripted(p, strategy) for p in terms.claimants}
    ledger = Driver(terms, agents).run()
    assert ledger.negotiation.outcome is not None
    opening = next(r for r in ledger.records if isinstance(r, Request))
    assert opening.sender == "carol" and opening.proposal["dim:water"]["carol"] > 0
    assert "carol" not in opening.proposal["dim:firewood"]
    verify_lines([e.line() for e in ledger.entries])


def test_named_strategies_keep_their_exponents() -> None:
    for strategy, exponent in EXPONENTS.items():
        agent = ConcessionAgent.named("ana", strategy)
        assert (agent.exponent, agent.name) == (exponent, "ana")
        assert make_scripted("ana", strategy) == agent
    assert isinstance(make_scripted("ana", "tit-for-tat"), TitForTatAgent)


def test_boulware_concedes_later_than_conceder() -> None:
    ledger = Ledger(CAMPSITE)
    boulware, conceder = (ConcessionAgent.named("ana", s) for s in ("boulware", "conceder"))
    cap = CAMPSITE.policy.round_cap
    views = [view_of(ledger, "ana", rounds=r) for r in range(cap + 1)]
    aspirations = [(boulware.aspiration(v), conceder.aspiration(v)) for v in views]
    assert aspirations[0][0] == aspirations[0][1]  # both open with their best
    assert all(b > c for b, c in aspirations[1:-1])
    offered = [(utility(v, boulware.offer(v, b)), utility(v, conceder.offer(v, c)))
               for v, (b, c) in zip(views, aspirations, strict=True)]
    assert all(b >= c for b, c in offered) and any(b > c for b, c in offered)
    # Boulware keeps most of its surplus until late; Conceder gives most of it away early.
    best, floor = aspirations[0][0], CAMPSITE.party("ana").reservation
    half = (best + floor) / 2
    assert aspirations[cap // 2][0] > half > aspirations[cap // 2][1]


def test_boulware_takes_more_rounds_than_conceder_to_agree() -> None:
    rounds = {s: negotiate(CAMPSITE, s, "linear").negotiation.state.rounds
              for s in ("boulware", "conceder")}
    assert rounds["boulware"] > rounds["conceder"]


def test_tit_for_tat_mirrors_each_concession() -> None:
    """Ana opens, ben (tit-for-tat) answers; each time ana concedes x in ben's utility, ben's
    aspiration drops by x, and so does what its own package would keep, to within a unit."""
    tft = TitForTatAgent(name="ben")
    ledger = Ledger(CAMPSITE)
    everything_but_firewood = {"dim:food": {"ana": 3, "ben": 0},
                               "dim:water": {"ana": 3, "ben": 0},
                               "dim:firewood": {"ana": 0, "ben": 3}}
    send(ledger, "ana", kind="request", projection=sorted(everything_but_firewood),
         proposal=everything_but_firewood, duration=10, tiers={d: "tier:camper"
                                                                for d in everything_but_firewood},
         rationale=["clause:agreement"])
    before = view_of(ledger, "ben")
    assert tft.aspiration(before) == 36.0  # nothing conceded to it yet: its best
    ledger.apply(tft.decide(before))
    previous = offers(view_of(ledger, "ana"))[0][1]
    conceded = []
    for food_to_ben in (1, 2):
        send(ledger, "ana", kind="counter", dimension="dim:food",
             value={"ana": 3 - food_to_ben, "ben": food_to_ben}, rationale=["clause:agreement"])
        view = view_of(ledger, "ben")
        latest = view.table.allocation if view.table else previous
        x = utility(view, latest) - utility(view, previous)
        conceded.append(x)
        previous = latest
        assert x > 0
        aspiration = tft.aspiration(view)
        assert aspiration == pytest.approx(36.0 - sum(conceded))
        kept = utility(view, tft.offer(view, aspiration))
        assert 36.0 - sum(conceded) <= kept < 36.0 - sum(conceded) + 5.0
        ledger.apply(tft.decide(view))
        if ledger.negotiation.outcome is not None:
            break
    assert conceded and verify_lines([e.line() for e in ledger.entries],
                                     require_outcome=False)


def test_tit_for_tat_does_not_concede_to_a_party_that_never_concedes() -> None:
    ledger = Ledger(CAMPSITE)
    hardline = ConcessionAgent(name="ana", exponent=0.01)  # keeps asking for everything
    tft = TitForTatAgent(name="ben")
    boulware = ConcessionAgent.named("ben", "boulware")
    ledger.apply(hardline.decide(view_of(ledger, "ana")))
    for _ in range(2):
        view = view_of(ledger, "ben")
        assert tft.aspiration(view) == pytest.approx(boulware.aspiration(view))
        ledger.apply(tft.decide(view))
        ledger.apply(hardline.decide(view_of(ledger, "ana")))


def concession_order(agent: ConcessionAgent, ledger: Ledger, party: str) -> list[str]:
    """The dimensions in the order the agent's packages start giving them up, as time runs."""
    order: list[str] = []
    for rounds in range(ledger.negotiation.terms.policy.round_cap + 1):
        view = view_of(ledger, party, rounds=rounds)
        package = agent.offer(view, agent.aspiration(view))
        for dim, units in view.units.items():
            if package[dim][party] < units and dim not in order:
                order.append(dim)
    return order


def test_values_driven_concedes_its_lowest_weight_first_and_holds_its_highest() -> None:
    values = make_scripted("ana", "values")
    assert isinstance(values, ConcessionAgent)
    weights = CAMPSITE.party("ana").weights
    by_weight = sorted(weights, key=weights.__getitem__)
    ledger = Ledger(CAMPSITE)
    order = concession_order(values, ledger, "ana")
    assert order[0] == by_weight[0] == "dim:firewood"
    assert order == by_weight[:len(order)]  # the most valued is given up last, if ever
    # A trading agent reads that ben fights for firewood and gives it away sooner still; the
    # values-driven one keeps its own order whatever the other side shows.
    ledger.apply(ConcessionAgent.named("ana", "boulware").decide(view_of(ledger, "ana")))
    send(ledger, "ben", kind="counter", dimension="dim:food",
         value={"ana": 0, "ben": 3}, rationale=["clause:agreement"])
    assert concession_order(values, ledger, "ana")[0] == "dim:firewood"


def test_declared_needs_are_held_until_everything_else_is_given() -> None:
    agent = make_scripted("ana", "values")
    assert isinstance(agent, ConcessionAgent)
    view = view_of(Ledger(CAMPSITE), "ana")
    needs = CAMPSITE.party("ana").needs  # water 2, food 1: worth 14 to ana
    package = agent.offer(view, 14.0)
    # Its third unit of water is worth more to it than its one needed food, yet goes first.
    assert {d: s["ana"] for d, s in package.items()} == {"dim:water": 2, "dim:food": 1,
                                                         "dim:firewood": 0}
    assert all(package[d]["ana"] == n for d, n in needs.items())


def test_values_driven_cites_its_own_cards_and_only_real_needs() -> None:
    ledger = negotiate(CAMPSITE, "values", "values")
    cards = CAMPSITE.party("ana").cards
    needs = CAMPSITE.party("ana").needs
    sent = [r for r in ledger.records
            if r.sender == "ana" and r.kind in ("request", "counter", "accept")]
    assert sent
    for record in sent:
        cited = record.model_dump()["rationale"]
        assert tuple(cited[:len(cards)]) == cards  # its own cards, first, in its order
        dims = [i for i in cited if i.startswith("dim:")]
        assert (NEEDS in cited) == any(needs.get(d, 0) > 0 for d in dims)


def casino_terms(rng: random.Random) -> Terms:
    """The campsite with CaSiNo-like priorities: each party a random 5/4/3 permutation."""
    data = CAMPSITE.model_dump()
    for party in data["parties"]:
        party["weights"] = dict(zip(("dim:food", "dim:water", "dim:firewood"),
                                    rng.choice(list(itertools.permutations((5.0, 4.0, 3.0)))),
                                    strict=True))
        party["needs"] = {}
    return Terms.model_validate(data)


def joint_efficiency(terms: Terms, ledger: Ledger) -> float:
    outcome = ledger.negotiation.outcome
    assert outcome is not None
    joint = sum(outcome.justification.utilities.values())
    best = sum(d.units * max(p.weights.get(d.id, 0.0) for p in terms.parties)
               for d in terms.dimensions)
    return joint / best


def pareto_optimal(terms: Terms, ledger: Ledger) -> bool:
    """No other split of the units makes one party better off and the other no worse."""
    outcome = ledger.negotiation.outcome
    assert outcome is not None
    ana, ben = (terms.party(p) for p in terms.claimants)
    dims = [d.id for d in terms.dimensions]
    units = {d.id: d.units for d in terms.dimensions}

    def utilities(to_ana: dict[str, int]) -> tuple[float, float]:
        return (sum(ana.weights[d] * to_ana[d] for d in dims),
                sum(ben.weights[d] * (units[d] - to_ana[d]) for d in dims))

    now = utilities({d: outcome.allocation[d][ana.id] for d in dims})
    for split in itertools.product(*(range(units[d] + 1) for d in dims)):
        other = utilities(dict(zip(dims, split, strict=True)))
        if other[0] >= now[0] and other[1] >= now[1] and other != now:
            return False
    return True


@pytest.mark.parametrize("pair", [("boulware", "tit-for-tat"), ("tit-for-tat", "linear"),
                                  ("linear", "values")])
def test_trading_parties_reach_pareto_optimal_outcomes(pair: tuple[str, str]) -> None:
    rng = random.Random(11)
    cases = [CAMPSITE, *(casino_terms(rng) for _ in range(20))]
    ledgers = [negotiate(t, *pair) for t in cases]
    assert joint_efficiency(CAMPSITE, ledgers[0]) == 1.0  # each gets what it values most
    assert all(pareto_optimal(t, ledger) for t, ledger in zip(cases, ledgers, strict=True))
    efficiency = [joint_efficiency(t, ledger) for t, ledger in zip(cases, ledgers, strict=True)]
    assert sum(efficiency) / len(efficiency) >= 0.97


def test_every_pair_stays_near_the_joint_optimum() -> None:
    rng = random.Random(5)
    cases = [CAMPSITE, *(casino_terms(rng) for _ in range(6))]
    for pair in itertools.product(sorted(STRATEGIES), repeat=2):
        efficiency = [joint_efficiency(t, negotiate(t, *pair)) for t in cases]
        assert min(efficiency) >= 0.85, pair


def test_a_dimension_the_party_would_rather_the_other_held_is_not_part_of_its_best() -> None:
    from valuesneg.agents.scripted import best_utility
    from valuesneg.core import Accept

    data = make_terms().model_dump()
    # bob would rather alice held the water (as with a Genius issue whose values both rank
    # alike) and wants the firewood: his best is all the firewood and none of the water.
    data["parties"][1]["weights"] = {"dim:water": -5.0, "dim:firewood": 1.0, "dim:spot": 0.0}
    terms = Terms.model_validate(data)
    ledger = Ledger(terms)
    assert best_utility(view_of(ledger, "bob")) == 3.0  # not 3 - 15
    alice, bob = make_scripted("alice", "values"), make_scripted("bob", "values")
    ledger.apply(alice.decide(view_of(ledger, "alice")))
    # alice asks for everything: no firewood for bob, worth 0 to him against a best of 3, so
    # at round 0 he does not accept it (he did when the water made his "best" -12).
    assert not isinstance(bob.decide(view_of(ledger, "bob")), Accept)
