"""What the runs folder holds, for the pages that browse it: runs, their verification and
replay (the checks of `valuesneg verify` and the transcript of `valuesneg replay`), and the
reports that evals and population experiments write.

A run's lineage names every party's private terms (weights, needs, reservation values) in
its genesis, so its replay and report are shown only once the run has its outcome: until
then a party browsing the folder would see its peers' private views.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from valuesneg.core import LineageError, Verified
from valuesneg.io.files import UserError, read_json
from valuesneg.orchestration.run import LINEAGE, OUTCOME, REPORT
from valuesneg.transcript import transcript
from valuesneg.verification import verify_run

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,120}")
REPORT_DEPTH = 3  # how deep under the runs folder eval and population reports are looked for


@dataclass(frozen=True)
class RunSummary:
    """A run folder as the runs list shows it."""

    name: str
    scenario: str
    terminal: str | None  # None: not finished


def run_folder(root: Path, name: str) -> Path:
    """The run folder ``name`` directly under ``root``; a name that could reach elsewhere,
    or names no run, is refused."""
    if not NAME.fullmatch(name) or not (root / name / LINEAGE).is_file():
        raise UserError(f"no run named {name!r} in {root}")
    return root / name


def list_runs(root: Path) -> list[RunSummary]:
    """Every run folder directly under ``root`` (one holding a lineage), by name."""
    runs = []
    for folder in sorted(p for p in root.glob("*/") if (p / LINEAGE).is_file()):
        summary = _outcome(folder)
        runs.append(RunSummary(folder.name, str(summary.get("scenario", "")) if summary else "",
                               str(summary.get("terminal")) if summary else None))
    return runs


def _outcome(folder: Path) -> dict[str, Any] | None:
    if not (folder / OUTCOME).is_file():
        return None
    try:
        summary = read_json(folder / OUTCOME)
    except UserError:
        return None
    return summary if isinstance(summary, dict) else None


def list_reports(root: Path) -> list[str]:
    """Reports under ``root`` that are not a run's (evals, population experiments), as
    paths relative to it."""
    found = []
    for depth in range(1, REPORT_DEPTH + 1):
        for report in root.glob("/".join(["*"] * depth) + "/" + REPORT):
            folder = report.parent
            if (folder / LINEAGE).exists() or any(part.startswith(".") for part in
                                                  folder.relative_to(root).parts):
                continue
            found.append(report.relative_to(root).as_posix())
    return sorted(found)


def report_path(root: Path, relative: str) -> Path:
    """A report listed by ``list_reports``; anything else is refused."""
    if relative not in list_reports(root):
        raise UserError(f"no report {relative!r} under {root}")
    return root / relative


@dataclass(frozen=True)
class Review:
    """A run as its page shows it: finished or not, the verdict, the replay, the outcome."""

    finished: bool
    verified: str  # `valuesneg verify`'s verdict, one line
    ok: bool
    replay: str
    outcome: dict[str, Any] | None


def review(folder: Path) -> Review:
    """Verify and replay a finished run, as `valuesneg verify` and `valuesneg replay` do."""
    outcome = _outcome(folder)
    if outcome is None:
        return Review(False, "not finished: its lineage, replay and report are shown once "
                      "it reaches an outcome", True, "", None)
    path = folder / LINEAGE
    try:
        verified: Verified = verify_run(path)
    except LineageError as error:
        return Review(True, f"FAILED at line {error.line}: {error.reason}", False, "", outcome)
    except UserError as error:
        return Review(True, f"FAILED: {error}", False, "", outcome)
    signed = "unsigned (hash chain only)" if verified.keys is None else \
        f"signed by {', '.join(sorted(verified.keys))}"
    verdict = (f"OK: {len(verified.records) + 1} entries, outcome "
               f"{verified.outcome.terminal if verified.outcome else '-'}, head "
               f"{verified.head[:16]}…, {signed}")
    return Review(True, verdict, True, transcript(verified.records), outcome)
