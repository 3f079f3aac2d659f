"""The population tests' fixture: a small config written to disk, with changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from popkit import SMALL, WriteConfig


@pytest.fixture
def write_config(tmp_path: Path) -> WriteConfig:
    def write(name: str = "config.yaml", **changes: Any) -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump({**SMALL, **changes}), encoding="utf-8")
        return path
    return write
