"""The core imports only the standard library and pydantic, and loads nothing with I/O."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "valuesneg" / "core"
BANNED = {"socket", "subprocess", "random", "secrets", "asyncio", "sqlite3", "http", "urllib",
          "ssl", "openai", "langgraph", "langchain_core", "chromadb", "tenacity", "llama_cpp",
          "httpx", "requests", "yaml", "multiprocessing", "threading", "uuid"}


def _loaded(code: str) -> set[str]:
    script = f"import sys, json; {code}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout
    return {m.split(".")[0] for m in json.loads(out)}


def test_import_loads_no_io_llm_or_randomness_module() -> None:
    """Beyond what pydantic itself loads (it imports uuid, and so random and socket), importing
    the core loads nothing with I/O, randomness or an LLM."""
    baseline = _loaded("import pydantic, pydantic.types; "
                       "pydantic.TypeAdapter(int).validate_python(1)")
    loaded = _loaded("import valuesneg.core")
    assert "valuesneg" in loaded
    assert (loaded - baseline) & BANNED == set()
    assert loaded & {"openai", "langgraph", "chromadb", "tenacity", "llama_cpp", "httpx",
                     "requests", "yaml", "sqlite3", "asyncio", "subprocess"} == set()


def test_core_sources_import_only_stdlib_and_pydantic() -> None:
    allowed = set(sys.stdlib_module_names) - BANNED | {"pydantic", "pydantic_core"}
    found: dict[str, str] = {}
    for path in sorted(CORE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                if name.split(".")[0] not in allowed and not name.startswith("valuesneg.core"):
                    found[f"{path.name}"] = name
    assert found == {}


def test_core_reads_no_clock() -> None:
    for path in CORE.glob("*.py"):
        text = path.read_text()
        for call in ("time.time(", "datetime.now(", "perf_counter(", "uuid4("):
            assert call not in text, f"{path.name} calls {call}"
