"""Scenarios whose parties hold retrieved cards: the genesis says why, the run verifies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from valuesneg.cli import main
from valuesneg.io.files import UserError
from valuesneg.scenario import load_scenario

SCENARIO = Path(__file__).resolve().parents[1] / "moral_graphs" / "scenarios" / \
    "campsite_supplies.yaml"
LISTED = "    cards: [card:trading-on-priorities, card:lasting-goodwill]\n" \
         "    public_cards: [card:lasting-goodwill]\n"


@pytest.fixture(autouse=True)
def _store(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VALUESNEG_CARD_STORE", str(tmp_path_factory.mktemp("cards")))


def _scenario(tmp_path: Path, ben_cards: str, ana_cards: str | None = None) -> Path:
    text = SCENARIO.read_text(encoding="utf-8")
    assert LISTED in text
    text = text.replace(LISTED, f"    cards: {ben_cards}\n")
    if ana_cards is not None:
        text = text.replace("    cards: [card:urgent-needs-first, card:safety-margins]\n",
                            f"    cards: {ana_cards}\n")
    path = tmp_path / "retrieving.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_scenario_with_retrieved_cards_runs_and_its_lineage_verifies(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _scenario(tmp_path, "{retrieve: 3, from: scarce_supplies}")
    out = tmp_path / "run"
    assert main(["run", str(path), "--backend", "scripted", "--out", str(out), "--quiet"]) == 0
    assert main(["verify", str(out)]) == 0
    genesis = json.loads((out / "lineage.jsonl").read_text().splitlines()[0])
    terms = genesis["genesis"]["terms"]
    [retrieval] = terms["retrievals"]
    ben = next(p for p in terms["parties"] if p["id"] == "ben")
    assert retrieval["party"] == "ben" and retrieval["model"] == "all-minilm-l6-v2"
    assert [c["card"] for c in retrieval["cards"]] == list(ben["cards"])
    scores = [c["score"] for c in retrieval["cards"]]
    assert scores == sorted(scores, reverse=True) and all(0 < s <= 1 for s in scores)
    assert "not enough water" in retrieval["query"] and "water" in retrieval["query"]
    # ana listed hers: retrieval never hands ben a card ana holds
    assert not set(ben["cards"]) & {"card:urgent-needs-first", "card:safety-margins"}
    report = (out / "report.html").read_text()
    assert 'id="retrieved"' in report and retrieval["cards"][0]["card"] in report


def test_the_same_scenario_retrieves_the_same_cards(tmp_path: Path) -> None:
    path = _scenario(tmp_path, "{retrieve: 2, from: scarce_supplies}")
    first, second = load_scenario(path), load_scenario(path)
    assert first.terms.retrievals == second.terms.retrievals
    assert first.terms.model_dump() == second.terms.model_dump()


def test_two_retrieving_parties_never_share_a_card(tmp_path: Path) -> None:
    path = _scenario(tmp_path, "{retrieve: 3, from: scarce_supplies}",
                     ana_cards="{retrieve: 3, from: scarce_supplies}")
    terms = load_scenario(path).terms
    ana, ben = terms.parties
    assert len(ana.cards) == len(ben.cards) == 3 and not set(ana.cards) & set(ben.cards)
    assert [r.party for r in terms.retrievals] == ["ana", "ben"]


def test_scenarios_without_retrieval_keep_their_terms_bytes() -> None:
    terms = load_scenario(SCENARIO).terms
    assert "retrievals" not in terms.model_dump(mode="json")


def test_retrieving_from_another_graph_is_refused(tmp_path: Path) -> None:
    path = _scenario(tmp_path, "{retrieve: 2, from: compute_and_tools}")
    with pytest.raises(UserError, match=r"parties\.1\.cards\.from: 'compute_and_tools' is "
                                        r"not the scenario's moral graph"):
        load_scenario(path)


def test_asking_for_more_cards_than_are_free_is_refused(tmp_path: Path) -> None:
    path = _scenario(tmp_path, "{retrieve: 64, from: scarce_supplies}")
    with pytest.raises(UserError, match=r"parties\.1\.cards\.retrieve: asks for 64 cards"):
        load_scenario(path)


def test_graph_search_ranks_as_the_scenario_does(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    scenario = load_scenario(_scenario(tmp_path, "{retrieve: 3, from: scarce_supplies}"))
    [retrieval] = scenario.terms.retrievals
    capsys.readouterr()
    assert main(["graph", "search", "scarce_supplies", retrieval.query, "-k", "8",
                 "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    held = {"card:urgent-needs-first", "card:safety-margins"}
    free = [f for f in found if f["card"] not in held][:3]
    assert [(f["card"], f["score"]) for f in free] == \
        [(c.card, c.score) for c in retrieval.cards]


def test_graph_search_names_a_file_that_is_not_a_moral_graph(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "notes.json"
    bad.write_text('{"hello": 1}')
    assert main(["graph", "search", str(bad), "water"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(bad) in err and "not a moral graph" in err
