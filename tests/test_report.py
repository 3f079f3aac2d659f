"""What the run report tells a reader: who wanted what, a bad deal flagged, each LLM
decision's options, and rounds counted as the core counts them."""

from __future__ import annotations

from pathlib import Path

import yaml

from valuesneg.agents.factory import scripted_agents
from valuesneg.orchestration.driver import Driver
from valuesneg.report import render_report, rounds_of
from valuesneg.scenario import Scenario, load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "moral_graphs" / "scenarios"


def campsite(tmp_path: Path, ben_reservation: float) -> Scenario:
    spec = yaml.safe_load((SCENARIOS / "campsite_supplies.yaml").read_text(encoding="utf-8"))
    next(p for p in spec["parties"] if p["id"] == "ben")["reservation"] = ben_reservation
    path = tmp_path / "campsite.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return load_scenario(path)


def test_the_report_says_who_wanted_what_and_flags_a_deal_below_no_deal(
        tmp_path: Path) -> None:
    # ben's no-deal value is out of reach (the best he can get is 36): he ends below it
    scenario = campsite(tmp_path, 40)
    records = Driver.of(scenario, scripted_agents(scenario)).run().records
    html = render_report(scenario, records, ())
    assert 'id="below-no-deal"' in html and "ben gets" in html and "no-deal value 40" in html
    assert "BELOW no-deal" in html
    who = html.split('id="parties"')[1].split("</section>")[0]
    assert "dim:firewood 5" in who and "dim:firewood 2" in who and "<td>40</td>" in who


def test_a_fair_run_has_no_warning(tmp_path: Path) -> None:
    scenario = campsite(tmp_path, 5)
    records = Driver.of(scenario, scripted_agents(scenario)).run().records
    assert 'id="below-no-deal"' not in render_report(scenario, records, ())


def test_each_llm_decision_shows_its_options_and_the_one_taken(tmp_path: Path) -> None:
    scenario = campsite(tmp_path, 5)
    records = Driver.of(scenario, scripted_agents(scenario)).run().records
    options = [{"label": "A", "text": "counter on dim:food: ask for 3 of 3", "worth": 22.0},
               {"label": "B", "text": "refuse, so that a whole new package is proposed",
                "worth": None}]
    call = {"party": "ben", "prompt": "negotiator.choose@v1", "valid": True,
            "options": options, "chosen": "B", "scripted": {"kind": "counter"},
            "diverges": True}
    html = render_report(scenario, records, (), [call],
                         {"ben": {"served_model": "gemma-3-270m", "guard": "sound",
                                  "temperature": 0.0}})
    decisions = html.split('id="decisions"')[1].split("</section>")[0]
    assert '<li class="taken">B) refuse' in decisions and '<li class="">A) counter' in decisions
    assert "unlike the scripted values agent (counter)" in decisions
    assert "LLM gemma-3-270m (guard sound" in html


def test_rounds_start_at_one_and_each_non_accepting_answer_spends_one(tmp_path: Path) -> None:
    scenario = campsite(tmp_path, 5)
    records = Driver.of(scenario, scripted_agents(scenario)).run().records
    rounds = rounds_of(records)
    assert rounds[records[0].seq] == 1
    spent = 0
    for record in records:
        assert rounds[record.seq] == spent + 1
        spent += record.kind in ("counter", "refuse", "defer")
