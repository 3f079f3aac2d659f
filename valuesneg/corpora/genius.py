"""Import Genius / ANAC negotiation domains: a domain XML and preference profile XMLs.

See ``formats/genius-xml.md``. A domain lists issues and their discrete values; a profile
gives a weight per issue and an evaluation per value, and may declare a reservation value
(the utility of no agreement) and a discount factor. The utility of an outcome (one value
per issue) is ``sum over issues of weight x evaluation(value) / max evaluation of that
issue``, exactly as the format says (weights are not re-normalised).

``load_genius(DIR)`` reads a folder holding one or more domains and their profiles (or a
folder of such folders). A profile belongs to the domain whose issue names it lists; every
pair of profiles of a domain becomes one scenario, ``p1`` the profile whose file name sorts
first.

How a choice becomes a division. The protocol core divides integer units with linear
utilities; a Genius issue is a choice of one value. An issue with ``k`` values becomes a
dimension of ``k - 1`` units: its values are ordered from ``p1``'s least to most preferred
(ties: ``p2``'s most preferred first), and ``p1`` holding ``u`` units means the issue takes
the ``u``-th value of that order. Each party's per-unit weight is the slope between the two
ends of the order, and its reservation is shifted by the constant the ends leave over, so
the terms' utilities equal the profile's whenever its evaluations are evenly spaced along
the order (always for two-valued issues); ``CorpusScenario.exact`` says whether they are.
Metrics are always computed on the profiles' own utilities (:class:`GeniusSpace`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from valuesneg.values.ids import allocate_slugs, slugify

from .base import CorpusError, CorpusScenario, PartySpec, division_terms, issue_cards

PARTIES = ("p1", "p2")
MAX_OUTCOMES = 500_000  # metrics enumerate the outcome space
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class GeniusIssue:
    name: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class GeniusDomain:
    name: str
    path: Path
    issues: tuple[GeniusIssue, ...]

    def outcome_count(self) -> int:
        return math.prod(len(i.values) for i in self.issues)


@dataclass(frozen=True)
class GeniusProfile:
    name: str
    path: Path
    weights: dict[str, float]  # issue -> weight
    evaluations: dict[str, dict[str, float]]  # issue -> value -> evaluation
    reservation: float = 0.0
    discount: float = 1.0

    def normalised(self, issue: str, value: str) -> float:
        """evaluation(value) / max evaluation of the issue (0 when every evaluation is 0)."""
        top = max(self.evaluations[issue].values())
        return self.evaluations[issue][value] / top if top > 0 else 0.0

    def utility(self, outcome: Mapping[str, str]) -> float:
        """Utility of an outcome (issue -> value), undiscounted."""
        return round(math.fsum(self.weights[i] * self.normalised(i, v)
                               for i, v in outcome.items()), 9)


# -- reading XML -----------------------------------------------------------------------------

def _parse(path: Path) -> Any:
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


def _issues(root: Any, path: Path) -> list[tuple[Any, str, str]]:
    """(element, index, name) of every issue, discrete ones only."""
    found = []
    for n, issue in enumerate(root.iter("issue")):
        where = f"issue[{n}]"
        name = _attr(issue, "name", path, where)
        kind = (issue.get("vtype") or issue.get("type") or "discrete").strip()
        if kind != "discrete":
            raise CorpusError(f"issue {name!r} is of type {kind!r}; only discrete issues are "
                              "supported", path=path, where=where)
        found.append((issue, (issue.get("index") or str(n + 1)).strip(), name))
    if not found:
        raise CorpusError("no <issue> elements", path=path)
    return found


def parse_domain(path: Path, root: Any) -> GeniusDomain:
    issues = []
    for issue, _, name in _issues(root, path):
        values = tuple(_attr(item, "value", path, f"issue {name!r} item[{n}]")
                       for n, item in enumerate(issue.iter("item")))
        if not values:
            raise CorpusError(f"issue {name!r} has no <item> values", path=path,
                              where=f"issue {name!r}")
        if len(set(values)) != len(values):
            raise CorpusError(f"issue {name!r} repeats a value", path=path,
                              where=f"issue {name!r}")
        issues.append(GeniusIssue(name=name, values=values))
    if len({i.name for i in issues}) != len(issues):
        raise CorpusError("two issues share a name", path=path)
    return GeniusDomain(name=path.stem, path=path, issues=tuple(issues))


def parse_profile(path: Path, root: Any) -> GeniusProfile:
    weights_by_index = {}
    for n, weight in enumerate(root.iter("weight")):
        where = f"weight[{n}]"
        weights_by_index[_attr(weight, "index", path, where)] = _number(weight, "value", path,
                                                                         where)
    weights: dict[str, float] = {}
    evaluations: dict[str, dict[str, float]] = {}
    for issue, index, name in _issues(root, path):
        if index not in weights_by_index:
            raise CorpusError(f"no <weight index=\"{index}\"> for issue {name!r}", path=path,
                              where=f"issue {name!r}")
        weights[name] = weights_by_index[index]
        evaluations[name] = {}
        for n, item in enumerate(issue.iter("item")):
            where = f"issue {name!r} item[{n}]"
            value = _attr(item, "value", path, where)
            score = _number(item, "evaluation", path, f"{where} (value {value!r})")
            if score < 0:
                raise CorpusError(f"evaluation of {value!r} is negative", path=path, where=where)
            evaluations[name][value] = score
    return GeniusProfile(name=path.stem, path=path, weights=weights, evaluations=evaluations,
                         reservation=_optional(root, "reservation", 0.0, path),
                         discount=_optional(root, "discount_factor", 1.0, path))


def _optional(root: Any, tag: str, default: float, path: Path) -> float:
    element = root.find(f".//{tag}")
    return default if element is None else _number(element, "value", path, f"<{tag}>")


def _check_fits(domain: GeniusDomain, profile: GeniusProfile) -> None:
    for issue in domain.issues:
        missing = [v for v in issue.values if v not in profile.evaluations[issue.name]]
        if missing:
            raise CorpusError(f"issue {issue.name!r}: no evaluation for value {missing[0]!r} of "
                              f"domain {domain.path.name}", path=profile.path,
                              where=f"issue {issue.name!r}")


# -- the outcome space -----------------------------------------------------------------------

@dataclass(frozen=True)
class Codec:
    """How one issue's values sit on its dimension: p1 holding u units means values[u]."""

    issue: str
    dimension: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class GeniusSpace:
    """The profiles' own utilities over every outcome of the domain."""

    domain: GeniusDomain
    profiles: tuple[GeniusProfile, GeniusProfile]
    codecs: tuple[Codec, ...]
    parties: tuple[str, ...] = PARTIES

    def outcome(self, allocation: Mapping[str, Mapping[str, int]]) -> dict[str, str]:
        """The outcome (issue -> value) an allocation of the terms' dimensions stands for."""
        chosen = {i.name: i.values[0] for i in self.domain.issues}  # single-valued issues
        for codec in self.codecs:
            chosen[codec.issue] = codec.values[int(allocation[codec.dimension][PARTIES[0]])]
        return chosen

    def utilities(self, allocation: Mapping[str, Mapping[str, int]]) -> dict[str, float]:
        outcome = self.outcome(allocation)
        return {p: prof.utility(outcome) for p, prof in zip(PARTIES, self.profiles, strict=True)}

    def disagreement(self) -> dict[str, float]:
        return {p: prof.reservation for p, prof in zip(PARTIES, self.profiles, strict=True)}

    @cached_property
    def vectors(self) -> list[tuple[float, float]]:
        """Both utilities of every outcome, in the domain's order."""
        names = [i.name for i in self.domain.issues]
        a, b = self.profiles
        return [(a.utility(dict(zip(names, values, strict=True))),
                 b.utility(dict(zip(names, values, strict=True))))
                for values in itertools.product(*(i.values for i in self.domain.issues))]

    @cached_property
    def frontier(self) -> list[tuple[float, float]]:
        """The Pareto frontier: by p1's utility descending, p2's strictly rising."""
        best_b = -math.inf
        kept = []
        for vector in sorted(set(self.vectors), key=lambda v: (-v[0], -v[1])):
            if vector[1] > best_b + _TOLERANCE:
                kept.append(vector)
                best_b = vector[1]
        return kept

    def best(self) -> dict[str, float]:
        return {p: max(v[i] for v in self.vectors) for i, p in enumerate(PARTIES)}

    def best_joint(self) -> float:
        return round(max(a + b for a, b in self.vectors), 9)

    def nash(self) -> dict[str, float]:
        """Maximise the product of gains over the reservations among outcomes both strictly
        prefer to no deal; else the largest sum that leaves no one below it; else no deal."""
        ra, rb = self.profiles[0].reservation, self.profiles[1].reservation
        gaining = [v for v in self.frontier if v[0] > ra and v[1] > rb]
        if gaining:
            point = max(gaining, key=lambda v: (v[0] - ra) * (v[1] - rb))
        else:
            fair = [v for v in self.frontier if v[0] >= ra and v[1] >= rb]
            point = max(fair, key=sum) if fair else (ra, rb)
        return dict(zip(PARTIES, point, strict=True))

    def pareto_optimal(self, allocation: Mapping[str, Mapping[str, int]]) -> bool:
        ua, ub = self.utilities(allocation).values()
        return not any(a >= ua - _TOLERANCE and b >= ub - _TOLERANCE
                       and (a > ua + _TOLERANCE or b > ub + _TOLERANCE)
                       for a, b in self.frontier)


