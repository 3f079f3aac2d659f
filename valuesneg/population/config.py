"""A population experiment's configuration: the pydantic model (its JSON Schema is the
published contract), and a loader whose every error is one line naming the file and field.

Relative paths inside a config (``moral_graph``, ``priorities``) are read from the config
file's folder; a bare name such as ``scarce_supplies`` is a moral graph shipped with the
project. The loader resolves both, so a run folder's ``config.json`` is self-contained.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from valuesneg.agents.scripted import STRATEGIES
from valuesneg.io.files import UserError
from valuesneg.scenario_terms import SHIPPED_GRAPHS

# Misreporting strategies (valuesneg.agents.adversarial), each over the honest "values" play.
MISREPORTS = ("inflate", "hide")
LLM = "llm"  # the LLM negotiator, speaking through the config's ``llm`` model
STRATEGY_NAMES = (*sorted(STRATEGIES), *MISREPORTS, LLM)
Signal = Literal["flags", "prediction", "grants"]
SIGNALS: tuple[Signal, ...] = ("flags", "prediction", "grants")
SHIPPED_CASINO = Path(__file__).resolve().parents[1] / "corpora" / "data" / "casino_train.json"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Credibility(_Strict):
    """Track records from public lineages; ``visible`` lets agents choose partners on them."""

    visible: bool = Field(True, description="agents pick partners by credibility (else "
                                            "pairing is random and records are kept unseen)")
    signals: tuple[Signal, ...] = Field(
        SIGNALS, description="what counts in the score: flags (the manipulation detectors "
                             "flagged it), prediction (it answered offers as the integrity "
                             "predictor expects from its revealed cards), grants (it owed no "
                             "acknowledgement; needs grants.wind_down)")


class Grants(_Strict):
    """What happens after an agreement."""

    wind_down: bool = Field(False, description="holders use their grants, time runs out and "
                                               "they acknowledge it (about twice the lineage "
                                               "and the time per encounter)")


class LLMSettings(_Strict):
    """The model the ``llm`` strategy speaks through."""

    backend: Literal["local", "openai"] = Field(
        "local", description="local: the embedded model; openai: an OpenAI-compatible "
                             "endpoint")
    model: str | None = Field(None, description="with openai: the model name")
    base_url: str | None = Field(None, description="with openai: the endpoint")
    guard: Literal["sound", "none"] = "sound"


class Learning(_Strict):
    """Adopting a partner's revealed card along a wiser-than edge of the moral graph."""

    enabled: bool = False
    rate: float = Field(0.5, ge=0.0, le=1.0,
                        description="chance an agent adopts a card it may adopt")


class Dynamics(_Strict):
    """How strategies spread between generations."""

    rule: Literal["none", "imitation", "replicator"] = "none"
    rate: float = Field(0.2, ge=0.0, le=1.0,
                        description="imitation: chance an agent compares itself with a random "
                                    "other; replicator: step size of the share update")


