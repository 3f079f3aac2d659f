"""``valuesneg population verify DIR``: everything a population run claims, re-checked
from its files: each encounter's lineage replays through the core with every signature
valid, each ``population.jsonl`` line is what that lineage says, and the credibility
ledger chains and names the lineage heads that ``population.jsonl`` records."""

from __future__ import annotations

import json
from pathlib import Path

from valuesneg.core import LineageError, ProtocolViolation, verify_lines
from valuesneg.io.files import UserError, read_lines
from valuesneg.signing import check_signatures

from .ledger import LedgerError, verify_ledger


class Broken(Exception):
    """The first thing that does not check out: ``file:line: reason``."""


def verify_run(out: Path) -> tuple[int, str]:
    """(encounters, ledger head) if everything checks out; ``Broken`` otherwise."""
    if not (out / "population.jsonl").exists():
        raise UserError(f"{out}: not a population run folder (no population.jsonl in it)")
    heads = []
    for number, line in enumerate(read_lines(out / "population.jsonl"), start=1):
        where = f"{out / 'population.jsonl'}:{number}"
        try:
            summary = json.loads(line)
            lineage = out / summary["lineage"]
        except (json.JSONDecodeError, KeyError, TypeError):
            raise Broken(f"{where}: not an encounter summary") from None
        head, entries = _lineage(lineage)
        if (summary.get("head"), summary.get("entries")) != (head, entries):
            raise Broken(f"{where}: says {summary['lineage']} ends at "
                         f"{summary.get('head')} after {summary.get('entries')} entries; it "
                         f"ends at {head} after {entries}")
        heads.append(head)
    ledger = out / "credibility.jsonl"
    lines = read_lines(ledger)
    try:
        count, top = verify_ledger(lines)
    except LedgerError as error:
        raise Broken(f"{ledger}: {error}") from None
    for number, (line, head) in enumerate(zip(lines, heads, strict=False), start=1):
        if json.loads(line).get("lineage_head") != head:
            raise Broken(f"{ledger}:{number}: names a lineage head that population.jsonl "
                         f"line {number} does not record")
    if count != len(heads):
        raise Broken(f"{ledger}: {count} entries for {len(heads)} encounters")
    return len(heads), top


def _lineage(path: Path) -> tuple[str, int]:
    try:
        verified = verify_lines(read_lines(path))
        check_signatures(verified)
    except LineageError as error:
        raise Broken(f"{path}:{error.line}: {error.reason}") from None
    except ProtocolViolation as error:
        raise Broken(f"{path}: the core refuses it ({error})") from None
    except UserError as error:
        raise Broken(str(error)) from None
    return verified.head, len(verified.entries)
