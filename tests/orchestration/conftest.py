"""Shared by the orchestration tests: scenario paths, a scripted run killed at an exact
lineage entry, and a throwaway PostgreSQL server."""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from crashing import command
from langgraph.checkpoint.sqlite import SqliteSaver

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "moral_graphs" / "scenarios"


KilledRun = Callable[..., "subprocess.Popen[bytes]"]


def _killed_run(scenario: str, out: Path, after: int, *extra: str) -> subprocess.Popen[bytes]:
    """`valuesneg run` (scripted) that SIGKILLs itself once its lineage holds ``after``
    entries; ``extra`` are more command-line arguments."""
    return subprocess.Popen(command("lineage_entries", after, "run",
                                    str(SCENARIOS / f"{scenario}.yaml"), "--backend",
                                    "scripted", "--out", str(out), "--quiet", *extra),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def killed_run() -> KilledRun:
    return _killed_run


def _decisions_per_seq(out: Path) -> Counter[int]:
    """How many times an agent was asked for each turn and gave a record, across every
    process that worked on the run: each such run of the decide node leaves a checkpoint
    that waits to apply that turn's record."""
    asked: Counter[int] = Counter()
    thread = json.loads((out / "run.json").read_text())["thread"]
    with SqliteSaver.from_conn_string(str(out / "checkpoint.sqlite")) as saver:
        for saved in saver.list({"configurable": {"thread_id": thread}}):
            turn = saved.checkpoint["channel_values"].get("turn")
            if turn and turn["pending"] is not None:
                asked[turn["seq"]] += 1
    return asked


@pytest.fixture(scope="session")
def decisions_per_seq() -> Callable[[Path], Counter[int]]:
    return _decisions_per_seq


# -- PostgreSQL --------------------------------------------------------------------------------

def _postgres_bin() -> Path | None:
    """The newest PostgreSQL server installed the Debian way (``.ci/run`` installs it)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server of its own, on a free loopback port, for this test session.

    PostgreSQL refuses to run as root, so as root the cluster belongs to the ``postgres``
    user that Debian's package creates, and its commands run under ``runuser``.
    """
    bin_dir = _postgres_bin()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server installed (/usr/lib/postgresql/*/bin/pg_ctl); "
                    "`.ci/run` installs Debian's postgresql")
    # Not under pytest's temporary folder: that is private to this user, and the server's
    # user must reach its data directory.
    base = Path(tempfile.mkdtemp(prefix="valuesneg-pg-"))
    try:
        yield from _serve(bin_dir, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _serve(bin_dir: Path, base: Path) -> Iterator[str]:
    data, sockets = base / "data", base / "sockets"
    sockets.mkdir()
    run_as: list[str] = []
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server")
        for path in (base, sockets):
            os.chown(path, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    port = _free_port()

    def pg(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*run_as, *args], capture_output=True, text=True, timeout=120,
                              check=False, cwd=base)

    made = pg(str(bin_dir / "initdb"), "-D", str(data), "-U", "valuesneg", "--auth=trust",
              "--no-sync", "-E", "UTF8")
    if made.returncode != 0:
        pytest.skip(f"initdb could not create a cluster: {made.stderr.strip()[-300:]}")
    started = pg(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"),
                 "-w", "-t", "60", "-o",
                 f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off",
                 "start")
    if started.returncode != 0:
        log = (base / "server.log").read_text() if (base / "server.log").exists() else ""
        pytest.skip(f"the PostgreSQL server did not start: {(started.stderr + log)[-300:]}")
    try:
        yield f"postgresql://valuesneg@127.0.0.1:{port}/postgres"
    finally:
        pg(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
