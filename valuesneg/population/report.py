"""``report.html``: one self-contained page (inline SVG, no scripts, no network) showing
how the population changed, generation by generation, and where each figure comes from."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from valuesneg.evals.base import svg

from .config import PopulationConfig

Row = Mapping[str, Any]
STYLE = """body{font:15px/1.45 system-ui,sans-serif;max-width:1000px;margin:2em auto;
padding:0 1em;color:#222}h1{font-size:1.5em}h2{margin-top:1.6em;font-size:1.15em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;
text-align:left;font-variant-numeric:tabular-nums}figure{margin:1em 0}
figure svg{max-width:100%;height:auto}.note{color:#555}code{background:#f4f4f4}"""


def render(config: PopulationConfig, rows: Sequence[Row], metrics: Mapping[str, Any],
           out: Path) -> str:
    """A population run's report: the setup, the generations' figures, adoptions and
    switches."""
    events = _events(out / "events.jsonl")
    adoptions = [e for e in events if e["event"] == "adoption"]
    switches = [e for e in events if e["event"] == "switch"]
    parts = [
        f"<h1>Population <code>{escape(config.name)}</code>: {config.agents} agents, "
        f"{config.generations} generations, seed {config.seed}</h1>",
        f"<p class=note>{escape(_setup(config))}</p>",
        "<h2>What happened</h2>", _summary_table(metrics),
        "<h2>Strategies</h2>", _figure("shares", _shares_plot(config, rows)),
        "<h2>Payoffs and credibility</h2>", _figure("payoffs", _payoff_plot(rows)),
        "<p class=note>Payoff: the agent's true utility of a deal (points, CaSiNo "
        "utilities); a fallback or tier-break counts as no deal, worth the walk-away 5. "
        f"Credibility: {escape(_credibility(config))}</p>",
        "<h2>Values</h2>", _figure("values", _values_plot(rows)),
        _events_table("Card adoptions (first 20), each along a wiser-than edge", adoptions,
                      ("generation", "encounter", "agent", "from", "dropped", "adopted",
                       "lineage")),
        _events_table("Strategy switches (first 20)", switches,
                      ("generation", "agent", "from", "to", "because")),
        "<h2>Files</h2><p>population.jsonl (one line per encounter), lineages/ (each "
        "encounter's signed lineage: <code>valuesneg verify</code> replays it), "
        "credibility.jsonl (the hash-chained ledger; head "
        f"<code>{escape(metrics['credibility_ledger']['head'])}</code>), events.jsonl, "
        "generations.csv, metrics.json.</p>",
    ]
    return ("<!doctype html><html lang=en><head><meta charset=utf-8><title>"
            f"population {escape(config.name)}</title><style>{STYLE}</style></head><body>"
            + "\n".join(parts) + "</body></html>\n")


def _credibility(config: PopulationConfig) -> str:
    """How the scores on this page were made, from the signals the config counts."""
    said = {"flags": "no manipulation detector flagged it",
            "prediction": "the share of its answers to offers that the integrity suite's "
                          "predictor expected from the cards it revealed",
            "grants": "it owed no acknowledgement for an ended grant"
                      + ("" if config.grants.wind_down else " (not measured: no wind-down)")}
    signals = "; ".join(said[s] for s in config.credibility.signals) or "nothing"
    return ("Laplace's rule, (kept + 1) / (encounters + 2), where each encounter adds from 0 "
            f"to 1, read from its public lineage: {signals} (0.5 with no record).")


def _setup(config: PopulationConfig) -> str:
    shares = ", ".join(f"{s} {v:g}" for s, v in config.strategies.items())
    seen = "visible (partners chosen on it)" if config.credibility.visible else "hidden"
    learning = f"on, rate {config.learning.rate:g}" if config.learning.enabled else "off"
    dynamics: str = config.dynamics.rule
    if dynamics != "none":
        dynamics += f", rate {config.dynamics.rate:g}"
    return (f"Initial strategy shares: {shares}. Credibility {seen}; learning {learning}; "
            f"strategy dynamics: {dynamics}. Context {config.context} of "
            f"{Path(config.moral_graph).name}; priorities from "
            f"{Path(config.priorities).name}.")


def _summary_table(metrics: Mapping[str, Any]) -> str:
    first, last = metrics["first_generation"], metrics["last_generation"]
    body = "".join(f"<tr><th>{escape(k)}</th><td>{_cell(first[k])}</td>"
                   f"<td>{_cell(last[k])}</td></tr>" for k in first)
    return (f"<table id=summary><tr><th></th><th>first generation</th><th>last generation"
            f"</th></tr>{body}</table><p>{metrics['encounters']} encounters, "
            f"{metrics['adoptions']} card adoptions, {metrics['strategy_switches']} strategy "
            "switches.</p>")


def _cell(value: Any) -> str:
    return "—" if value is None else escape(f"{value:.4g}" if isinstance(value, float)
                                            else str(value))


def _figure(name: str, content: str) -> str:
    return f"<figure id={name}>{content}</figure>"


def _axes(title: str, ylabel: str) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    figure, axes = plt.subplots(figsize=(8, 3.4))
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # generations are whole
    axes.set_title(title)
    axes.set_xlabel("generation")
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    return figure, axes


def _series(rows: Sequence[Row], key: str) -> tuple[list[int], list[float]]:
    kept = [(r["generation"], r[key]) for r in rows if r[key] is not None]
    return [g for g, _ in kept], [v for _, v in kept]


def _shares_plot(config: PopulationConfig, rows: Sequence[Row]) -> str:
    figure, axes = _axes("Share of agents playing each strategy", "share")
    for s in config.strategies:
        axes.plot(*_series(rows, f"share:{s}"), label=s, marker="." if len(rows) < 40 else "")
    axes.set_ylim(0, 1)
    axes.legend(loc="upper left", fontsize=8)
    return svg(figure)


def _payoff_plot(rows: Sequence[Row]) -> str:
    figure, axes = _axes("Mean payoff (left) and credibility (right)", "payoff (points)")
    for key, label in (("honest_payoff", "honest"), ("misreport_payoff", "misreporters")):
        axes.plot(*_series(rows, key), label=f"payoff, {label}")
    right = axes.twinx()
    right.set_ylabel("credibility")
    for key, label in (("honest_credibility", "honest"),
                       ("misreport_credibility", "misreporters")):
        right.plot(*_series(rows, key), linestyle="--", label=f"credibility, {label}")
    right.set_ylim(0, 1)
    axes.legend(loc="lower left", fontsize=8)
    right.legend(loc="lower right", fontsize=8)
    return svg(figure)


def _values_plot(rows: Sequence[Row]) -> str:
    figure, axes = _axes("Mean wisdom score of the cards held (PageRank in the context)",
                         "score")
    axes.plot(*_series(rows, "mean_wisdom"), label="mean wisdom")
    right = axes.twinx()
    right.bar(*_series(rows, "adoptions"), alpha=0.25, color="tab:green", label="adoptions")
    right.set_ylabel("adoptions")
    axes.legend(loc="upper left", fontsize=8)
    right.legend(loc="upper right", fontsize=8)
    return svg(figure)


def _events(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _events_table(title: str, events: Sequence[Mapping[str, Any]], keys: Sequence[str]
                  ) -> str:
    if not events:
        return f"<h2>{escape(title)}</h2><p>None.</p>"
    head = "".join(f"<th>{escape(k)}</th>" for k in keys)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(e.get(k, '')))}</td>" for k in keys)
                   + "</tr>" for e in events[:20])
    return f"<h2>{escape(title)}</h2><table>{'<tr>' + head + '</tr>'}{body}</table>" \
           f"<p>{len(events)} in all (events.jsonl).</p>"
