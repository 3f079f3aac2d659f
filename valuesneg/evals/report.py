"""What ``valuesneg eval`` writes: ``metrics.json`` and a self-contained ``report.html``.

Both are written whole or not at all (``write_atomic``); the report needs nothing from the
network (plots are inline SVG, no scripts, no external style sheets).
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from valuesneg.io.files import write_atomic

from .base import EvalConfig, SuiteResult

MAX_ROWS = 200  # the report shows the first rows; rows.jsonl holds them all
STYLE = """body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;color:#222}
table{border-collapse:collapse;margin:1rem 0;font-size:.85rem}
td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}figure{margin:1.5rem 0}figcaption{color:#555;font-size:.85rem}
code{background:#f6f6f6;padding:0 .2rem}"""


def package_version() -> str:
    """The installed valuesneg version, or ``unknown`` in a source tree."""
    try:
        return version("valuesneg")
    except PackageNotFoundError:
        return "unknown"


RUN = "run"  # the one key of metrics.json that is not a metric: how the metrics were made


def metrics_document(config: EvalConfig, result: SuiteResult, seconds: float) -> dict[str, Any]:
    """``metrics.json``: the suite's metrics at the top level (the keys the suites promise),
    and under ``run`` how they were produced. The per-negotiation rows go to rows.jsonl."""
    if RUN in result.metrics:
        raise ValueError(f"suite {config.suite!r} reports a metric named {RUN!r}, "
                         "which metrics.json keeps for the run's settings")
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()}
    if config.dataset is not None:
        settings["dataset"] = f"{config.dataset.kind}:{config.dataset.path}"
    run = {"suite": config.suite, "version": package_version(), "seed": config.seed,
           "config": settings, "seconds": round(seconds, 3)}
    return {**result.metrics, RUN: run}


def write_outputs(config: EvalConfig, result: SuiteResult, seconds: float) -> tuple[Path, Path]:
    """Write a suite's metrics.json, rows.jsonl and report.html atomically."""
    document = metrics_document(config, result, seconds)
    metrics_path, report_path = config.out / "metrics.json", config.out / "report.html"
    write_atomic(config.out / "rows.jsonl",
                 "".join(json.dumps(row, sort_keys=True, default=str) + "\n"
                         for row in result.rows))
    write_atomic(metrics_path, json.dumps(document, indent=2, sort_keys=True, default=str)
                 + "\n")
    write_atomic(report_path, render(document[RUN], result))
    return metrics_path, report_path


def render(document: dict[str, Any], result: SuiteResult, title: str | None = None) -> str:
    """The suite's report as one self-contained HTML page."""
    title = title or f"valuesneg eval {document['suite']}"
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{_e(title)}"
             f"</title><style>{STYLE}</style></head><body><h1>{_e(title)}</h1>",
             f"<p>valuesneg {_e(document['version'])}, seed {_e(document['seed'])}, "
             f"{_e(document['seconds'])} s</p>",
             "<h2>Metrics</h2>", _metrics_table(result.metrics)]
    if result.notes:
        parts += ["<h2>Notes</h2>", *(f"<p>{_e(n)}</p>" for n in result.notes)]
    for plot in result.plots:
        caption = f"<figcaption>{_e(plot.caption)}</figcaption>" if plot.caption else ""
        parts.append(f"<figure><h3>{_e(plot.title)}</h3>{plot.svg}{caption}</figure>")
    if result.rows:
        parts += [f"<h2>Rows ({min(len(result.rows), MAX_ROWS)} of {len(result.rows)})</h2>",
                  _rows_table(result.rows[:MAX_ROWS])]
    parts += ["<h2>Settings</h2>", _metrics_table(document["config"]), "</body></html>\n"]
    return "\n".join(parts)


def _metrics_table(values: dict[str, Any]) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_cell(v)}</td></tr>"
                   for k, v in sorted(values.items()))
    return f"<table>{body}</table>"


def _rows_table(rows: list[dict[str, Any]]) -> str:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(row.get(c))}</td>" for c in columns) + "</tr>"
                   for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return _metrics_table(value) if value else ""
    if isinstance(value, float):
        return _e(f"{value:.4g}")
    if isinstance(value, list | tuple):
        return _e(", ".join(str(v) for v in value))
    return _e("" if value is None else value)


def _e(value: object) -> str:
    return html.escape(str(value))
