"""The rules that carry a population from one generation to the next, on hand-made
summaries: partner choice on reputation, imitation, the replicator step, learning only
along wiser-than edges, and seeded randomness that does not depend on call order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from popkit import SMALL

from valuesneg.population.config import load_config
from valuesneg.population.evolve import learn, spread
from valuesneg.population.world import Member, apportion, founders, pairings, rng

W = (("dim:firewood", 3.0), ("dim:food", 4.0), ("dim:water", 5.0))


def config(tmp_path: Path, **changes: Any):  # type: ignore[no-untyped-def]
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({**SMALL, **changes}))
    return load_config(path)


def member(n: int, strategy: str = "values", cards: tuple[str, ...] = ("card:equal-shares",)
           ) -> Member:
    return Member(id=f"a{n:03d}", strategy=strategy, weights=W, cards=cards, profile="test")


def summary(a: Member, b: Member, pay: tuple[float, float], revealed: tuple[list[str],
            list[str]] = ([], []), generation: int = 0, n: int = 0) -> dict[str, Any]:
    return {"generation": generation, "encounter": n, "lineage": f"lineages/{n}.jsonl",
            "head": "h" * 64, "parties": {
                a.id: {"strategy": a.strategy, "payoff": pay[0], "flags": [],
                       "revealed": revealed[0]},
                b.id: {"strategy": b.strategy, "payoff": pay[1], "flags": [],
                       "revealed": revealed[1]}}}


def test_apportion_is_largest_remainder() -> None:
    assert apportion({"a": 1, "b": 1, "c": 1}, 10) == ["a"] * 4 + ["b"] * 3 + ["c"] * 3
    assert apportion({"x": 0.0, "y": 1.0}, 3) == ["y"] * 3


def test_rng_is_keyed_not_ordered() -> None:
    first = rng(3, "pairing", 1, 0).random()
    rng(3, "something else").random()
    assert rng(3, "pairing", 1, 0).random() == first != rng(4, "pairing", 1, 0).random()


def test_founders_follow_shares_and_the_seed(tmp_path: Path) -> None:
    c = config(tmp_path, agents=12)
    people = founders(c)
    assert sorted(m.strategy for m in people) == ["boulware"] * 4 + ["inflate"] * 4 + \
        ["values"] * 4
    assert founders(c) == people and founders(c.model_copy(update={"seed": 8})) != people
    assert all(sorted(w for _, w in m.weights) == [3.0, 4.0, 5.0] for m in people)


def test_visible_credibility_pairs_the_credible_together(tmp_path: Path) -> None:
    people = [member(n) for n in range(6)]
    scores = {m.id: s for m, s in zip(people, (0.9, 0.1, 0.8, 0.2, 0.85, 0.15), strict=True)}
    visible = config(tmp_path)
    pairs = pairings(people, scores, visible, 0, 0)
    assert [sorted(scores[m.id] for m in p) for p in pairs] == \
        [[0.85, 0.9], [0.2, 0.8], [0.1, 0.15]]
    hidden = visible.model_copy(update={"credibility": visible.credibility.model_copy(
        update={"visible": False})})
    shuffled = pairings(people, scores, hidden, 0, 0)
    assert sorted(m.id for p in shuffled for m in p) == sorted(m.id for m in people)
    assert shuffled == pairings(people, {m.id: 0.5 for m in people}, hidden, 0, 0)


def test_imitation_copies_only_who_earned_more(tmp_path: Path) -> None:
    c = config(tmp_path, dynamics={"rule": "imitation", "rate": 1.0})
    poor, rich = member(0, "values"), member(1, "inflate")
    after, events = spread([poor, rich], [summary(poor, rich, (10.0, 20.0))], c, 0)
    assert [m.strategy for m in after] == ["inflate", "inflate"]
    assert events == [{"event": "switch", "generation": 0, "agent": "a000",
                       "rule": "imitation", "from": "values", "to": "inflate",
                       "payoff": 10.0, "because": "a001 earned 20 > 10"}]
    equal, _ = spread([poor, rich], [summary(poor, rich, (15.0, 15.0))], c, 0)
    assert [m.strategy for m in equal] == ["values", "inflate"]


def test_replicator_grows_the_fitter_strategy(tmp_path: Path) -> None:
    c = config(tmp_path, dynamics={"rule": "replicator", "rate": 1.0})
    people = [member(n, "values" if n < 5 else "inflate") for n in range(10)]
    results = [summary(people[i], people[i + 5], (10.0, 30.0), n=i) for i in range(5)]
    after, events = spread(people, results, c, 0)
    # inflate earns 30 against a mean of 20: its share 0.5 grows to 0.5 * (1 + 0.5) = 0.75
    assert sum(m.strategy == "inflate" for m in after) == 8
    assert len(events) == 3 and all(e["to"] == "inflate" for e in events)
    assert spread(people, results, c, 0) == (after, events)  # seeded


def test_learning_only_along_wiser_edges(tmp_path: Path) -> None:
    c = config(tmp_path, learning={"enabled": True, "rate": 1.0})
    learner = member(0, cards=("card:equal-shares",))
    teacher = member(1, cards=("card:trading-on-priorities",))
    other = member(2, cards=("card:land-provides",))  # no edge from equal-shares here
    after, events = learn([learner, teacher, other], [
        summary(learner, teacher, (1, 1), ([], ["card:trading-on-priorities"])),
        summary(learner, other, (1, 1), ([], ["card:land-provides"]), n=1)], c)
    assert after[0].cards == ("card:trading-on-priorities",)
    assert after[1].cards == teacher.cards and after[2].cards == other.cards
    assert [(e["dropped"], e["adopted"], e["from"]) for e in events] == \
        [("card:equal-shares", "card:trading-on-priorities", "a001")]
    assert events[0]["edge"]["context"] == "ctx:strangers-negotiating"
    # trading-on-priorities is never wiser-than'd in this context: the teacher keeps it
    unrevealed, none = learn([learner, teacher], [summary(learner, teacher, (1, 1))], c)
    assert unrevealed[0].cards == learner.cards and none == []
    off = c.model_copy(update={"learning": c.learning.model_copy(update={"enabled": False})})
    assert learn([learner, teacher], [summary(learner, teacher, (1, 1),
                                              ([], ["card:trading-on-priorities"]))], off
                 )[1] == []
