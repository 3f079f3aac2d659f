"""`values elicit`: an interview with a person (JSON lines) and a model, written to a graph."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from valuesneg.agents.testing import Replies
from valuesneg.cli import main
from valuesneg.orchestration.humans import JsonAnswerer, NoAnswer
from valuesneg.values import load_graph
from valuesneg.values.elicit import Interviewer, NoCard, elicit, state_path
from valuesneg.values.people import checked

QUESTION = json.dumps({"question": "When did you last share water on a trip, and how?"})
CARD = {"title": "Water for the weakest",
        "description": "I make sure the ones who need water most get it first.",
        "attentional_policies": ["NEEDS of people with health problems",
                                 "WHETHER everyone has ENOUGH WATER to stay safe",
                                 "HEAT of the day and how it drains people"]}
ANSWER = "My friend has a kidney condition, so I gave him more of our water."


def _person(*lines: object) -> tuple[JsonAnswerer, io.StringIO]:
    out = io.StringIO()
    text = "".join(json.dumps(line) + "\n" for line in lines)
    return JsonAnswerer(input=io.StringIO(text), output=out), out


def _prompts(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _elicit(path: Path, model: Replies, *lines: object) -> tuple[str, list[dict[str, object]]]:
    person, out = _person(*lines)
    try:
        _, said = elicit(path, "When water is scarce", Interviewer(model, "replies"),
                         checked(person))
    finally:
        prompts = _prompts(out)
    return said, prompts


def test_an_empty_answer_is_asked_again_and_the_card_keeps_the_persons_words(
        tmp_path: Path) -> None:
    path = tmp_path / "g.json"
    said, prompts = _elicit(path, Replies([QUESTION, json.dumps(CARD)]),
                            {"answer": "  "}, {"answer": ANSWER}, {"decision": "accept"})
    assert said == "added card:water-for-the-weakest (3 attentional policies)"
    assert prompts[0]["feedback"] is None and "empty answer" in str(prompts[1]["feedback"])
    [card] = load_graph(path).cards
    assert card.provenance.source == "elicited" and card.provenance.quote == ANSWER
    assert card.provenance.extra["prompts"] == ["values.question@v1", "values.card@v1"]
    assert card.provenance.extra["model"] == "replies" and card.contexts == (
        "ctx:when-water-is-scarce",)
    assert not state_path(path).exists()


def test_a_model_reply_without_three_policies_is_re_asked(tmp_path: Path) -> None:
    thin = {**CARD, "attentional_policies": CARD["attentional_policies"][:2]}
    model = Replies([QUESTION, json.dumps(thin), json.dumps(CARD)])
    said, _ = _elicit(tmp_path / "g.json", model, {"answer": ANSWER}, {"decision": "accept"})
    assert said.startswith("added") and "not 2" in model.asked[2][-1].content


def test_an_edited_card_is_written_as_edited(tmp_path: Path) -> None:
    edited = {**CARD, "title": "Care for the vulnerable"}
    _elicit(tmp_path / "g.json", Replies([QUESTION, json.dumps(CARD)]), {"answer": ANSWER},
            {"decision": "edit", "card": {"title": "x"}}, {"decision": "edit", "card": edited})
    [card] = load_graph(tmp_path / "g.json").cards
    assert card.id == "card:care-for-the-vulnerable" and card.provenance.extra["edited"]


def test_every_card_rejected_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "g.json"
    model = Replies([QUESTION, *[json.dumps({**CARD, "title": f"Card {n}"}) for n in range(3)]])
    with pytest.raises(NoCard, match="all 3 proposed cards were rejected"):
        _elicit(path, model, {"answer": ANSWER}, {"decision": "reject", "reason": "too vague"},
                {"decision": "reject"}, {"decision": "reject"})
    assert "too vague" in model.asked[2][0].content  # the next proposal hears why
    assert not path.exists() and not state_path(path).exists()


def test_stdin_closing_mid_interview_is_resumed_without_asking_again(tmp_path: Path) -> None:
    path = tmp_path / "g.json"
    with pytest.raises(NoAnswer):
        _elicit(path, Replies([QUESTION, json.dumps(CARD)]), {"answer": ANSWER})
    assert not path.exists()
    saved = json.loads(state_path(path).read_text())
    assert [s["kind"] for s in saved["steps"]] == ["question", "answer", "proposal"]
    # The model is not asked again (no replies left) and the person only for what is missing.
    said, prompts = _elicit(path, Replies([]), {"decision": "accept"})
    assert said.startswith("added card:water-for-the-weakest")
    assert [p["type"] for p in prompts] == ["card_proposal"]
    assert load_graph(path).cards[0].provenance.quote == ANSWER


def test_a_near_duplicate_is_shown_and_merged(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VALUESNEG_CARD_STORE", str(tmp_path / "store"))
    path = tmp_path / "g.json"
    _elicit(path, Replies([QUESTION, json.dumps(CARD)]), {"answer": ANSWER},
            {"decision": "accept"})
    said, prompts = _elicit(path, Replies([QUESTION, json.dumps(CARD)]),
                            {"answer": "I gave the sick one more water."},
                            {"decision": "accept"}, {"decision": "merge"})
    assert said.startswith("merged into card:water-for-the-weakest")
    shown = prompts[-1]
    assert shown["type"] == "near_duplicate"
    assert shown["existing"]["id"] == "card:water-for-the-weakest"  # type: ignore[index]
    [card] = load_graph(path).cards
    assert card.provenance.extra["elicited"][0]["quote"] == "I gave the sick one more water."


def test_a_different_card_is_no_near_duplicate(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VALUESNEG_CARD_STORE", str(tmp_path / "store"))
    path = tmp_path / "g.json"
    _elicit(path, Replies([QUESTION, json.dumps(CARD)]), {"answer": ANSWER},
            {"decision": "accept"})
    other = {"title": "Warmth for the children",
             "description": "I make sure the kids stay warm through the night.",
             "attentional_policies": ["COLD nights and who feels them most",
                                      "FIREWOOD we have left", "HEALTH of the youngest"]}
    said, prompts = _elicit(path, Replies([QUESTION, json.dumps(other)]), {"answer": "Cold."},
                            {"decision": "accept"})
    assert said.startswith("added card:warmth-for-the-children")
    assert "near_duplicate" not in [p["type"] for p in prompts]
    assert len(load_graph(path).cards) == 2


def test_a_file_that_is_not_a_moral_graph_is_named_before_any_model_starts(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "notes.json"
    bad.write_text("[1, 2]")
    assert main(["values", "elicit", "-o", str(bad), "--answers", "json"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(bad) in err and "not a moral graph" in err
    assert bad.read_text() == "[1, 2]"


@pytest.mark.llm
def test_an_interview_through_json_lines_on_the_embedded_model(tmp_path: Path) -> None:
    path = tmp_path / "values.json"
    answers = (json.dumps({"answer": "It gets cold at night where I am going camping, so I "
                                     "will need additional firewood. I am going with a big "
                                     "family and any extra food will be helpful."})
               + "\n" + json.dumps({"decision": "accept"}) + "\n")
    env = {**os.environ, "VALUESNEG_CARD_STORE": str(tmp_path / "store")}
    done = subprocess.run(
        [sys.executable, "-m", "valuesneg", "values", "elicit", "--answers", "json",
         "--context", "Sharing supplies before a camping trip", "-o", str(path)],
        input=answers, capture_output=True, text=True, env=env, timeout=900, check=False)
    assert done.returncode == 0, done.stderr
    kinds = [json.loads(line)["type"] for line in done.stdout.splitlines()]
    assert kinds == ["interview_question", "card_proposal"]
    [card] = load_graph(path).cards
    assert len(card.attentional_policies) >= 3
    assert card.provenance.quote is not None and "firewood" in card.provenance.quote
    assert card.provenance.extra["model"] and not state_path(path).exists()
