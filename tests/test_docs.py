"""The documentation site cannot rot: the scenario page names every field of the format,
its examples run, the CLI reference is the parser's own help, and every public function
and class of the package says what it is for."""

from __future__ import annotations

import ast
import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from valuesneg.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SCHEMA = ROOT / "moral_graphs" / "schema" / "scenario.schema.json"
PACKAGE = ROOT / "valuesneg"


def properties(node: Any) -> set[str]:
    """Every property name anywhere in a JSON Schema (top level and every $def)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                found |= set(value)
            found |= properties(value)
    elif isinstance(node, list):
        for value in node:
            found |= properties(value)
    return found


def test_the_scenario_page_covers_every_field_of_the_format() -> None:
    fields = properties(json.loads(SCHEMA.read_text()))
    assert {"scenario", "envelope", "tiers", "revocation", "waits_on"} <= fields
    page = (DOCS / "scenarios.md").read_text()
    missing = sorted(f for f in fields if f"`{f}`" not in page)
    assert not missing, f"docs/scenarios.md does not mention {missing}"


def test_the_scenario_pages_example_is_a_scenario(tmp_path: Path) -> None:
    from valuesneg.scenario import load_scenario

    example = re.findall(r"^```yaml\n(.*?)^```", (DOCS / "scenarios.md").read_text(),
                         re.S | re.M)[0]
    (tmp_path / "example.yaml").write_text(example)
    scenario = load_scenario(tmp_path / "example.yaml")
    assert scenario.terms.party_ids == ("ana", "ben")


@pytest.mark.parametrize("page", ["getting-started.md", "agents.md"])
def test_the_python_examples_run(page: str, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ```python block of a page, in order, in one namespace (```py blocks show
    signatures and are not run); the runs they make go to a temporary folder."""
    blocks = re.findall(r"^```python\n(.*?)^```", (DOCS / page).read_text(), re.S | re.M)
    assert blocks
    monkeypatch.chdir(tmp_path)
    exec(compile("\n".join(blocks), str(DOCS / page), "exec"), {})


def load_hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cli_reference",
                                                  DOCS / "hooks" / "cli_reference.py")
    assert spec is not None and spec.loader is not None
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    return hook


def test_the_cli_reference_is_every_commands_help() -> None:
    hook = load_hook()
    page = (DOCS / "cli.md").read_text()
    assert hook.MARKER in page
    built = hook.on_page_markdown(page, None, None, None)
    parser = build_parser()
    pending = [parser]
    while pending:
        command = pending.pop()
        assert f"`{command.prog}`\n" in built, command.prog
        for line in command.format_usage().split()[:2]:
            assert line in built
        for action in command._actions:
            for option in action.option_strings:
                assert option in built, (command.prog, option)
        pending += hook.subcommands(command)
    assert hook.on_page_markdown("no marker", None, None, None) == "no marker"


def undocumented() -> list[str]:
    """Public (no leading underscore) module-level functions and classes without a
    docstring, anywhere in the package."""
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and \
                    not node.name.startswith("_") and ast.get_docstring(node) is None:
                missing.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    return missing


def test_every_public_function_and_class_has_a_docstring() -> None:
    missing = undocumented()
    assert not missing, f"{len(missing)} without a docstring:\n" + "\n".join(missing)
