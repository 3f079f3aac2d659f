"""A population run on ``--executor ray`` (a local two-CPU cluster) gives the very folder a
``local`` run gives: its encounters go through the same executor interface as ``eval``'s
and ``tournament``'s, and come back in job order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import ray  # the dev extra installs it (valuesneg[distributed])
from popkit import WriteConfig, folder_bytes, run_cli


@pytest.fixture(scope="module", autouse=True)
def cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_gives_the_same_population_as_local(write_config: WriteConfig,
                                                 tmp_path: Path) -> None:
    config = write_config(agents=8, generations=2)
    folders = {}
    for executor in ("local", "ray"):
        out = tmp_path / executor
        assert run_cli("population", "run", str(config), "--out", str(out), "--executor",
                       executor, "--quiet") == 0
        folders[executor] = folder_bytes(out)
    assert len([name for name in folders["local"] if name.startswith("lineages/")]) == 8
    assert folders["ray"]["population.jsonl"] == folders["local"]["population.jsonl"]
    assert folders["ray"] == folders["local"]
    assert run_cli("population", "verify", str(tmp_path / "ray")) == 0
