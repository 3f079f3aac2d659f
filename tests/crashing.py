"""The `valuesneg` command with a crash point armed: a test-only entry to the CLI.

``python tests/crashing.py POINT COUNT ARGS...`` runs ``valuesneg ARGS...`` and SIGKILLs
itself (no clean-up, as a power cut or the OOM killer would) when crash point POINT
(``valuesneg.io.faults.CRASH_POINTS``) is reached with COUNT. The product has no such
switch of its own: the hook is passed to ``valuesneg.cli.main``, which hands it down.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from valuesneg.cli import main
from valuesneg.io.faults import CRASH_POINTS, CrashPoint, Faults

HERE = Path(__file__).resolve()


def crash_at(point: str, at: int) -> Faults:
    """A hook that kills this process at ``point`` once its count is ``at``."""
    if point not in CRASH_POINTS:
        raise ValueError(f"{point!r} is not a crash point (one of {', '.join(CRASH_POINTS)})")

    def hook(reached: CrashPoint, count: int) -> None:
        if reached == point and count == at:
            os.kill(os.getpid(), signal.SIGKILL)
    return hook


def command(point: str, at: int, *argv: str) -> list[str]:
    """The command line of a child process that runs ``valuesneg *argv`` and crashes there."""
    return [sys.executable, str(HERE), point, str(at), *argv]


if __name__ == "__main__":
    point, at, *args = sys.argv[1:]
    sys.exit(main(args, faults=crash_at(point, int(at))))
