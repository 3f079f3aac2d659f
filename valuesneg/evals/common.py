"""What the bypass, manipulation, integrity and margin suites share: their data folder,
scenario sets, agents per backend, one negotiation run with its lineage check, true
utilities and a seeded confidence interval."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from valuesneg.agents.base import Agent
from valuesneg.agents.factory import llm_agents, with_dependencies
from valuesneg.agents.models import ChatModel, ModelError
from valuesneg.agents.strategies import strategy_agent
from valuesneg.core import Ledger, LineageError, Outcome, ProtocolViolation, Terms, verify_lines
from valuesneg.core.settle import utility
from valuesneg.io.files import UserError
from valuesneg.orchestration.driver import Driver
from valuesneg.scenario import Scenario, load_scenario

from .base import EvalConfig

# Inside the package, so an installed wheel has them too: in a source checkout these are links
# to the top-level evals/ and moral_graphs/ folders (see pyproject's package-data).
PACKAGE = Path(__file__).resolve().parents[1]
EVALS = PACKAGE / "suites"
SCENARIOS = PACKAGE / "moral_graphs" / "scenarios"


def suite_config(suite: str) -> dict[str, Any]:
    """``evals/<suite>/config.yaml``: the suite's default set (scenarios, levels, seeds)."""
    data = yaml.safe_load((EVALS / suite / "config.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"evals/{suite}/config.yaml must be a mapping"
    return data


@cache
def scenario(name: str) -> Scenario:
    """A shipped scenario by file stem (``campsite_supplies``)."""
    return load_scenario(SCENARIOS / f"{name}.yaml")


def limited(items: Sequence[Any], limit: int | None) -> list[Any]:
    """The first ``limit`` items (all of them when ``limit`` is None)."""
    return list(items if limit is None else items[:limit])


# -- agents ----------------------------------------------------------------------------------

@contextmanager
def chat_model(config: EvalConfig, *, temperature: float = 0.0) -> Iterator[ChatModel | None]:
    """The model every LLM agent of a suite shares (one endpoint, used concurrently), or None
    with the scripted backend. The local server is started once and stopped on exit."""
    if config.backend == "scripted":
        yield None
        return
    try:
        if config.backend == "local":
            from valuesneg.agents.local_server import LocalModelServer, local_chat_model

            with LocalModelServer(log_dir=config.out / "server-logs") as server:
                yield local_chat_model(server, temperature=temperature, seed=config.seed)
            return
        from valuesneg.agents.openai_model import OpenAIChatModel

        yield OpenAIChatModel(model=config.model or "gpt-4o-mini", base_url=config.base_url,
                              seed=config.seed, temperature=temperature, structured="auto")
    except ModelError as error:  # unreachable endpoint, missing key: the user's to fix
        raise UserError(str(error)) from None


def agents_under_test(sc: Scenario, strategy: str, model: ChatModel | None,
                      strategies: Mapping[str, str] | None = None, guard: str | None = None
                      ) -> dict[str, Agent]:
    """Every party's agent: with an LLM backend the scenario's LLM parties speak through
    ``model``; with the scripted backend every party plays ``strategy`` unless
    ``strategies`` names another for it. The scenario's wrappers (waits, deliberation) apply."""
    if model is not None:
        return llm_agents(sc, model, guards={"*": guard} if guard else None)
    chosen = strategies or {}
    return with_dependencies(sc, {p: strategy_agent(p, chosen.get(p, strategy))
                                  for p in sc.terms.party_ids})


# -- one negotiation -------------------------------------------------------------------------

@dataclass(frozen=True)
class Run:
    """One negotiation: its ledger, whether its lineage verified, and any crash."""

    ledger: Ledger
    verified: bool
    crash: str | None  # "<ExceptionType>: message" for anything but a typed core refusal

    @property
    def outcome(self) -> Outcome | None:
        return self.ledger.negotiation.outcome

    def utility(self, party: str) -> float:
        """``party``'s true utility of the outcome (from the terms, never a stated profile)."""
        assert self.outcome is not None
        return utility(self.ledger.negotiation.terms, self.outcome.allocation, party)


def negotiate(terms: Terms, agents: Mapping[str, Agent], *, wind_down: bool = True,
              step: Callable[[Driver], bool] | None = None) -> Run:
    """Run to the outcome (or until ``step`` returns False before a turn) and verify the
    lineage by replay. A ``ProtocolViolation`` escaping the driver is the core refusing the
    driver itself, which the run records as a crash too: nothing should get that far."""
    driver = Driver(terms, agents, wind_down=wind_down)
    crash = None
    try:
        if step is None:
            driver.run()
        else:
            while driver.ledger.negotiation.outcome is None and step(driver):
                driver.turn()
    except Exception as error:  # the finding is that it happened, with its type
        crash = f"{type(error).__name__}: {error}"
    return Run(driver.ledger, lineage_verifies(driver.ledger), crash)


def lineage_verifies(ledger: Ledger) -> bool:
    """Whether the lineage replays through the core (outcome required once there is one)."""
    try:
        verify_lines([e.line() for e in ledger.entries],
                     require_outcome=ledger.negotiation.outcome is not None)
    except (LineageError, ProtocolViolation):
        return False
    return True


# -- statistics ------------------------------------------------------------------------------

BOOTSTRAP_RESAMPLES = 10_000


def mean_ci(values: Sequence[float], seed: int = 0, level: float = 0.95
            ) -> tuple[float, float, float]:
    """Mean and percentile-bootstrap confidence interval (``BOOTSTRAP_RESAMPLES`` resamples
    drawn with ``random.Random(seed)``, so the interval is reproducible). Bootstrap rather
    than t: utility gains are discrete and mostly zero, far from normal."""
    if not values:
        raise ValueError("no values")
    n = len(values)
    mean = sum(values) / n
    draw = random.Random(seed)
    means = sorted(sum(draw.choices(values, k=n)) / n for _ in range(BOOTSTRAP_RESAMPLES))
    tail = (1 - level) / 2
    low = means[int(tail * BOOTSTRAP_RESAMPLES)]
    high = means[min(BOOTSTRAP_RESAMPLES - 1, int((1 - tail) * BOOTSTRAP_RESAMPLES))]
    return mean, low, high


def rate(hits: int, total: int) -> float | None:
    """hits / total, or None when nothing was measured (never a misleading 0 or 1)."""
    return hits / total if total else None
