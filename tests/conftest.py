"""Fixtures over the shared builders (tests/builders.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from builders import Play, make_terms
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from valuesneg.core import Terms
from valuesneg.scenario import load_scenario
from valuesneg.signing import RunKeys

SCENARIOS = Path(__file__).resolve().parents[1] / "moral_graphs" / "scenarios"


@pytest.fixture
def terms() -> Terms:
    return make_terms()


@pytest.fixture
def play(terms: Terms) -> Play:
    return Play(terms)


@pytest.fixture(scope="session")
def run_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Ed25519 key per signer of the shipped scenarios (``run --keys DIR``), so that two
    runs of one scenario sign alike and write the same bytes."""
    folder = tmp_path_factory.mktemp("keys")
    ids = {"core"} | {party for path in SCENARIOS.glob("*.yaml")
                      for party in load_scenario(path).terms.party_ids}
    RunKeys({who: Ed25519PrivateKey.generate() for who in ids}).save(folder)
    return folder
