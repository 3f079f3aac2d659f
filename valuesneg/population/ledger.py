"""The credibility ledger: an append-only, hash-chained file of track records.

Each entry is computed from one encounter's public lineage only, never an agent's weights:
the manipulation detectors' flags on its records, how many of its answers to offers the
integrity suite's predictor got right from the cards it revealed, and (with the wind-down)
whether it acknowledged every grant that ended. It names the lineage and the head it read,
so anyone can re-derive it. Entries chain like lineage entries: ``hash`` is the SHA-256 of
the canonical entry without it, ``prev`` the previous entry's hash (64 zeros for the first).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

GENESIS = "0" * 64


def canonical(data: Any) -> str:
    """The one JSON text of a value (sorted keys, no spaces), which ledger hashes are taken
    over."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chained(body: Mapping[str, Any], prev: str) -> dict[str, Any]:
    """A ledger entry: ``body`` chained to the previous hash, with its own hash."""
    entry = {**body, "prev": prev}
    return {**entry, "hash": hashlib.sha256(canonical(entry).encode()).hexdigest()}


def score(encounters: int, kept: float) -> float:
    """Laplace's rule: the chance the next encounter is kept faith in, from a prior of one
    kept and one not; a newcomer scores 0.5, and one lapse weighs less the longer the
    record. ``kept`` sums each encounter's evidence, from 0 to 1 (see ``evidence``)."""
    return round((kept + 1) / (encounters + 2), 6)


def evidence(seen: Mapping[str, Any], signals: Sequence[str]) -> float:
    """How far one encounter kept faith, from 0 to 1: 0 if a counted signal caught it (a
    detector's flag, an acknowledgement still owed), else the share of its answers to offers
    that its revealed cards predicted (1 with no answer to predict)."""
    if "flags" in signals and seen["flags"]:
        return 0.0
    grants = seen.get("grants")
    if "grants" in signals and grants is not None and grants["acks_owed"]:
        return 0.0
    made, right = seen["predicted"]
    return round(right / made, 6) if "prediction" in signals and made else 1.0


@dataclass
class Credibility:
    """Every agent's record so far, and the ledger's head."""

    signals: Sequence[str] = ("flags",)
    encounters: dict[str, int] = field(default_factory=dict)
    kept: dict[str, float] = field(default_factory=dict)
    head: str = GENESIS
    count: int = 0

    def score(self, agent: str) -> float:
        return score(self.encounters.get(agent, 0), self.kept.get(agent, 0.0))

    def record(self, result: Mapping[str, Any]) -> dict[str, Any]:
        """The ledger entry for one encounter's summary, its effect applied."""
        parties = {}
        for agent, seen in sorted(result["parties"].items()):
            faith = evidence(seen, self.signals)
            self.encounters[agent] = self.encounters.get(agent, 0) + 1
            self.kept[agent] = round(self.kept.get(agent, 0.0) + faith, 6)
            parties[agent] = {"flags": seen["flags"], "predicted": seen["predicted"],
                              "grants": seen.get("grants"), "evidence": faith,
                              "encounters": self.encounters[agent],
                              "kept": self.kept[agent], "score": self.score(agent)}
        entry = chained({"seq": self.count, "generation": result["generation"],
                         "encounter": result["encounter"], "lineage": result["lineage"],
                         "lineage_head": result["head"], "parties": parties}, self.head)
        self.head, self.count = entry["hash"], self.count + 1
        return entry


class LedgerError(ValueError):
    """A credibility ledger that does not verify, naming its first bad line."""

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
