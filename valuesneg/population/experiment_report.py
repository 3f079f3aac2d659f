"""An experiment's ``report.html``: per measure, each arm's seeds as dots with the mean and
its 95% interval, and the paired difference between the first two arms."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from valuesneg.evals.base import svg

from .report import STYLE


def render(result: Mapping[str, Any]) -> str:
    """An experiment's report: each measure per arm, with intervals, as one HTML page."""
    measures = list(result["measures"])
    difference = result.get("difference")
    rows = "".join(
        f"<tr><th>{escape(m)}</th>"
        + "".join(f"<td>{_ci(result['arms'][a][m])}</td>" for a in result["arms"])
        + (f"<td>{_ci(difference[m])}</td>" if difference else "") + "</tr>"
        for m in measures)
    head = "".join(f"<th>{escape(a)}</th>" for a in result["arms"]) + \
        (f"<th>{escape(difference['of'])} (paired by seed)</th>" if difference else "")
    return ("<!doctype html><html lang=en><head><meta charset=utf-8><title>experiment "
            f"{escape(result['experiment'])}</title><style>{STYLE}</style></head><body>"
            f"<h1>Experiment <code>{escape(result['experiment'])}</code>: "
            f"{len(result['arms'])} arms × {result['seeds']} seeds</h1>"
            f"<p class=note>Config {escape(result['config'])}. Mean over seeds with a 95% "
            "percentile-bootstrap interval (10,000 resamples); each seed is a full "
            "population run in ARM/seed-N/ with its own report and lineages.</p>"
            f"<table id=measures><tr><th>measure</th>{head}</tr>{rows}</table>"
            f"<figure id=arms>{_plot(result, measures)}</figure></body></html>\n")


def _ci(value: Mapping[str, Any]) -> str:
    low, high = value["ci95"]
    return escape(f"{value['mean']:.4g} [{low:.4g}, {high:.4g}]")


def _plot(result: Mapping[str, Any], measures: list[str]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms = list(result["arms"])
    figure, grid = plt.subplots(1, len(measures), figsize=(2.6 * len(measures), 3.2),
                                squeeze=False)
    for axes, measure in zip(grid[0], measures, strict=True):
        for x, arm in enumerate(arms):
            value = result["arms"][arm][measure]
            axes.scatter([x] * len(value["values"]), value["values"], s=10, alpha=0.4)
            low, high = value["ci95"]
            axes.errorbar([x], [value["mean"]], yerr=[[value["mean"] - low],
                                                      [high - value["mean"]]],
                          fmt="o", color="black", capsize=4)
        axes.set_xticks(range(len(arms)), arms, rotation=20)
        axes.set_xlim(-0.6, len(arms) - 0.4)
        axes.set_title(measure, fontsize=9)
        axes.grid(alpha=0.3)
    figure.tight_layout()
    return svg(figure)
