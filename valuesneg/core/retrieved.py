"""Why a party holds the cards it holds, when they were retrieved rather than listed.

A scenario may give a party the ``k`` cards of the moral graph most relevant to the
negotiation (``cards: {retrieve: k, from: GRAPH}``). The terms then keep what was asked and
what came back, each card with its similarity score, so the lineage itself says why these
cards. The core only checks that the record agrees with the holdings; it never searches.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from .ids import Id

# Scores are cosine similarities rounded to this many decimals: the lineage must not hold the
# float noise that differs between machines in the last digits.
SCORE_DECIMALS = 4


class ScoredCard(BaseModel):
    """One retrieved card: its cosine similarity to the party's query, and the facet that
    matched best."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    card: Id
    score: Annotated[float, Field(ge=-1.0, le=1.0)]  # cosine similarity to the query
    matched: Id | None = None  # the attentional policy that matched best; None: the summary


class Retrieval(BaseModel):
    """One party's retrieved cards, best first, and what they were retrieved for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    party: Id
    query: Annotated[str, Field(min_length=1)]
    model: Annotated[str, Field(min_length=1)]  # the embedding model's id
    cards: Annotated[tuple[ScoredCard, ...], Field(min_length=1)]


def check_retrievals(retrievals: tuple[Retrieval, ...],
                     holdings: dict[str, tuple[str, ...]]) -> None:
    """Each retrieval names a party once, and exactly the cards that party holds."""
    seen: set[str] = set()
    for i, retrieval in enumerate(retrievals):
        if retrieval.party not in holdings:
            raise ValueError(f"retrievals[{i}].party: {retrieval.party!r} is not a party")
        if retrieval.party in seen:
            raise ValueError(f"retrievals[{i}].party: {retrieval.party!r} retrieved twice")
        seen.add(retrieval.party)
        got = [c.card for c in retrieval.cards]
        if sorted(got) != sorted(holdings[retrieval.party]) or len(set(got)) != len(got):
            raise ValueError(f"retrievals[{i}].cards: {got} are not the cards "
                             f"{retrieval.party!r} holds")
