"""A tiny valuesneg plugin: one strategy, one eval suite, one corpus importer.

Its ``pyproject.toml`` registers them under the entry point groups ``valuesneg.strategies``,
``valuesneg.suites`` and ``valuesneg.corpora`` (see ``valuesneg.plugins``).
"""

from __future__ import annotations

import json
from pathlib import Path

from valuesneg.agents.scripted import ConcessionAgent
from valuesneg.agents.strategies import strategy_agent
from valuesneg.corpora import CorpusScenario, DivisionSpace, load_corpus
from valuesneg.corpora.base import PartySpec, division_terms, issue_cards
from valuesneg.evals.base import EvalConfig, SuiteResult
from valuesneg.evals.common import negotiate
from valuesneg.evals.common import scenario as shipped


class Hardliner(ConcessionAgent):
    """Gives nothing away until the very end: a steep Boulware curve (exponent 0.05)."""

    def __init__(self, name: str) -> None:
        super().__init__(name=name, exponent=0.05)


def load_games(path: str | Path) -> list[CorpusScenario]:
    """A JSON list of games: ``{"name", "units": {item: n}, "values": {party: {item: w}}}``."""
    games = json.loads(Path(path).read_text(encoding="utf-8"))
    return [_game(path, n, game) for n, game in enumerate(games)]


def _game(path: str | Path, n: int, game: dict) -> CorpusScenario:
    units = {f"dim:{item}": count for item, count in game["units"].items()}
    labels = {f"dim:{item}": item for item in game["units"]}
    parties = []
    for party, values in sorted(game["values"].items()):
        weights = {f"dim:{item}": float(w) for item, w in values.items()}
        parties.append(PartySpec(id=party, weights=weights, reservation=0.0,
                                 cards=issue_cards("demo", game["name"], party, labels, weights)))
    terms = division_terms(f"neg:demo-{n}", "demo", units, parties)
    return CorpusScenario(name=f"demo-{game['name']}", corpus="demo", source=f"{path}:{n}",
                          terms=terms, space=DivisionSpace(terms),
                          cards=tuple(c for p in parties for c in p.cards), issues=labels)


def agreements(config: EvalConfig) -> SuiteResult:
    """How often the strategy under test reaches agreement with itself, on a corpus (or on
    the shipped campsite scenario)."""
    if config.dataset is not None:
        games = [(s.name, s.terms) for s in load_corpus(config.dataset.kind, config.dataset.path)]
    else:
        games = [("campsite_supplies", shipped("campsite_supplies").terms)]
    rows = []
    for name, terms in games:
        run = negotiate(terms, {p: strategy_agent(p, config.strategy) for p in terms.party_ids})
        rows.append({"game": name, "terminal": run.outcome.terminal if run.outcome else None,
                     "rounds": run.ledger.negotiation.state.rounds, "verified": run.verified})
    agreed = sum(row["terminal"] == "agreement" for row in rows)
    return SuiteResult(metrics={"negotiations": len(rows), "agreements": agreed,
                                "agreement_rate": agreed / len(rows)}, rows=rows)


agreements.datasets = ("demo-json",)  # the corpora this suite reads (valuesneg eval --dataset)
