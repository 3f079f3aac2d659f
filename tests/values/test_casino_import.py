from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from values_testkit import CASINO_TRAIN

from valuesneg.values import (
    CasinoDialogue,
    CasinoError,
    is_valid_id,
    keyword_matches,
    lint_graph,
    load_casino,
    parse_casino,
    parse_casino_dialogue,
)
from valuesneg.values.casino import KEYWORD_TABLE

POINTS = {"High": 5, "Medium": 4, "Low": 3}


@pytest.fixture(scope="module")
def corpus() -> tuple[list[dict[str, Any]], list[CasinoDialogue]]:
    raw = json.loads(CASINO_TRAIN.read_text(encoding="utf-8"))
    return raw, load_casino(CASINO_TRAIN)


def expected_points(record: dict[str, Any]) -> dict[str, int] | None:
    """The corpus rule, written out independently of the importer."""
    logs = record["chat_logs"]
    info = record["participant_info"]
    if logs[-1]["text"] == "Walk-Away":
        return {agent: 5 for agent in info}
    if logs[-1]["text"] != "Accept-Deal":
        return None
    offer = [e for e in logs[:-1] if e["text"] == "Submit-Deal"][-1]
    submitter = offer["id"]
    out = {}
    for agent in info:
        share = offer["task_data"]["issue2youget" if agent == submitter else "issue2theyget"]
        weight = {issue: POINTS[prio] for prio, issue in info[agent]["value2issue"].items()}
        out[agent] = sum(weight[issue] * int(n) for issue, n in share.items())
    return out


def test_train_split_imports_and_every_score_matches(corpus: Any) -> None:
    raw, dialogues = corpus
    assert len(dialogues) == 900
    assert [d.dialogue_id for d in dialogues] == [r["dialogue_id"] for r in raw]
    statuses = [d.status for d in dialogues]
    assert statuses.count("agreed") == 876
    assert statuses.count("walk_away") == 24
    assert statuses.count("incomplete") == 0
    for record, dialogue in zip(raw, dialogues, strict=True):
        recorded = {a: p["outcomes"]["points_scored"]
                    for a, p in record["participant_info"].items()}
        assert dialogue.points_scored == recorded
        assert dialogue.computed_points() == recorded, dialogue.dialogue_id
        assert expected_points(record) == recorded, dialogue.dialogue_id
        if dialogue.walk_away:
            assert dialogue.outcome is None and set(recorded.values()) == {5}
        else:
            assert dialogue.outcome is not None
            for issue in ("Food", "Water", "Firewood"):
                assert sum(dialogue.outcome.allocation[p][issue] for p in recorded) == 3


def test_every_card_is_well_formed(corpus: Any) -> None:
    _, dialogues = corpus
    for dialogue in dialogues:
        graph = dialogue.to_graph()  # validates ids, uniqueness, contexts
        assert len(graph.cards) == 6
        assert lint_graph(graph) == [], dialogue.dialogue_id
        for party in dialogue.parties:
            assert [c.provenance.extra["priority"] for c in party.cards] == [
                "High", "Medium", "Low"]
            assert sorted(party.weights.values()) == [3, 4, 5]
            for card in party.cards:
                assert is_valid_id(card.id)
                assert card.provenance.quote == party.reasons[card.provenance.extra[
                    "priority"]]


def test_one_dialogue_in_detail(corpus: Any) -> None:
    raw, dialogues = corpus
    [record] = [r for r in raw if r["dialogue_id"] == 938]
    [d] = [x for x in dialogues if x.dialogue_id == 938]
    a1 = d.party("mturk_agent_1")
    assert a1.weights == {"Firewood": 5, "Food": 4, "Water": 3}
    high = a1.cards[0]
    assert high.id == "card:casino-938-a1-firewood"
    assert high.title == "Firewood needs (high priority)"
    assert high.provenance.source_id == "938/mturk_agent_1/High"
    assert high.provenance.quote == record["participant_info"]["mturk_agent_1"][
        "value2reason"]["High"]
    assert [(ap.id, ap.text) for ap in high.attentional_policies] == [
        ("ap:casino-938-a1-firewood.1",
         "WHETHER I come away with enough FIREWOOD: my top priority, 5 points a package"),
        ("ap:casino-938-a1-firewood.2",
         "WARMTH through cold nights, and how much firewood it takes to stay warm"),
    ]
    assert d.outcome is not None
    assert d.outcome.submitted_by == "mturk_agent_2"
    assert d.outcome.accepted_by == "mturk_agent_1"
    assert d.outcome.allocation == {
        "mturk_agent_2": {"Food": 0, "Water": 3, "Firewood": 1},
        "mturk_agent_1": {"Food": 3, "Water": 0, "Firewood": 2}}
    assert d.computed_points() == {"mturk_agent_1": 22, "mturk_agent_2": 19}
    assert d.turns[-1].kind == "accept" and d.turns[-2].kind == "submit"


def test_keyword_rule() -> None:
    assert keyword_matches("I am diabetic and my kids get cold at night") == {
        "health": ["diabetic"], "dependents": ["kids"], "warmth": ["cold"]}
    assert keyword_matches("We love s'mores!") == {"comfort": ["love", "s'mores"]}
    assert keyword_matches("Nothing in particular") == {}
    # whole words only: "scold" is not "cold", "hotel" is not "hot"
    assert keyword_matches("they scold us at the hotel") == {}
    concepts = [c for c, _, _ in KEYWORD_TABLE]
    assert len(set(concepts)) == len(concepts)
    for _, _, template in KEYWORD_TABLE:
        assert "{issue}" in template and any(w.isupper() and len(w) >= 3
                                             for w in template.split())


