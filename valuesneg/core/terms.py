"""The terms of a negotiation: dimensions, parties with their envelopes, policy, vocabulary.

Terms are fixed at genesis and bound into the lineage by hash. Overlap, the thing that
opens a negotiation, is computed here structurally: the set intersection of the parties'
envelope projections on each dimension.
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from .cache import TermsCache
from .canonical import canonical_json, content_hash, sha256_hex
from .confidentiality import Attestation, AttestedWait, PublicKey, hidden_contested_scope
from .derived import DerivedCache
from .division import MAX_SPACE
from .ids import CORE, Hash, Id
from .policy import Policy
from .retrieved import Retrieval, check_retrievals
from .vocabulary import Vocabulary

FAIRNESS_PREFIX = "fair:"


class Dimension(BaseModel):
    """Something divided: its id and how many units its contested scope divides into (1:
    indivisible)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Id
    units: Annotated[int, Field(ge=1, le=1000)]  # 1 for indivisible scope

    @property
    def divisible(self) -> bool:
        return self.units > 1


class Envelope(DerivedCache):
    """The scope a party claims, per dimension, as a set of named scope items."""

    scope: dict[Id, tuple[Id, ...]]

    @cached_property
    def version(self) -> str:
        return content_hash({d: sorted(set(items)) for d, items in self.scope.items()})

    def projection(self, dimension: str) -> frozenset[str]:
        return frozenset(self.scope.get(dimension, ()))