class PopulationConfig(_Strict):
    """A population experiment: how many agents over how many generations, the strategies and
    their initial shares, and how agents learn and carry credibility."""

    name: str = Field(min_length=1, max_length=80, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    agents: int = Field(ge=2, le=100_000)
    generations: int = Field(ge=1, le=100_000)
    encounters_per_agent: int = Field(1, ge=1, le=100,
                                      description="pairings per generation; each pairs every "
                                                  "agent once (one sits out when odd)")
    seed: int = Field(0, ge=0)
    strategies: dict[str, float] = Field(description="strategy name -> initial share")
    moral_graph: str = Field("scarce_supplies", description="a shipped graph's name or a path")
    context: str = Field("ctx:strangers-negotiating", pattern=r"^ctx:")
    cards_per_agent: int = Field(1, ge=1, le=5)
    priorities: str = Field("casino", description="'casino' (the shipped CaSiNo training "
                                                  "split) or a path to a CaSiNo JSON file")
    round_cap: int = Field(6, ge=1, le=50)
    credibility: Credibility = Credibility()
    grants: Grants = Grants()
    learning: Learning = Learning()
    dynamics: Dynamics = Dynamics()
    llm: LLMSettings = LLMSettings()

    @field_validator("strategies")
    @classmethod
    def _known_shares(cls, shares: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(shares) - set(STRATEGY_NAMES))
        if unknown:
            raise ValueError(f"unknown strategy {unknown[0]!r} (choose from "
                             f"{', '.join(STRATEGY_NAMES)})")
        if any(share < 0 for share in shares.values()) or sum(shares.values()) <= 0:
            raise ValueError("shares must be >= 0 and sum to more than 0")
        return dict(sorted(shares.items()))


def config_schema() -> dict[str, Any]:
    """The JSON Schema of a population config (``valuesneg population schema``)."""
    schema = PopulationConfig.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "valuesneg population experiment"
    return schema


def load_config(path: str | Path, **overrides: Any) -> PopulationConfig:
    """The config at ``path`` (YAML or JSON) with ``overrides`` (None ones ignored) applied
    and its paths resolved; any problem is a ``UserError`` naming the file and field."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read ({error})") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise UserError(f"{path}: not YAML or JSON{where}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: must be a mapping of settings")
    data = _arm(data, overrides.pop("arm", None), path)
    return config_from({**data, **{k: v for k, v in overrides.items() if v is not None}},
                       path)


def _arm(data: dict[str, Any], arm: str | None, path: Path) -> dict[str, Any]:
    """An experiment file is a config plus ``arms`` and ``measures``: one arm of it is a
    config (so any seed of an experiment can be re-run on its own)."""
    if "arms" not in data:
        if arm is not None:
            raise UserError(f"{path}: --arm {arm}: the file has no arms (not an experiment)")
        return data
    arms = data.get("arms")
    names = ", ".join(arms) if isinstance(arms, dict) else "none"
    if not isinstance(arms, dict) or arm not in arms:
        raise UserError(f"{path}: arms: an experiment file; choose an arm with --arm "
                        f"(one of: {names})")
    base = {k: v for k, v in data.items() if k not in ("arms", "measures")}
    return merged(base, arms[arm] or {})


def merged(base: Mapping[str, Any], change: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``change`` laid over it, mapping by mapping."""
    out = dict(base)
    for key, value in change.items():
        out[key] = merged(base[key], value) if isinstance(value, Mapping) and \
            isinstance(base.get(key), Mapping) else value
    return out


def config_from(data: Mapping[str, Any], path: Path) -> PopulationConfig:
    """A config from settings read from ``path``: validated, its paths resolved from there."""
    config = parse_config(data, path)
    return config.model_copy(update={
        "moral_graph": _graph_path(config.moral_graph, path),
        "priorities": _priorities_path(config.priorities, path)})


def parse_config(data: Mapping[str, Any], path: str | Path) -> PopulationConfig:
    """A population config from loaded data; the first error is one ``UserError`` naming the
    field."""
    try:
        return PopulationConfig.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(top level)"
        message = first["msg"].removeprefix("Value error, ")
        raise UserError(f"{path}: {field}: {message}") from None


def _graph_path(value: str, config: Path) -> str:
    """A shipped graph keeps its bare name, so a run folder's config.json is the same bytes
    wherever the project is installed; any other graph becomes an absolute path."""
    if "/" not in value and not value.endswith(".json"):
        if not shipped_file(value).exists():
            raise UserError(f"{config}: moral_graph: {value!r} is neither a shipped graph "
                            "nor a file")
        return value
    found = (config.parent / value).resolve()
    if not found.is_file():
        raise UserError(f"{config}: moral_graph: {value!r} is neither a shipped graph nor a "
                        "file")
    return str(found)


def _priorities_path(value: str, config: Path) -> str:
    if value == "casino":
        return value
    found = (config.parent / value).resolve()
    if not found.is_file():
        raise UserError(f"{config}: priorities: {value!r} is not 'casino' nor a file")
    return str(found)


def shipped_file(value: str) -> Path:
    """Where a config's ``moral_graph`` or ``priorities`` value is read from."""
    if value == "casino":
        return SHIPPED_CASINO
    return SHIPPED_GRAPHS / f"{value}.json" if "/" not in value else Path(value)


def config_json(config: PopulationConfig) -> str:
    """The canonical text a run folder keeps, so ``resume`` runs the very same experiment."""
    return json.dumps(config.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"
