"""The core's modules talk to each other through public names only, and its speed tricks
(building frozen values without their constructors) live in ``core/fast.py`` alone."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "valuesneg" / "core"


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def test_no_core_module_reaches_into_another_objects_private_names() -> None:
    found = []
    for path in sorted(CORE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Attribute) and _private(node.attr)
                    and not (isinstance(node.value, ast.Name)
                             and node.value.id in ("self", "cls"))):
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
            if isinstance(node, ast.ImportFrom):
                found.extend(f"{path.name}:{node.lineno}: imports {a.name}"
                             for a in node.names if _private(a.name))
    assert found == []


def test_objects_are_built_without_their_constructor_only_in_fast() -> None:
    found = [
        f"{path.name}:{node.lineno}"
        for path in sorted(CORE.glob("*.py")) if path.name != "fast.py"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute) and node.attr == "__new__"
        and ast.unparse(node) != "cls.__new__"  # Ledger.resumed: a second constructor
    ]
    assert found == []
    fast = (CORE / "fast.py").read_text()
    assert "benchmarks/core_throughput.py" in fast


def test_the_terms_cache_has_named_fields() -> None:
    from valuesneg.core.cache import TermsCache

    cache = TermsCache()
    assert set(vars(cache)) == {"profiles", "statics", "citable", "revealed_by_peers",
                                "fairness_problems"}
