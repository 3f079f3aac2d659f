"""Fixtures over the shared builders (tests/builders.py)."""

from __future__ import annotations

import pytest
from builders import Play, make_terms

from valuesneg.core import Terms


@pytest.fixture
def terms() -> Terms:
    return make_terms()


@pytest.fixture
def play(terms: Terms) -> Play:
    return Play(terms)
