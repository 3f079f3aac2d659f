"""The small interface between agents and chat models, and its typed errors.

An agent only needs `ChatModel.complete`: send messages plus the JSON Schema the reply must
satisfy, get back the text and what it cost. Transport trouble (retried and then given up on)
surfaces as a `ModelError` subclass whose message names the endpoint, so a CLI can print it
as-is instead of a traceback. Whether the text actually satisfies the schema is checked by the
agent layer, which owns validation re-asks; the transport never re-asks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message: its role (system, user or assistant) and text."""

    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class ModelReply:
    """One completion and its cost.

    `latency_s` is wall-clock time for the whole `complete` call, backoff included, because
    that is what a negotiation turn actually waited. `attempts` counts HTTP attempts (1 when
    nothing was retried). Token counts are None when the server did not report usage.
    """

    text: str
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_s: float
    model: str
    attempts: int
    finish_reason: str | None = None


@runtime_checkable
class ChatModel(Protocol):
    """The one method the LLM negotiator needs of a model; any class with it is a chat model
    (see ``valuesneg.agents.testing`` for ones that need no endpoint)."""

    def complete(
        self,
        messages: Sequence[Message],
        schema: Mapping[str, Any],
        *,
        schema_name: str,
    ) -> ModelReply:
        """Return a reply constrained (as far as the endpoint can) by the JSON Schema `schema`."""
        ...


class ModelError(Exception):
    """Base of every model/transport failure; `str(error)` is a one-line, user-facing message."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


class MissingApiKey(ModelError):
    """An endpoint that needs an API key, and none was given."""

    def __init__(self, url: str) -> None:
        super().__init__(
            f"no API key for {url}: pass api_key or set OPENAI_API_KEY "
            "(any placeholder works for servers that need none)",
            url=url,
        )


class ModelRefused(ModelError):
    """The endpoint answered, but refused this request or the model refused to answer.

    Retrying the same request would get the same answer, so it is never retried.
    """

    def __init__(self, message: str, *, url: str, status_code: int | None = None) -> None:
        super().__init__(message, url=url)
        self.status_code = status_code


class TransportExhausted(ModelError):
    """Transient failures (429, 5xx, timeouts, connection errors) outlasted the retry budget."""

    def __init__(self, message: str, *, url: str, attempts: int) -> None:
        super().__init__(message, url=url)
        self.attempts = attempts


class EndpointUnreachable(TransportExhausted):
    """No connection could be made to the endpoint on any attempt."""
