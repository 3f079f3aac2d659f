"""The ``winwin`` suite: do value-revealing agents find the deals that are good for both?

Negotiations run on a corpus (by default the shipped CaSiNo training split; ``--dataset
casino:PATH``, ``dond:PATH``, ``genius:DIR``) or, with ``--dataset scenarios``, on the shipped
scenarios that divide divisible scope (``config.dataset`` None). Every metric is computed
on the original game's utilities (:class:`valuesneg.corpora.UtilitySpace`), and the same
metrics are computed on what the corpus's human negotiators recorded, so the two sit side by
side on the same dialogues.

Per negotiation (``NegotiationResult``), with ``u`` the parties' utilities of the outcome,
``d`` their no-deal utilities and ``best`` each party's largest utility in the space:

- *agreed*: the core's terminal outcome is ``agreement`` (a fallback or tier-break is the
  policy's default, not a deal, so it counts as no deal in every metric below);
- *joint efficiency*: ``sum(u) / best joint utility`` for a deal, 0 without one;
- *Pareto-optimal*: a deal that no outcome improves for one party without hurting another;
- *Nash distance*: the Euclidean distance, in normalised utility space (each party's utility
  divided by its ``best``, so every axis runs over [0, 1] when utilities are non-negative),
  between the result and the Nash bargaining point of the space (the product of gains over
  ``d``, maximised; :meth:`UtilitySpace.nash`). Without a deal the result is ``d``;
- *rounds*: the rounds the core counted when the outcome was reached;
- *violations blocked*: records the core refused during the negotiation (each re-asked);
- *IR violation*: a deal that gives some party less than its no-deal utility;
- *accepted opening*: a deal on the first offer, unchanged (an agent that accepts whatever
  it is offered first makes every negotiation one);
- *LLM decisions* and how many of them *diverged* from what the scripted values agent
  would have done in the same view (``valuesneg.agents.llm.Call.diverges``).

Suite metrics: ``n``; ``agreement_rate``; ``joint_efficiency_agreed`` (mean over deals);
``joint_efficiency_all`` (mean over all, no deal = 0); ``pareto_optimal_rate`` (share of all
negotiations ending in a Pareto-optimal deal); ``nash_distance`` (mean); ``mean_rounds``;
``violations_blocked`` (total); ``ir_violations`` (count); ``accepted_opening_rate``;
``choice_divergence`` (share of LLM decisions unlike the scripted values agent's; None
without LLM parties); ``first_option_rate`` (of the model's picks from a menu of two or
more options, the share that took the one listed first: options are shuffled, so a model
that always takes the first chooses at random, and this says so); plus
``lineages_verified`` and, under ``human``, the same keys for the corpus's recorded
results and the published figures for the corpus.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from valuesneg.agents.base import Agent
from valuesneg.agents.llm import LLMAgent, card_texts, describe_terminal_rules, llm_calls
from valuesneg.agents.models import ChatModel
from valuesneg.agents.strategies import strategy_agent, strategy_class
from valuesneg.core import Ledger, Request
from valuesneg.corpora import CorpusLoad, CorpusScenario, DivisionSpace, UtilitySpace, read_corpus
from valuesneg.io.files import UserError, write_atomic
from valuesneg.orchestration.driver import Driver
from valuesneg.orchestration.executors import parse_executor, run_jobs
from valuesneg.scenario import Scenario, load_scenario
from valuesneg.values.model import ValuesCard

from .base import EvalConfig, Plot, SuiteResult, progressing
from .common import SCENARIOS, chat_model, lineage_verifies, suite_config
from .winwin_plots import plots

Allocation = dict[str, dict[str, int]]

# Published figures for each corpus (quoted, not computed): evals/winwin/config.yaml.
PUBLISHED: dict[str, dict[str, Any]] = suite_config("winwin")["published"]
_NO_REPLY = "(reply)"  # the driver's marker for a model that gave no usable decision


# -- one negotiation -------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """A scenario to negotiate; ``shipped`` keeps a shipped scenario's agent wrappers."""

    scenario: CorpusScenario
    shipped: Scenario | None = None