# -- scenarios -------------------------------------------------------------------------------

def load_genius(folder: str | Path) -> list[CorpusScenario]:
    """Every pair of profiles of every domain under ``folder``, as scenarios."""
    root = Path(folder)
    if not root.is_dir():
        raise CorpusError("genius:DIR must be a folder of domain and profile XML files",
                          path=root)
    folders = [root, *sorted(p for p in root.iterdir() if p.is_dir())]
    scenarios = [s for f in folders for s in _folder_scenarios(f)]
    if not scenarios:
        raise CorpusError("no Genius domain with at least two profiles found", path=root)
    return scenarios


def _folder_scenarios(folder: Path) -> list[CorpusScenario]:
    domains, profiles = [], []
    for path in sorted(folder.glob("*.xml")):
        root = _parse(path)
        if root.tag == "negotiation_template":
            domains.append(parse_domain(path, root))
        elif root.tag == "utility_space":
            profiles.append(parse_profile(path, root))
    scenarios = []
    for domain in domains:
        names = {i.name for i in domain.issues}
        mine = [p for p in profiles if set(p.weights) == names]
        for profile in mine:
            _check_fits(domain, profile)
        scenarios += [genius_scenario(domain, a, b) for a, b in itertools.combinations(mine, 2)]
    return scenarios


