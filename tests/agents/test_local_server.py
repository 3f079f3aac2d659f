"""The embedded model for real: llama-cpp-python's server with Gemma 3 270M on loopback.

Each server start costs ~2 s and each completion a few seconds on 2 cores, so this file keeps
to one completion and a few start/stop cycles.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from valuesneg.agents.local_server import LocalModelServer, LocalServerError, local_chat_model
from valuesneg.agents.models import Message
from valuesneg.agents.openai_model import OpenAIChatModel

pytestmark = pytest.mark.llm

ACTIONS = ["accept", "counter", "refuse"]
REASONS = ["card:water-safety", "card:equal-shares", "clause:round-cap"]
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "action": {"type": "string", "enum": ACTIONS},
        "reasons": {
            "type": "array",
            "items": {"type": "string", "enum": REASONS},
            "minItems": 1,
            "maxItems": 3,
        },
    },
    "required": ["action", "reasons"],
    "additionalProperties": False,
}


def is_alive(pid: int) -> bool:
    """True while `pid` runs; a zombie waiting for a reaper counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def port_is_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_until_closed(port: int, timeout_s: float = 5.0) -> bool:
    """A killed multi-threaded server's leader can show as a zombie while its other threads
    still hold the socket for a moment: give the port the same grace as the process."""
    deadline = time.monotonic() + timeout_s
    while port_is_open(port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def wait_until_gone(pid: int, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while is_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_schema_constrained_completion(tmp_path: Path) -> None:
    with LocalModelServer(log_dir=tmp_path) as server:
        pid, port = server.pid, server.port
        assert pid is not None and port is not None
        assert server.base_url == f"http://127.0.0.1:{port}/v1"
        probing = OpenAIChatModel(model=server.model, base_url=server.base_url, structured="auto")
        assert probing.structured_form == "json_object_schema"  # found out from GET /v1/models
        with local_chat_model(server) as model:
            reply = model.complete(
                [
                    Message("system", "You negotiate over water for a camp. Answer in JSON."),
                    Message("user", "Your peer offers you 3 of 10 litres. Decide and cite ids."),
                ],
                SCHEMA,
                schema_name="decision",
            )
    decision = json.loads(reply.text)
    assert set(decision) == {"action", "reasons"}
    assert decision["action"] in ACTIONS
    assert 1 <= len(decision["reasons"]) <= 3
    assert set(decision["reasons"]) <= set(REASONS)  # repeats are possible: no uniqueItems
    assert reply.attempts == 1 and reply.model == "gemma-3-270m"
    assert reply.completion_tokens and reply.prompt_tokens
    assert not server.running
    assert wait_until_gone(pid, timeout_s=1.0)
    assert wait_until_closed(port)
    assert (tmp_path / f"llama-server-{port}.log").stat().st_size > 0


def test_server_stops_when_the_body_raises(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="boom"), LocalModelServer(log_dir=tmp_path) as server:
        pid = server.pid
        raise RuntimeError("boom")
    assert pid is not None and wait_until_gone(pid, timeout_s=1.0)


def test_a_server_that_dies_while_starting_is_reported_with_its_log(tmp_path: Path) -> None:
    with pytest.raises(LocalServerError) as caught:
        LocalModelServer(log_dir=tmp_path, n_ctx=-1).start()  # rejected by the server's settings
    message = str(caught.value)
    assert "llama_cpp.server exited with code" in message
    assert str(tmp_path) in message
    assert "n_ctx" in message  # the tail of the log says what went wrong


PARENT = """\
import sys, time
from pathlib import Path
from valuesneg.agents.local_server import LocalModelServer
with LocalModelServer(log_dir=Path(sys.argv[1])) as server:
    print(server.pid, server.port, flush=True)
    time.sleep(600)
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_no_orphan_when_the_parent_is_signalled(tmp_path: Path, sig: signal.Signals) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert parent.stdout is not None
        line = parent.stdout.readline()
        assert line, "the parent died before the server answered"
        server_pid, port = (int(part) for part in line.split())
        parent.send_signal(sig)
        parent.wait(timeout=30)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
    # SIGKILL gives the parent no chance: the server's own watchdog must notice (<= ~0.5 s).
    assert wait_until_gone(server_pid), f"llama_cpp.server {server_pid} outlived its parent"
    assert wait_until_closed(port)
    if sig != signal.SIGKILL:
        # The parent itself stopped the server in order (the watchdog would exit silently).
        log = (tmp_path / f"llama-server-{port}.log").read_text(errors="replace")
        assert "Finished server process" in log
        assert parent.returncode == (128 + sig if sig == signal.SIGTERM else -sig)
