"""What the core derives from one terms object and shares between every negotiation under
it (``Terms.cache``). The terms are frozen, so every entry is a function of them and of its
key alone; values are immutable or never handed out for mutation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: these modules import the terms, which hold the cache
    from .division import DivisionProblem
    from .terms import Envelope, Party
    from .view import CitableId


@dataclass(frozen=True)
class ViewStatics:
    """A party's view fields fixed by the terms (a view copies the dicts it hands out)."""

    units: dict[str, int]  # contested dimension -> units
    claimants: dict[str, tuple[str, ...]]  # contested dimension -> its claimants
    my_tiers: dict[str, str]  # the party's tier on each contested dimension it claims
    tier_order: tuple[str, ...]
    teams: frozenset[str]  # the parties that represent this one


@dataclass
class TermsCache:
    """What the core derives from one terms object and keeps for every later step and view
    (typed fields, never read back as anything but a memo)."""

    # party -> (its current envelope, its profile carrying that envelope)
    profiles: dict[str, tuple[Envelope, Party]] = field(default_factory=dict)
    statics: dict[str, ViewStatics] = field(default_factory=dict)  # by party
    # (party, revealed cards) -> the ids that party may cite
    citable: dict[tuple[str, frozenset[str]], tuple[CitableId, ...]] = field(
        default_factory=dict)
    # (party, revealed cards) -> the cards its peers revealed, sorted
    revealed_by_peers: dict[tuple[str, frozenset[str]], tuple[str, ...]] = field(
        default_factory=dict)
    # a group of dimensions with the same claimants -> the fairness problem settle measures
    # an allocation of them against (its search space is built once with it)
    fairness_problems: dict[tuple[str, ...], DivisionProblem] = field(default_factory=dict)
