"""`ChatModel` over the openai SDK, for any OpenAI-compatible chat-completions endpoint.

Transport retries are ``valuesneg.agents.transport``'s: the SDK's own are switched off
(`max_retries=0`) so that one policy, with one budget, decides.

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
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal
from urllib.parse import urlsplit

from openai import (
    DefaultHttpxClient,
    OpenAI,
)
from openai.types.chat import ChatCompletion, ChatCompletionMessageParam

from valuesneg.agents.models import (
    Message,
    MissingApiKey,
    ModelRefused,
    ModelReply,
)
from valuesneg.agents.transport import RetryPolicy, TransportRetry, one_line

Structured = Literal["json_schema", "json_object_schema", "auto"]
StructuredForm = Literal["json_schema", "json_object_schema"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Servers on loopback (llama.cpp, vLLM, Ollama started by the user) rarely check keys, but the
# SDK refuses to build a client without one.
_PLACEHOLDER_KEY = "sk-no-key-required"
_LLAMA_CPP_PYTHON_OWNER = "me"


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

    def _transport(self) -> TransportRetry:
        return TransportRetry(self.retry_policy, retry_500=self._llama_cpp_python is not True)

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
            why = one_line(refusal or f"finish_reason={choice.finish_reason}")
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
