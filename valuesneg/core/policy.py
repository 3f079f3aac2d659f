"""Policy: the rules a negotiation runs under, versioned by content hash."""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from .canonical import content_hash
from .derived import DerivedCache
from .ids import Id
from .vocabulary import EntryKind

TerminalRule = Literal["tier_break", "nash", "equal_split", "priority"]


class Clauses(BaseModel):
    """The clause ids the core itself cites when it acts on the policy's authority."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agreement: Id = "clause:agreement"
    tier_break: Id = "clause:tier-break"
    fallback: Id = "clause:fallback"
    timeout: Id = "clause:timeout"
    expiry: Id = "clause:expiry"
    preemption: Id = "clause:preemption"
    envelope_change: Id = "clause:envelope-change"
    dependency_cycle: Id = "clause:dependency-cycle"
    revocation: tuple[Id, ...] = ("clause:revocation",)

    def ids(self) -> tuple[str, ...]:
        """Every clause id the policy relies on; each must be a clause in the vocabulary."""
        single = (
            self.agreement,
            self.tier_break,
            self.fallback,
            self.timeout,
            self.expiry,
            self.preemption,
            self.envelope_change,
            self.dependency_cycle,
        )
        return tuple(dict.fromkeys((*single, *self.revocation)))


class Preemptible(BaseModel):
    """Grants on ``dimension`` held at ``tier`` may be pre-empted by any strictly higher tier."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dimension: Id
    tier: Id


class Policy(DerivedCache):
    """The rules of one negotiation: caps, tiers per party and dimension, terminal rules, the
    multiparty rule, what is measured and which clauses the core cites."""

    id: Id
    round_cap: Annotated[int, Field(ge=1, le=10_000)]
    timeout_ticks: Annotated[int, Field(ge=1)]
    grant_duration_cap: Annotated[int, Field(ge=1)]
    reask_budget: Annotated[int, Field(ge=0, le=100)] = 2
    tier_order: Annotated[tuple[Id, ...], Field(min_length=1)]  # lowest first
    tiers: dict[Id, dict[Id, Id]]  # party -> dimension -> tier
    terminal: dict[Id, TerminalRule]  # dimension -> rule applied when the round cap is hit
    multiparty_rule: Literal["unanimity", "majority"] = "unanimity"
    fairness: tuple[Id, ...] = ()  # fairness-property ids measured on every outcome
    reservation_requires: tuple[EntryKind, ...] = ("clause", "card")
    plans: tuple[Id, ...] = ()  # multi-step plans a reservation may name
    preemptible: tuple[Preemptible, ...] = ()
    clauses: Clauses = Clauses()

    @cached_property
    def version(self) -> str:
        return content_hash(self)

    def tier_of(self, party: str, dimension: str) -> str:
        return self.tiers[party][dimension]

    def tier_rank(self, party: str, dimension: str) -> int:
        return self.tier_order.index(self.tier_of(party, dimension))

    def preemptible_at(self, dimension: str, tier: str) -> bool:
        return any(p.dimension == dimension and p.tier == tier for p in self.preemptible)