@dataclass(frozen=True)
class Result:
    """What one negotiation (or one recorded human dialogue) came to, in the original game."""

    name: str
    agreed: bool
    utilities: dict[str, float]  # of the deal; the no-deal utilities without one
    disagreement: dict[str, float]  # each party's no-deal utility
    best_joint: float
    pareto: bool  # a Pareto-optimal deal
    nash_distance: float
    rounds: int | None = None
    violations: int = 0
    verified: bool | None = None
    terminal: str = ""
    accepted_opening: bool = False
    llm_decisions: int = 0
    llm_diverged: int = 0
    menu_picks: int = 0  # decisions the model made from a menu of two or more options
    first_picks: int = 0  # of those, how many took the option listed first

    @property
    def ir_violation(self) -> bool:
        """A deal in which some party gets less than its no-deal utility."""
        return self.agreed and any(u < d - 1e-9 for u, d in
                                   zip(self.utilities.values(), self.disagreement.values(),
                                       strict=True))

    @property
    def efficiency(self) -> float:
        """Joint utility / best joint utility for a deal; 0 without one."""
        if not self.agreed or self.best_joint <= 0:
            return 0.0
        return math.fsum(self.utilities.values()) / self.best_joint


def score(name: str, space: UtilitySpace, allocation: Allocation | None, **extra: Any
          ) -> Result:
    """The result of ``allocation`` (None: no deal) in ``space``."""
    agreed = allocation is not None
    utilities = space.utilities(allocation) if allocation is not None else space.disagreement()
    return Result(name=name, agreed=agreed, utilities=utilities,
                  disagreement=space.disagreement(), best_joint=space.best_joint(),
                  pareto=allocation is not None and space.pareto_optimal(allocation),
                  nash_distance=nash_distance(space, utilities), **extra)


def nash_distance(space: UtilitySpace, utilities: dict[str, float]) -> float:
    """Euclidean distance between ``utilities`` and the Nash point, each party's axis divided
    by its best utility in the space (an axis with best <= 0 is left unscaled)."""
    best, nash = space.best(), space.nash()
    return math.sqrt(math.fsum(
        ((utilities[p] - nash[p]) / (best[p] if best[p] > 0 else 1.0)) ** 2
        for p in space.parties))


def negotiate(case: Case, agents: dict[str, Agent]) -> tuple[Result, Ledger]:
    """Play one case to its outcome and measure it."""
    scenario = case.scenario
    driver = Driver(scenario.terms, agents, wind_down=False)  # the outcome is what we measure
    ledger = driver.run()
    outcome = ledger.negotiation.outcome
    assert outcome is not None  # run() returns only once there is one
    agreed = outcome.terminal == "agreement"
    violations = sum(1 for t in driver.turns for r in t.refusals if r["field"] != _NO_REPLY)
    first = next((r for r in ledger.records if isinstance(r, Request)), None)
    calls = [c for c in llm_calls(agents) if c.valid]
    result = score(scenario.name, scenario.space, outcome.allocation if agreed else None,
                   rounds=outcome.justification.rounds, violations=violations,
                   verified=lineage_verifies(ledger), terminal=outcome.terminal,
                   accepted_opening=agreed and first is not None
                   and first.proposal == outcome.allocation,
                   llm_decisions=len(calls), llm_diverged=sum(bool(c.diverges) for c in calls),
                   menu_picks=sum(len(c.options) > 1 for c in calls),
                   first_picks=sum(len(c.options) > 1 and c.chosen == "A" for c in calls))
    return result, ledger


# -- agents ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Cards:
    cards: tuple[ValuesCard, ...]  # what ``card_texts`` reads from a graph


def make_agents(case: Case, config: EvalConfig, model: ChatModel | None) -> dict[str, Agent]:
    """Scripted agents playing ``config.strategy``, or every party an LLM agent over
    ``model``; a shipped scenario keeps its declared waits and deliberation."""
    from valuesneg.agents.factory import llm_agents, with_dependencies

    terms = case.scenario.terms
    if case.shipped is not None:
        if model is not None:
            return llm_agents(case.shipped, model, guards={"*": config.guard})
        return with_dependencies(case.shipped, {p: strategy_agent(p, config.strategy)
                                                for p in terms.party_ids})
    if model is None:
        return {p: strategy_agent(p, config.strategy) for p in terms.party_ids}
    texts = card_texts(_Cards(case.scenario.cards))
    rules = describe_terminal_rules(terms.policy.terminal)
    return {p: LLMAgent(name=p, model=model, cards=texts, terminal_rules=rules,
                        guard="none" if config.guard == "none" else "sound")
            for p in terms.party_ids}


