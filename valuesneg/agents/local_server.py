"""The embedded default model: Gemma 3 270M (GGUF, from PyPI) behind llama-cpp-python's server.

`LocalModelServer` is a context manager that assembles the model file into a cache, starts
`python -m llama_cpp.server` on a free 127.0.0.1 port, waits until it answers, and always
stops it again. Layers of shutdown, because "no orphan processes" has to hold however the
parent ends:

- `__exit__` stops the server on normal exit, exceptions and KeyboardInterrupt;
- SIGTERM to the parent is turned into SystemExit (when nobody else handles SIGTERM), so the
  same unwinding runs;
- an atexit hook catches interpreter exits that skipped the context manager;
- the server runs under a tiny bootstrap that exits as soon as its parent is gone, which
  covers SIGKILL and crashes, where no Python code of the parent runs at all.

The server gets its own session/process group, so a terminal Ctrl-C reaches only the parent,
which then shuts the server down in order, and stopping can signal the whole group.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType
from typing import IO, Any

from valuesneg.agents.llama_child import PREFIX_BLOCK
from valuesneg.agents.model_file import ensure_model_file
from valuesneg.agents.models import ModelError
from valuesneg.agents.openai_model import OpenAIChatModel

MODEL_ALIAS = "gemma-3-270m"
LOCAL_SEED = 1234
_HOST = "127.0.0.1"
_HEALTH_PATH = "/v1/models"
_LOG_TAIL_LINES = 25

# llama_cpp.server reads any of its settings (API_KEY, HOST, PORT, CONFIG_FILE, ...) from the
# environment, and uvicorn's HOST/PORT even override the command line, so the child gets only
# what a Python process and the math libraries need.
_ENV_KEEP = frozenset(
    {"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TEMP", "TMP",
     "SYSTEMROOT", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "LD_LIBRARY_PATH",
     "DYLD_LIBRARY_PATH"}
)  # fmt: skip
_ENV_KEEP_PREFIXES = ("LC_", "OMP_", "GGML_", "OPENBLAS_", "MKL_")

# The child runs llama_cpp.server in-process behind valuesneg.agents.llama_child, which ends it
# once the parent is gone, keeps the weights in plain CPU buffers (AMX repacking crashed
# ggml_backend_amx_mul_mat where the kernel does not grant tile state; the same buffers
# everywhere also keep replies the same across CPUs), and reuses only whole, aligned blocks
# of a cached prompt prefix, so a reply depends on its prompt alone.
_BOOTSTRAP = "from valuesneg.agents.llama_child import main; main()"


class LocalServerError(ModelError):
    """The embedded model server could not be started."""


def free_loopback_port() -> int:
    """A port free right now; another process could take it before the server binds it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        return int(sock.getsockname()[1])


def _child_env() -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key in _ENV_KEEP or key.startswith(_ENV_KEEP_PREFIXES)
    }
    # ggml's OpenMP workers spin while waiting for each other; when another process holds a
    # core, a spinning worker starves the one it waits for and decoding gets ~10x slower.
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return env


