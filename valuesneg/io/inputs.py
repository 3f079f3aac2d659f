"""Reading a user's input file within bounds, before anything parses it.

A path can name something that is not a file: ``/dev/zero`` never ends (reading it ran out
of memory after 11 s), a FIFO blocks until a writer comes, a symlink loop cannot be opened.
Each is refused from ``stat`` before a byte is read, and a regular file is read only up to
its kind's bound, so a 2 GB "record" is refused at once instead of parsed.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

MiB = 1 << 20
# Bounds per kind of input, far above anything valuesneg writes or ships (the largest golden
# lineage is 40 KB, a shipped scenario 2 KB, a shipped graph 12 KB, the CaSiNo corpus 3 MB).
RECORD_BYTES = 1 * MiB
SCENARIO_BYTES = MiB // 4
OUTCOME_BYTES = 16 * MiB
GRAPH_BYTES = 256 * MiB
LINEAGE_BYTES = 256 * MiB

_NOT_REGULAR = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class InputError(ValueError):
    """An input that cannot be read as a file; one line, without the path (callers add it)."""


def read_bounded(path: str | Path, limit: int) -> bytes:
    """The whole content of the regular file at ``path``, at most ``limit`` bytes."""
    try:
        _check_regular(os.stat(path), limit)
        # O_NONBLOCK: should a FIFO replace the file between stat and open, open returns.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as handle:
            _check_regular(os.fstat(handle.fileno()), limit)
            data = handle.read(limit + 1)
    except OSError as error:
        raise InputError(_os_reason(error)) from None
    if len(data) > limit:  # grew while being read
        raise InputError(_too_large(len(data), limit))
    return data


def _check_regular(info: os.stat_result, limit: int) -> None:
    for test, name in _NOT_REGULAR:
        if test(info.st_mode):
            raise InputError(f"is {name}, not a regular file")
    if info.st_size > limit:
        raise InputError(_too_large(info.st_size, limit))


def _too_large(size: int, limit: int) -> str:
    return f"too large ({size:,} bytes; this input may have at most {limit:,})"


def _os_reason(error: OSError) -> str:
    if error.errno == errno.ENOENT:
        return "file not found"
    if error.errno == errno.ELOOP:
        return "a symbolic link loop"
    return f"cannot read ({error.strerror or error})"
