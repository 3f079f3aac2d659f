"""`ChatModel` over the openai SDK, for any OpenAI-compatible chat-completions endpoint.

Transport retries live here and only here: the SDK's own retries are switched off
(`max_retries=0`) so that one policy, with one budget, decides. Retried: connection errors,
timeouts, 408, 429 and 5xx (except 501, and except 500 from llama-cpp-python's server, whose
500s are deterministic reactions to the request itself). Everything else is final.
Backoff is exponential with jitter; a Retry-After (or OpenAI's retry-after-ms) header
replaces the computed backoff, and a wait that would overrun the total wait budget ends the
retries at once instead of sleeping in vain.

Structured output: OpenAI wants `{"type": "json_schema", "json_schema": {..., "strict": true}}`;
llama-cpp-python's server constrains by grammar on `{"type": "json_object", "schema": ...}` and
answers HTTP 500 to the former. `structured="auto"` picks the llama-cpp-python form when the
endpoint is known to be that server: told so by `llama_cpp_python=True` (the embedded backend
does this), or, when left as None, found out once from GET /models, where that server and no
other lists its models as `owned_by: "me"`.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from openai import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    DefaultHttpxClient,
    OpenAI,
)
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam
from tenacity import RetryCallState, Retrying, retry_if_exception

from valuesneg.agents.models import (
    EndpointUnreachable,
    Message,
    MissingApiKey,
    ModelError,
    ModelRefused,
    ModelReply,
    TransportExhausted,
)

Structured = Literal["json_schema", "json_object_schema", "auto"]
StructuredForm = Literal["json_schema", "json_object_schema"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Servers on loopback (llama.cpp, vLLM, Ollama started by the user) rarely check keys, but the
# SDK refuses to build a client without one.
_PLACEHOLDER_KEY = "sk-no-key-required"
_LLAMA_CPP_PYTHON_OWNER = "me"
_MAX_DETAIL_CHARS = 300

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounds for transport retries.

    `max_total_wait_s` bounds the sum of backoff sleeps, not request time: a run's worst case
    is `max_attempts * timeout + max_total_wait_s`.
    """

    max_attempts: int = 4
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 8.0
    jitter_s: float = 0.5
    max_total_wait_s: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")


