"""Reading Genius XML: domains (issues and their values) and additive preference profiles.

Three kinds of issue (``vtype``, else ``type``; ``discrete`` when neither is given):

- *discrete*: ``<item value=...>`` children; a profile gives each item an ``evaluation``,
  and the issue's utility is ``evaluation / max evaluation of the issue``.
- *integer*: ``lowerbound`` .. ``upperbound`` (attributes of the issue or of a ``<range>``
  child); every integer of the range is a value. A profile gives ``<evaluator
  ftype="linear" slope=... offset=...>`` and the utility of ``x`` is ``offset + slope x
  (x - lowerbound)``, not re-normalised: that is how the ANAC files are written (KillerRobot's
  ``slope="0.1" offset="0.1"`` over 1..10 runs from 0.1 to exactly 1).
- *real*: a range the same way, with the same linear evaluator. The range is discretised into
  ``REAL_INTERVALS`` equal steps (its ``REAL_INTERVALS + 1`` grid points are the values).
  Every point of the range lies within half a step of a grid point, so each party's utility
  of any outcome is within ``sum over real issues of weight x |slope| x step / 2`` of that of
  an outcome on the grid: :attr:`GeniusProfile.discretisation_error`, reported per domain.

Profiles whose utility is not additive (ANAC 2014's ``<utility_space type="nonlinear">``
with hyper-rectangle constraints) and evaluators other than linear are refused with a
reason; so is anything malformed, naming the file and element.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from .base import CorpusError

REAL_INTERVALS = 10  # a real issue's range becomes this many equal steps
MAX_VALUES = 100_000  # values of one integer issue: each is a unit the agents may move
NUMERIC = ("integer", "real")


@dataclass(frozen=True)
class GeniusIssue:
    """One issue of a Genius domain: its values (labels, or a numeric issue's points)."""

    name: str
    values: tuple[str, ...]  # labels; for a numeric issue, its points in rising order
    kind: str = "discrete"  # "discrete", "integer" or "real"
    points: tuple[float, ...] = ()  # a numeric issue's values as numbers

    @property
    def step(self) -> float:
        """Distance between neighbouring points of a real issue (0 otherwise)."""
        return self.points[1] - self.points[0] if self.kind == "real" and len(
            self.points) > 1 else 0.0


@dataclass(frozen=True)
class GeniusDomain:
    """A Genius domain file: its name, path and issues."""

    name: str  # the domain file's path under the folder read, without ".xml"
    path: Path
    issues: tuple[GeniusIssue, ...]

    def outcome_count(self) -> int:
        return math.prod(len(i.values) for i in self.issues)


@dataclass(frozen=True)
class Linear:
    """A numeric issue's evaluator: ``offset + slope x (x - lowerbound)``."""

    slope: float
    offset: float


@dataclass(frozen=True)
class RawProfile:
    """A profile as written, before it is matched to a domain's values."""

    name: str
    path: Path
    weights: dict[str, float]  # issue -> weight
    items: dict[str, dict[str, float]]  # discrete issue -> value -> evaluation
    linear: dict[str, Linear]  # numeric issue -> evaluator
    reservation: float = 0.0
    discount: float = 1.0

    @property
    def issue_names(self) -> set[str]:
        return set(self.weights)


@dataclass(frozen=True)
class GeniusProfile:
    """One party's additive utility profile over a domain: issue weights, value evaluations,
    reservation value and discount."""

    name: str
    path: Path
    weights: dict[str, float]  # issue -> weight
    evaluations: dict[str, dict[str, float]]  # issue -> value -> evaluation
    reservation: float = 0.0
    discount: float = 1.0
    scales: dict[str, float] | None = None  # issue -> divisor (default: max evaluation)
    discretisation_error: float = 0.0  # bound on the utility lost to real-issue grids

    def normalised(self, issue: str, value: str) -> float:
        """evaluation(value) / the issue's scale (0 when the scale is 0): the max evaluation
        for a discrete issue, 1 for a numeric one."""
        scale = (self.scales or {}).get(issue)
        top = max(self.evaluations[issue].values()) if scale is None else scale
        return self.evaluations[issue][value] / top if top > 0 else 0.0

    def utility(self, outcome: Mapping[str, str]) -> float:
        """Utility of an outcome (issue -> value), undiscounted."""
        return round(math.fsum(self.weights[i] * self.normalised(i, v)
                               for i, v in outcome.items()), 9)


# -- parsing ---------------------------------------------------------------------------------

def parse(path: Path) -> Any:
    """An XML file's root element, parsed safely (defusedxml); malformed or hostile XML is a
    ``CorpusError``."""
    try:
        return SafeET.parse(path).getroot()
    except SafeET.ParseError as error:
        line, column = error.position
        raise CorpusError(f"not well-formed XML ({error})", path=path,
                          where=f"line {line}, column {column}") from None
    except DefusedXmlException as error:
        raise CorpusError(f"refused unsafe XML ({type(error).__name__})", path=path) from None
    except OSError as error:
        raise CorpusError(f"cannot read ({error})", path=path) from None


def _attr(element: Any, name: str, path: Path, where: str) -> str:
    value = element.get(name)
    if value is None or not value.strip():
        raise CorpusError(f"<{element.tag}> has no {name!r} attribute", path=path, where=where)
    return str(value).strip()


def _number(element: Any, name: str, path: Path, where: str) -> float:
    text = _attr(element, name, path, where)
    try:
        value = float(text)
    except ValueError:
        raise CorpusError(f"{name}={text!r} is not a number", path=path, where=where) from None
    if not math.isfinite(value):
        raise CorpusError(f"{name}={text!r} is not a finite number", path=path, where=where)
    return value


def _kind(issue: Any, name: str, path: Path, where: str) -> str:
    kind = (issue.get("vtype") or issue.get("type") or "discrete").strip()
    if kind not in ("discrete", *NUMERIC):
        raise CorpusError(f"issue {name!r} is of type {kind!r}; Genius issues are discrete, "
                          "integer or real", path=path, where=where)
    return kind


def _issues(root: Any, path: Path) -> list[tuple[Any, str, str, str]]:
    """(element, index, name, kind) of every issue."""
    found = []
    for n, issue in enumerate(root.iter("issue")):
        where = f"issue[{n}]"
        name = _attr(issue, "name", path, where)
        found.append((issue, (issue.get("index") or str(n + 1)).strip(), name,
                      _kind(issue, name, path, where)))
    if not found:
        raise CorpusError("no <issue> elements", path=path)
    return found


def _bounds(issue: Any, name: str, path: Path) -> tuple[float, float]:
    where = f"issue {name!r}"
    holder = issue if issue.get("lowerbound") is not None else issue.find("range")
    if holder is None:
        raise CorpusError("a numeric issue needs lowerbound and upperbound", path=path,
                          where=where)
    low, high = (_number(holder, b, path, where) for b in ("lowerbound", "upperbound"))
    if high < low:
        raise CorpusError(f"upperbound {high:g} is below lowerbound {low:g}", path=path,
                          where=where)
    return low, high


def _numeric_issue(issue: Any, name: str, kind: str, path: Path) -> GeniusIssue:
    low, high = _bounds(issue, name, path)
    if kind == "integer":
        if low != int(low) or high != int(high):
            raise CorpusError(f"integer bounds {low:g}..{high:g} are not integers", path=path,
                              where=f"issue {name!r}")
        if high - low + 1 > MAX_VALUES:
            raise CorpusError(f"{int(high - low + 1)} values; at most {MAX_VALUES} per issue",
                              path=path, where=f"issue {name!r}")
        points = tuple(float(x) for x in range(int(low), int(high) + 1))
        return GeniusIssue(name, tuple(str(int(x)) for x in points), kind, points)
    steps = REAL_INTERVALS if high > low else 0
    points = tuple(low + (high - low) * k / REAL_INTERVALS for k in range(steps + 1))
    return GeniusIssue(name, tuple(f"{x:.12g}" for x in points), kind, points)


def parse_domain(path: Path, root: Any, name: str | None = None) -> GeniusDomain:
    """A Genius domain from its XML root."""
    issues = []
    for issue, _, label, kind in _issues(root, path):
        if kind in NUMERIC:
            issues.append(_numeric_issue(issue, label, kind, path))
            continue
        values = tuple(_attr(item, "value", path, f"issue {label!r} item[{n}]")
                       for n, item in enumerate(issue.iter("item")))
        if not values:
            raise CorpusError(f"issue {label!r} has no <item> values", path=path,
                              where=f"issue {label!r}")
        if len(set(values)) != len(values):
            raise CorpusError(f"issue {label!r} repeats a value", path=path,
                              where=f"issue {label!r}")
        issues.append(GeniusIssue(name=label, values=values))
    if len({i.name for i in issues}) != len(issues):
        raise CorpusError("two issues share a name", path=path)
    return GeniusDomain(name=name or path.stem, path=path, issues=tuple(issues))


def _linear(issue: Any, name: str, path: Path) -> Linear:
    where = f"issue {name!r} <evaluator>"
    evaluator = issue.find("evaluator")
    if evaluator is None:
        raise CorpusError(f"numeric issue {name!r} has no <evaluator>", path=path,
                          where=f"issue {name!r}")
    ftype = (evaluator.get("ftype") or "").strip()
    if ftype != "linear":
        raise CorpusError(f"evaluator ftype={ftype!r}; only linear evaluators are supported",
                          path=path, where=where)
    slope = "slope" if evaluator.get("slope") is not None else "parameter1"
    offset = "offset" if evaluator.get("offset") is not None else "parameter0"
    return Linear(slope=_number(evaluator, slope, path, where),
                  offset=_number(evaluator, offset, path, where))


def parse_profile(path: Path, root: Any) -> RawProfile:
    """A Genius utility profile from its XML root; nonlinear (hyper-rectangle) spaces are
    refused."""
    if (root.get("type") or "").strip() == "nonlinear" or root.find(".//hyperRectangle") \
            is not None:
        raise CorpusError("nonlinear utility space (hyper-rectangle constraints); only "
                          "additive profiles are supported", path=path)
    weights_by_index = {}
    for n, weight in enumerate(root.iter("weight")):
        where = f"weight[{n}]"
        weights_by_index[_attr(weight, "index", path, where)] = _number(weight, "value", path,
                                                                         where)
    weights: dict[str, float] = {}
    items: dict[str, dict[str, float]] = {}
    linear: dict[str, Linear] = {}
    for issue, index, name, kind in _issues(root, path):
        if index not in weights_by_index:
            raise CorpusError(f"no <weight index=\"{index}\"> for issue {name!r}", path=path,
                              where=f"issue {name!r}")
        weights[name] = weights_by_index[index]
        if kind in NUMERIC:
            linear[name] = _linear(issue, name, path)
        else:
            items[name] = _items(issue, name, path)
    return RawProfile(name=path.stem, path=path, weights=weights, items=items, linear=linear,
                      reservation=_optional(root, "reservation", 0.0, path),
                      discount=_optional(root, "discount_factor", 1.0, path))


def _items(issue: Any, name: str, path: Path) -> dict[str, float]:
    scores: dict[str, float] = {}
    for n, item in enumerate(issue.iter("item")):
        where = f"issue {name!r} item[{n}]"
        value = _attr(item, "value", path, where)
        score = _number(item, "evaluation", path, f"{where} (value {value!r})")
        if score < 0:
            raise CorpusError(f"evaluation of {value!r} is negative", path=path, where=where)
        scores[value] = score
    return scores


def _optional(root: Any, tag: str, default: float, path: Path) -> float:
    element = root.find(f".//{tag}")
    return default if element is None else _number(element, "value", path, f"<{tag}>")


# -- a profile on a domain -------------------------------------------------------------------

def fit(domain: GeniusDomain, raw: RawProfile) -> GeniusProfile:
    """``raw`` evaluated at every value of ``domain`` (whose issue names it lists)."""
    evaluations: dict[str, dict[str, float]] = {}
    scales: dict[str, float] = {}
    error = 0.0
    for issue in domain.issues:
        where = f"issue {issue.name!r}"
        if (issue.kind == "discrete") != (issue.name in raw.items):
            raise CorpusError(f"issue {issue.name!r} is {issue.kind} in domain "
                              f"{domain.path.name} but not in this profile", path=raw.path,
                              where=where)
        if issue.kind == "discrete":
            scores = raw.items[issue.name]
            missing = [v for v in issue.values if v not in scores]
            if missing:
                raise CorpusError(f"issue {issue.name!r}: no evaluation for value "
                                  f"{missing[0]!r} of domain {domain.path.name}",
                                  path=raw.path, where=where)
            evaluations[issue.name] = {v: scores[v] for v in issue.values}
            continue
        line = raw.linear[issue.name]
        low = issue.points[0]
        evaluations[issue.name] = {v: line.offset + line.slope * (x - low)
                                   for v, x in zip(issue.values, issue.points, strict=True)}
        scales[issue.name] = 1.0
        error += abs(raw.weights[issue.name] * line.slope) * issue.step / 2
    return GeniusProfile(name=raw.name, path=raw.path, weights=dict(raw.weights),
                         evaluations=evaluations, reservation=raw.reservation,
                         discount=raw.discount, scales=scales,
                         discretisation_error=round(error, 9))
