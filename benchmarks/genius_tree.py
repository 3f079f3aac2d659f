"""valuesneg's scripted agents and NegMAS's Boulware pair on every profile pair of a Genius tree.

    .venv/bin/python benchmarks/genius_tree.py DIR [--steps N ...] [--max-outcomes M] [--json F]
    .venv/bin/python benchmarks/genius_tree.py --generate N [--seed S] [...]

``DIR`` is read by ``valuesneg.corpora.read_genius`` (the ANAC collection NegMAS ships under
``tests/data/scenarios/anac`` is the intended input; nothing is downloaded here). Each pair is
negotiated:

- by valuesneg's scripted ``values`` agents and, for a like-for-like row, its ``boulware``
  agents (``Driver`` over the pair's terms, round cap 10; the winwin suite's ``negotiate``);
- by NegMAS: two ``TimeBasedConcedingNegotiator`` with ``PolyAspiration(1.0, 1 / 0.3)`` (the
  curve of our Boulware) in ``SAOMechanism(n_steps=N, one_offer_per_step=True)``, over the
  domain's whole outcome space (every value of every issue, the real ones on the importer's
  grid) with each profile as a ``LinearAdditiveUtilityFunction`` holding its own utilities.

``--generate N`` reads instead ``N`` seeded domains with discrete, integer and real issues
(``genius_synthetic.py``) written to a temporary folder, and reports the real issues' grid
error (``discretisation_error_max``, ``_mean`` over the domains that have real issues).

Every figure is computed the winwin suite's way on the profiles' own utilities
(``GeniusSpace``: agreement, joint efficiency over all pairs, Pareto-optimal rate, Nash
distance). NegMAS's inverse utility enumerates the outcome space, so pairs of domains with
more than ``--max-outcomes`` outcomes are left out of its runs (counted in
``negmas_left_out``); ``valuesneg_*_common`` repeats ours on the pairs NegMAS ran.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from genius_synthetic import write_tree

from valuesneg.agents.scripted import EXPONENTS, make_scripted
from valuesneg.corpora import GeniusSpace, read_genius
from valuesneg.corpora.base import CorpusScenario
from valuesneg.evals.winwin import Case, Result, nash_distance, negotiate, summary

KEYS = ("n", "agreement_rate", "joint_efficiency_all", "pareto_optimal_rate", "nash_distance",
        "mean_rounds", "ir_violations")


def run_ours(scenario: CorpusScenario, strategy: str) -> Result:
    agents = {p: make_scripted(p, strategy) for p in scenario.terms.party_ids}
    return negotiate(Case(scenario), agents)[0]


def run_negmas(scenario: CorpusScenario, steps: int) -> Result:
    from negmas import PolyAspiration, SAOMechanism, TimeBasedConcedingNegotiator, make_issue
    from negmas.preferences import LinearAdditiveUtilityFunction

    space = scenario.space
    assert isinstance(space, GeniusSpace)
    issues = space.domain.issues
    outcomes = [make_issue(list(i.values), name=i.name) for i in issues]
    mechanism = SAOMechanism(issues=outcomes, n_steps=steps, one_offer_per_step=True)
    for party, profile in zip(space.parties, space.profiles, strict=True):
        ufun = LinearAdditiveUtilityFunction(
            values=[{v: profile.weights[i.name] * profile.normalised(i.name, v)
                     for v in i.values} for i in issues],
            outcome_space=mechanism.outcome_space, reserved_value=profile.reservation)
        mechanism.add(TimeBasedConcedingNegotiator(
            name=party, offering_curve=PolyAspiration(1.0, 1.0 / EXPONENTS["boulware"])),
            ufun=ufun)
    state = mechanism.run()
    agreed = state.agreement is not None
    if agreed:
        chosen = dict(zip((i.name for i in issues), state.agreement, strict=True))
        utilities = {p: prof.utility(chosen)
                     for p, prof in zip(space.parties, space.profiles, strict=True)}
    else:
        utilities = space.disagreement()
    return Result(name=scenario.name, agreed=agreed, utilities=utilities,
                  disagreement=space.disagreement(), best_joint=space.best_joint(),
                  pareto=agreed and space.undominated(utilities),
                  nash_distance=nash_distance(space, utilities), rounds=state.step)


def _outcomes(scenario: CorpusScenario) -> int:
    space = scenario.space
    assert isinstance(space, GeniusSpace)
    return space.domain.outcome_count()


def _figures(prefix: str, results: list[Result]) -> dict[str, Any]:
    numbers = summary(results)
    return {f"{prefix}_{k}": numbers[k] for k in KEYS}


def measure(folder: Path, steps: list[int], max_outcomes: int) -> dict[str, Any]:
    load = read_genius(folder)
    scenarios = load.scenarios
    figures: dict[str, Any] = {k: load.summary[k] for k in ("domains", "pairs", "skipped",
                                                            "skipped_reasons", "issues")}
    errors = list(load.summary["discretisation_error"].values())
    if errors:
        figures["discretisation_error_max"] = round(max(errors), 6)
        figures["discretisation_error_mean"] = round(sum(errors) / len(errors), 6)
    for strategy in ("values", "boulware"):
        started = time.perf_counter()
        ours = [run_ours(s, strategy) for s in scenarios]
        figures[f"valuesneg_{strategy}_seconds"] = round(time.perf_counter() - started, 1)
        figures.update(_figures(f"valuesneg_{strategy}", ours))
        common = [r for r, s in zip(ours, scenarios, strict=True)
                  if _outcomes(s) <= max_outcomes]
        figures.update(_figures(f"valuesneg_{strategy}_common", common))
    fits = [s for s in scenarios if _outcomes(s) <= max_outcomes]
    figures["negmas_left_out"] = len(scenarios) - len(fits)
    for n in steps:
        random.seed(0)  # NegMAS draws among equally good outcomes at random
        started = time.perf_counter()
        theirs = [run_negmas(s, n) for s in fits]
        figures[f"negmas_{n}_seconds"] = round(time.perf_counter() - started, 1)
        figures.update(_figures(f"negmas_{n}_steps", theirs))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, nargs="?")
    parser.add_argument("--generate", type=int, help="seeded synthetic domains instead")
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--steps", type=int, nargs="+", default=[20, 100])
    parser.add_argument("--max-outcomes", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.generate:
        with tempfile.TemporaryDirectory() as tmp:
            write_tree(Path(tmp), args.generate, args.seed)
            figures = measure(Path(tmp), args.steps, args.max_outcomes)
    elif args.folder is not None:
        figures = measure(args.folder, args.steps, args.max_outcomes)
    else:
        parser.error("give a folder or --generate N")
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