def genius_scenario(domain: GeniusDomain, a: GeniusProfile, b: GeniusProfile
                    ) -> CorpusScenario:
    if domain.outcome_count() > MAX_OUTCOMES:
        raise CorpusError(f"{domain.outcome_count()} outcomes; metrics enumerate at most "
                          f"{MAX_OUTCOMES}", path=domain.path)
    contested = [i for i in domain.issues if len(i.values) > 1]
    slugs = allocate_slugs([i.name for i in contested], max_length=40)
    codecs = tuple(Codec(issue=i.name, dimension=f"dim:{slugs[i.name]}",
                         values=_order(i, a, b)) for i in contested)
    if not codecs:
        raise CorpusError("every issue has a single value: nothing to negotiate",
                          path=domain.path)
    units = {c.dimension: len(c.values) - 1 for c in codecs}
    labels = {c.dimension: c.issue for c in codecs}
    parties = [_party(PARTIES[0], a, codecs, domain, labels, low_end=0),
               _party(PARTIES[1], b, codecs, domain, labels, low_end=-1)]
    name = "-".join(("genius", slugify(domain.name, max_length=24),
                     slugify(a.name, max_length=16), slugify(b.name, max_length=16)))
    terms = division_terms(f"neg:{name}"[:64].rstrip("-"), "genius", units, parties)
    return CorpusScenario(
        name=name, corpus="genius", source=f"{domain.path} + {a.path.name} + {b.path.name}",
        terms=terms, space=GeniusSpace(domain, (a, b), codecs),
        cards=tuple(c for p in parties for c in p.cards), issues=labels,
        exact=all(_even(c, prof) for c in codecs for prof in (a, b)))


def _order(issue: GeniusIssue, a: GeniusProfile, b: GeniusProfile) -> tuple[str, ...]:
    return tuple(sorted(issue.values, key=lambda v: (a.normalised(issue.name, v),
                                                     -b.normalised(issue.name, v))))


def _party(party: str, profile: GeniusProfile, codecs: tuple[Codec, ...],
           domain: GeniusDomain, labels: dict[str, str], *, low_end: int) -> PartySpec:
    """Per-unit slopes between the ends of each order; the reservation shifted by what the
    party gets with no units at all (``low_end``: p1 then has values[0], p2 values[-1])."""
    weights, base = {}, 0.0
    for codec in codecs:
        w, ends = profile.weights[codec.issue], codec.values
        first, last = profile.normalised(codec.issue, ends[0]), profile.normalised(
            codec.issue, ends[-1])
        rise = last - first if low_end == 0 else first - last
        weights[codec.dimension] = round(w * rise / (len(ends) - 1), 9)
        base += w * profile.normalised(codec.issue, ends[low_end])
    for issue in domain.issues:
        if len(issue.values) == 1:
            base += profile.weights[issue.name] * profile.normalised(issue.name, issue.values[0])
    return PartySpec(id=party, weights=weights, reservation=round(profile.reservation - base, 9),
                     cards=issue_cards("genius", domain.name, party, labels, weights,
                                       unit="utility point"))


def _even(codec: Codec, profile: GeniusProfile) -> bool:
    """The profile's evaluations are evenly spaced along the codec's order (linear)."""
    points = [profile.normalised(codec.issue, v) for v in codec.values]
    steps = [b - a for a, b in itertools.pairwise(points)]
    return all(abs(s - steps[0]) <= _TOLERANCE for s in steps)