# -- the suite -------------------------------------------------------------------------------

def shipped_divisions(folder: Path = SCENARIOS) -> list[Case]:
    """Shipped scenarios in which every contested dimension is divisible."""
    cases = []
    for path in sorted(folder.glob("*.yaml")):
        scenario = load_scenario(path)
        terms = scenario.terms
        if all(terms.dimension(d).divisible for d in terms.contested):
            cases.append(Case(CorpusScenario(
                name=scenario.spec.scenario, corpus="scenario", source=str(path), terms=terms,
                space=DivisionSpace(terms), cards=scenario.graph.cards), shipped=scenario))
    return cases


def cases_for(config: EvalConfig, load: CorpusLoad | None = None) -> list[Case]:
    """The cases to run: ``load``'s scenarios (read from ``config.dataset`` if not given), or
    the shipped divisions without a dataset."""
    if config.dataset is None:
        cases = shipped_divisions()
    else:
        load = load or read_corpus(config.dataset.kind, config.dataset.path)
        cases = [Case(s) for s in load.scenarios]
    return cases if config.limit is None else cases[:config.limit]


def run(config: EvalConfig) -> SuiteResult:
    """The winwin suite: efficiency and fairness of the deals agents reach, against the people's
    recorded deals when the corpus has them."""
    if config.backend == "scripted":
        try:
            strategy_class(config.strategy)
        except UserError as error:
            raise UserError(f"--strategy: {error}") from None
    load = read_corpus(config.dataset.kind, config.dataset.path) if config.dataset else None
    cases = cases_for(config, load)
    executor = parse_executor(config.executor)
    with chat_model(config) as model:
        jobs = [Job(case, config, model) for case in cases]
        threads = 1 if config.backend == "scripted" else config.concurrency
        runs = list(progressing(run_jobs(executor, play, jobs, threads=threads), len(jobs),
                                label="winwin", progress=config.progress))
    _write_lineages(config.out / "lineages", runs)
    ours = [result for result, _ in runs]
    human = [score(c.scenario.name, c.scenario.space, c.scenario.recorded.allocation)
             for c in cases if c.scenario.recorded is not None]
    corpus = config.dataset.kind if config.dataset else "scenario"
    out = metrics(ours, human, corpus)
    if load is not None:
        out["dataset"] = load.summary  # what was read and skipped, and why
    return SuiteResult(metrics=out, plots=_plots(ours, human),
                       notes=[*(load.notes if load else ()), *notes(config, cases, ours, human)],
                       rows=rows(ours))


@dataclass(frozen=True)
class Job:
    """One negotiation, self-contained so that any executor can run it (see ``play``)."""

    case: Case
    config: EvalConfig
    model: ChatModel | None


def play(job: Job) -> tuple[Result, str]:
    """Run ``job``; its result and its lineage as text (a ledger stays where it was made)."""
    result, ledger = negotiate(job.case, make_agents(job.case, job.config, job.model))
    return result, "".join(e.line() + "\n" for e in ledger.entries)


def _write_lineages(folder: Path, runs: Sequence[tuple[Result, str]]) -> None:
    """Each negotiation's lineage, so a reviewer can ``valuesneg verify`` any of them."""
    for result, lineage in runs:
        write_atomic(folder / f"{result.name}.jsonl", lineage)


def summary(results: Sequence[Result]) -> dict[str, float | int | None]:
    """The suite's keys over ``results`` (None where nothing was measured)."""
    n = len(results)
    deals = [r for r in results if r.agreed]
    rounds = [r.rounds for r in results if r.rounds is not None]

    def mean(values: Sequence[float]) -> float | None:
        return round(statistics.fmean(values), 6) if values else None

    decided = sum(r.llm_decisions for r in results)
    return {
        "n": n,
        "agreement_rate": mean([float(r.agreed) for r in results]),
        "ir_violations": sum(r.ir_violation for r in results),
        "accepted_opening_rate": mean([float(r.accepted_opening) for r in results]),
        "choice_divergence": round(sum(r.llm_diverged for r in results) / decided, 6)
        if decided else None,
        "first_option_rate": _share(sum(r.first_picks for r in results),
                                    sum(r.menu_picks for r in results)),
        "joint_efficiency_agreed": mean([r.efficiency for r in deals]),
        "joint_efficiency_all": mean([r.efficiency for r in results]),
        "pareto_optimal_rate": mean([float(r.pareto) for r in results]),
        "nash_distance": mean([r.nash_distance for r in results]),
        "mean_rounds": mean([float(x) for x in rounds]),
        "violations_blocked": sum(r.violations for r in results),
    }


