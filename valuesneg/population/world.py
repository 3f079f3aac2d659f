"""What a population is made of before anything happens: its agents (a strategy, a CaSiNo
priority profile, values cards from the moral graph), the cards and wiser-than edges that
apply in the experiment's context, and the seeded randomness every later choice draws on.

Every random choice of a run comes from :func:`rng`, keyed by the seed and by what is being
chosen, so a run resumed half-way draws exactly what the uninterrupted run drew.
"""

from __future__ import annotations

import gc
import hashlib
import random
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cache

from valuesneg.io.files import UserError
from valuesneg.values import load_casino
from valuesneg.values.casino_terms import ISSUES, dimension_of
from valuesneg.values.errors import DataError
from valuesneg.values.io import load_graph
from valuesneg.values.model import MoralGraph, WiserEdge
from valuesneg.values.ranking import rank

from .config import PopulationConfig, shipped_file

Weights = tuple[tuple[str, float], ...]  # (dimension, utility per unit), sorted by dimension


@dataclass(frozen=True)
class Member:
    """One agent of the population as it stands at the start of a generation."""

    id: str
    strategy: str
    weights: Weights
    cards: tuple[str, ...]
    profile: str  # where its priorities came from: "casino <dialogue>/<agent>"


def rng(seed: int, *what: object) -> random.Random:
    """A generator for one named choice (``rng(seed, "pairing", 3, 0)``), independent of
    every other choice, so the order in which choices are made never matters."""
    key = ":".join(str(part) for part in (seed, *what))
    return random.Random(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))


@cache
def graph(path: str) -> MoralGraph:
    """A moral graph by shipped name or path; a bad one is a ``UserError``."""
    try:
        return load_graph(shipped_file(path))
    except DataError as error:
        raise UserError(str(error)) from None


def context_edges(g: MoralGraph, context: str) -> tuple[WiserEdge, ...]:
    """The wiser-than edges of a graph that hold in ``context``."""
    return tuple(e for e in g.edges if context in e.contexts)


def context_cards(g: MoralGraph, context: str) -> tuple[str, ...]:
    """Cards listing the context or on one of its edges: what agents may hold in it."""
    on_edges = {c for e in context_edges(g, context) for c in (e.source, e.wiser)}
    return tuple(sorted(on_edges | {c.id for c in g.cards if context in c.contexts}))


def wisdom(g: MoralGraph, context: str) -> dict[str, float]:
    """Each card's PageRank score in the context (0 for a card on no edge of it)."""
    scores = {r.id: r.score for r in rank(g, context)}
    return {c: scores.get(c, 0.0) for c in context_cards(g, context)}


def check_world(config: PopulationConfig, path: str) -> None:
    """A config whose context has no cards cannot seat anyone: say so before running."""
    g = graph(config.moral_graph)
    if config.context not in {c.id for c in g.contexts}:
        raise UserError(f"{path}: context: {config.context!r} is not a context of "
                        f"{config.moral_graph}")
    if len(context_cards(g, config.context)) < config.cards_per_agent:
        raise UserError(f"{path}: cards_per_agent: the context has only "
                        f"{len(context_cards(g, config.context))} cards")


@cache
def casino_profiles(path: str) -> tuple[tuple[str, Weights], ...]:
    """Every CaSiNo participant's priorities (points per package), in file order."""
    with _collector_paused():
        return _profiles(path)


def _profiles(path: str) -> tuple[tuple[str, Weights], ...]:
    try:
        dialogues = load_casino(shipped_file(path))
    except DataError as error:
        raise UserError(str(error)) from None
    return tuple((f"casino {d.dialogue_id}/{p.id}",
                  tuple(sorted((dimension_of(i), float(p.weights[i])) for i in ISSUES)))
                 for d in dialogues for p in d.parties)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Reading the corpus builds a tree of a few million objects that only grows while it is
    read, so each collection meanwhile walked all of it for nothing (~0.7 s of the read); it
    is freed by reference counting when ``_profiles`` returns, before collecting resumes."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def founders(config: PopulationConfig) -> tuple[Member, ...]:
    """Generation 0: strategies by their shares (largest remainder), priority profiles drawn
    from the CaSiNo participants, cards drawn from those of the context."""
    draw = rng(config.seed, "founders")
    strategies = apportion(config.strategies, config.agents)
    draw.shuffle(strategies)
    profiles = casino_profiles(config.priorities)
    cards = context_cards(graph(config.moral_graph), config.context)
    members = []
    for n, strategy in enumerate(strategies):
        source, weights = profiles[draw.randrange(len(profiles))]
        held = tuple(sorted(draw.sample(cards, config.cards_per_agent)))
        members.append(Member(id=f"a{n:0{width(config.agents)}d}", strategy=strategy,
                              weights=weights, cards=held, profile=source))
    return tuple(members)


def width(agents: int) -> int:
    """How many digits agent ids are padded to, so they sort in order."""
    return max(3, len(str(agents - 1)))


def apportion(shares: Mapping[str, float], total: int) -> list[str]:
    """``total`` seats split by ``shares`` (largest remainder, ties by name), in name order."""
    weight = sum(shares.values())
    exact = {s: total * v / weight for s, v in shares.items()}
    seats = {s: int(x) for s, x in exact.items()}
    left = total - sum(seats.values())
    for s in sorted(exact, key=lambda s: (-(exact[s] - seats[s]), s))[:left]:
        seats[s] += 1
    return [s for s in sorted(seats) for _ in range(seats[s])]


def pairings(members: Sequence[Member], scores: Mapping[str, float], config: PopulationConfig,
             generation: int, round_: int) -> list[tuple[Member, Member]]:
    """Who meets whom. Hidden records: a random matching. Visible records: partner choice on
    reputation, as assortative matching (everyone would rather meet the most credible agent,
    so the most credible pair up first and the least credible are left with each other);
    ties are broken at random. With an odd count, the last one sits out."""
    draw = rng(config.seed, "pairing", generation, round_)
    order = list(members)
    draw.shuffle(order)
    if config.credibility.visible:
        order.sort(key=lambda m: -scores[m.id])  # stable: the shuffle breaks ties
    return [(order[i], order[i + 1]) for i in range(0, len(order) - 1, 2)]


def with_strategy(member: Member, strategy: str) -> Member:
    """The member, now playing ``strategy``."""
    return replace(member, strategy=strategy)
