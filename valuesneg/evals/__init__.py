"""Eval suites and the runner behind ``valuesneg eval SUITE``.

Suites register by name as ``"module:function"`` and are imported only when run, so that a
suite's dependencies (matplotlib, a model server) cost nothing to the rest of the CLI.
"""

from __future__ import annotations

import importlib

from valuesneg import plugins
from valuesneg.io.files import UserError

from .base import EvalConfig, Suite, SuiteResult

SUITES: dict[str, str] = {
    "winwin": "valuesneg.evals.winwin:run",
    "bypass": "valuesneg.evals.bypass:run",
    "manipulation": "valuesneg.evals.manipulation:run",
    "integrity": "valuesneg.evals.integrity:run",
    "margin": "valuesneg.evals.margin:run",
}


def load_suite(name: str) -> Suite:
    """The suite registered as ``name``, built in or a plugin's (entry point group
    ``valuesneg.suites``, see ``valuesneg.plugins``); ``UserError`` if unknown or not
    installed."""
    if name not in SUITES:
        return _plugin_suite(name)
    module_name, function = SUITES[name].split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:  # a missing dependency inside the suite: a real bug
            raise
        raise UserError(f"eval suite {name!r} is registered but its module {module_name} is "
                        "not there (not implemented in this checkout)") from None
    suite: Suite = getattr(module, function)
    return suite


def _plugin_suite(name: str) -> Suite:
    found = plugins.plugin(plugins.SUITES, name, SUITES)
    if found is None:
        raise UserError(f"unknown eval suite {name!r} (choose from "
                        f"{', '.join(plugins.names(plugins.SUITES, SUITES))})")
    if not callable(found):
        raise UserError(f"eval suite {name!r}: {found!r} is not a suite (a function of an "
                        "EvalConfig returning a SuiteResult)")
    suite: Suite = found
    return suite


def run_suite(config: EvalConfig) -> SuiteResult:
    """Run the eval suite ``config.suite`` names."""
    return load_suite(config.suite)(config)


__all__ = ["SUITES", "EvalConfig", "SuiteResult", "load_suite", "run_suite"]
