"""Import Genius / ANAC negotiation domains: a domain XML and preference profile XMLs.

See ``formats/genius-xml.md`` and :mod:`valuesneg.corpora.genius_xml` for what is read
(discrete, integer and real issues; real ranges on a documented grid). The utility of an
outcome (one value per issue) is ``sum over issues of weight x evaluation(value) / scale of
that issue`` (weights are not re-normalised).

``read_genius(DIR)`` reads a folder tree (the ANAC collection nests domains in year
folders): every folder at any depth holding a domain and its profiles. A profile belongs to
the domain of its folder whose issue names it lists; every pair of profiles of a domain
becomes one scenario, ``p1`` the profile whose file name sorts first. A domain is named by
its file's path under ``DIR``. Whatever cannot be used (a malformed or non-additive profile,
a domain with fewer than two usable profiles, a file that is not Genius XML) is skipped and
reported with its reason; only a tree with nothing usable at all is an error.

How a choice becomes a division. The protocol core divides integer units with linear
utilities; a Genius issue is a choice of one value. A value of an issue that another value
of it beats for both profiles is in no Pareto-optimal outcome, so only the others are kept
(all of them when one outcome is best for both: the parties still have to find it); an issue
with ``k`` values kept becomes a dimension of ``k - 1`` units (an issue with one, a fixed
value): its values are ordered from ``p1``'s least to most preferred, which is ``p2``'s most
to least, and ``p1`` holding ``u`` units means the issue takes the ``u``-th value of that
order. Each party's per-unit weight is the slope between the two
ends of the order, and its reservation is shifted by the constant the ends leave over, so
the terms' utilities equal the profile's whenever its evaluations are evenly spaced along
the order (always for two-valued issues and for integer and real issues, whose evaluators
are linear); ``CorpusScenario.exact`` says whether they are. Metrics are always computed on
the profiles' own utilities (:class:`GeniusSpace`), whose Pareto frontier is computed
exactly without enumerating the outcomes (see :func:`pareto_sum`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

from valuesneg.values.ids import allocate_slugs, slugify

from .base import CorpusError, CorpusLoad, CorpusScenario, PartySpec, division_terms, issue_cards
from .genius_xml import (
    REAL_INTERVALS,
    GeniusDomain,
    GeniusIssue,
    GeniusProfile,
    RawProfile,
    fit,
    parse,
    parse_domain,
    parse_profile,
)

PARTIES = ("p1", "p2")
_TOLERANCE = 1e-9
Vector = tuple[float, float]


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
    fixed: tuple[tuple[str, str], ...] = ()  # (issue, value) of issues left with one value
    parties: tuple[str, ...] = PARTIES

    def outcome(self, allocation: Mapping[str, Mapping[str, int]]) -> dict[str, str]:
        """The outcome (issue -> value) an allocation of the terms' dimensions stands for."""
        chosen = dict(self.fixed)
        for codec in self.codecs:
            chosen[codec.issue] = codec.values[int(allocation[codec.dimension][PARTIES[0]])]
        return chosen

    def utilities(self, allocation: Mapping[str, Mapping[str, int]]) -> dict[str, float]:
        outcome = self.outcome(allocation)
        return {p: prof.utility(outcome) for p, prof in zip(PARTIES, self.profiles, strict=True)}

    def disagreement(self) -> dict[str, float]:
        return {p: prof.reservation for p, prof in zip(PARTIES, self.profiles, strict=True)}

    @cached_property
    def frontier(self) -> list[Vector]:
        """The Pareto frontier: by p1's utility descending, p2's strictly rising."""
        a, b = self.profiles
        return pareto_sum([[(a.weights[i.name] * a.normalised(i.name, v),
                             b.weights[i.name] * b.normalised(i.name, v)) for v in i.values]
                           for i in self.domain.issues])

    def best(self) -> dict[str, float]:
        # The frontier runs from p1's best (first) to p2's best (last).
        return {PARTIES[0]: self.frontier[0][0], PARTIES[1]: self.frontier[-1][1]}

    def best_joint(self) -> float:
        return round(max(a + b for a, b in self.frontier), 9)

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
        return self.undominated(self.utilities(allocation))

    def undominated(self, utilities: Mapping[str, float]) -> bool:
        """No outcome is as good for both and better for one (what an outcome reached by
        other means, e.g. another framework's agents, is checked with)."""
        ua, ub = (utilities[p] for p in PARTIES)
        return not any(a >= ua - _TOLERANCE and b >= ub - _TOLERANCE
                       and (a > ua + _TOLERANCE or b > ub + _TOLERANCE)
                       for a, b in self.frontier)