def retry_after_seconds(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """Seconds the server asked us to wait, from `retry-after-ms` or `retry-after`, if any.

    `headers` must be looked up case-insensitively or hold lower-case names (httpx's do).
    Retry-After may be delta-seconds or an HTTP date; unparseable values count as absent.
    """
    millis = _parse_float(headers.get("retry-after-ms"))
    if millis is not None:
        return max(millis / 1000.0, 0.0)
    raw = headers.get("retry-after")
    if raw is None:
        return None
    seconds = _parse_float(raw)
    if seconds is not None:
        return max(seconds, 0.0)
    return _seconds_until_http_date(raw, now or datetime.now(UTC))


def _parse_float(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        return None


def _seconds_until_http_date(raw: str, now: datetime) -> float | None:
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # RFC 9110 dates are GMT even when unmarked
    return max((when - now).total_seconds(), 0.0)


def _hinted_wait(exc: BaseException | None) -> float | None:
    if isinstance(exc, APIStatusError):
        return retry_after_seconds(exc.response.headers)
    return None


def is_loopback_url(url: str) -> bool:
    """Whether a URL points at this machine (``localhost`` or a loopback address): a local
    server needs no real API key."""
    host = urlsplit(url).hostname
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _TransportRetry:
    """Tenacity wait/stop/retry strategy implementing `RetryPolicy`."""

    def __init__(self, policy: RetryPolicy, *, retry_500: bool) -> None:
        self.policy = policy
        self.retry_500 = retry_500

    def is_transient(self, exc: BaseException) -> bool:
        if isinstance(exc, APIConnectionError):  # includes APITimeoutError
            return True
        if not isinstance(exc, APIStatusError):
            return False
        status = exc.status_code
        if status in (408, 429):
            return True
        if status == 500:
            return self.retry_500
        return status >= 500 and status != 501  # 501: the server will never implement it

    def wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        hinted = _hinted_wait(exc)
        if hinted is not None:
            return hinted
        backoff = self.policy.initial_backoff_s * 2.0 ** (state.attempt_number - 1)
        return min(self.policy.max_backoff_s, backoff + random.uniform(0, self.policy.jitter_s))

    def stop(self, state: RetryCallState) -> bool:
        # Tenacity (>= 8.3) computes the upcoming sleep before asking whether to stop.
        over_budget = state.idle_for + state.upcoming_sleep > self.policy.max_total_wait_s
        return state.attempt_number >= self.policy.max_attempts or over_budget

    def run(self, fn: Callable[[], T]) -> tuple[T, int]:
        """Call `fn` under the policy; return its result and the attempts used."""
        attempts = 0

        def attempt() -> T:
            nonlocal attempts
            attempts += 1
            return fn()

        retrying = Retrying(
            retry=retry_if_exception(self.is_transient),
            wait=self.wait,
            stop=self.stop,
            reraise=True,
            sleep=time.sleep,
        )
        try:
            return retrying(attempt), attempts
        except (APIConnectionError, APIStatusError) as exc:
            raise self.typed_error(exc, attempts) from exc

    def typed_error(self, exc: APIConnectionError | APIStatusError, attempts: int) -> ModelError:
        url = str(exc.request.url)
        tried = f"after {attempts} attempt(s)"
        if isinstance(exc, APITimeoutError):
            return TransportExhausted(f"{url} timed out {tried}", url=url, attempts=attempts)
        if isinstance(exc, APIConnectionError):
            cause = _one_line(str(exc.__cause__ or exc))
            return EndpointUnreachable(
                f"cannot reach {url} {tried}: {cause}", url=url, attempts=attempts
            )
        detail = f"HTTP {exc.status_code} from {url}"
        if not self.is_transient(exc):
            return ModelRefused(
                f"{detail}: {_error_detail(exc)}", url=url, status_code=exc.status_code
            )
        hinted = _hinted_wait(exc)
        if attempts < self.policy.max_attempts and hinted is not None:
            tried += (
                f"; it asked to retry after {hinted:g}s, beyond the "
                f"{self.policy.max_total_wait_s:g}s wait budget"
            )
        return TransportExhausted(
            f"{detail} {tried}: {_error_detail(exc)}", url=url, attempts=attempts
        )


def _error_detail(exc: APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return _one_line(inner["message"])
        if isinstance(inner, str):
            return _one_line(inner)
    return _one_line(exc.message)


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_DETAIL_CHARS else flat[: _MAX_DETAIL_CHARS - 1] + "…"


def fold_system_messages(messages: Sequence[Message]) -> list[Message]:
    """Move system text to the front of the first user turn, as Gemma's own template does.

    For endpoints whose chat format has no system role: llama-cpp-python's "gemma" format
    drops system messages without a word, which would silently lose the agent's instructions.
    """
    system = "\n\n".join(m.content for m in messages if m.role == "system")
    rest = [m for m in messages if m.role != "system"]
    if not system:
        return rest
    if rest and rest[0].role == "user":
        return [Message("user", f"{system}\n\n{rest[0].content}"), *rest[1:]]
    return [Message("user", system), *rest]


def _message_param(message: Message) -> ChatCompletionMessageParam:
    if message.role == "system":
        return {"role": "system", "content": message.content}
    if message.role == "user":
        return {"role": "user", "content": message.content}
    return {"role": "assistant", "content": message.content}


class OpenAIChatModel:
    """A `ChatModel` speaking chat completions to one OpenAI-compatible endpoint.

    `base_url` falls back to OPENAI_BASE_URL, then to OpenAI; `api_key` to OPENAI_API_KEY, and
    loopback endpoints need none. `llama_cpp_python` says whether the endpoint is
    llama-cpp-python's server (None: unknown, probed only if `structured="auto"`).
    `fold_system` is for chat formats without a system role (see `fold_system_messages`).
    """

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        temperature: float | None = 0.0,
        seed: int | None = None,
        max_tokens: int | None = 1024,
        timeout: float = 120.0,
        structured: Structured = "auto",
        llama_cpp_python: bool | None = None,
        fold_system: bool = False,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.model = model
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip(
            "/"
        )
        self.temperature = temperature
        self.seed = seed
        self.max_tokens = max_tokens
        self.timeout = timeout
        self.structured = structured
        self.fold_system = fold_system
        self.retry_policy = retry or RetryPolicy()
        self._llama_cpp_python = llama_cpp_python
        self._local = is_loopback_url(self.base_url)
        self._client = OpenAI(
            api_key=self._resolve_key(api_key),
            base_url=self.base_url,
            timeout=timeout,
            max_retries=0,
            # An HTTP(S)_PROXY from the environment must not capture loopback traffic.
            http_client=DefaultHttpxClient(trust_env=False) if self._local else None,
        )

    def _resolve_key(self, api_key: str | None) -> str:
        key = api_key or os.environ.get("OPENAI_API_KEY")
        if key:
            return key
        if self._local:
            return _PLACEHOLDER_KEY
        raise MissingApiKey(self.base_url)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> OpenAIChatModel:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __reduce__(self) -> tuple[Any, ...]:
        # A job sent to another process (--executor process:N, ray) carries the endpoint, not
        # the connection: the copy opens its own client, with the key of its own environment.
        settings: dict[str, Any] = {
            "model": self.model, "base_url": self.base_url, "temperature": self.temperature,
            "seed": self.seed, "max_tokens": self.max_tokens, "timeout": self.timeout,
            "structured": self.structured, "llama_cpp_python": self._llama_cpp_python,
            "fold_system": self.fold_system, "retry": self.retry_policy}
        return (functools.partial(OpenAIChatModel, **settings), ())

    @property
    def structured_form(self) -> StructuredForm:
        """The response_format form this endpoint gets; resolving "auto" may probe /models."""
        if self.structured != "auto":
            return self.structured
        return "json_object_schema" if self._is_llama_cpp_python() else "json_schema"

    def _is_llama_cpp_python(self) -> bool:
        if self._llama_cpp_python is None:
            self._llama_cpp_python = self._probe_llama_cpp_python()
        return self._llama_cpp_python

    def _probe_llama_cpp_python(self) -> bool:
        try:
            page, _ = self._transport().run(self._client.models.list)
        except ModelRefused:
            return False  # no /models here, so not llama-cpp-python's server
        return any(m.owned_by == _LLAMA_CPP_PYTHON_OWNER for m in page.data)

    def _transport(self) -> _TransportRetry:
        return _TransportRetry(self.retry_policy, retry_500=self._llama_cpp_python is not True)

    def complete(
        self,
        messages: Sequence[Message],
        schema: Mapping[str, Any],
        *,
        schema_name: str,
    ) -> ModelReply:
        form = self.structured_form
        sent = fold_system_messages(messages) if self.fold_system else messages
        params = [_message_param(m) for m in sent]
        started = time.perf_counter()
        completion, attempts = self._transport().run(
            lambda: self._create(params, form, schema, schema_name)
        )
        return self._reply(completion, attempts, time.perf_counter() - started)

    def _create(
        self,
        messages: list[ChatCompletionMessageParam],
        form: StructuredForm,
        schema: Mapping[str, Any],
        schema_name: str,
    ) -> ChatCompletion:
        # Sampling options travel in the raw body so that None means "not sent" (reasoning
        # models reject max_tokens and temperature outright) on every SDK version.
        extra: dict[str, Any] = {
            key: value
            for key, value in (
                ("temperature", self.temperature),
                ("seed", self.seed),
                ("max_tokens", self.max_tokens),
            )
            if value is not None
        }
        if form == "json_schema":
            return self._client.chat.completions.create(
                model=self.model,
                messages=messages,
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": schema_name, "schema": dict(schema), "strict": True},
                },
                extra_body=extra,
            )
        # This form is not in the SDK's typed params either.
        extra["response_format"] = {"type": "json_object", "schema": dict(schema)}
        return self._client.chat.completions.create(
            model=self.model, messages=messages, extra_body=extra
        )

    def _reply(self, completion: ChatCompletion, attempts: int, latency_s: float) -> ModelReply:
        url = f"{self.base_url}/chat/completions"
        if not completion.choices:
            raise ModelRefused(f"{url} returned no choices", url=url)
        choice = completion.choices[0]
        content = choice.message.content
        refusal = getattr(choice.message, "refusal", None)
        if content is None or choice.finish_reason == "content_filter":
            why = _one_line(refusal or f"finish_reason={choice.finish_reason}")
            raise ModelRefused(f"model at {url} gave no content: {why}", url=url)
        usage = completion.usage
        return ModelReply(
            text=content,
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
            latency_s=latency_s,
            model=completion.model or self.model,
            attempts=attempts,
            finish_reason=choice.finish_reason,
        )
