"""Agent-side state a checkpoint carries: what the lineage cannot tell a resumed run.

An agent is rebuilt from the scenario on resume, so its configuration comes back by itself;
what it learnt while running (a supervisor that has already asked for time) does not. Agents
are dataclasses, and what they learn lives in their plain fields (flags, counters), while
what they are built with that cannot be stored (a model client, card texts) does not change;
so the plain fields of an agent and of the agents it wraps are its memory.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import FrozenInstanceError, fields, is_dataclass
from typing import Any

Memory = dict[str, Any]
_PLAIN = (bool, int, float, str, type(None))


def snapshot(agent: object) -> Memory:
    """What an agent learnt while running (the plain fields of it and of the agents it wraps),
    for the checkpoint."""
    if not is_dataclass(agent) or isinstance(agent, type):
        return {}
    memory: Memory = {}
    for spec in fields(agent):
        value = getattr(agent, spec.name)
        if isinstance(value, _PLAIN):
            memory[spec.name] = value
        elif callable(getattr(value, "decide", None)):  # a wrapped agent
            memory[spec.name] = snapshot(value)
    return memory


def restore(agent: object, memory: Memory) -> None:
    """Give a rebuilt agent back what it had learnt (``snapshot``) when the run was
    interrupted."""
    for name, value in memory.items():
        if isinstance(value, dict):
            restore(getattr(agent, name), value)
            continue
        with suppress(FrozenInstanceError):  # a frozen agent learns nothing: nothing to restore
            setattr(agent, name, value)
