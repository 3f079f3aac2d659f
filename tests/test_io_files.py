"""``io.files.sync_files``: what it cannot put on disk is one error naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from valuesneg.io.files import UserError, sync_files


def test_syncing_a_file_that_is_gone_names_it(tmp_path: Path) -> None:
    kept = tmp_path / "kept.jsonl"
    kept.write_text("{}\n")
    gone = tmp_path / "gone.jsonl"
    with pytest.raises(UserError, match=f"^{gone}: cannot sync to disk"):
        sync_files([kept, gone])
    assert kept.read_text() == "{}\n"
