"""Plugins: what an installed package adds, found through entry points.

Three groups, each a name -> object map that extends a built-in one:

- ``valuesneg.strategies``: an agent class, built with the party's name (``Class(party)``);
  usable as a scenario's ``agent.strategy`` and as ``valuesneg eval --strategy``;
- ``valuesneg.suites``: an eval suite, a function ``EvalConfig -> SuiteResult``, run by
  ``valuesneg eval NAME``;
- ``valuesneg.corpora``: a corpus importer, a function ``path -> list[CorpusScenario]``,
  read by ``valuesneg eval ... --dataset NAME:PATH``.

Precedence and clashes: a built-in name always means the built-in, and resolving it reads no
plugin at all, so a broken plugin cannot break a built-in. A plugin that registers a built-in's
name, or two installed distributions that register the same name, make looking up any
plugin of that group an error naming them: a name means one thing or nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Collection
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from valuesneg.io.files import UserError

STRATEGIES = "valuesneg.strategies"
SUITES = "valuesneg.suites"
CORPORA = "valuesneg.corpora"


def _distribution(point: EntryPoint) -> str:
    dist = point.dist
    return f"{dist.name} {dist.version}" if dist is not None else "an installed package"


def registered(group: str, builtins: Collection[str]) -> dict[str, EntryPoint]:
    """The installed plugins of ``group`` by name; a clash is a ``UserError``."""
    found: dict[str, EntryPoint] = {}
    for point in sorted(entry_points(group=group), key=lambda p: (p.name, p.value)):
        if point.name in builtins:
            raise UserError(f"plugin {_distribution(point)} registers {group} {point.name!r}, "
                            "the name of a built-in, which cannot be replaced: rename it")
        if point.name in found and found[point.name].value != point.value:
            raise UserError(f"{group} {point.name!r} is registered by both "
                            f"{_distribution(found[point.name])} ({found[point.name].value}) "
                            f"and {_distribution(point)} ({point.value}): uninstall one")
        found[point.name] = point
    return found


def plugin(group: str, name: str, builtins: Collection[str]) -> Any | None:
    """What the plugin registered as ``name`` in ``group``, loaded; None if none did."""
    point = registered(group, builtins).get(name)
    if point is None:
        return None
    try:
        return point.load()
    except Exception as error:  # whatever the plugin's import raises: one line naming it
        raise UserError(f"{group} {name!r} of {_distribution(point)}: cannot load "
                        f"{point.value} ({type(error).__name__}: {error})") from None


def names(group: str, builtins: Collection[str]) -> list[str]:
    """Every name ``group`` answers to: the built-ins, then the installed plugins'."""
    return [*sorted(builtins), *sorted(registered(group, builtins))]


def import_object(reference: str) -> Any:
    """The object ``package.module:Name`` names, or a ``UserError`` saying why not."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise UserError(f"{reference!r}: expected package.module:Name")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # ImportError, or whatever the module raises on import
        raise UserError(f"{reference!r}: cannot import {module_name} "
                        f"({type(error).__name__}: {error})") from None
    obj = module
    for part in attribute.split("."):
        if not hasattr(obj, part):
            raise UserError(f"{reference!r}: {module_name} has no {attribute}")
        obj = getattr(obj, part)
    return obj