class Party(BaseModel):
    """A party as the terms bind it: its envelope, weights, needs, contribution, reservation,
    cards, and the parties it represents."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Id
    envelope: Envelope
    weights: dict[Id, float] = {}  # utility per unit, per dimension
    needs: dict[Id, Annotated[int, Field(ge=0)]] = {}
    contribution: Annotated[float, Field(ge=0)] = 0.0
    reservation: float = 0.0  # utility of no agreement
    cards: tuple[Id, ...] = ()
    # A team party negotiates for these subordinates, who may commit under its grants but
    # only within their own envelopes; subordinates are not claimants themselves.
    represents: tuple[Id, ...] = ()
    # Confidential negotiation: ``envelope`` is then a redacted projection of ``sealed``.
    sealed: Envelope | None = None
    attestation: Attestation | None = None


class Terms(DerivedCache):
    """Everything a negotiation is held to, bound by the lineage's genesis: the dimensions,
    parties, policy, vocabulary, moral graph version, authorities and attested waits."""

    negotiation: Id
    dimensions: Annotated[tuple[Dimension, ...], Field(min_length=1)]
    parties: Annotated[tuple[Party, ...], Field(min_length=2)]
    policy: Policy
    vocabulary: Vocabulary
    moral_graph: Hash | None = None
    # trusted attestation authorities: Ed25519 keys
    authorities: dict[Id, PublicKey] = Field(default_factory=dict)
    # Waits between other negotiations that an authority vouches for: what makes a shown
    # dependency cycle checkable by every peer (see ``bargaining._break_cycle``).
    waits: tuple[AttestedWait, ...] = ()
    # Cards a party was given by retrieval, with their scores: why it holds them.
    retrievals: tuple[Retrieval, ...] = ()

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Terms without attested waits serialise as they did before the field existed, so
        # their content hash (and every lineage written under them) is unchanged.
        data: dict[str, Any] = handler(self)
        if not self.waits:
            data.pop("waits", None)
        if not self.retrievals:  # likewise for terms whose cards were all listed by hand
            data.pop("retrievals", None)
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Terms:
        _check_unique("dimensions", [d.id for d in self.dimensions])
        _check_unique("parties", [p.id for p in self.parties])
        if CORE in self.party_ids:
            raise ValueError(f"parties: {CORE!r} is reserved for the core")
        for i, wait in enumerate(self.waits):
            if wait.authority not in self.authorities:
                raise ValueError(f"waits[{i}].authority: {wait.authority!r} is not a declared "
                                 "authority")
        self._check_dimensions()
        self._check_policy()
        self._check_redactions()
        check_retrievals(self.retrievals, {p.id: p.cards for p in self.parties})
        if not self.contested:
            raise ValueError("parties: no two envelopes overlap on any dimension")
        return self

    def _check_dimensions(self) -> None:
        dims = set(self.dimension_ids)
        parties = set(self.party_ids)
        for i, party in enumerate(self.parties):
            for member in party.represents:
                if member not in parties or member == party.id:
                    raise ValueError(f"parties[{i}].represents: {member!r} is not another party")
            for field in ("weights", "needs"):
                for dim in getattr(party, field):
                    if dim not in dims:
                        raise ValueError(f"parties[{i}].{field}: unknown dimension {dim!r}")
            for dim in party.envelope.scope:
                if dim not in dims:
                    raise ValueError(f"parties[{i}].envelope: unknown dimension {dim!r}")
        for dim in dims:
            entry = self.vocabulary.get(dim)
            if entry is None or entry.kind != "dimension":
                raise ValueError(f"vocabulary: dimension {dim!r} is not declared as a dimension")

    def _check_policy(self) -> None:
        policy, vocab = self.policy, self.vocabulary
        for dim, claimants in self.contested.items():
            if dim not in policy.terminal:
                raise ValueError(f"policy.terminal: no terminal rule for contested {dim!r}")
            for party in claimants:
                tier = policy.tiers.get(party, {}).get(dim)
                if tier not in policy.tier_order:
                    raise ValueError(f"policy.tiers.{party}.{dim}: missing or unknown tier")
        self._check_exact_spaces()
        for clause in policy.clauses.ids():
            entry = vocab.get(clause)
            if entry is None or entry.kind != "clause":
                raise ValueError(f"policy.clauses: {clause!r} is not a clause in the vocabulary")
        for prop in policy.fairness:
            entry = vocab.get(prop)
            if entry is None or entry.kind != "fairness" or not prop.startswith(FAIRNESS_PREFIX):
                raise ValueError(f"policy.fairness: {prop!r} is not a fairness property id")

    def _check_exact_spaces(self) -> None:
        """Nash bargaining and the Pareto check search the whole discrete space; refuse terms
        whose space is past the limit now, rather than fail when the outcome is computed."""
        nash = [d for d in self.contested if self.policy.terminal[d] == "nash"]
        groups: list[list[str]] = [nash] if nash else []
        if "fair:pareto_efficiency" in self.policy.fairness:
            by_claimants: dict[tuple[str, ...], list[str]] = {}
            for dim, claimants in self.contested.items():
                by_claimants.setdefault(claimants, []).append(dim)
            groups += list(by_claimants.values())
        for dims in groups:
            size = self._space_size(dims)
            if size > MAX_SPACE:
                raise ValueError(f"policy: dividing {dims} exactly means searching {size} "
                                 f"allocations (limit {MAX_SPACE}); use equal_split or "
                                 "priority, fewer units, or drop fair:pareto_efficiency")

    def _space_size(self, dims: list[str]) -> int:
        parties = {p for d in dims for p in self.contested[d]}
        n = len(parties)
        return math.prod(math.comb(self.dimension(d).units + n - 1, n - 1) for d in dims)

    def _check_redactions(self) -> None:
        for i, party in enumerate(self.parties):
            if (party.sealed is None) != (party.attestation is None):
                raise ValueError(f"parties[{i}]: a sealed envelope needs an attestation and "
                                 "an attestation needs a sealed envelope")
            if party.sealed is None or party.attestation is None:
                continue
            att = party.attestation
            if att.authority not in self.authorities:
                raise ValueError(f"parties[{i}].attestation.authority: {att.authority!r} is "
                                 "not a declared authority")
            if att.redacted != party.envelope.version or att.sealed != party.sealed.version:
                raise ValueError(f"parties[{i}].attestation: versions do not match the "
                                 "envelopes it attests")
            hidden = self._hidden(party)
            if hidden:
                dim = sorted(hidden)[0]
                raise ValueError(f"parties[{i}].envelope: the redaction hides contested scope "
                                 f"{sorted(hidden[dim])} on {dim!r}")

    def _hidden(self, party: Party) -> dict[str, frozenset[str]]:
        assert party.sealed is not None
        dims = self.dimension_ids
        others = {d: frozenset().union(*(p.envelope.projection(d) for p in self.parties
                                         if p.id != party.id)) for d in dims}
        return hidden_contested_scope(
            {d: party.sealed.projection(d) for d in dims},
            {d: party.envelope.projection(d) for d in dims}, others)

    @cached_property
    def party_ids(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.parties)

    @cached_property
    def dimension_ids(self) -> tuple[str, ...]:
        return tuple(d.id for d in self.dimensions)

    @cached_property
    def contested(self) -> dict[str, tuple[str, ...]]:
        """Dimension -> claimants, for every dimension where two projections intersect."""
        contested: dict[str, tuple[str, ...]] = {}
        for dim in sorted(self.dimension_ids):
            claimants = _overlapping(self.parties, dim)
            if len(claimants) >= 2:
                contested[dim] = claimants
        return contested

    @cached_property
    def claimants(self) -> tuple[str, ...]:
        every = {p for parties in self.contested.values() for p in parties}
        return tuple(p for p in self.party_ids if p in every)

    def party(self, party_id: str) -> Party:
        for party in self.parties:
            if party.id == party_id:
                return party
        raise KeyError(party_id)

    def dimension(self, dimension_id: str) -> Dimension:
        for dimension in self.dimensions:
            if dimension.id == dimension_id:
                return dimension
        raise KeyError(dimension_id)

    @cached_property
    def canonical(self) -> str:
        """The terms' canonical JSON text, computed once per terms object (they are frozen;
        ``model_copy`` drops this cache): shared by every genesis entry written for these
        terms. The dump it is made from is not kept (it was the largest object a held
        negotiation kept alive)."""
        return canonical_json(self.model_dump(mode="json"))

    @cached_property
    def cache(self) -> TermsCache:
        """What the core derives from these terms once and shares between negotiations: for
        views (view.py) a party's profile per envelope, its static view fields and citable
        ids per revealed cards; for settlements (settle.py) the fairness problems.
        ``model_copy`` and pickling drop it."""
        return TermsCache()

    def hashes(self) -> dict[str, str | None]:
        """What the genesis entry binds: every input the outcome depends on."""
        return self.hashes_given(sha256_hex(self.canonical))  # content_hash(self), cached

    def hashes_given(self, terms_hash: str) -> dict[str, str | None]:
        """``hashes()`` given the terms' own content hash, for a caller that already holds
        the terms' canonical JSON (the genesis entry) and need not serialise them twice."""
        bound: dict[str, str | None] = {
            "terms": terms_hash,
            "policy": self.policy.version,
            "vocabulary": self.vocabulary.version,
            "moral_graph": self.moral_graph,
        }
        for party in self.parties:
            bound[f"envelope:{party.id}"] = party.envelope.version
        return bound


def _overlapping(parties: tuple[Party, ...], dim: str) -> tuple[str, ...]:
    """Parties whose projection on ``dim`` intersects some other party's projection."""
    represented = {s for p in parties for s in p.represents}
    projections = [(p.id, p.envelope.projection(dim)) for p in parties if p.id not in represented]
    return tuple(
        pid
        for pid, mine in projections
        if mine and any(mine & theirs for other, theirs in projections if other != pid)
    )


def _check_unique(field: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for position, value in enumerate(ids):
        if value in seen:
            raise ValueError(f"{field}[{position}]: duplicate id {value!r}")
        seen.add(value)
