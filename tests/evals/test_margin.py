"""The margin suite: first failing levels, curves, seeded perturbations, one judged run."""

from __future__ import annotations

from pathlib import Path

from valuesneg.evals import margin
from valuesneg.evals.base import EvalConfig
from valuesneg.evals.margin import Job, Judged


def test_the_margin_is_the_first_level_that_fails() -> None:
    curves = {"noise": {"convergence": {"0": 1.0, "0.5": 1.0, "1": 0.75, "2": 1.0},
                        "transparency": {"0": 1.0, "1": 1.0},
                        "non_dictatorship": {"0": 0.5},
                        "manipulation_resistance": {"0": None, "1": 0.9}}}
    m = margin.margins(curves, {"noise": [0, 1], "temperature": [0]},
                       {"temperature": "needs an LLM backend"})
    assert m["convergence"]["noise"] == 1.0
    assert m["transparency"]["noise"] is None
    assert m["non_dictatorship"]["noise"] == 0.0
    assert m["manipulation_resistance"]["noise"] == 1.0
    assert m["convergence"]["temperature"] == "skipped: needs an LLM backend"


def test_curves_are_the_share_of_applicable_runs_passing() -> None:
    def judged(level: float, ok: bool, resists: bool | None) -> Judged:
        return Judged(Job("noise", level, "s", 0), {
            "convergence": ok, "transparency": True, "non_dictatorship": ok,
            "manipulation_resistance": resists})

    curves = margin.curves_of([judged(0, True, True), judged(0, False, None),
                               judged(1, True, False), judged(1, True, True)])
    assert curves["noise"]["convergence"] == {"0": 0.5, "1": 1.0}
    assert curves["noise"]["manipulation_resistance"] == {"0": 1.0, "1": 0.5}


def test_perturbations_are_seeded() -> None:
    assert margin.noise_factors(3, "ana", ["dim:a", "dim:b"], 0.0) == {"dim:a": 1.0,
                                                                      "dim:b": 1.0}
    assert margin.noise_factors(3, "ana", ["dim:a"], 1.0) == \
        margin.noise_factors(3, "ana", ["dim:a"], 1.0)
    parties = ["a", "b", "c", "d"]
    assert len(margin.adversaries(1, parties, 0.5)) == 2
    assert margin.adversaries(1, parties, 0.5) == margin.adversaries(1, parties, 0.5)
    assert margin.adversaries(1, parties, 0.0) == [] and margin.adversaries(1, parties, 1.0) \
        == parties


def test_an_unperturbed_campsite_run_passes_every_property() -> None:
    judged = margin.judge(Job("noise", 0.0, "campsite_supplies", 0), "values", None,
                          ["boulware", "conceder", "machiavellian"])
    assert judged.passed == {"convergence": True, "transparency": True,
                             "non_dictatorship": True, "manipulation_resistance": True}


def test_a_limit_keeps_every_level_and_axes_can_be_chosen() -> None:
    plan = {"scenarios": ["a", "b"], "reps": 3,
            "axes": {"noise": [0, 0.5, 1.0], "adversarial_share": [0, 1], "temperature": [0, 1]}}
    config = EvalConfig(suite="margin", out=Path("unused"), seed=7, limit=2)
    todo, skipped = margin.jobs(config, plan)
    assert skipped == {"temperature": margin.NEEDS_LLM}
    assert [(j.axis, j.level) for j in todo] == [
        (axis, float(level)) for axis in ("noise", "adversarial_share")
        for level in plan["axes"][axis] for _ in range(2)]
    assert [(j.scenario, j.seed) for j in todo[:2]] == [("a", 7), ("b", 7)]
    local = EvalConfig(suite="margin", out=Path("unused"), backend="local",
                       axes=("temperature",))
    todo, skipped = margin.jobs(local, plan)
    assert {j.axis for j in todo} == {"temperature"} and len(todo) == 12
    # Axes left out say so, rather than read as "never fails".
    assert skipped == dict.fromkeys(("noise", "adversarial_share"), "not chosen with --axis")
