"""What carries over from one generation to the next, computed from the encounters'
summaries (which were read from their lineages): moral learning along wiser-than edges,
and the spread of strategies that earned more. Every change is an event naming its cause.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from .config import MISREPORTS, PopulationConfig
from .world import Member, apportion, context_edges, graph, rng

Summary = Mapping[str, Any]


def learn(members: Sequence[Member], results: Sequence[Summary], config: PopulationConfig
          ) -> tuple[tuple[Member, ...], list[dict[str, Any]]]:
    """An agent may drop a card it holds for one its partner revealed, only along a
    wiser-than edge (held -> revealed) of the graph in the run's context, with chance
    ``learning.rate``. Encounters are taken in order; each adoption is an event."""
    if not config.learning.enabled:
        return tuple(members), []
    edges = {(e.source, e.wiser): e for e in context_edges(graph(config.moral_graph),
                                                           config.context)}
    held = {m.id: list(m.cards) for m in members}
    events = []
    for result in results:
        for agent, partner in _sides(result):
            for card in result["parties"][partner]["revealed"]:
                for dropped in list(held[agent]):
                    edge = edges.get((dropped, card))
                    if edge is None or card in held[agent]:
                        continue
                    draw = rng(config.seed, "learn", result["generation"],
                               result["encounter"], agent, card)
                    if draw.random() >= config.learning.rate:
                        continue
                    held[agent][held[agent].index(dropped)] = card
                    events.append({
                        "event": "adoption", "generation": result["generation"],
                        "encounter": result["encounter"], "agent": agent, "from": partner,
                        "dropped": dropped, "adopted": card,
                        "edge": {"source": edge.source, "wiser": edge.wiser,
                                 "context": config.context,
                                 "marked_wiser": edge.counts.marked_wiser,
                                 "impressions": edge.counts.impressions},
                        "lineage": result["lineage"], "lineage_head": result["head"]})
    return tuple(replace(m, cards=tuple(sorted(held[m.id]))) for m in members), events


def _sides(result: Summary) -> list[tuple[str, str]]:
    a, b = sorted(result["parties"])
    return [(a, b), (b, a)]


def payoffs(results: Sequence[Summary]) -> dict[str, float]:
    """Each agent's mean payoff over its encounters of the generation."""
    earned: dict[str, list[float]] = {}
    for result in results:
        for agent, seen in result["parties"].items():
            earned.setdefault(agent, []).append(seen["payoff"])
    return {agent: statistics.fmean(values) for agent, values in earned.items()}


def spread(members: Sequence[Member], results: Sequence[Summary], config: PopulationConfig,
           generation: int) -> tuple[tuple[Member, ...], list[dict[str, Any]]]:
    """The strategies of the next generation, by ``dynamics.rule``, with one event per
    agent that switched."""
    earned = payoffs(results)
    if config.dynamics.rule == "imitation":
        chosen = _imitate(members, earned, config, generation)
    elif config.dynamics.rule == "replicator":
        chosen = _replicate(members, earned, config, generation)
    else:
        return tuple(members), []
    events = [{"event": "switch", "generation": generation, "agent": m.id,
               "rule": config.dynamics.rule, "from": m.strategy, "to": chosen[m.id][0],
               "payoff": _r(earned.get(m.id)), "because": chosen[m.id][1]}
              for m in members if chosen[m.id][0] != m.strategy]
    return tuple(replace(m, strategy=chosen[m.id][0]) for m in members), events


def _imitate(members: Sequence[Member], earned: Mapping[str, float],
             config: PopulationConfig, generation: int) -> dict[str, tuple[str, str]]:
    """Pairwise imitation: with chance ``rate`` an agent looks at one other agent picked at
    random and copies its strategy if it earned strictly more (both must have played)."""
    by_id = {m.id: m for m in members}
    players = sorted(earned)
    place = {p: n for n, p in enumerate(players)}
    chosen = {m.id: (m.strategy, "") for m in members}
    for m in members:
        draw = rng(config.seed, "imitate", generation, m.id)
        if m.id not in earned or draw.random() >= config.dynamics.rate or len(players) < 2:
            continue
        # The draw ``choice`` makes from the players but m, without building that list (one
        # per agent made a generation quadratic in the population's size).
        pick = draw.randrange(len(players) - 1)
        model = players[pick + (pick >= place[m.id])]
        if earned[model] > earned[m.id]:
            chosen[m.id] = (by_id[model].strategy,
                            f"{model} earned {earned[model]:.6g} > {earned[m.id]:.6g}")
    return chosen


def _replicate(members: Sequence[Member], earned: Mapping[str, float],
               config: PopulationConfig, generation: int) -> dict[str, tuple[str, str]]:
    """Discrete replicator step: a strategy's share grows by ``rate`` times its relative
    fitness advantage; the new shares are apportioned to whole agents, and the agents who
    change are drawn at random from the strategies that shrank."""
    counts = {s: sum(m.strategy == s for m in members) for s in config.strategies}
    fitness = {s: statistics.fmean([earned[m.id] for m in members
                                    if m.strategy == s and m.id in earned] or [0.0])
               for s in counts}
    total = len(members)
    mean = sum(counts[s] * fitness[s] for s in counts) / total
    if mean <= 0:
        return {m.id: (m.strategy, "") for m in members}
    shares = {s: max(0.0, counts[s] / total * (1 + config.dynamics.rate
                                               * (fitness[s] - mean) / mean)) for s in counts}
    target = dict.fromkeys(counts, 0)
    for s in apportion(shares, total):
        target[s] += 1
    draw = rng(config.seed, "replicate", generation)
    leaving = []
    for s in sorted(counts):
        holders = [m.id for m in members if m.strategy == s]
        leaving += draw.sample(holders, max(0, counts[s] - target[s]))
    arriving = [s for s in sorted(counts) for _ in range(max(0, target[s] - counts[s]))]
    chosen = {m.id: (m.strategy, "") for m in members}
    for agent, strategy in zip(sorted(leaving), arriving, strict=True):
        chosen[agent] = (strategy, f"replicator: {strategy} earned {fitness[strategy]:.6g} "
                                   f"against a mean of {mean:.6g}")
    return chosen


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def is_misreport(strategy: str) -> bool:
    """Whether a strategy misreports (inflates its needs or hides its priorities)."""
    return strategy in MISREPORTS
