"""Transport retries of OpenAIChatModel against a real HTTP server that fails on purpose.

The real openai SDK talks over real sockets to a stdlib server on 127.0.0.1 that answers from a
script (429 with Retry-After, 503s, a 400, a stall, ...) and records every request it sees.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from valuesneg.agents.models import (
    ChatModel,
    EndpointUnreachable,
    Message,
    MissingApiKey,
    ModelRefused,
    TransportExhausted,
)
from valuesneg.agents.openai_model import OpenAIChatModel, Structured
from valuesneg.agents.transport import RetryPolicy, retry_after_seconds

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"action": {"type": "string", "enum": ["accept", "refuse"]}},
    "required": ["action"],
    "additionalProperties": False,
}
MESSAGES = [Message("system", "You negotiate."), Message("user", "Decide.")]
FAST = RetryPolicy(max_attempts=4, initial_backoff_s=0.01, max_backoff_s=0.05, jitter_s=0.01,
                   max_total_wait_s=5.0)  # fmt: skip


def completion_body(text: str = '{"action": "accept"}') -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": "test-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16},
    }


def error_body(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error"}}


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: dict[str, Any] = field(default_factory=completion_body)
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    body: dict[str, Any]
    at: float


class ScriptedServer(ThreadingHTTPServer):
    """Answers POSTs from `script` in order (then 200s), GET /v1/models with `owner`."""

    def __init__(self, script: list[Reply], owner: str) -> None:
        super().__init__(("127.0.0.1", 0), ScriptedHandler)
        self.script = list(script)
        self.owner = owner
        self.seen: list[Seen] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def next_reply(self, seen: Seen) -> Reply:
        with self.lock:
            self.seen.append(seen)
            return self.script.pop(0) if self.script else Reply()

    def posts(self) -> list[Seen]:
        return [s for s in self.seen if s.method == "POST"]


class ScriptedHandler(BaseHTTPRequestHandler):
    server: ScriptedServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        reply = self.server.next_reply(Seen("POST", self.path, body, time.monotonic()))
        time.sleep(reply.delay_s)
        self._send(reply)

    def do_GET(self) -> None:
        self.server.next_reply(Seen("GET", self.path, {}, time.monotonic()))
        model = {"id": "m", "object": "model", "owned_by": self.server.owner}
        self._send(Reply(body={"object": "list", "data": [model]}))

    def _send(self, reply: Reply) -> None:
        payload = json.dumps(reply.body).encode()
        try:
            self.send_response(reply.status)
            for name, value in {"Content-Type": "application/json", **reply.headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out and went away, which is what the timeout test wants

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[ScriptedServer] = []

    def start(*script: Reply, owner: str = "openai") -> ScriptedServer:
        server = ScriptedServer(list(script), owner)
        threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def make_model(url: str, **overrides: Any) -> OpenAIChatModel:
    options: dict[str, Any] = {
        "model": "test-model",
        "base_url": url,
        "api_key": "sk-test",
        "structured": "json_schema",
        "retry": FAST,
        "timeout": 5.0,
    }
    return OpenAIChatModel(**(options | overrides))


def test_is_a_chat_model(serve: Any) -> None:
    assert isinstance(make_model(serve().url), ChatModel)


def test_429_with_retry_after_waits_then_succeeds(serve: Any) -> None:
    server = serve(Reply(429, error_body("slow down"), {"Retry-After": "1"}))
    reply = make_model(server.url).complete(MESSAGES, SCHEMA, schema_name="decision")
    first, second = server.posts()
    assert second.at - first.at >= 1.0
    assert reply.attempts == 2
    assert json.loads(reply.text) == {"action": "accept"}
    assert (reply.prompt_tokens, reply.completion_tokens) == (11, 5)
    assert reply.latency_s >= 1.0
    assert reply.model == "test-model"


def test_503_twice_then_success(serve: Any) -> None:
    server = serve(Reply(503, error_body("busy")), Reply(503, error_body("busy")))
    reply = make_model(server.url).complete(MESSAGES, SCHEMA, schema_name="decision")
    assert reply.attempts == 3
    assert len(server.posts()) == 3


@pytest.mark.parametrize("status", [408, 500, 502, 504])
def test_transient_statuses_are_retried(serve: Any, status: int) -> None:
    server = serve(Reply(status, error_body("transient")))
    reply = make_model(server.url).complete(MESSAGES, SCHEMA, schema_name="decision")
    assert reply.attempts == 2


@pytest.mark.parametrize("status", [400, 401, 404, 422, 501])
def test_final_statuses_are_not_retried(serve: Any, status: int) -> None:
    server = serve(Reply(status, error_body("bad schema: enum must not be empty")))
    with pytest.raises(ModelRefused) as caught:
        make_model(server.url).complete(MESSAGES, SCHEMA, schema_name="decision")
    assert len(server.posts()) == 1
    assert caught.value.status_code == status
    message = str(caught.value)
    assert f"{server.url}/chat/completions" in message
    assert "bad schema: enum must not be empty" in message
    assert "\n" not in message


def test_500_from_llama_cpp_python_is_final(serve: Any) -> None:
    server = serve(Reply(500, error_body("'json_schema' is not a valid format")))
    model = make_model(server.url, structured="auto", llama_cpp_python=True)
    with pytest.raises(ModelRefused):
        model.complete(MESSAGES, SCHEMA, schema_name="decision")
    assert len(server.posts()) == 1


def test_persistent_503_exhausts_bounded_attempts(serve: Any) -> None:
    server = serve(*[Reply(503, error_body("down"))] * 10)
    model = make_model(server.url, retry=replace(FAST, max_attempts=3))
    with pytest.raises(TransportExhausted) as caught:
        model.complete(MESSAGES, SCHEMA, schema_name="decision")
    assert len(server.posts()) == 3
    assert caught.value.attempts == 3
    assert "HTTP 503" in str(caught.value) and server.url in str(caught.value)


def test_retry_after_beyond_budget_gives_up_without_sleeping(serve: Any) -> None:
    server = serve(Reply(429, error_body("quota"), {"Retry-After": "30"}))
    started = time.monotonic()
    with pytest.raises(TransportExhausted) as caught:
        make_model(server.url).complete(MESSAGES, SCHEMA, schema_name="decision")
    assert time.monotonic() - started < 1.0
    assert len(server.posts()) == 1
    assert "retry after 30s" in str(caught.value)


def test_timeout_is_retried(serve: Any) -> None:
    server = serve(Reply(delay_s=1.0))
    reply = make_model(server.url, timeout=0.3).complete(MESSAGES, SCHEMA, schema_name="d")
    assert reply.attempts == 2


def test_connection_refused_names_the_url(serve: Any) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    model = make_model(url, retry=replace(FAST, max_attempts=3))
    started = time.monotonic()
    with pytest.raises(EndpointUnreachable) as caught:
        model.complete(MESSAGES, SCHEMA, schema_name="decision")
    assert time.monotonic() - started < 2.0
    assert caught.value.attempts == 3
    assert f"{url}/chat/completions" in str(caught.value)
    assert "after 3 attempt(s)" in str(caught.value)


def test_missing_key_for_remote_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(MissingApiKey, match=r"https://api\.openai\.com/v1.*OPENAI_API_KEY"):
        OpenAIChatModel(model="gpt-4o-mini")
    with pytest.raises(MissingApiKey, match=r"https://llm\.example\.org/v1"):
        OpenAIChatModel(model="m", base_url="https://llm.example.org/v1")


def test_loopback_needs_no_key_and_base_url_comes_from_env(
    serve: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve()
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    model = OpenAIChatModel(model="test-model", structured="json_schema", retry=FAST)
    assert model.complete(MESSAGES, SCHEMA, schema_name="decision").attempts == 1
    assert server.posts()[0].path == "/v1/chat/completions"


JSON_SCHEMA_FORM = {
    "type": "json_schema",
    "json_schema": {"name": "decision", "schema": SCHEMA, "strict": True},
}
JSON_OBJECT_FORM = {"type": "json_object", "schema": SCHEMA}


@pytest.mark.parametrize(
    ("structured", "owner", "expected", "probes"),
    [
        ("json_schema", "me", JSON_SCHEMA_FORM, 0),
        ("json_object_schema", "openai", JSON_OBJECT_FORM, 0),
        ("auto", "me", JSON_OBJECT_FORM, 1),  # llama-cpp-python's server lists owned_by "me"
        ("auto", "vllm", JSON_SCHEMA_FORM, 1),
    ],
)
def test_response_format_form(
    serve: Any, structured: Structured, owner: str, expected: dict[str, Any], probes: int
) -> None:
    server = serve(owner=owner)
    model = make_model(server.url, structured=structured, seed=7, max_tokens=99)
    model.complete(MESSAGES, SCHEMA, schema_name="decision")
    model.complete(MESSAGES, SCHEMA, schema_name="decision")
    gets = [s for s in server.seen if s.method == "GET"]
    assert len(gets) == probes  # "auto" probes once, then remembers
    body = server.posts()[0].body
    assert body["response_format"] == expected
    assert (body["model"], body["seed"], body["max_tokens"], body["temperature"]) == (
        "test-model", 7, 99, 0.0
    )  # fmt: skip


def test_unset_sampling_options_are_not_sent(serve: Any) -> None:
    server = serve()
    model = make_model(server.url, temperature=None, seed=None, max_tokens=None)
    model.complete(MESSAGES, SCHEMA, schema_name="decision")
    assert not {"temperature", "seed", "max_tokens"} & set(server.posts()[0].body)


def test_auto_trusts_an_explicit_llama_cpp_flag_without_probing(serve: Any) -> None:
    server = serve(owner="openai")
    model = make_model(server.url, structured="auto", llama_cpp_python=True)
    model.complete(MESSAGES, SCHEMA, schema_name="decision")
    assert [s.method for s in server.seen] == ["POST"]
    assert server.posts()[0].body["response_format"] == JSON_OBJECT_FORM


def test_system_text_is_folded_into_first_user_turn_when_asked(serve: Any) -> None:
    server = serve()
    make_model(server.url, fold_system=True).complete(MESSAGES, SCHEMA, schema_name="d")
    make_model(server.url).complete(MESSAGES, SCHEMA, schema_name="d")
    folded, native = (s.body["messages"] for s in server.posts())
    assert folded == [{"role": "user", "content": "You negotiate.\n\nDecide."}]
    assert native == [
        {"role": "system", "content": "You negotiate."},
        {"role": "user", "content": "Decide."},
    ]


def test_a_reply_without_content_is_a_refusal(serve: Any) -> None:
    body = completion_body()
    body["choices"][0]["message"] = {"role": "assistant", "content": None, "refusal": "No."}
    server = serve(Reply(body=body))
    with pytest.raises(ModelRefused, match=r"gave no content: No\."):
        make_model(server.url).complete(MESSAGES, SCHEMA, schema_name="decision")
    assert len(server.posts()) == 1


def test_retry_after_header_forms() -> None:
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds({"retry-after": "2"}, now=now) == 2.0
    assert retry_after_seconds({"retry-after": "1.5"}, now=now) == 1.5
    assert retry_after_seconds({"retry-after": "Wed, 01 Jan 2025 12:00:07 GMT"}, now=now) == 7.0
    assert retry_after_seconds({"retry-after": "Wed, 01 Jan 2025 11:00:00 GMT"}, now=now) == 0.0
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}, now=now) == 0.25
    assert retry_after_seconds({"retry-after": "soon"}, now=now) is None
    assert retry_after_seconds({}, now=now) is None
