"""Crash points: the exact moments a crash test may stop a run, announced to a hook it passes in.

Production code passes no hook and nothing happens. A crash test passes one that kills
the process at the point and count it wants (``tests/crashing.py`` runs the CLI that way
in a child process), so that the product itself has no way to be told to crash.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

CrashPoint = Literal[
    "lineage_entries",     # the lineage file holds ``count`` entries, flushed
    "before_applying",     # the record with seq ``count`` is decided and checkpointed, not applied
    "decided",             # the record with seq ``count`` is decided, not yet checkpointed
    "before_recording",    # encounter ``count``'s lineage is written, not yet recorded
    "encounters_recorded",  # ``count`` encounters are recorded in population.jsonl
]
CRASH_POINTS: tuple[CrashPoint, ...] = ("lineage_entries", "before_applying", "decided",
                                        "before_recording", "encounters_recorded")

Faults = Callable[[CrashPoint, int], None]
"""Called at every crash point with the count reached there; may kill the process."""


def no_faults(point: CrashPoint, count: int) -> None:
    """The hook of every real run: a crash point is just passed."""
