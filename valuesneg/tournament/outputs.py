"""What ``valuesneg tournament`` writes: ``scores.csv`` (one row per cell),
``leaderboard.json`` and ``report.html`` (the eval report's page, with the tournament's
tables and plots). The first two hold no timings, so they are the same bytes whichever
executor ran the cells."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from valuesneg.evals.base import Plot, SuiteResult, svg
from valuesneg.evals.report import package_version, render
from valuesneg.io.files import write_atomic

from .play import COLUMNS
from .stats import Row


def write_outputs(out: Path, rows: Sequence[Row], board: dict[str, Any],
                  settings: dict[str, Any], seconds: float) -> list[Path]:
    """Write scores.csv, leaderboard.json and report.html atomically; returns their paths."""
    paths = [out / "scores.csv", out / "leaderboard.json", out / "report.html"]
    write_atomic(paths[0], scores_csv(rows))
    write_atomic(paths[1], json.dumps({**board, "settings": settings}, indent=2,
                                      sort_keys=True) + "\n")
    document = {"suite": "tournament", "version": package_version(), "seed": settings["seed"],
                "seconds": round(seconds, 3), "config": settings}
    write_atomic(paths[2], render(document, report_body(board, rows),
                                  title="valuesneg tournament"))
    return paths


def scores_csv(rows: Sequence[Row]) -> str:
    """One CSV row per cell played."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def report_body(board: dict[str, Any], rows: Sequence[Row]) -> SuiteResult:
    """The tournament's metrics, notes and plots, for the shared report page."""
    duels = {f"{d['competitor']} vs {d['opponent']}":
             f"{d['win_rate']} ({d['wins']} won, {d['losses']} lost, {d['ties']} tied; "
             f"sign test p = {d['p_value']}{', significant' if d['significant'] else ''})"
             for d in board["pairwise"] if d["cells"]}
    pairings = {" – ".join(p["competitors"]): {k: v for k, v in p.items() if k != "competitors"}
                for p in board["pairings"]}
    metrics = {"cells": board["cells"], "lineages_verified": board["lineages_verified"],
               "pairwise win rates": duels, "pairings (mean distances)": pairings}
    notes = [f"{board['cells']} cells; every competitor meets every other on every scenario. "
             "Advantage is a seat's share of what it could gain over no deal: (u - d) / "
             "(best - d) on the original game's utilities; the interval is a 95% percentile "
             "bootstrap. A pair's win rate counts a tie as half; the sign test drops ties. "
             "Distances are Euclidean, each party's axis divided by its best utility.",
             "scores.csv has every cell with its lineage head; lineages/ has every lineage "
             "for `valuesneg verify --unsigned` (cells are not signed, as eval runs are not)."]
    standings = [{k: v for k, v in entry.items() if v is not None}
                 for entry in board["competitors"]]
    return SuiteResult(metrics=metrics, plots=[advantage_plot(board), win_rate_plot(board)],
                       notes=notes, rows=standings)


def advantage_plot(board: dict[str, Any]) -> Plot:
    """Each competitor's mean advantage (share of its possible gain over no deal), with its
    95% interval."""
    import matplotlib.pyplot as plt

    entries = [e for e in board["competitors"] if e["mean_advantage"] is not None]
    figure, axes = plt.subplots(figsize=(6, 0.5 + 0.4 * len(entries)))
    means = [e["mean_advantage"] for e in entries]
    errors = [[m - e["ci95"][0] for m, e in zip(means, entries, strict=True)],
              [e["ci95"][1] - m for m, e in zip(means, entries, strict=True)]]
    axes.barh([e["name"] for e in entries][::-1], means[::-1],
              xerr=[errors[0][::-1], errors[1][::-1]], capsize=3)
    axes.set_xlabel("mean advantage (share of the possible gain over no deal)")
    return Plot(title="Mean advantage per competitor", svg=svg(figure),
                caption="Bars are means over every seat a competitor took; whiskers the 95% "
                        "bootstrap interval.")


def win_rate_plot(board: dict[str, Any]) -> Plot:
    """Who beats whom: the pairwise win rates as a grid."""
    import matplotlib.pyplot as plt

    names = [e["name"] for e in board["competitors"]]
    grid = [[float("nan")] * len(names) for _ in names]
    marks = []
    for d in board["pairwise"]:
        if d["win_rate"] is not None:
            i, j = names.index(d["competitor"]), names.index(d["opponent"])
            grid[i][j] = d["win_rate"]
            marks.append((i, j, f"{d['win_rate']:.2f}{'*' if d['significant'] else ''}"))
    figure, axes = plt.subplots(figsize=(1.5 + 0.8 * len(names), 1 + 0.6 * len(names)))
    image = axes.imshow(grid, vmin=0, vmax=1, cmap="RdYlGn")
    for i, j, text in marks:
        axes.text(j, i, text, ha="center", va="center", fontsize=8)
    axes.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
    axes.set_yticks(range(len(names)), names, fontsize=8)
    axes.set_xlabel("opponent")
    figure.colorbar(image, ax=axes)
    return Plot(title="Pairwise win rates", svg=svg(figure),
                caption="Row beats column this share of their cells (ties count half); * marks "
                        "a sign test with p < 0.05.")
