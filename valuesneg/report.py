"""A self-contained HTML report of one run: readable offline, no scripts, no network."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

from valuesneg.core import Counter, Header, Outcome, Request
from valuesneg.transcript import describe

if TYPE_CHECKING:
    from valuesneg.orchestration.driver import Turn
    from valuesneg.scenario import Scenario

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem;
text-align:left;vertical-align:top}code{background:#f3f3f3;padding:0 .2rem}
.core{color:#555}.sacrificed{color:#a40}.satisfied{color:#070}
"""
_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")


def offers(records: Sequence[Header]) -> list[tuple[int, dict[str, dict[str, int]]]]:
    """Every proposal put on the table, in order, as full allocations."""
    table: dict[str, dict[str, int]] = {}
    seen = []
    for record in records:
        if isinstance(record, Request):
            table = {d: dict(s) for d, s in record.proposal.items()}
        elif isinstance(record, Counter):
            table = {**table, record.dimension: dict(record.value)}
        else:
            continue
        seen.append((record.seq, table))
    return seen


def concession_svg(scenario: Scenario, records: Sequence[Header]) -> str:
    """Each party's utility of each offer over the negotiation: who conceded, and how fast."""
    points = offers(records)
    if not points:
        return "<p>No offers were made.</p>"
    parties = scenario.terms.claimants
    series = {p: [_utility(scenario, alloc, p) for _, alloc in points] for p in parties}
    top = max(max(v) for v in series.values()) or 1.0
    width, height, pad = 560, 220, 30
    step = (width - 2 * pad) / max(1, len(points) - 1)
    lines = []
    for index, (party, values) in enumerate(series.items()):
        coords = " ".join(f"{pad + i * step:.1f},{height - pad - v / top * (height - 2 * pad):.1f}"
                          for i, v in enumerate(values))
        colour = _COLOURS[index % len(_COLOURS)]
        lines.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                     f'points="{coords}"/><text x="{width - pad + 4}" y="{20 + 14 * index}" '
                     f'fill="{colour}" font-size="12">{escape(party)}</text>')
    return (f'<svg role="img" aria-label="concession plot" width="{width + 80}" '
            f'height="{height}" xmlns="http://www.w3.org/2000/svg">'
            f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
            f'stroke="#999"/><text x="{pad}" y="{height - 8}" font-size="11">offers in order '
            f'(utility of each offer to each party; max {top:g})</text>{"".join(lines)}</svg>')


def _utility(scenario: Scenario, alloc: dict[str, dict[str, int]], party: str) -> float:
    weights = scenario.terms.party(party).weights
    return sum(weights.get(d, 0.0) * share.get(party, 0) for d, share in alloc.items())


def render_report(scenario: Scenario, records: Sequence[Header], turns: Sequence[Turn]) -> str:
    outcome = next((r for r in records if isinstance(r, Outcome)), None)
    rows = "".join(
        f'<tr class="{"core" if r.sender == "core" else "party"}"><td>{r.seq}</td>'
        f"<td>{r.tick}</td><td>{escape(r.kind)}</td><td>{escape(describe(r))}</td></tr>"
        for r in records)
    refused = sum(len(t.refusals) for t in turns)
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>valuesneg: {escape(scenario.spec.title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(scenario.spec.title)}</h1>"
        f"<p>Negotiation <code>{escape(scenario.terms.negotiation)}</code>; parties "
        f"{escape(', '.join(scenario.terms.party_ids))}; contested "
        f"{escape(', '.join(scenario.terms.contested))}. {len(turns)} turns, {refused} records "
        f"refused by the core and re-asked.</p>"
        f"<h2>Outcome</h2>{_outcome_html(outcome)}"
        f"<h2>Concession</h2>{concession_svg(scenario, records)}"
        f"<h2>Transcript</h2><table><tr><th>#</th><th>tick</th><th>kind</th><th>what, and the "
        f"values cited</th></tr>{rows}</table></body></html>\n")


def _outcome_html(outcome: Outcome | None) -> str:
    if outcome is None:
        return "<p>No terminal outcome.</p>"
    sat = "".join(f'<li class="satisfied">{escape(p)}</li>' for p in outcome.satisfied)
    sac = "".join(f'<li class="sacrificed">{escape(s.property)}: {s.magnitude:.3f}</li>'
                  for s in outcome.sacrificed)
    rules = "".join(f"<li>{escape(d.dimension)}: {escape(d.rule)}"
                    + (f" (winner {escape(d.winner)})" if d.winner else "") + "</li>"
                    for d in outcome.justification.decisions)
    return (f'<p id="terminal">Terminal: <strong>{escape(outcome.terminal)}</strong></p>'
            f"<p>{escape(describe(outcome))}</p><h3>How each dimension was decided</h3>"
            f"<ul>{rules}</ul><h3>Satisfied</h3><ul>{sat or '<li>none</li>'}</ul>"
            f"<h3>Sacrificed</h3><ul>{sac or '<li>none</li>'}</ul>")
