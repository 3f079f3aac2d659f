"""The package's layers depend one way: ``cli -> orchestration -> agents -> core``.

Every module's imports are read with ``ast`` (lazy imports inside functions included,
relative ones resolved), so a layer reaching upward fails here whether or not the import
ever runs.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "valuesneg"

# What each layer must never import (a prefix of the imported module's dotted name). The
# layers above orchestration (cli, evals, population, tournament) may import anything below.
ABOVE_AGENTS = ("valuesneg.orchestration", "valuesneg.cli", "valuesneg.evals",
                "valuesneg.population", "valuesneg.tournament")
ABOVE_ORCHESTRATION = ("valuesneg.cli", "valuesneg.evals", "valuesneg.population",
                       "valuesneg.tournament")
FORBIDDEN = {"agents": ABOVE_AGENTS, "orchestration": ABOVE_ORCHESTRATION}
CORE_ALLOWED = set(sys.stdlib_module_names) | {"pydantic", "pydantic_core"}


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> Iterator[tuple[int, str]]:
    """Every module ``path`` imports, absolute, with its line."""
    package = _module(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            yield node.lineno, module
            if node.module is None:  # `from . import x`: x is a module of the package
                yield from ((node.lineno, f"{module}.{a.name}") for a in node.names)


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(layer: str) -> list[str]:
    found = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for line, name in imports(path):
            if layer == "core":
                bad = not (_under(name, "valuesneg.core")
                           or name.split(".")[0] in CORE_ALLOWED - {"valuesneg"})
            else:
                bad = any(_under(name, p) for p in FORBIDDEN[layer])
            if bad:
                found.append(f"{path.relative_to(PACKAGE.parent)}:{line}: imports {name}")
    return found


def test_core_imports_only_stdlib_pydantic_and_itself() -> None:
    assert violations("core") == []


def test_agents_import_nothing_above_them() -> None:
    assert violations("agents") == []


def test_orchestration_imports_nothing_above_it() -> None:
    assert violations("orchestration") == []


def test_the_reader_resolves_relative_and_lazy_imports() -> None:
    """The checker itself: a relative import and one inside a function are both seen."""
    found = dict((name, line) for line, name in imports(PACKAGE / "orchestration" / "graph.py"))
    assert "valuesneg.orchestration.driver" in found  # `from .driver import ...`
    lazy = {name for _, name in imports(PACKAGE / "cli.py")}
    assert "valuesneg.orchestration.launch" in lazy  # imported inside cmd_run
