"""Writing a scenario of one's own: the traps a new user met, each now named in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from valuesneg.io.files import UserError
from valuesneg.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
CAMPSITE = ROOT / "moral_graphs" / "scenarios" / "campsite_supplies.yaml"
ROBOTS = ROOT / "moral_graphs" / "scenarios" / "robot_work_cell.yaml"


def written(tmp_path: Path, text: str, name: str = "mine.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def line_of(text: str, fragment: str) -> int:
    return next(i for i, t in enumerate(text.splitlines(), 1) if fragment in t)


def refusal(path: Path) -> str:
    with pytest.raises(UserError) as info:
        load_scenario(path)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_a_scenario_naming_a_shipped_graph_runs_from_any_folder(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    copied = written(tmp_path / "elsewhere", CAMPSITE.read_text())
    assert "moral_graph: scarce_supplies\n" in copied.read_text()
    assert load_scenario(copied).terms == load_scenario(CAMPSITE).terms


def test_a_relative_graph_path_that_breaks_says_where_it_was_resolved_from(
        tmp_path: Path) -> None:
    path = written(tmp_path, CAMPSITE.read_text().replace(
        "moral_graph: scarce_supplies", "moral_graph: ../scarce_supplies.json"))
    message = refusal(path)
    assert f"moral_graph ../scarce_supplies.json (resolved from the scenario's folder " \
           f"{tmp_path.resolve()}; or name a shipped graph: compute_and_tools, " \
           "scarce_supplies, shared_authority)" in message
    assert str(tmp_path.parent / "scarce_supplies.json") in message  # the file it looked for


def test_an_unknown_graph_name_lists_the_shipped_ones(tmp_path: Path) -> None:
    text = CAMPSITE.read_text().replace("moral_graph: scarce_supplies",
                                        "moral_graph: scarce_suplies")
    message = refusal(written(tmp_path, text))
    assert message == (f"{tmp_path / 'mine.yaml'}: line {line_of(text, 'scarce_suplies')}, "
                       "scenario field moral_graph: 'scarce_suplies' is no shipped moral "
                       "graph (shipped: compute_and_tools, scarce_supplies, shared_authority); "
                       "a file's path ends in .json")


@pytest.mark.parametrize(("typo", "key", "expected"), [
    ("round_cap: 6", "roundcap: 6", "policy.roundcap: unknown key 'roundcap' "
                                    "(did you mean 'round_cap'?)"),
    ("reask_budget: 2", "reask_budgets: 2", "policy.reask_budgets: unknown key "
                                            "'reask_budgets' (did you mean 'reask_budget'?)"),
    ("    contribution: 1\n", "    contributon: 1\n",
     "parties.0.contributon: unknown key 'contributon' (did you mean 'contribution'?)"),
    ("    agent: {backend: llm, strategy: boulware}",
     "    agent: {backend: llm, stratagy: boulware}",
     "parties.0.agent.stratagy: unknown key 'stratagy' (did you mean 'strategy'?)"),
    ("title:", "colour: blue\ntitle:", "field colour: unknown key 'colour' (expected one of: "
                                       "scenario, title, negotiation, moral_graph, context, "),
])
def test_a_misspelt_key_is_named_with_the_close_match(tmp_path: Path, typo: str, key: str,
                                                     expected: str) -> None:
    text = CAMPSITE.read_text().replace(typo, key, 1)
    message = refusal(written(tmp_path, text))
    assert expected in message, message
    assert f"line {line_of(text, key.split(':')[0].strip())}," in message
    assert "Field required" not in message


def test_two_parties_holding_one_card_are_told_the_rule(tmp_path: Path) -> None:
    text = CAMPSITE.read_text().replace("cards: [card:trading-on-priorities, ",
                                        "cards: [card:safety-margins, ")
    message = refusal(written(tmp_path, text))
    assert (f"line {line_of(text, 'cards: [card:safety-margins, card:lasting')}, scenario "
            "field parties.1.cards.0: 'card:safety-margins' is already held by 'ana': a card "
            "has one holder, who alone may cite it until it is revealed") in message


def test_a_card_listed_twice_by_its_holder_is_named(tmp_path: Path) -> None:
    text = CAMPSITE.read_text().replace("cards: [card:urgent-needs-first, card:safety-margins]",
                                        "cards: [card:safety-margins, card:safety-margins]")
    assert "scenario field parties.0.cards.1: 'card:safety-margins' is listed twice" in refusal(
        written(tmp_path, text))


def test_tiers_may_be_left_out_under_a_single_tier(tmp_path: Path) -> None:
    tiers = ("    tiers: {dim:food: tier:camper, dim:water: tier:camper, "
             "dim:firewood: tier:camper}\n")
    assert CAMPSITE.read_text().count(tiers) == 2
    scenario = load_scenario(written(tmp_path, CAMPSITE.read_text().replace(tiers, "")))
    assert scenario.terms == load_scenario(CAMPSITE).terms


def test_tiers_are_required_when_the_policy_orders_several(tmp_path: Path) -> None:
    text = ROBOTS.read_text()
    tiers = next(t for t in text.splitlines(keepends=True) if t.strip().startswith("tiers:"))
    message = refusal(written(tmp_path, text.replace(tiers, "", 1)))
    assert "scenario field parties.0.tiers: required, since policy.tier_order has 2 tiers" \
        in message
