"""A self-contained HTML report of one run: readable offline, no scripts, no network.

What a reader needs to judge the negotiation: who wanted what (each party's weights, needs,
no-deal value, and the model and guard behind it), how it ended and why (the rule that
decided each dimension, the tier-break's candidates or the fallback's utilities), a warning
when a party ended below its no-deal value, what the outcome satisfied and sacrificed, a
concession plot (each party's utility of every offer, round by round), who cited which
values, each LLM decision with the options it had and the one it took, and the transcript
with the text of every card cited.

Rounds are counted as the core counts them: every counter, refusal, deferral or silence
spends one, and an offer is made in round (rounds spent before it) + 1, so an opening
accepted as it stands is agreed in round 1 with no round spent.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Mapping, Sequence
from html import escape
from typing import TYPE_CHECKING, Any

from valuesneg.core import CORE, Counter, Defer, Header, Outcome, Refuse, Request, TierBreak
from valuesneg.transcript import describe

if TYPE_CHECKING:
    from valuesneg.orchestration.driver import Turn
    from valuesneg.scenario import Scenario

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem;
text-align:left;vertical-align:top}code{background:#f3f3f3;padding:0 .2rem}
.core{color:#555}.sacrificed{color:#a40}.satisfied{color:#070}.cited{font-size:.9em}
.cited span{display:inline-block;margin:0 .3rem .2rem 0;padding:0 .3rem;border-radius:3px;
background:#eef3fb}.cited span.value{background:#fdf1dc}svg text{font-family:inherit}
.warning{background:#fde8e8;border-left:4px solid #c00;padding:.5rem .8rem}
.taken{font-weight:bold}.taken::before{content:"→ "}
"""
_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")
_RULES = {"agreed": "agreed by the parties",
          "tier_break": "tier-break: the highest tier wins, then the earlier first proposal",
          "nash": "fallback: Nash bargaining over the declared utilities",
          "equal_split": "fallback: equal split", "priority": "fallback: priority rule"}

Allocation = dict[str, dict[str, int]]


def rounds_of(records: Sequence[Header]) -> dict[int, int]:
    """The round each record was made in (by seq): rounds spent before it, plus one."""
    spent, out = 0, {}
    for record in records:
        out[record.seq] = spent + 1
        if isinstance(record, Counter | Refuse | Defer):
            spent += 1
    return out


def offers(records: Sequence[Header]) -> list[tuple[int, int, str, Allocation]]:
    """Every proposal put on the table, in order: (record seq, round, proposer, allocation).

    The round is the one the offer was made in: every non-accepting response (counter,
    refuse, defer, silence) before it cost one.
    """
    table: Allocation = {}
    seen = []
    rounds = rounds_of(records)
    for record in records:
        if isinstance(record, Request):
            table = {d: dict(s) for d, s in record.proposal.items()}
        elif isinstance(record, Counter):
            table = {**table, record.dimension: dict(record.value)}
        if isinstance(record, Request | Counter):
            seen.append((record.seq, rounds[record.seq], record.sender, table))
    return seen


def utility(scenario: Scenario, alloc: Mapping[str, Mapping[str, int]], party: str) -> float:
    """What an allocation is worth to a party under the scenario's weights."""
    weights = scenario.terms.party(party).weights
    return sum(weights.get(d, 0.0) * share.get(party, 0) for d, share in alloc.items())


