"""The sound-move menu and the LLM agent's choice from it, without a model: the guard's
promises are properties of the menu and the schema, checked here on real scenario views."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from valuesneg.agents.base import header, split, utility
from valuesneg.agents.llm import LLMAgent, card_texts, menu_schema
from valuesneg.agents.menu import card_dimensions, menu, move_of
from valuesneg.agents.testing import Replies
from valuesneg.core import Accept, Ledger, Request
from valuesneg.core.view import PartyView, view_for
from valuesneg.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[2]
CAMPSITE = ROOT / "moral_graphs" / "scenarios" / "campsite_supplies.yaml"


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(CAMPSITE)


def answering(scenario: Scenario, ana_units: dict[str, int]) -> PartyView:
    """ben's view after ana opens asking for ``ana_units`` of each supply."""
    ledger = Ledger(scenario.terms)
    opening = view_for(ledger.negotiation, "ana")
    ledger.apply(Request(**header(opening), projection=tuple(sorted(opening.units)),
                         proposal={d: split(opening, d, n) for d, n in ana_units.items()},
                         duration=opening.duration_cap, tiers=dict(opening.my_tiers),
                         rationale=("clause:agreement",)))
    return view_for(ledger.negotiation, "ben", tuple(ledger.records))


GREEDY = {"dim:food": 3, "dim:water": 3, "dim:firewood": 3}  # ben gets nothing: worth 0 < 5
GENEROUS = {"dim:food": 0, "dim:water": 0, "dim:firewood": 0}  # ben gets everything


def test_no_accept_is_offered_below_the_no_deal_value(scenario: Scenario) -> None:
    view = answering(scenario, GREEDY)
    assert utility(view, view.table.allocation) < view.me.reservation  # type: ignore[union-attr]
    options = menu(view, card_texts(scenario.graph))
    assert len(options) >= 2  # the model still has a choice
    assert "accept" not in {o.action for o in options}
    assert all(o.worth is None or o.worth > 0 for o in options)


def test_an_offer_meeting_the_aspiration_leaves_accept_alone(scenario: Scenario) -> None:
    view = answering(scenario, GENEROUS)
    options = menu(view, card_texts(scenario.graph))
    assert [o.action for o in options] == ["accept"]


def test_an_opening_menu_offers_several_packages_none_below_no_deal(
        scenario: Scenario) -> None:
    view = view_for(Ledger(scenario.terms).negotiation, "ana")
    options = menu(view, card_texts(scenario.graph))
    assert len(options) >= 2 and {o.action for o in options} == {"request"}
    everything = sum(view.me.weights[d] * n for d, n in view.units.items())
    for option in options:
        assert option.worth is not None and view.me.reservation <= option.worth < everything


def test_each_option_may_cite_only_ids_that_fit_it(scenario: Scenario) -> None:
    view = answering(scenario, GREEDY)
    citable = {c.id for c in view.citable}
    for option in menu(view, card_texts(scenario.graph)):
        assert set(option.fits) <= citable
        if option.action == "counter":
            assert option.record.dimension in option.fits  # type: ignore[attr-defined]
            # a card about the relationship, not the supplies, does not explain a grab
            assert "card:lasting-goodwill" not in option.fits
        assert "fair:equal_split" not in option.fits  # nothing here is an equal split


def test_card_dimensions_reads_the_cards_own_words() -> None:
    units = {"dim:water": 3, "dim:food": 3}
    assert card_dimensions("Bargains for Water as priority 1", units) == {"dim:water"}
    assert card_dimensions("WHETHER the plan survives losing any single SUPPLY",
                           units) == set(units)
    assert card_dimensions("the MANNER of the talks, courteous and free of threats",
                           units) == set()


def test_options_are_labelled_in_a_shuffled_order_that_a_view_fixes(
        scenario: Scenario) -> None:
    view = answering(scenario, GREEDY)
    first = menu(view, card_texts(scenario.graph))
    again = menu(view, card_texts(scenario.graph))
    assert [o.label for o in first] == [chr(ord("A") + i) for i in range(len(first))]
    assert [move_of(o.record) for o in first] == [move_of(o.record) for o in again]


def test_the_schema_lets_each_option_cite_only_its_own_ids(scenario: Scenario) -> None:
    options = menu(answering(scenario, GREEDY), card_texts(scenario.graph))
    branches = menu_schema(options)["properties"]["choice"]["anyOf"]
    assert [b["properties"]["option"]["enum"] for b in branches] == [[o.label] for o in options]
    assert [b["properties"]["rationale"]["items"]["enum"] for b in branches] == \
        [list(o.fits) for o in options]


def agent(scenario: Scenario, model: Replies) -> LLMAgent:
    return LLMAgent(name="ben", model=model, cards=card_texts(scenario.graph),
                    terminal_rules="nash", strategy="conceder")


def test_the_agent_takes_the_option_the_model_chose_and_records_it(
        scenario: Scenario) -> None:
    view = answering(scenario, GREEDY)
    options = menu(view, card_texts(scenario.graph), "conceder")
    pick = options[-1]
    model = Replies([json.dumps({"choice": {"option": pick.label,
                                            "rationale": [pick.fits[0]]}})])
    llm = agent(scenario, model)
    record = llm.decide(view)
    assert move_of(record) == move_of(pick.record)
    call = llm.calls[-1]
    assert call.chosen == pick.label and [o["label"] for o in call.options] == \
        [o.label for o in options]
    assert call.diverges == (move_of(record) != call.scripted)
    prompt = model.asked[0][0].content
    assert all(f"{o.label}) " in prompt for o in options)


def test_a_citation_outside_the_options_list_is_asked_again(scenario: Scenario) -> None:
    view = answering(scenario, GREEDY)
    options = menu(view, card_texts(scenario.graph), "conceder")
    pick = options[0]
    misfit = json.dumps({"choice": {"option": pick.label, "rationale": ["card:nope"]}})
    fine = json.dumps({"choice": {"option": pick.label, "rationale": [pick.fits[0]]}})
    llm = agent(scenario, Replies([misfit, fine]))
    record = llm.decide(view)
    assert [c.valid for c in llm.calls] == [False, True]
    assert move_of(record) == move_of(pick.record)


def test_a_single_sound_move_is_taken_without_asking_the_model(scenario: Scenario) -> None:
    model = Replies([])
    llm = agent(scenario, model)
    record = llm.decide(answering(scenario, GENEROUS))
    assert isinstance(record, Accept) and model.asked == []
    assert llm.calls[-1].prompt == "guard:forced"


def test_guard_none_keeps_the_raw_design(scenario: Scenario) -> None:
    view = answering(scenario, GREEDY)
    model = Replies([json.dumps({"action": "accept", "dimension": "dim:food", "my_units": 0,
                                 "rationale": ["card:lasting-goodwill"]})])
    llm = agent(scenario, model)
    llm.guard = "none"
    record = llm.decide(view)
    assert isinstance(record, Accept)  # below its no-deal value: the raw model may
    assert llm.calls[-1].guard == "none" and llm.calls[-1].diverges is True