def minimal_record() -> dict[str, Any]:
    def party(v2i: dict[str, str], points: int) -> dict[str, Any]:
        return {"value2issue": v2i,
                "value2reason": {"High": "My kids are hungry", "Medium": "It is cold",
                                 "Low": "There is a stream nearby"},
                "outcomes": {"points_scored": points, "satisfaction": "Slightly satisfied",
                             "opponent_likeness": "Undecided"}}

    return {
        "dialogue_id": 7,
        "participant_info": {
            "mturk_agent_1": party({"High": "Food", "Medium": "Firewood", "Low": "Water"}, 30),
            "mturk_agent_2": party({"High": "Water", "Medium": "Food", "Low": "Firewood"}, 19),
        },
        "chat_logs": [
            {"text": "Hello!", "task_data": {}, "id": "mturk_agent_1"},
            {"text": "Submit-Deal", "id": "mturk_agent_1", "task_data": {
                "issue2youget": {"Food": "3", "Water": "0", "Firewood": "3"},
                "issue2theyget": {"Food": "0", "Water": "3", "Firewood": "0"}}},
            {"text": "Accept-Deal", "task_data": {"data": "accept_deal"},
             "id": "mturk_agent_2"},
        ],
        "annotations": [],
    }


def test_minimal_record() -> None:
    d = parse_casino_dialogue(minimal_record())
    assert d.computed_points() == {"mturk_agent_1": 27, "mturk_agent_2": 15}
    assert d.party("mturk_agent_1").cards[0].attentional_policies[1].text.startswith(
        "the needs of my DEPENDENTS")
    walked = minimal_record()
    walked["chat_logs"][-1] = {"text": "Walk-Away", "task_data": {}, "id": "mturk_agent_2"}
    w = parse_casino_dialogue(walked)
    assert (w.status, w.walked_away_by, w.computed_points()) == (
        "walk_away", "mturk_agent_2", {"mturk_agent_1": 5, "mturk_agent_2": 5})
    unfinished = minimal_record()
    unfinished["chat_logs"].pop()
    u = parse_casino_dialogue(unfinished)
    assert (u.status, u.outcome, u.computed_points()) == ("incomplete", None, None)


def _expect(record: Any, where: str, fragment: str) -> None:
    with pytest.raises(CasinoError) as info:
        parse_casino([minimal_record(), record], path="casino.json")
    assert info.value.path == "casino.json"
    assert info.value.where == where, str(info.value)
    assert fragment in info.value.message, info.value.message


def test_bad_records_name_the_dialogue_and_field() -> None:
    r = minimal_record()
    del r["participant_info"]["mturk_agent_2"]["value2issue"]
    _expect(r, "dialogue 7 (record 1).participant_info.mturk_agent_2.value2issue",
            "must map High, Medium and Low")

    r = minimal_record()
    r["participant_info"]["mturk_agent_1"]["value2issue"]["Low"] = "Food"
    _expect(r, "dialogue 7 (record 1).participant_info.mturk_agent_1.value2issue",
            "each once")

    r = minimal_record()
    r["participant_info"]["mturk_agent_1"]["outcomes"]["points_scored"] = "30"
    _expect(r, "dialogue 7 (record 1).participant_info.mturk_agent_1.outcomes.points_scored",
            "must be an integer")

    r = minimal_record()
    r["chat_logs"][1]["task_data"]["issue2theyget"]["Water"] = "2"
    _expect(r, "dialogue 7 (record 1).chat_logs[1].task_data",
            "the two shares of Water add up to 2")

    r = minimal_record()
    r["chat_logs"][1]["task_data"]["issue2youget"]["Food"] = "many"
    _expect(r, "dialogue 7 (record 1).chat_logs[1].task_data.issue2youget.Food",
            "count from 0 to 3")

    r = minimal_record()
    del r["chat_logs"][1]
    _expect(r, "dialogue 7 (record 1).chat_logs[1]", "no Submit-Deal came before it")

    r = minimal_record()
    r["chat_logs"][0]["id"] = "mturk_agent_3"
    _expect(r, "dialogue 7 (record 1).chat_logs[0].id", "speaker must be one of")

    r = minimal_record()
    del r["dialogue_id"]
    _expect(r, "record 1.dialogue_id", "non-negative integer")

    r = minimal_record()
    r["participant_info"]["someone"] = r["participant_info"].pop("mturk_agent_2")
    _expect(r, "dialogue 7 (record 1).participant_info", "expected exactly the participants")

    r = minimal_record()
    del r["chat_logs"]
    _expect(r, "dialogue 7 (record 1).chat_logs", "required list is missing")

    _expect(copy.deepcopy(minimal_record()), "dialogue 7 (record 1).dialogue_id",
            "duplicate dialogue_id (also record 0)")


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(CasinoError, match="file not found"):
        load_casino(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("[{\"dialogue_id\": 1,,}]")
    with pytest.raises(CasinoError) as info:
        load_casino(bad)
    assert info.value.path == str(bad) and info.value.where == "line 1 column 20"
    obj = tmp_path / "obj.json"
    obj.write_text("{}")
    with pytest.raises(CasinoError, match="JSON list of dialogues, not dict"):
        load_casino(obj)
