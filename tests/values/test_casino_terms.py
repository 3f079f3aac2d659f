"""Every CaSiNo dialogue is a runnable negotiation with the original parties' utilities."""

from __future__ import annotations

import pytest
from values_testkit import CASINO_TRAIN

from valuesneg.agents.scripted import make_scripted
from valuesneg.core import verify_lines
from valuesneg.core.settle import utility
from valuesneg.orchestration.driver import Driver
from valuesneg.values import load_casino
from valuesneg.values.casino_terms import casino_terms, dimension_of


@pytest.fixture(scope="module")
def dialogues() -> list:
    return load_casino(CASINO_TRAIN)


def test_all_900_dialogues_become_valid_terms(dialogues: list) -> None:
    terms = [casino_terms(d) for d in dialogues]
    assert len(terms) == 900
    assert len({t.negotiation for t in terms}) == 900


def test_the_corpus_deal_scores_the_recorded_points_under_the_terms(dialogues: list) -> None:
    agreed = [d for d in dialogues if d.outcome is not None]
    for dialogue in agreed:
        terms = casino_terms(dialogue)
        allocation = {dimension_of(issue): {p: dialogue.outcome.allocation[p][issue]
                                            for p in terms.party_ids}
                      for issue in ("Food", "Water", "Firewood")}
        scored = {p: utility(terms, allocation, p) for p in terms.party_ids}
        assert scored == {p: float(v) for p, v in dialogue.points_scored.items()}


def test_dialogues_run_scripted_to_a_verified_outcome(dialogues: list) -> None:
    for dialogue in dialogues[:25]:
        terms = casino_terms(dialogue)
        agents = {p: make_scripted(p, "linear") for p in terms.party_ids}
        ledger = Driver(terms, agents).run()
        assert verify_lines([e.line() for e in ledger.entries]).outcome is not None
