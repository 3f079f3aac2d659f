"""What one party's page shows: its own terms, the public record so far, and, on its turn,
the prompt ``HumanAgent`` raised (the party's view, nothing of any peer's private terms)."""

from __future__ import annotations

import json
from typing import Any

from valuesneg.agents.llm import card_texts
from valuesneg.core import ProtocolViolation, parse_record
from valuesneg.orchestration.run import LINEAGE, OUTCOME
from valuesneg.transcript import describe

from .live import LiveRun

UNIT_RADIOS = 12  # up to this many units a count is picked among radio buttons, else a list
PEER_VALUES = ("card", "policy")  # vocabulary kinds that are a peer's values
MAX_REASONS = 3  # a person picks 1 to 3 reasons (the core allows more)


def panel(run: LiveRun, party: str) -> dict[str, Any]:
    """The template context of ``party``'s panel, as the run stands now."""
    terms = run.scenario.terms
    me = terms.party(party)
    texts = card_texts(run.scenario.graph)
    pending = run.answerer.pending(party)
    prompt, turn = pending if pending is not None else (None, None)
    units = {d: terms.dimension(d).units for d in terms.contested}
    context: dict[str, Any] = {
        "run": run.name, "party": party, "status": run.status, "round": run.round,
        "finished": run.finished, "error": run.error,
        "cards": [{"id": c, "text": texts.get(c, "")} for c in me.cards],
        "dimensions": [{"id": d, "units": n, "worth": me.weights.get(d, 0.0),
                        "need": me.needs.get(d, 0)} for d, n in units.items()],
        "reservation": me.reservation,
        "best": sum(me.weights.get(d, 0.0) * n for d, n in units.items()),
        "records": public_records(run),
        "outcome": _outcome(run, party),
        "turn": turn, "prompt": None,
    }
    if prompt is not None:
        context["prompt"] = _prompt(prompt, party)
    return context


def _prompt(prompt: dict[str, Any], party: str) -> dict[str, Any]:
    peers = [r for r in prompt["rationale"] if not r["own"] and r["kind"] in PEER_VALUES]
    table = prompt["table"]
    if table is not None:
        table = {**table, "rows": [
            {"dimension": d, "mine": share.get(party, 0),
             "others": ", ".join(f"{p} {u}" for p, u in share.items() if p != party)}
            for d, share in table["allocation"].items()]}
    return {
        **prompt, "table": table,
        "max_reasons": min(MAX_REASONS, prompt["max_reasons"]),
        "groups": [("Your values", [r for r in prompt["rationale"] if r["own"]]),
                   ("Your peers' values", peers),
                   ("Rules, items and fairness properties",
                    [r for r in prompt["rationale"] if not r["own"] and r not in peers])],
        # A peer's card is known once revealed, or from the start when the scenario made it
        # public; either way it is one the party may cite.
        "peer_cards": [{**r, "revealed": r["id"] in prompt["revealed_by_peers"]}
                       for r in peers
                       if r["kind"] == "card" or r["id"] in prompt["revealed_by_peers"]],
        "radios": max(prompt["units"].values(), default=0) <= UNIT_RADIOS,
    }


def public_records(run: LiveRun) -> list[str]:
    """One line per record so far, read from the lineage as it is written: only the lines
    appended since the last call are read (a line still being written is left for the next
    update), so a refresh costs what the negotiation added, not its whole length."""
    path = run.folder / LINEAGE
    if not path.exists():
        return []
    tail = run.tail
    if path.stat().st_size < tail.offset:  # rewritten shorter (a torn line dropped): read anew
        tail.offset, tail.lines = 0, []
    with path.open("rb") as handle:
        handle.seek(tail.offset)
        for raw in handle:
            if not raw.endswith(b"\n"):
                break
            tail.offset += len(raw)
            try:
                record = json.loads(raw).get("record")
                if record is not None:
                    parsed = parse_record(record)
                    tail.lines.append(f"#{parsed.seq} {describe(parsed)}")
            except (ValueError, AttributeError, ProtocolViolation):
                continue
    return list(tail.lines)


def _outcome(run: LiveRun, party: str) -> dict[str, Any] | None:
    path = run.folder / OUTCOME
    if not run.finished or not path.exists():
        return None
    summary = json.loads(path.read_text(encoding="utf-8"))
    me = run.scenario.terms.party(party)
    allocation = summary.get("allocation") or {}
    mine = {d: share.get(party, 0) for d, share in allocation.items()}
    worth = sum(me.weights.get(d, 0.0) * u for d, u in mine.items())
    return {"terminal": summary.get("terminal"), "mine": mine, "worth": worth}
