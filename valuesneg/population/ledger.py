"""The credibility ledger: an append-only, hash-chained file of track records.

Each entry is computed from one encounter's public lineage only (the misreport flags the
manipulation suite's detector raises on the records, never an agent's weights) and names
the lineage and the head it read, so anyone can re-derive it. Entries chain like lineage
entries: ``hash`` is the SHA-256 of the canonical entry without it, ``prev`` the previous
entry's hash (64 zeros for the first).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

GENESIS = "0" * 64


def canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chained(body: Mapping[str, Any], prev: str) -> dict[str, Any]:
    entry = {**body, "prev": prev}
    return {**entry, "hash": hashlib.sha256(canonical(entry).encode()).hexdigest()}


def score(encounters: int, flagged: int) -> float:
    """Laplace's rule: the chance the next encounter is clean, from a prior of one clean and
    one flagged; a newcomer scores 0.5, and one flag weighs less the longer the record."""
    return round((encounters - flagged + 1) / (encounters + 2), 6)


@dataclass
class Credibility:
    """Every agent's record so far, and the ledger's head."""

    encounters: dict[str, int] = field(default_factory=dict)
    flagged: dict[str, int] = field(default_factory=dict)
    head: str = GENESIS
    count: int = 0

    def score(self, agent: str) -> float:
        return score(self.encounters.get(agent, 0), self.flagged.get(agent, 0))

    def record(self, result: Mapping[str, Any]) -> dict[str, Any]:
        """The ledger entry for one encounter's summary, its effect applied."""
        parties = {}
        for agent, seen in sorted(result["parties"].items()):
            self.encounters[agent] = self.encounters.get(agent, 0) + 1
            self.flagged[agent] = self.flagged.get(agent, 0) + bool(seen["flags"])
            parties[agent] = {"flags": seen["flags"], "encounters": self.encounters[agent],
                              "flagged": self.flagged[agent], "score": self.score(agent)}
        entry = chained({"seq": self.count, "generation": result["generation"],
                         "encounter": result["encounter"], "lineage": result["lineage"],
                         "lineage_head": result["head"], "parties": parties}, self.head)
        self.head, self.count = entry["hash"], self.count + 1
        return entry


class LedgerError(ValueError):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line


def verify_ledger(lines: Iterable[str]) -> tuple[int, str]:
    """Check the chain; (entries, head), or ``LedgerError`` naming the first bad line."""
    prev, count = GENESIS, 0
    for number, line in enumerate(lines, start=1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            raise LedgerError(number, "not JSON") from None
        if not isinstance(entry, dict) or entry.get("prev") != prev:
            raise LedgerError(number, "does not chain to the entry before it")
        body = {k: v for k, v in entry.items() if k != "hash"}
        if hashlib.sha256(canonical(body).encode()).hexdigest() != entry.get("hash"):
            raise LedgerError(number, "its hash does not match its content")
        if entry.get("seq") != count:
            raise LedgerError(number, f"seq {entry.get('seq')!r}, expected {count}")
        prev, count = entry["hash"], count + 1
    return count, prev
