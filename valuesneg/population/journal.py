"""Append-only files that survive a SIGKILL: every line is handed to the kernel (flushed)
before the run moves on, so a kill of the process loses none of it; the run puts them on
disk once per generation (``io.files.sync_files``), since an fsync per line cost more than
the encounter itself.
A run resumed from such a file re-derives each line it already holds and checks it is the
very same, so nothing is lost, duplicated or silently changed."""

from __future__ import annotations

import os
from pathlib import Path

from valuesneg.io.files import UserError


class Journal:
    """One append-only text file, addressed by line position."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines = _complete_lines(path)
        self.position = 0
        self._handle = path.open("a", encoding="utf-8")

    def recorded(self) -> str | None:
        """The line already at the current position (from before a resume), if any."""
        return self.lines[self.position] if self.position < len(self.lines) else None

    def append(self, line: str) -> None:
        """Write ``line`` at the current position, or, where the file already holds a line
        there, check that it is this one."""
        held = self.recorded()
        if held is not None and held != line:
            raise UserError(f"{self.path}: line {self.position + 1}: differs from what the "
                            "run re-derives from its encounters (edited after the run?)")
        if held is None:
            self._handle.write(line + "\n")
            self._handle.flush()
        self.position += 1

    def close(self) -> None:
        self._handle.close()


def _complete_lines(path: Path) -> list[str]:
    """The file's whole lines; a last line a kill cut short is cut off the file itself."""
    if not path.exists():
        return []
    data = path.read_bytes()
    keep = data.rfind(b"\n") + 1
    if keep < len(data):
        with path.open("r+b") as handle:
            handle.truncate(keep)
            os.fsync(handle.fileno())
    try:
        return data[:keep].decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text") from None


def write_whole(path: Path, text: str) -> None:
    """Write a file whole or not at all (a temporary file renamed over it), without waiting
    for the disk: a SIGKILL cannot lose what the kernel already holds, and the run syncs the
    generation's files together at its end (``io.files.write_atomic`` fsyncs every file,
    1-20 ms each here)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise UserError(f"{path}: cannot write ({error})") from None
