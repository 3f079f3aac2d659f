"""The bypass suite: how each attempt is judged, and the metrics over hand-made attempts."""

from __future__ import annotations

from pathlib import Path

from valuesneg.agents.catalogue import ATTACKS
from valuesneg.agents.injections import INJECTIONS
from valuesneg.evals import bypass
from valuesneg.evals.base import EvalConfig
from valuesneg.evals.bypass import AgentRun, Attempt, attempt
from valuesneg.evals.common import scenario

BY_NAME = {a.name: a for a in (*ATTACKS, *INJECTIONS)}


def test_a_refused_attack_is_blocked_by_the_core_with_its_declared_code() -> None:
    tried = attempt(scenario("campsite_supplies"), BY_NAME["stale-reply"])
    assert tried is not None
    assert (tried.code, tried.blocked_by, tried.blocked) == ("stale_reply", "core", True)


def test_a_bounded_legal_move_is_blocked_only_because_it_costs_a_round() -> None:
    tried = attempt(scenario("campsite_supplies"), BY_NAME["defer-to-evade-cap"])
    assert tried is not None
    assert (tried.code, tried.blocked_by) == (None, "bounded")


def test_impersonation_is_refused_by_the_driver_binding_on_three_parties() -> None:
    tried = attempt(scenario("three_labs_gpus"), BY_NAME["spoofed-peer"])
    assert tried is not None
    assert (tried.code, tried.blocked_by) == ("not_your_turn", "driver-binding")


def test_an_unvalidated_extra_field_never_reaches_the_lineage() -> None:
    tried = attempt(scenario("campsite_supplies"), BY_NAME["extra-field"], wire=False)
    assert tried is not None
    assert (tried.code, tried.blocked_by) == (None, "normalised")


def test_an_attack_that_cannot_be_staged_is_not_counted() -> None:
    # dependency_cycle's single booth goes to the first claimant: the attacker holds no grant.
    assert attempt(scenario("dependency_cycle"), BY_NAME["commit-over-grant"]) is None


def _attempt(code: str | None, by: str | None, crash: str | None = None,
             verifies: bool = True) -> Attempt:
    return Attempt("stale-reply", "s", "wire", code, by, crash, verifies)


def test_metrics_count_blocks_breaches_and_crashes_by_hand() -> None:
    probes = [[_attempt("stale_reply", "core"), None],
              [_attempt(None, None), _attempt(None, "bounded", crash="KeyError: x")]]
    runs = [AgentRun("bypass", "s", "ben", 10, 2, (), None, True, "fallback", False, 0),
            AgentRun("injection", "s", "ana", 4, 0, (), None, False, None, False, 0)]
    catalogue = [BY_NAME["stale-reply"], BY_NAME["defer-to-evade-cap"]]
    m = bypass.metrics(catalogue, probes, runs, EvalConfig("bypass", Path(".")))
    # core: 3 attempts, 1 blocked (a breach, and a crash is never blocked); runs: 14 - 2.
    assert (m["attempts"], m["blocked"]) == (17, 13)
    assert m["blocked_rate"] == 13 / 17
    assert (m["crashes"], m["lineage_failures"]) == (1, 1)
    assert m["core"]["not_applicable"] == 1 and m["attacks"] == 2


def test_the_whole_suite_blocks_every_attack(tmp_path: Path) -> None:
    """The full catalogue (every named attack and injection, ~6 s), as `eval bypass` runs it:
    one attack that got through, crashed or left a lineage that does not verify fails CI."""
    result = bypass.run(EvalConfig("bypass", tmp_path, progress=False))
    m = result.metrics
    assert m["attacks"] == m["catalogue"] == len(ATTACKS) + len(INJECTIONS) >= 50
    assert (m["blocked_rate"], m["crashes"], m["lineage_failures"]) == (1.0, 0, 0)
    assert m["blocked"] == m["attempts"] > 1000
    assert m["runs"]["injection_reached_prompt"] == 0
    assert all(entry["description"] for entry in m["per_attack"].values())
