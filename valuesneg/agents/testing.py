"""Chat models for tests and evals that need no endpoint, in the manner of pydantic-ai's
``TestModel`` and ``FunctionModel``: each is a real ``ChatModel`` whose replies come from
the caller, so a test says what the model answers instead of faking a server.

- ``FunctionModel``: a function of the messages and the schema gives each reply's text;
- ``Replies``: the given texts in turn, one per call, keeping what each call was asked;
- ``RecordingModel``: wraps any model and keeps the text of every message it was sent (the
  bypass eval checks that no injected string reached a peer's prompt this way).

Nothing here is used by a negotiation unless a caller passes it in.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from valuesneg.agents.models import ChatModel, Message, ModelReply

Reply = Callable[[Sequence[Message], Mapping[str, Any]], str]


def _reply(text: str, model: str, started: float) -> ModelReply:
    # Token counts are what a server would report for a 1-token exchange: callers that sum
    # them get a count per call, never None.
    return ModelReply(text=text, prompt_tokens=1, completion_tokens=1,
                      latency_s=time.perf_counter() - started, model=model, attempts=1)


@dataclass
class FunctionModel:
    """A ChatModel whose every reply is ``function(messages, schema)``; ``calls`` counts
    them. A function that raises makes ``complete`` raise, as a failing model would."""

    function: Reply
    name: str = "function"
    calls: int = 0

    def complete(self, messages: Sequence[Message], schema: Mapping[str, Any], *,
                 schema_name: str = "response") -> ModelReply:
        started = time.perf_counter()
        self.calls += 1
        return _reply(self.function(messages, schema), self.name, started)


@dataclass
class Replies:
    """A ChatModel that answers with the given texts in turn and keeps what it was asked.
    A call past the last text is an error: the test under way asked more than it expected."""

    texts: Sequence[str]
    asked: list[list[Message]] = field(default_factory=list)

    def complete(self, messages: Sequence[Message], schema: Mapping[str, Any], *,
                 schema_name: str = "response") -> ModelReply:
        started = time.perf_counter()
        if len(self.asked) >= len(self.texts):
            raise AssertionError(f"call {len(self.asked) + 1} to a model scripted with "
                                 f"{len(self.texts)} replies")
        self.asked.append(list(messages))
        return _reply(self.texts[len(self.asked) - 1], "replies", started)


def never_called(messages: Sequence[Message], schema: Mapping[str, Any]) -> str:
    """A ``FunctionModel`` function for a model that must not be asked anything."""
    raise AssertionError("the model was called")


@dataclass
class RecordingModel:
    """A real chat model, with the text of every message it was sent kept for checking."""

    inner: ChatModel
    sent: list[str] = field(default_factory=list)

    def complete(self, messages: Sequence[Message], schema: Mapping[str, Any], *,
                 schema_name: str) -> ModelReply:
        self.sent.extend(m.content for m in messages)
        return self.inner.complete(messages, schema, schema_name=schema_name)
