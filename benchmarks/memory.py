"""Memory per held negotiation, and where it goes.

In a fresh interpreter, N DoND-like scripted negotiations (``scaling.dond_terms``, Boulware
against Boulware, each under its own terms) run to their outcome and are all kept (terms,
agents, driver, ledger with its records and lineage entries). ``tracemalloc`` then reports
the bytes still allocated per negotiation, and the source lines that allocated the most,
with the frames of valuesneg that led there (the allocating line is often pydantic's).

    python benchmarks/memory.py [--count 10000] [--top 12] [--json FILE]

Tracing slows the run about twofold; the figures are bytes, not times, so load does not
change them.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scaling


def _short(frame: tracemalloc.Frame) -> str:
    name = frame.filename
    for root in ("/valuesneg/", "/site-packages/", "/lib/python3"):
        if root in name:
            name = root.strip("/") + "/" + name.rsplit(root, 1)[1]
            break
    return f"{name}:{frame.lineno}"


def _where(trace: tracemalloc.Traceback) -> str:
    """The allocating line and, if that is outside valuesneg, the nearest valuesneg line."""
    frames = list(reversed(trace))  # most recent first
    ours = next((f for f in frames if "/valuesneg/" in f.filename), None)
    if ours is None or ours is frames[0]:
        return _short(frames[0])
    return f"{_short(frames[0])} <- {_short(ours)}"


def measure(count: int, top: int = 12) -> dict[str, Any]:
    tracemalloc.start(6)  # enough to reach the valuesneg line behind pydantic
    drivers = scaling._drivers(count)
    asyncio.run(scaling._all(drivers))
    gc.collect()
    snapshot = tracemalloc.take_snapshot()
    tracemalloc.stop()
    stats = snapshot.statistics("traceback")
    total = sum(s.size for s in stats)
    by_site: dict[str, list[int]] = {}
    for stat in stats:
        site = by_site.setdefault(_where(stat.traceback), [0, 0])
        site[0] += stat.size
        site[1] += stat.count
    ranked = sorted(by_site.items(), key=lambda item: -item[1][0])[:top]
    return {
        "held_negotiations": count,
        "entries_per_negotiation": round(sum(len(d.ledger.entries) for d in drivers) / count, 2),
        "traced_mb": round(total / 1e6, 1),
        "bytes_per_negotiation": round(total / count),
        "top": [{"where": where, "bytes_per_negotiation": round(size / count),
                 "blocks_per_negotiation": round(blocks / count, 1)}
                for where, (size, blocks) in ranked],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    figures = measure(args.count, args.top)
    print(f"{figures['held_negotiations']} negotiations held "
          f"({figures['entries_per_negotiation']} entries each): {figures['traced_mb']} MB "
          f"traced, {figures['bytes_per_negotiation']} bytes per negotiation")
    for row in figures["top"]:
        print(f"{row['bytes_per_negotiation']:>8} B {row['blocks_per_negotiation']:>7} blocks  "
              f"{row['where']}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
