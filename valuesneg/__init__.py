"""valuesneg: negotiations between AI agents that reveal their values, refereed by a
deterministic protocol core.

What a notebook needs is here: load a scenario, run, resume and verify a negotiation, step a
[`Negotiation`][valuesneg.core.machine.Negotiation] by hand, the record types, and the
protocols to write an agent or a chat model against::

    import valuesneg
    result = valuesneg.run("moral_graphs/scenarios/campsite_supplies.yaml")
    valuesneg.verify(result.out).outcome

Every name is imported on first use (PEP 562), so ``import valuesneg`` costs nothing and
loads neither LangGraph nor the model and embedding libraries.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names __getattr__ imports, for type checkers and docs
    from valuesneg.agents.base import Agent
    from valuesneg.agents.models import ChatModel, Message, ModelError, ModelReply
    from valuesneg.api import resume, run, verify
    from valuesneg.core import (
        Accept,
        Ack,
        Code,
        Commit,
        Counter,
        Defer,
        Denial,
        Dimension,
        Envelope,
        EnvelopeUpdate,
        Grant,
        Header,
        Ledger,
        LineageError,
        Negotiation,
        Outcome,
        Party,
        Policy,
        Preemption,
        ProtocolViolation,
        Record,
        Refuse,
        Request,
        Revocation,
        Terms,
        TierBreak,
        Verified,
        parse_record,
    )
    from valuesneg.core.view import PartyView, view_for
    from valuesneg.io.files import UserError
    from valuesneg.orchestration.run import RunResult
    from valuesneg.scenario import Scenario, load_scenario

# name -> the module that defines it; read by __getattr__ on first use.
_HOMES: dict[str, str] = {
    **dict.fromkeys(("run", "resume", "verify"), "valuesneg.api"),
    **dict.fromkeys(("Scenario", "load_scenario"), "valuesneg.scenario"),
    "RunResult": "valuesneg.orchestration.run",
    "UserError": "valuesneg.io.files",
    "Agent": "valuesneg.agents.base",
    **dict.fromkeys(("ChatModel", "Message", "ModelError", "ModelReply"),
                    "valuesneg.agents.models"),
    **dict.fromkeys(("PartyView", "view_for"), "valuesneg.core.view"),
    **dict.fromkeys((
        "Negotiation", "Ledger", "Verified", "LineageError", "ProtocolViolation", "Code",
        "Terms", "Party", "Dimension", "Envelope", "Policy", "Record", "Header",
        "parse_record", "Request", "Counter", "Accept", "Refuse", "Defer", "Grant", "Denial",
        "Revocation", "Preemption", "Ack", "Commit", "EnvelopeUpdate", "TierBreak", "Outcome",
    ), "valuesneg.core"),
}

__all__ = [
    "Accept", "Ack", "Agent", "ChatModel", "Code", "Commit", "Counter", "Defer", "Denial",
    "Dimension", "Envelope", "EnvelopeUpdate", "Grant", "Header", "Ledger", "LineageError",
    "Message", "ModelError", "ModelReply", "Negotiation", "Outcome", "Party", "PartyView",
    "Policy", "Preemption", "ProtocolViolation", "Record", "Refuse", "Request", "Revocation",
    "RunResult", "Scenario", "Terms", "TierBreak", "UserError", "Verified", "__version__",
    "load_scenario", "parse_record", "resume", "run", "verify", "view_for",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":  # importlib.metadata alone costs more than the rest of import
        value: Any = _version()
    elif name in _HOMES:
        value = getattr(importlib.import_module(_HOMES[name]), name)
    else:
        raise AttributeError(f"module 'valuesneg' has no attribute {name!r}")
    globals()[name] = value  # later lookups skip this function
    return value


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("valuesneg")
    except PackageNotFoundError:  # a source tree on PYTHONPATH, never installed
        return "0+unknown"


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES, "__version__"])