def concession_svg(scenario: Scenario, records: Sequence[Header]) -> str:
    """Each party's utility of each offer over the negotiation: who conceded, and how fast."""
    points = offers(records)
    if not points:
        return "<p>No offers were made.</p>"
    parties = scenario.terms.claimants
    series = {p: [utility(scenario, alloc, p) for *_, alloc in points] for p in parties}
    top = max(max(v) for v in series.values()) or 1.0
    width, height, left, right, pad = 640, 260, 46, 120, 34
    step = (width - left - right) / max(1, len(points) - 1)

    def x(i: int) -> float:
        return left + i * step

    def y(v: float) -> float:
        return height - pad - v / top * (height - 2 * pad)

    parts = [f'<line x1="{left}" y1="{y(0):.1f}" x2="{width - right}" y2="{y(0):.1f}" '
             f'stroke="#999"/><line x1="{left}" y1="{y(0):.1f}" x2="{left}" y2="{y(top):.1f}" '
             f'stroke="#999"/>']
    for tick in (0.0, top / 2, top):
        parts.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" font-size="11" '
                     f'text-anchor="end">{tick:g}</text>')
    for i, (seq, rnd, proposer, _) in enumerate(points):
        parts.append(f'<text x="{x(i):.1f}" y="{height - pad + 14}" font-size="10" '
                     f'text-anchor="middle">r{rnd}<title>record #{seq}, offered by '
                     f'{escape(proposer)} in round {rnd}</title></text>')
    for index, (party, values) in enumerate(series.items()):
        colour = _COLOURS[index % len(_COLOURS)]
        coords = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(f'<polyline class="series" fill="none" stroke="{colour}" '
                     f'stroke-width="2" points="{coords}"/>')
        parts += [f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}"><title>'
                  f'{escape(party)}: {v:g} (record #{points[i][0]})</title></circle>'
                  for i, v in enumerate(values)]
        parts.append(f'<text x="{width - right + 10}" y="{pad + 16 * index}" fill="{colour}" '
                     f'font-size="12">{escape(party)}</text>')
    parts.append(f'<text x="{left}" y="{height - 4}" font-size="11">round of each offer; '
                 f"height: what the offer is worth to each party (declared weights)</text>")
    return (f'<svg id="concession" role="img" aria-label="concession plot" width="{width}" '
            f'height="{height}" xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>')


def render_report(scenario: Scenario, records: Sequence[Header], turns: Sequence[Turn],
                  calls: Sequence[Mapping[str, Any]] = (),
                  parties: Mapping[str, Mapping[str, Any]] | None = None) -> str:
    """The report; ``calls`` are calls.jsonl's lines (each LLM decision with its options),
    ``parties`` the model and guard of each LLM party (outcome.json's ``parties``)."""
    outcome = next((r for r in records if isinstance(r, Outcome)), None)
    refused = sum(len(t.refusals) for t in turns)
    titles = _titles(scenario)
    rounds = rounds_of(records)
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>valuesneg: {escape(scenario.spec.title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(scenario.spec.title)}</h1>"
        f"<p>Negotiation <code>{escape(scenario.terms.negotiation)}</code>; parties "
        f"{escape(', '.join(scenario.terms.party_ids))}; contested "
        f"{escape(', '.join(scenario.terms.contested))}. {len(turns)} turns, {refused} records "
        f"refused by the core and re-asked.</p>"
        f"{_below_no_deal_warning(outcome)}"
        f'<section id="parties"><h2>Who wanted what</h2>{_parties_html(scenario, parties)}'
        f"</section>"
        f"{_retrievals_html(scenario, titles)}"
        f'<section id="outcome"><h2>Outcome</h2>{_outcome_html(scenario, outcome, records)}'
        f"</section>"
        f'<section><h2>Concession</h2>{concession_svg(scenario, records)}</section>'
        f'<section id="values"><h2>Who cited which values</h2>'
        f"{_citations_html(records, titles)}</section>"
        f"{_decisions_html(calls, rounds, titles)}"
        f'<section><h2>Transcript</h2><table id="transcript"><tr><th>#</th><th>round</th>'
        f"<th>tick</th><th>kind</th><th>what</th><th>values and reasons cited</th></tr>"
        f"{''.join(_row(r, titles, rounds) for r in records)}</table></section></body></html>\n")


def _below_no_deal_warning(outcome: Outcome | None) -> str:
    if outcome is None:
        return ""
    just = outcome.justification
    below = [(p, u, just.disagreement.get(p, 0.0)) for p, u in just.utilities.items()
             if u < just.disagreement.get(p, 0.0) - 1e-9]
    if not below:
        return ""
    items = "".join(f"<li>{escape(p)} gets {u:g}, below its no-deal value {d:g}</li>"
                    for p, u, d in below)
    return (f'<div class="warning" id="below-no-deal"><strong>Bad deal:</strong> a party '
            f"ended below what walking away was worth.<ul>{items}</ul></div>")


