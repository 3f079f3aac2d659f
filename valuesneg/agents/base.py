"""The agent interface: a view in, a record out.

An agent never touches the negotiation; the driver asks it for a record, the core judges
the record, and a refusal comes back to the agent as ``feedback`` for a re-ask.
"""

from __future__ import annotations

from typing import Any, Protocol

from valuesneg.core import Header, ProtocolViolation
from valuesneg.core.view import PartyView


class Agent(Protocol):
    """Anything that decides a party's records: scripted strategies, the LLM negotiator, a
    person at the terminal, or your own class (see "Write your own agent")."""

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
    """What ``allocation`` is worth to the viewing party: its units weighted by its own
    weights (the measure its reservation is in)."""
    weights = view.me.weights
    return sum(weights.get(d, 0.0) * share.get(view.party, 0) for d, share in allocation.items())


def claimed(view: PartyView) -> list[str]:
    """The contested dimensions this party claims (a party may claim only some of them; the
    proposals it makes must still share out the rest, among their own claimants)."""
    return [d for d in view.units if view.party in view.claimants[d]]


def split(view: PartyView, dimension: str, mine: int) -> dict[str, int]:
    """My units of a dimension, and the rest shared evenly among the other claimants (ties
    to the earlier claimant). On a dimension I do not claim, ``mine`` must be 0."""
    total = view.units[dimension]
    claimants = view.claimants[dimension]
    if view.party not in claimants and mine:
        raise ValueError(f"you do not claim {dimension}: my_units for it must be 0")
    if not 0 <= mine <= total:
        raise ValueError(f"my_units for {dimension} must be between 0 and {total}")
    others = [p for p in claimants if p != view.party]
    share = {view.party: mine} if view.party in claimants else {}
    rest = total - mine
    for index, party in enumerate(others):
        share[party] = rest // len(others) + (1 if index < rest % len(others) else 0)
    return share


# -- moving units between claimants --------------------------------------------------------

def give_unit(share: dict[str, int], me: str) -> None:
    """One unit from me to the other claimant holding least of it (ties by id): even shares."""
    to = min((p for p in share if p != me), key=lambda p: (share[p], p))
    share[me] -= 1
    share[to] += 1


def take_units(share: dict[str, int], me: str, units: int) -> dict[str, int]:
    """``share`` with ``units`` more for me, taken from whoever holds most (ties by id)."""
    taken = dict(share)
    taken.setdefault(me, 0)
    for _ in range(units):
        source = max((p for p in taken if p != me and taken[p] > 0),
                     key=lambda p: (taken[p], p))
        taken[source] -= 1
        taken[me] += 1
    return taken