def pareto_sum(issues: list[list[Vector]]) -> list[Vector]:
    """The Pareto frontier of every sum of one vector per issue, without enumerating them.

    An outcome whose part over the first issues is dominated by another such part is
    dominated as a whole (swap in the better part), so pruning after each issue keeps every
    frontier point, and the work grows with the frontiers, not with the outcome count.
    """
    front: list[Vector] = [(0.0, 0.0)]
    for vectors in issues:
        front = _frontier([(x + a, y + b) for x, y in front for a, b in _frontier(vectors, 12)],
                          digits=12)
    return _frontier(front, digits=9)


def _frontier(vectors: list[Vector], digits: int) -> list[Vector]:
    """The undominated vectors (rounded to ``digits``), by the first descending."""
    kept: list[Vector] = []
    for a, b in sorted({(round(a, digits), round(b, digits)) for a, b in vectors},
                       key=lambda v: (-v[0], -v[1])):
        if not kept or b > kept[-1][1] + _TOLERANCE:
            kept.append((a, b))
    return kept


# -- scenarios -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Skipped:
    """A file of a Genius folder that was not imported, and why (``kind`` groups alike reasons
    for the summary)."""

    path: str  # under the folder read
    reason: str
    kind: str  # the reason without its details, to count alike reasons together

    @classmethod
    def of(cls, root: Path, path: Path, error: CorpusError) -> Skipped:
        return cls(_relative(root, path), error.reason, error.message.split(" (", 1)[0])


def load_genius(folder: str | Path) -> list[CorpusScenario]:
    """Every pair of profiles of every domain in the tree under ``folder``, as scenarios."""
    return read_genius(folder).scenarios


def read_genius(folder: str | Path) -> CorpusLoad:
    """The scenarios of the tree under ``folder``, and what was read and skipped, and why."""
    root = Path(folder)
    if not root.is_dir():
        raise CorpusError("genius:DIR must be a folder of domain and profile XML files",
                          path=root)
    folders = [root, *sorted(p for p in root.rglob("*") if p.is_dir())]
    scenarios: list[CorpusScenario] = []
    domains: list[tuple[GeniusDomain, float]] = []
    skipped: list[Skipped] = []
    for where in folders:
        found, used = _folder_scenarios(root, where, skipped)
        scenarios += found
        domains += used
    if not scenarios:
        first = f"; skipped {len(skipped)}, first {skipped[0].path}: {skipped[0].reason}" \
            if skipped else ""
        raise CorpusError(f"no Genius domain with at least two usable profiles found{first}",
                          path=root)
    return _report(_unique(scenarios), domains, skipped)