def _parties_html(scenario: Scenario, parties: Mapping[str, Mapping[str, Any]] | None) -> str:
    rows = []
    for party in scenario.terms.parties:
        spec = scenario.agent_spec(party.id)
        llm = (parties or {}).get(party.id)
        who = (f"LLM {escape(str(llm.get('served_model') or llm.get('model')))} "
               f"(guard {escape(str(llm.get('guard')))}, temperature {llm.get('temperature')})"
               if llm else escape(f"{spec.backend} ({spec.strategy})"
                                  if spec.backend == "scripted" else spec.backend))
        weights = ", ".join(f"{escape(d)} {w:g}" for d, w in party.weights.items()) or "none"
        needs = ", ".join(f"{escape(d)} {n}" for d, n in party.needs.items()) or "none"
        rows.append(f"<tr><td>{escape(party.id)}</td><td>{who}</td><td>{weights}</td>"
                    f"<td>{needs}</td><td>{party.reservation:g}</td></tr>")
    return ("<table><tr><th>party</th><th>played by</th><th>worth of one unit</th>"
            "<th>needs</th><th>no-deal value</th></tr>" + "".join(rows) + "</table>")


def _retrievals_html(scenario: Scenario, titles: Mapping[str, str]) -> str:
    """Why a party holds retrieved cards: what was asked and each card's score (genesis)."""
    if not scenario.terms.retrievals:
        return ""
    parts = []
    for r in scenario.terms.retrievals:
        rows = "".join(f"<tr><td>{escape(c.card)}</td><td>{escape(titles.get(c.card, ''))}"
                       f"</td><td>{c.score:.4f}</td><td>{escape(c.matched or 'summary')}</td>"
                       f"</tr>" for c in r.cards)
        parts.append(f"<p>{escape(r.party)}: the {len(r.cards)} cards most relevant to "
                     f"<q>{escape(r.query)}</q> ({escape(r.model)})</p><table><tr><th>card"
                     f"</th><th>title</th><th>score</th><th>closest facet</th></tr>{rows}"
                     f"</table>")
    return f'<section id="retrieved"><h2>Retrieved cards</h2>{"".join(parts)}</section>'


def _decisions_html(calls: Sequence[Mapping[str, Any]], rounds: Mapping[int, int],
                    titles: Mapping[str, str]) -> str:
    """Each LLM decision the core accepted: the options it was offered and the one taken."""
    rows = []
    for call in calls:
        if not call.get("valid") or not call.get("options"):
            continue
        items = "".join(
            f'<li class="{"taken" if o["label"] == call.get("chosen") else ""}">'
            f'{escape(o["label"])}) {escape(o["text"])}, worth '
            f'{"not known yet" if o["worth"] is None else format(o["worth"], "g")}</li>'
            for o in call["options"])
        forced = " (the only sound move: no model call)" if call.get("prompt") == \
            "guard:forced" else ""
        scripted = call.get("scripted") or {}
        same = "same as" if not call.get("diverges") else "unlike"
        rows.append(f"<tr><td>{escape(call['party'])}</td><td><ul>{items}</ul>{forced}</td>"
                    f"<td>{same} the scripted values agent "
                    f"({escape(str(scripted.get('kind', '?')))})</td></tr>")
    if not rows:
        return ""
    return ('<section id="decisions"><h2>LLM decisions</h2><p>Each decision of an LLM party '
            "under the sound guard: the moves it could choose from (worth: its utility) and "
            "the one it took (&rarr;).</p><table><tr><th>party</th><th>options</th>"
            f"<th>compared with the scripted agent</th></tr>{''.join(rows)}</table></section>")


def _titles(scenario: Scenario) -> dict[str, str]:
    """What each card and attentional-policy id of the moral graph says, for a reader."""
    titles = {}
    for card in scenario.graph.cards:
        titles[card.id] = card.title
        for ap in card.attentional_policies:
            titles[ap.id] = f"{card.title}: {ap.text}"
    return titles


def _cited(record: Header) -> tuple[str, ...]:
    ids = getattr(record, "rationale", None) or getattr(record, "reasons", None) or ()
    return tuple(ids)


def _chip(cited: str, titles: Mapping[str, str]) -> str:
    if cited in titles:
        return (f'<span class="value" title="{escape(cited)}">{escape(titles[cited])}</span>')
    return f"<span><code>{escape(cited)}</code></span>"


