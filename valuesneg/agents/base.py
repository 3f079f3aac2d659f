"""The agent interface: a view in, a record out.

An agent never touches the negotiation; the driver asks it for a record, the core judges
the record, and a refusal comes back to the agent as ``feedback`` for a re-ask.
"""

from __future__ import annotations

from typing import Any, Protocol

from valuesneg.core import Header, ProtocolViolation
from valuesneg.core.view import PartyView


class Agent(Protocol):
    @property
    def name(self) -> str: ...

    def decide(self, view: PartyView, feedback: ProtocolViolation | None = None) -> Header:
        """Return the party's next record. ``feedback`` is the core's last refusal, if any."""
        ...


def header(view: PartyView, **fields: Any) -> dict[str, Any]:
    """The header fields every record a party sends must carry, taken from its view."""
    reply_to = view.table.seq if view.table is not None else None
    return {"negotiation": view.negotiation, "sender": view.party, "seq": view.next_seq,
            "tick": view.tick + 1, "reply_to": reply_to,
            "envelope_version": view.envelope_version, **fields}


def utility(view: PartyView, allocation: dict[str, dict[str, int]]) -> float:
    weights = view.me.weights
    return sum(weights.get(d, 0.0) * share.get(view.party, 0) for d, share in allocation.items())
