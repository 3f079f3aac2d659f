"""Helpers the population tests share: a small config, the CLI, a folder's bytes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from valuesneg.cli import main

SMALL: dict[str, Any] = {
    "name": "small", "agents": 6, "generations": 3, "seed": 7,
    "strategies": {"values": 1, "inflate": 1, "boulware": 1},
    "learning": {"enabled": True, "rate": 1.0},
    "dynamics": {"rule": "imitation", "rate": 0.5},
}

WriteConfig = Callable[..., Path]


def run_cli(*argv: str) -> int:
    return main(list(argv))


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}