def _row(record: Header, titles: Mapping[str, str], rounds: Mapping[int, int]) -> str:
    chips = "".join(_chip(i, titles) for i in _cited(record))
    return (f'<tr class="{"core" if record.sender == CORE else "party"}"><td>{record.seq}</td>'
            f"<td>{rounds.get(record.seq, '')}</td>"
            f"<td>{record.tick}</td><td>{escape(record.kind)}</td>"
            f'<td>{escape(describe(record))}</td><td class="cited">{chips}</td></tr>')


def _citations_html(records: Sequence[Header], titles: Mapping[str, str]) -> str:
    """Per party, the values-card and attentional-policy ids it cited, and how often."""
    cited: dict[str, Tally[str]] = {}
    for record in records:
        if record.sender != CORE:
            cited.setdefault(record.sender, Tally()).update(
                i for i in _cited(record) if i in titles)
    rows = "".join(
        f"<tr><td>{escape(party)}</td><td class=\"cited\">"
        + ("".join(f"{_chip(i, titles)}×{n} " for i, n in tally.most_common()) or "none")
        + "</td></tr>" for party, tally in cited.items())
    return f"<table><tr><th>party</th><th>values cited (times)</th></tr>{rows}</table>"


def _outcome_html(scenario: Scenario, outcome: Outcome | None,
                  records: Sequence[Header]) -> str:
    if outcome is None:
        return "<p>No terminal outcome.</p>"
    sat = "".join(f'<li class="satisfied">{escape(p)}</li>' for p in outcome.satisfied)
    sac = "".join(f'<li class="sacrificed">{escape(s.property)}: {s.magnitude:.3f}</li>'
                  for s in outcome.sacrificed)
    return (f'<p id="terminal">Terminal: <strong>{escape(outcome.terminal)}</strong></p>'
            f"<p>{escape(describe(outcome))}</p>"
            f'<h3>Why it ended this way</h3><div id="explanation">'
            f"{_explanation(scenario, outcome, records)}</div>"
            f'<h3>Satisfied</h3><ul id="satisfied">{sat or "<li>none</li>"}</ul>'
            f'<h3>Sacrificed</h3><ul id="sacrificed">{sac or "<li>none</li>"}</ul>')


def _explanation(scenario: Scenario, outcome: Outcome, records: Sequence[Header]) -> str:
    """The rule behind each dimension, the tier-breaks as the core recorded them, and each
    party's utility against what it would get with no deal."""
    just = outcome.justification
    rules = "".join(f"<li>{escape(d.dimension)}: {escape(_RULES[d.rule])}"
                    + (f" (winner {escape(d.winner)})" if d.winner else "") + "</li>"
                    for d in just.decisions)
    breaks = "".join(f"<li>{escape(describe(r))}</li>" for r in records
                     if isinstance(r, TierBreak))
    if outcome.terminal == "agreement":
        lead = (f"<p>Agreed in round {just.rounds + 1} ({just.rounds} round(s) spent of the "
                f"cap {scenario.terms.policy.round_cap}): accepted by "
                f"{escape(', '.join(just.accepted_by))}.</p>")
    elif scenario.terms.policy.clauses.dependency_cycle in just.clauses:
        lead = (f"<p>A dependency cycle between negotiations was found in round "
                f"{just.rounds}; the core broke it at once, under "
                f"{escape(', '.join(just.clauses))}.</p>")
    else:
        lead = (f"<p>No agreement within the round cap ({scenario.terms.policy.round_cap}); "
                f"the policy decided, under {escape(', '.join(just.clauses))}.</p>")
    utilities = "".join(
        f"<tr><td>{escape(p)}</td><td>{u:g}</td><td>{just.disagreement.get(p, 0.0):g}</td>"
        f"<td>{'BELOW no-deal' if u < just.disagreement.get(p, 0.0) - 1e-9 else 'ok'}</td></tr>"
        for p, u in just.utilities.items())
    nash = "" if just.nash_product is None else \
        f"<p>Nash product of the gains: {just.nash_product:g}.</p>"
    return (f"{lead}<ul>{rules}</ul>"
            + (f"<p>Tier-breaks:</p><ul>{breaks}</ul>" if breaks else "")
            + f"<table><tr><th>party</th><th>utility of the outcome</th><th>with no deal"
            f"</th><th></th></tr>{utilities}</table>{nash}")
