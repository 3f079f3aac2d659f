"""Confidential negotiation: a party negotiates on a redacted projection of its envelope.

A trusted authority attests that the redaction still covers the contested scope. The core
checks everything structural (versions match, the redaction hides no scope that overlaps a
peer's), and defines the exact bytes the authority signs; the Ed25519 signature itself is
checked by an adapter, because cryptography is not part of the pure core.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from .canonical import canonical_json
from .ids import Hash, Id

Signature = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{128}$")]
PublicKey = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class Attestation(BaseModel):
    """An authority's signed word that a party's redacted envelope still covers the contested
    scope of its sealed one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    authority: Id
    redacted: Hash  # version of the envelope the party negotiates on
    sealed: Hash  # version of the un-redacted envelope, kept in the lineage for reviewers
    covers: tuple[Id, ...]  # the dimensions whose contested scope the redaction keeps
    signature: Signature

    def message(self, party: str) -> bytes:
        """The bytes the authority signs: everything it vouches for, canonical."""
        body = {"party": party, "authority": self.authority, "redacted": self.redacted,
                "sealed": self.sealed, "covers": sorted(self.covers)}
        return canonical_json(body).encode("utf-8")


class AttestedWait(BaseModel):
    """A trusted authority's word that negotiation ``waiter`` waits on ``waits_on``: the
    only evidence, peer to peer, for a wait outside this negotiation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    waiter: Id
    waits_on: Id
    authority: Id
    signature: Signature

    def message(self) -> bytes:
        body = {"wait": [self.waiter, self.waits_on], "authority": self.authority}
        return canonical_json(body).encode("utf-8")


def hidden_contested_scope(sealed: dict[str, frozenset[str]], redacted: dict[str, frozenset[str]],
                           others: dict[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    """Per dimension, sealed scope that overlaps a peer but the redaction leaves out."""
    hidden: dict[str, frozenset[str]] = {}
    for dim, items in sealed.items():
        missing = (items & others.get(dim, frozenset())) - redacted.get(dim, frozenset())
        if missing:
            hidden[dim] = missing
    return hidden
