"""What a tournament is made of: competitors (from YAML), scenarios, and the cells they give.

A *cell* is one negotiation: a scenario, one competitor seated in each of its two roles, and a
repetition (which sets the seed an LLM competitor decides with). Every competitor meets every
other on every scenario; ``rotate`` seats each pair both ways round; ``self_play`` adds each
competitor against itself. The plan is a pure function of its inputs, so a resumed tournament
finds the same cells under the same ids.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from valuesneg.agents.scripted import STRATEGIES
from valuesneg.corpora import load_corpus
from valuesneg.evals.base import Dataset
from valuesneg.evals.winwin import Case, shipped_divisions
from valuesneg.io import strict_yaml
from valuesneg.io.files import UserError
from valuesneg.io.inputs import SCENARIO_BYTES, InputError, read_bounded
from valuesneg.values.ids import slugify

NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"  # competitor names become parts of file names


class Competitor(BaseModel):
    """A negotiator entered in the tournament: a backend, a model, a strategy and a guard."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME, max_length=40)
    backend: Literal["scripted", "local", "openai"] = "scripted"
    strategy: str = "values"  # scripted only: a key of STRATEGIES
    model: str | None = None  # openai: the model name
    base_url: str | None = None  # openai: an OpenAI-compatible endpoint (vLLM, Ollama, ...)
    # LLM competitors: pick among moves sound for them (``sound``) or the raw model (``none``).
    guard: Literal["sound", "none"] = "sound"

    @property
    def llm(self) -> bool:
        return self.backend != "scripted"


class Competitors(BaseModel):
    """A competitors file: at least two competitors."""

    model_config = ConfigDict(extra="forbid")

    competitors: list[Competitor] = Field(min_length=2)


def load_competitors(path: Path) -> tuple[Competitor, ...]:
    """The competitors of ``path``; ``UserError`` naming the file and field otherwise."""
    try:
        data, _ = strict_yaml.load(read_bounded(path, SCENARIO_BYTES).decode("utf-8"))
    except InputError as error:
        raise UserError(f"{path}: {error}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text") from None
    except strict_yaml.YamlInputError as error:
        raise UserError(f"{path}: not YAML: {error}") from None
    try:
        entrants = Competitors.model_validate(data).competitors
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "top level"
        raise UserError(f"{path}: {where}: {first['msg']}") from None
    _check(path, entrants)
    return tuple(entrants)


def _check(path: Path, entrants: Sequence[Competitor]) -> None:
    names = [c.name for c in entrants]
    for index, entrant in enumerate(entrants):
        where = f"{path}: competitors.{index}"
        if entrant.name in names[:index]:
            raise UserError(f"{where}.name: {entrant.name!r} is entered twice")
        if not entrant.llm and entrant.strategy not in STRATEGIES:
            raise UserError(f"{where}.strategy: unknown scripted strategy {entrant.strategy!r} "
                            f"(choose from {', '.join(sorted(STRATEGIES))})")


def load_cases(scenarios: Path | None, dataset: Dataset | None, limit: int | None
               ) -> tuple[list[Case], list[Case]]:
    """The two-party scenarios to play on (shipped-format YAML files, or a corpus), and those
    left out because they have more parties than the two seats of a cell."""
    if scenarios is not None:
        if not scenarios.is_dir():
            raise UserError(f"--scenarios {scenarios}: not a folder")
        cases = shipped_divisions(scenarios)
    else:
        assert dataset is not None
        cases = [Case(s) for s in load_corpus(dataset.kind, dataset.path)]
    playable = [c for c in cases if len(c.scenario.terms.party_ids) == 2]
    if not playable:
        where = f"--scenarios {scenarios}" if scenarios else f"--dataset {dataset}"
        raise UserError(f"{where}: no two-party scenario that divides divisible scope")
    skipped = [c for c in cases if len(c.scenario.terms.party_ids) != 2]
    return (playable if limit is None else playable[:limit]), skipped


@dataclass(frozen=True)
class Cell:
    """One negotiation of the tournament: a scenario, who sits in each seat, the repetition and
    its seed."""

    id: str
    scenario: int  # index into the tournament's cases
    seats: tuple[str, str]  # the competitor in each role, in the scenario's party order
    rep: int
    seed: int


def plan(cases: Sequence[Case], names: Sequence[str], *, reps: int, rotate: bool,
         self_play: bool, seed: int) -> list[Cell]:
    """Every cell, in a fixed order: scenario, pairing, seating, repetition."""
    pairs = list(itertools.combinations_with_replacement(names, 2) if self_play
                 else itertools.combinations(names, 2))
    cells = []
    for index, case in enumerate(cases):
        # The index keeps two scenarios of the same name apart; the slug keeps it a file name.
        stem = f"{index:04d}-{slugify(case.scenario.name)}"
        for a, b in pairs:
            seatings = [(a, b), (b, a)] if rotate and a != b else [(a, b)]
            for seats in seatings:
                cells += [Cell(f"{stem}__{seats[0]}__{seats[1]}__r{rep}", index, seats, rep,
                               seed + rep) for rep in range(reps)]
    return cells