def _folder_scenarios(root: Path, folder: Path, skipped: list[Skipped]
                      ) -> tuple[list[CorpusScenario], list[tuple[GeniusDomain, float]]]:
    """The scenarios of the domains in ``folder`` (not below it), and those domains with
    the largest discretisation error of their profiles."""
    domains, profiles = _read_folder(root, folder, skipped)
    scenarios, used = [], []
    for domain in domains:
        names = {i.name for i in domain.issues}
        mine = [p for p in (_fit(root, domain, r, skipped) for r in profiles
                            if r.issue_names == names) if p is not None]
        try:
            if len(mine) < 2:
                raise CorpusError(f"fewer than two usable profiles ({len(mine)})",
                                  path=domain.path)
            scenarios += [genius_scenario(domain, a, b)
                          for a, b in itertools.combinations(mine, 2)]
            used.append((domain, max(p.discretisation_error for p in mine)))
        except CorpusError as error:
            skipped.append(Skipped.of(root, domain.path, error))
    issue_sets = [{i.name for i in d.issues} for d in domains]
    skipped += [Skipped(_relative(root, r.path), "its issues are those of no domain in its "
                        "folder", "no domain with its issues") for r in profiles
                if r.issue_names not in issue_sets]
    return scenarios, used


def _read_folder(root: Path, folder: Path, skipped: list[Skipped]
                 ) -> tuple[list[GeniusDomain], list[RawProfile]]:
    domains, profiles = [], []
    for path in sorted(folder.glob("*.xml")):
        try:
            tree = parse(path)
            if tree.tag == "negotiation_template":
                name = _relative(root, path).removesuffix(".xml")
                domains.append(parse_domain(path, tree, name=name))
            elif tree.tag == "utility_space":
                profiles.append(parse_profile(path, tree))
            else:
                raise CorpusError(f"root <{tree.tag}> is neither a domain "
                                  "(<negotiation_template>) nor a profile (<utility_space>)",
                                  path=path)
        except CorpusError as error:
            skipped.append(Skipped.of(root, path, error))
    return domains, profiles


def _fit(root: Path, domain: GeniusDomain, raw: RawProfile, skipped: list[Skipped]
         ) -> GeniusProfile | None:
    try:
        return fit(domain, raw)
    except CorpusError as error:
        skipped.append(Skipped.of(root, raw.path, error))
        return None


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


def _unique(scenarios: list[CorpusScenario]) -> list[CorpusScenario]:
    """Scenarios renamed where two names coincide (``-2``, ``-3``, ... in order)."""
    seen: dict[str, int] = {}
    out = []
    for scenario in scenarios:
        n = seen[scenario.name] = seen.get(scenario.name, 0) + 1
        out.append(scenario if n == 1 else replace(scenario, name=f"{scenario.name}-{n}"))
    return out


def _report(scenarios: list[CorpusScenario], domains: list[tuple[GeniusDomain, float]],
            skipped: list[Skipped]) -> CorpusLoad:
    errors = {d.name: e for d, e in domains if any(i.kind == "real" for i in d.issues)}
    kinds = {k: sum(1 for d, _ in domains for i in d.issues if i.kind == k)
             for k in ("discrete", "integer", "real")}
    summary = {"domains": len(domains), "pairs": len(scenarios),
               "issues": kinds, "skipped": len(skipped),
               "skipped_reasons": _reasons(skipped),
               "skipped_files": [{"path": s.path, "reason": s.reason} for s in skipped],
               "real_intervals": REAL_INTERVALS,
               "discretisation_error": errors}
    notes = [f"Genius tree: {len(domains)} domains read ({kinds['discrete']} discrete, "
             f"{kinds['integer']} integer and {kinds['real']} real issues), "
             f"{len(scenarios)} profile pairs; {len(skipped)} file(s) skipped"
             + "".join(f"; {n} {why}" for why, n in _reasons(skipped).items()) + "."]
    if errors:
        notes.append(f"Real issues are read on a grid of {REAL_INTERVALS} equal steps; the "
                     "largest utility a party can lose to it, per domain: " + ", ".join(
                         f"{d} {e:.4g}" for d, e in errors.items()) + ".")
    return CorpusLoad(scenarios=scenarios, summary=summary, notes=tuple(notes))


