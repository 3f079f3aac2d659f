"""Public negotiation corpora as runnable scenarios with the original parties' utilities.

- ``load_casino_scenarios(path)``: CaSiNo (JSON), one scenario per dialogue; its training
  split ships as ``SHIPPED_CASINO``;
- ``load_dond(path)``: Deal or No Deal (text), one scenario per dialogue (both sides merged);
- ``load_genius(folder)``: Genius XML domains in a folder tree, one scenario per pair of
  profiles (``read_genius`` also says what was read and skipped, and why).

Each scenario carries the core's ``Terms``, the exact utility space of the original game and,
when the corpus has it, what its human negotiators agreed (``recorded``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import cast

from valuesneg import plugins

from .base import CorpusError, CorpusLoad, CorpusScenario, Recorded
from .casino import SHIPPED_CASINO, load_casino_scenarios
from .dond import load_dond
from .genius import GeniusSpace, load_genius, read_genius
from .genius_xml import GeniusDomain, GeniusProfile
from .space import DivisionSpace, UtilitySpace

LOADERS = {"casino": load_casino_scenarios, "dond": load_dond, "genius": load_genius}


def load_corpus(kind: str, path: str | Path) -> list[CorpusScenario]:
    """The scenarios of a ``--dataset KIND:PATH``: a built-in importer, or one an installed
    plugin registers (entry point group ``valuesneg.corpora``, see ``valuesneg.plugins``)."""
    return corpus_loader(kind, path)(path)


Loader = Callable[[str | Path], list[CorpusScenario]]


def corpus_loader(kind: str, path: str | Path = "--dataset") -> Loader:
    """The importer of corpus ``kind``; a ``CorpusError`` naming ``path`` if there is none."""
    if kind in LOADERS:
        return LOADERS[kind]
    found = plugins.plugin(plugins.CORPORA, kind, LOADERS)
    if found is None:
        raise CorpusError(f"unknown kind {kind!r} (choose from "
                          f"{', '.join(plugins.names(plugins.CORPORA, LOADERS))})", path=path)
    if not callable(found):
        raise CorpusError(f"dataset kind {kind!r}: {found!r} is not a corpus importer (a "
                          "function of a path returning CorpusScenarios)", path=path)
    return cast(Loader, found)


def read_corpus(kind: str, path: str | Path) -> CorpusLoad:
    """``load_corpus`` with a summary of what was read (and, for a Genius tree, skipped)."""
    if kind == "genius":
        return read_genius(path)
    scenarios = load_corpus(kind, path)
    return CorpusLoad(scenarios=scenarios, summary={"scenarios": len(scenarios)})


__all__ = ["LOADERS", "SHIPPED_CASINO", "CorpusError", "CorpusLoad", "CorpusScenario",
           "DivisionSpace", "GeniusDomain", "GeniusProfile", "GeniusSpace", "Recorded",
           "UtilitySpace", "corpus_loader", "load_casino_scenarios", "load_corpus", "load_dond",
           "load_genius", "read_corpus", "read_genius"]
