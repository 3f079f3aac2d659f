"""CaSiNo dialogues as corpus scenarios: ``valuesneg.values`` parses, this adds what an eval
needs (the utility space and the recorded human result)."""

from __future__ import annotations

from pathlib import Path

from valuesneg.values import load_casino
from valuesneg.values.casino import CasinoDialogue
from valuesneg.values.casino_terms import ISSUES, casino_terms, dimension_of
from valuesneg.values.errors import CasinoError

from .base import CorpusError, CorpusScenario, Recorded
from .space import DivisionSpace

# CaSiNo's training split ships with the package (CC BY 4.0, attribution in data/README.md),
# so the winwin suite and the tests run in a clone with nothing beside it.
SHIPPED_CASINO = Path(__file__).resolve().parent / "data" / "casino_train.json"


def load_casino_scenarios(path: str | Path) -> list[CorpusScenario]:
    """Every dialogue of a CaSiNo split, in file order."""
    try:
        dialogues = load_casino(path)
    except CasinoError as error:
        raise CorpusError(error.message, path=error.path or path, where=error.where) from None
    return [casino_scenario(d, path=Path(path), index=n) for n, d in enumerate(dialogues)]


def casino_scenario(dialogue: CasinoDialogue, *, path: Path, index: int) -> CorpusScenario:
    """A CaSiNo dialogue as a scenario: two campers, three issues, their priorities as weights,
    and the deal the people made."""
    terms = casino_terms(dialogue)
    space = DivisionSpace(terms)
    return CorpusScenario(
        name=f"casino-{dialogue.dialogue_id}", corpus="casino",
        source=f"{path} record {index}", terms=terms, space=space,
        cards=tuple(c for p in dialogue.parties for c in p.cards),
        recorded=_recorded(dialogue, space), issues={dimension_of(i): i for i in ISSUES})


def _recorded(dialogue: CasinoDialogue, space: DivisionSpace) -> Recorded:
    """The accepted deal; anything else (a walk-away, or a dialogue that stops without an
    accepted deal) is no deal, worth the walk-away points to each."""
    if dialogue.outcome is not None:
        allocation = {dimension_of(i): {p.id: dialogue.outcome.allocation[p.id][i]
                                        for p in dialogue.parties} for i in ISSUES}
        return Recorded(agreed=True, allocation=allocation,
                        utilities=space.utilities(allocation))
    return Recorded(agreed=False, allocation=None, utilities=space.disagreement())
