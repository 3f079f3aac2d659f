"""Seeded multi-issue Genius domains with discrete, integer and real issues, written as XML.

``write_tree(root, count, seed)`` writes ``count`` domains (two profiles each) under
``root/issues-K/domain-N/``, K from 3 to 8 issues. Each issue is discrete (3-6 values, integer
evaluations 1-10), integer (a range of 3-12 values) or real (a range of width 1-100), the
numeric ones with a linear evaluator rising, falling or rising from an offset, as Genius
writes them. Weights are random and sum to 1; reservations are 0-0.3. Nothing is committed:
``genius_tree.py --generate N`` writes them to a temporary folder and reads them back.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

KINDS = ("discrete", "integer", "real")


@dataclass(frozen=True)
class Issue:
    kind: str
    name: str
    values: list[str] = field(default_factory=list)  # discrete
    low: int = 0  # numeric
    high: int = 0


def _issue(rng: random.Random, index: int) -> Issue:
    kind = rng.choice(KINDS)
    if kind == "discrete":
        return Issue(kind, f"d{index}", values=[f"v{k}" for k in range(rng.randint(3, 6))])
    low = rng.randint(0, 20)
    high = low + (rng.randint(2, 11) if kind == "integer" else rng.randint(1, 100))
    return Issue(kind, f"{kind[0]}{index}", low=low, high=high)


def _domain_xml(issues: list[Issue]) -> str:
    body = []
    for n, issue in enumerate(issues, start=1):
        head = f'  <issue index="{n}" name="{issue.name}" type="{issue.kind}" ' \
               f'vtype="{issue.kind}"'
        if issue.kind == "discrete":
            items = " ".join(f'<item index="{k + 1}" value="{v}"/>'
                             for k, v in enumerate(issue.values))
            body.append(f"{head}>{items}</issue>")
        else:
            body.append(f'{head} lowerbound="{issue.low}" upperbound="{issue.high}"/>')
    return ('<negotiation_template>\n <utility_space>\n  <objective index="0" name="gen" '
            'type="objective">\n' + "\n".join(body) + "\n  </objective>\n </utility_space>\n"
            "</negotiation_template>\n")


def _evaluator(rng: random.Random, low: int, high: int) -> str:
    span = high - low
    slope, offset = rng.choice(((1 / span, 0.0), (-1 / span, 1.0), (0.7 / span, 0.3)))
    return f'<evaluator ftype="linear" slope="{slope!r}" offset="{offset!r}"/>'


def _profile_xml(rng: random.Random, issues: list[Issue]) -> str:
    raw = [rng.uniform(0.1, 1.0) for _ in issues]
    weights = [w / sum(raw) for w in raw]
    body = []
    for n, issue in enumerate(issues, start=1):
        head = f'  <issue index="{n}" name="{issue.name}" type="{issue.kind}" ' \
               f'vtype="{issue.kind}"'
        if issue.kind == "discrete":
            items = " ".join(f'<item index="{k + 1}" value="{v}" '
                             f'evaluation="{rng.randint(1, 10)}"/>'
                             for k, v in enumerate(issue.values))
            body.append(f"{head}>{items}</issue>")
        else:
            body.append(f'{head} lowerbound="{issue.low}" upperbound="{issue.high}">'
                        f"{_evaluator(rng, issue.low, issue.high)}</issue>")
    body += [f'  <weight index="{n}" value="{w!r}"/>' for n, w in enumerate(weights, start=1)]
    return ('<utility_space>\n <objective index="0" name="gen" type="objective">\n'
            + "\n".join(body) + "\n </objective>\n"
            f' <reservation value="{rng.uniform(0, 0.3)!r}"/>\n</utility_space>\n')


def write_tree(root: Path, count: int, seed: int) -> None:
    rng = random.Random(seed)
    for n in range(count):
        size = 3 + n % 6
        folder = root / f"issues-{size}" / f"domain-{n}"
        folder.mkdir(parents=True)
        issues = [_issue(rng, k) for k in range(size)]
        (folder / "domain.xml").write_text(_domain_xml(issues))
        for party in (1, 2):
            (folder / f"profile{party}.xml").write_text(_profile_xml(rng, issues))