def default_threads() -> int:
    """VALUESNEG_LLM_THREADS, else half the usable CPUs.

    Half, not all: measured on 2 cores with one busy neighbour process, 1 thread decoded at
    ~32 tokens/s and 2 threads at 2-16 tokens/s. The rest of valuesneg (and whatever else runs)
    keeps a core, and the small model does not need more.
    """
    override = os.environ.get("VALUESNEG_LLM_THREADS")
    if override:
        return max(int(override), 1)
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(cpus // 2, 1)


def prefix_reuse_default() -> bool:
    """VALUESNEG_LLM_PREFIX_CACHE=0 turns prompt-prefix reuse off (replies are the same
    either way: the prompt is cut into the same blocks; only the time differs)."""
    return os.environ.get("VALUESNEG_LLM_PREFIX_CACHE", "1").strip().lower() not in \
        {"0", "false", "no", "off"}


def _answers(url: str) -> bool:
    # No proxy: a proxy from the environment would swallow loopback requests.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=2.0) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def _tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "(no log)"
    # On a bad setting the server prints the error and then its whole --help, which would fill
    # the tail; the error is what matters.
    usage = next((i for i, line in enumerate(text) if line.startswith("usage: ")), len(text))
    return "\n".join(text[:usage][-lines:])


DEFAULT_N_CTX = 8192


def plain_cpu_buffers() -> None:
    """Have every llama.cpp model this process loads keep its weights in plain CPU buffers.

    On a CPU with AMX, ggml repacks weights for AMX tiles, and the first matrix product
    crashed (SIGSEGV in ggml_backend_amx_mul_mat) where the kernel does not grant tile
    state. llama-cpp-python 0.3.36 has no argument for it, so the model defaults are wrapped.
    """
    import llama_cpp.llama_cpp as lib

    defaults = lib.llama_model_default_params
    if getattr(defaults, "plain_cpu_buffers", False):
        return

    def model_defaults() -> Any:
        params = defaults()
        if hasattr(params, "use_extra_bufts"):
            params.use_extra_bufts = False
        return params

    model_defaults.plain_cpu_buffers = True  # type: ignore[attr-defined]
    lib.llama_model_default_params = model_defaults


class LocalModelServer:
    """Serve the embedded model on 127.0.0.1 for the lifetime of a `with` block."""

    model: str = MODEL_ALIAS

    def __init__(
        self,
        *,
        cache_dir: Path | None = None,
        log_dir: Path | None = None,
        n_ctx: int = DEFAULT_N_CTX,
        n_threads: int | None = None,
        startup_timeout_s: float = 180.0,
        stop_grace_s: float = 5.0,
        python: str = sys.executable,
        prefix_reuse: bool | None = None,
        n_batch: int = PREFIX_BLOCK,
    ) -> None:
        self.cache_dir = cache_dir
        self.log_dir = log_dir
        self.n_ctx = n_ctx
        self.n_threads = n_threads or default_threads()
        self.startup_timeout_s = startup_timeout_s
        self.stop_grace_s = stop_grace_s
        self.python = python
        self.prefix_reuse = prefix_reuse_default() if prefix_reuse is None else prefix_reuse
        self.n_batch = n_batch  # the block a prompt is cut into, and the unit of reuse
        self.model_path: Path | None = None
        self.log_path: Path | None = None
        self.port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._sigterm_installed = False

    @property
    def base_url(self) -> str:
        if self.port is None or not self.running:
            raise LocalServerError("the local model server is not running", url=self._url_hint)
        return f"http://{_HOST}:{self.port}/v1"

    @property
    def _url_hint(self) -> str:
        return f"http://{_HOST}:{self.port}/v1" if self.port else f"http://{_HOST}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def __enter__(self) -> LocalModelServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> LocalModelServer:
        if self._proc is not None:
            raise LocalServerError("the local model server was already started", url=self._url_hint)
        try:
            self.model_path = ensure_model_file(self.cache_dir)
            self._spawn(self.model_path)
            self._wait_until_healthy()
        except BaseException:
            self.stop()  # also on KeyboardInterrupt/SIGTERM while waiting
            raise
        return self

    def _spawn(self, model_path: Path) -> None:
        log_dir = self.log_dir or Path(tempfile.mkdtemp(prefix="valuesneg-llm-"))
        log_dir.mkdir(parents=True, exist_ok=True)
        self.port = free_loopback_port()
        self.log_path = log_dir / f"llama-server-{self.port}.log"
        self._log = self.log_path.open("wb")
        atexit.register(self.stop)
        self._install_sigterm_handler()
        self._proc = subprocess.Popen(
            self._command(model_path),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=_child_env(),
            start_new_session=True,
        )

    def _command(self, model_path: Path) -> list[str]:
        options = {
            "--model": str(model_path),
            "--model_alias": MODEL_ALIAS,
            "--host": _HOST,
            "--port": str(self.port),
            "--n_ctx": str(self.n_ctx),
            "--n_threads": str(self.n_threads),
            "--n_threads_batch": str(self.n_threads),
            # The GGUF carries no chat template (llama-cpp-python would fall back to llama-2).
            "--chat_format": "gemma",
            "--logits_all": "false",
            "--n_batch": str(self.n_batch),
            "--n_ubatch": str(self.n_batch),
        }
        flat = [part for pair in options.items() for part in pair]
        reuse = "1" if self.prefix_reuse else "0"
        return [self.python, "-c", _BOOTSTRAP, str(os.getpid()), reuse, *flat]

    def _wait_until_healthy(self) -> None:
        assert self._proc is not None and self.log_path is not None
        url = f"http://{_HOST}:{self.port}{_HEALTH_PATH}"
        deadline = time.monotonic() + self.startup_timeout_s
        while not _answers(url):
            code = self._proc.poll()
            if code is not None:
                raise LocalServerError(
                    f"llama_cpp.server exited with code {code} while starting "
                    f"(log: {self.log_path}); last lines:\n{_tail(self.log_path)}",
                    url=url,
                )
            if time.monotonic() > deadline:
                raise LocalServerError(
                    f"llama_cpp.server did not answer {url} within {self.startup_timeout_s:g}s "
                    f"(log: {self.log_path})",
                    url=url,
                )
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop the server and its process group; safe to call repeatedly."""
        # _proc is cleared only once the process is gone, so a stop interrupted by a second
        # signal is finished by the atexit hook.
        if self._proc is not None:
            self._terminate(self._proc)
            self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        atexit.unregister(self.stop)
        self._restore_sigterm_handler()

    def _terminate(self, proc: subprocess.Popen[bytes]) -> None:
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=self.stop_grace_s)
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
        # The leader may be gone while group members linger; make sure none survive.
        _signal_group(proc.pid, signal.SIGKILL)

    def _install_sigterm_handler(self) -> None:
        # Only where it is ours to take: signal handlers belong to the main thread, and an
        # application that already handles SIGTERM keeps its own policy.
        if threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
            return
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        self._sigterm_installed = True

    def _restore_sigterm_handler(self) -> None:
        if not self._sigterm_installed:
            return
        if threading.current_thread() is threading.main_thread():
            if signal.getsignal(signal.SIGTERM) is _exit_on_sigterm:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
            self._sigterm_installed = False


def _exit_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(pgid, sig)


def local_chat_model(
    server: LocalModelServer,
    *,
    temperature: float = 0.0,
    seed: int = LOCAL_SEED,
    max_tokens: int = 512,
    timeout: float = 300.0,
) -> OpenAIChatModel:
    """An `OpenAIChatModel` for `server`: grammar-constrained JSON, greedy, fixed seed.

    System messages are folded into the first user turn, since the server's Gemma chat format
    would otherwise drop them.
    """
    return OpenAIChatModel(
        model=server.model,
        base_url=server.base_url,
        api_key="sk-local",
        temperature=temperature,
        seed=seed,
        max_tokens=max_tokens,
        timeout=timeout,
        structured="json_object_schema",
        llama_cpp_python=True,
        fold_system=True,
    )