def _share(hits: int, total: int) -> float | None:
    return round(hits / total, 6) if total else None


def metrics(ours: Sequence[Result], human: Sequence[Result], corpus: str) -> dict[str, Any]:
    """The winwin figures for our deals, beside the same for the recorded human deals."""
    out: dict[str, Any] = dict(summary(ours))
    out["lineages_verified"] = sum(1 for r in ours if r.verified)
    out["terminals"] = {t: sum(1 for r in ours if r.terminal == t)
                        for t in sorted({r.terminal for r in ours})}
    recorded = summary(human) if human else None
    if recorded is not None:
        for key in ("mean_rounds", "violations_blocked", "accepted_opening_rate",
                    "choice_divergence", "first_option_rate"):
            recorded.pop(key)
    out["human"] = {"recorded": recorded, "published": PUBLISHED.get(corpus)}
    return out


def rows(results: Sequence[Result]) -> list[dict[str, Any]]:
    """One report row per negotiation."""
    return [{"name": r.name, "terminal": r.terminal, "agreed": r.agreed,
             "utilities": {p: round(u, 6) for p, u in r.utilities.items()},
             "joint_efficiency": round(r.efficiency, 6), "pareto_optimal": r.pareto,
             "nash_distance": round(r.nash_distance, 6), "rounds": r.rounds,
             "violations_blocked": r.violations, "lineage_verified": r.verified,
             "ir_violation": r.ir_violation, "accepted_opening": r.accepted_opening,
             "llm_decisions": r.llm_decisions, "llm_diverged": r.llm_diverged}
            for r in results]


def notes(config: EvalConfig, cases: Sequence[Case], ours: Sequence[Result],
          human: Sequence[Result]) -> list[str]:
    """The report's paragraphs: what was run on which corpus, by whom."""
    where = (f"{config.dataset.kind} corpus at {config.dataset.path}" if config.dataset
             else "the shipped scenarios that divide divisible scope")
    who = (f"scripted agents playing '{config.strategy}'" if config.backend == "scripted"
           else f"LLM agents on every side ({config.backend}"
                f"{', ' + config.model if config.model else ''})")
    out = [f"{len(ours)} negotiations on {where}, {who}; every metric is computed on the "
           "original game's utilities. A fallback or tier-break at the round cap is the "
           "policy's default, not a deal: it counts as no deal (efficiency 0, result at the "
           "no-deal point for the Nash distance)."]
    corpus = config.dataset.kind if config.dataset else None
    if corpus in PUBLISHED:
        out.append(f"Published human figures: {PUBLISHED[corpus]['source']}.")
    if human:
        recorded = summary(human)
        out.append(f"The corpus's own recorded human results on these same {len(human)} "
                   f"dialogues: agreement {recorded['agreement_rate']}, joint efficiency "
                   f"of agreed deals {recorded['joint_efficiency_agreed']}, over all "
                   f"{recorded['joint_efficiency_all']}, Pareto-optimal "
                   f"{recorded['pareto_optimal_rate']}.")
    inexact = sum(1 for c in cases if not c.scenario.exact)
    if inexact:
        out.append(f"{inexact} Genius scenario(s) have issues whose evaluations are not "
                   "evenly spaced: the agents negotiate on a linear approximation of them "
                   "(see valuesneg/corpora/genius.py); metrics use the profiles' own "
                   "utilities, and discount factors are not applied.")
    if config.limit is not None:
        out.append(f"--limit {config.limit}: only the first {len(cases)} scenarios ran.")
    return out


def _plots(ours: Sequence[Result], human: Sequence[Result]) -> list[Plot]:
    return plots([r.efficiency for r in ours if r.agreed],
                 [r.efficiency for r in human if r.agreed],
                 summary(ours), summary(human) if human else None)
