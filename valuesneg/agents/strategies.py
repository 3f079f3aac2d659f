"""Strategies by name: a built-in scripted one (``scripted.STRATEGIES``), one an installed
plugin registers (entry point group ``valuesneg.strategies``, see ``valuesneg.plugins``), or
any agent class named ``package.module:Class``. Each is built with the party's name."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from valuesneg import plugins
from valuesneg.io.files import UserError

from .base import Agent
from .scripted import STRATEGIES, make_scripted

Builder = Callable[[str], Agent]


def strategy_names() -> list[str]:
    """The built-in strategies, then the plugins'."""
    return plugins.names(plugins.STRATEGIES, STRATEGIES)


def strategy_class(strategy: str) -> Builder:
    """What builds an agent of ``strategy`` from a party's name; a ``UserError`` if nothing
    by that name is an agent class."""
    if strategy in STRATEGIES:
        return lambda party: make_scripted(party, strategy)
    if ":" in strategy:
        found = plugins.import_object(strategy)
    else:
        found = plugins.plugin(plugins.STRATEGIES, strategy, STRATEGIES)
        if found is None:
            raise UserError(f"unknown strategy {strategy!r} (choose from "
                            f"{', '.join(strategy_names())}, or name an agent class as "
                            "package.module:Class)")
    if not (isinstance(found, type) and callable(getattr(found, "decide", None))):
        raise UserError(f"strategy {strategy!r}: {found!r} is not an agent class (a class "
                        "built with the party's name, with a decide(view, feedback) method)")
    return cast(Builder, found)


def strategy_agent(party: str, strategy: str) -> Agent:
    """``party``'s agent playing ``strategy``."""
    build = strategy_class(strategy)
    try:
        return build(party)
    except Exception as error:  # a plugin's constructor: its failure, named, in one line
        raise UserError(f"strategy {strategy!r}: building the agent of {party!r} failed "
                        f"({type(error).__name__}: {error})") from None