def _reasons(skipped: list[Skipped]) -> dict[str, int]:
    """How many were skipped for each kind of reason, most frequent first."""
    counts: dict[str, int] = {}
    for s in skipped:
        counts[s.kind] = counts.get(s.kind, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def genius_scenario(domain: GeniusDomain, a: GeniusProfile, b: GeniusProfile
                    ) -> CorpusScenario:
    """Two Genius profiles of one domain as a scenario: the issues they rank differently become
    contested dimensions, the rest is fixed at their common best."""
    orders = {i.name: _order(i, a, b) for i in domain.issues}
    if all(len(o) == 1 for o in orders.values()):  # a common best: still theirs to find
        orders = {i.name: _all_values(i, a, b) for i in domain.issues}
    contested = [i.name for i in domain.issues if len(orders[i.name]) > 1]
    fixed = tuple((i, o[0]) for i, o in orders.items() if len(o) == 1)
    slugs = allocate_slugs(contested, max_length=40)
    codecs = tuple(Codec(issue=i, dimension=f"dim:{slugs[i]}", values=orders[i])
                   for i in contested)
    if not codecs:
        raise CorpusError("every issue has a single value: nothing to negotiate",
                          path=domain.path)
    units = {c.dimension: len(c.values) - 1 for c in codecs}
    labels = {c.dimension: c.issue for c in codecs}
    parties = [_party(PARTIES[0], a, codecs, fixed, domain.name, labels, low_end=0),
               _party(PARTIES[1], b, codecs, fixed, domain.name, labels, low_end=-1)]
    name = "-".join(("genius", slugify(domain.name, max_length=48),
                     slugify(a.name, max_length=16), slugify(b.name, max_length=16)))
    terms = division_terms(f"neg:{name}"[:64].rstrip("-"), "genius", units, parties)
    return CorpusScenario(
        name=name, corpus="genius", source=f"{domain.path} + {a.path.name} + {b.path.name}",
        terms=terms, space=GeniusSpace(domain, (a, b), codecs, fixed),
        cards=tuple(c for p in parties for c in p.cards), issues=labels,
        exact=all(_even(c, prof) for c in codecs for prof in (a, b)))


def _order(issue: GeniusIssue, a: GeniusProfile, b: GeniusProfile) -> tuple[str, ...]:
    """The issue's values that no other value of it beats for both profiles (the first of
    equal ones), from p1's least to most preferred, so from p2's most to least preferred.
    Every Pareto-optimal outcome takes its values among these (swap in the value that beats
    it otherwise), so the terms lose none of them."""
    kept: list[str] = []
    best_b = -math.inf
    points = {v: (a.normalised(issue.name, v), b.normalised(issue.name, v))
              for v in reversed(issue.values)}  # reversed: the first of equals wins below
    for value in sorted(points, key=lambda v: (-points[v][0], -points[v][1])):
        if points[value][1] > best_b + _TOLERANCE:
            kept.append(value)
            best_b = points[value][1]
    return tuple(reversed(kept))


def _all_values(issue: GeniusIssue, a: GeniusProfile, b: GeniusProfile) -> tuple[str, ...]:
    """Every value of the issue, from p1's least to most preferred (ties: p2's most first)."""
    return tuple(sorted(issue.values, key=lambda v: (a.normalised(issue.name, v),
                                                     -b.normalised(issue.name, v))))


def _party(party: str, profile: GeniusProfile, codecs: tuple[Codec, ...],
           fixed: tuple[tuple[str, str], ...], domain: str, labels: dict[str, str], *,
           low_end: int) -> PartySpec:
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
    for issue, value in fixed:
        base += profile.weights[issue] * profile.normalised(issue, value)
    return PartySpec(id=party, weights=weights, reservation=round(profile.reservation - base, 9),
                     cards=issue_cards("genius", domain, party, labels, weights,
                                       unit="utility point"))


def _even(codec: Codec, profile: GeniusProfile) -> bool:
    """The profile's evaluations are evenly spaced along the codec's order (linear)."""
    points = [profile.normalised(codec.issue, v) for v in codec.values]
    steps = [b - a for a, b in itertools.pairwise(points)]
    return all(abs(s - steps[0]) <= _TOLERANCE for s in steps)
