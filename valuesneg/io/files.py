"""Reading and writing the files a run produces, with errors that name the file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from valuesneg.core import Entry, strict_json
from valuesneg.io.faults import Faults
from valuesneg.io.inputs import LINEAGE_BYTES, OUTCOME_BYTES, InputError, read_bounded


class UserError(Exception):
    """Bad input from the user: printed as one clear line, never as a traceback."""


def read_input(path: Path, limit: int) -> str:
    """A user's input file as UTF-8 text, bounded (see ``inputs``), or a ``UserError``."""
    try:
        return strict_json.decode_utf8(read_bounded(path, limit))
    except (InputError, strict_json.JsonInputError) as error:
        raise UserError(f"{path}: {error}") from None


def read_lines(path: Path, limit: int = LINEAGE_BYTES) -> list[str]:
    """A file's lines without their newlines, bounded like every input."""
    lines = read_input(path, limit).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def read_json(path: Path, limit: int = OUTCOME_BYTES) -> Any:
    """A JSON file, parsed strictly (``core.strict_json``)."""
    try:
        return strict_json.loads(read_input(path, limit))
    except strict_json.JsonInputError as error:
        raise UserError(f"{path}: {error}") from None


def _read_umask() -> int:
    # The only way to read the umask is to set it; done once, at import, before any thread.
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def write_atomic(path: Path, text: str) -> None:
    """Write a whole file or nothing: a crash never leaves a half-written output. A path
    that cannot be written (a file where a folder should be, no permission, disk full) is a
    ``UserError`` naming it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as error:
        raise UserError(f"{path}: cannot write ({error})") from None
    try:
        # mkstemp makes the file private (0600); outputs get the mode open() would give them.
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise UserError(f"{path}: cannot write ({error})") from None
        raise


# ext4 commits fsyncs that wait at once together: 500 lineages took 130-160 ms one after
# another here and 35-50 ms eight at a time (more threads gained nothing).
_SYNC_THREADS = 8


def sync_files(paths: Iterable[Path]) -> None:
    """Put files written without waiting for the disk onto it, and their folders' entries for
    them (a file renamed into place is only durable once its folder is): only these, where
    ``os.sync`` would flush every file system of the machine, other processes' files too."""
    files = list(paths)
    with ThreadPoolExecutor(max_workers=_SYNC_THREADS) as pool:
        list(pool.map(_fsync, files))
    for folder in sorted({path.parent for path in files}):
        _fsync(folder)


def _fsync(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as error:
        raise UserError(f"{path}: cannot sync to disk ({error})") from None


class LineageWriter:
    """Appends lineage entries durably, one line each, as the core appends them.

    ``faults`` (crash tests only) is told each time the file reaches a new entry count,
    with that entry already on disk, so a test can stop a run between any two entries."""

    def __init__(self, path: Path, faults: Faults | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._handle = path.open("a", encoding="utf-8")
        self._count = path.read_text(encoding="utf-8").count("\n")
        self._faults = faults

    def write(self, entries: Iterable[Entry]) -> None:
        for entry in entries:
            self._handle.write(entry.line() + "\n")
            self._count += 1
            if self._faults is not None:  # only then is each entry synced on its own
                self._sync()
                self._faults("lineage_entries", self._count)
        self._sync()

    def _sync(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> LineageWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
