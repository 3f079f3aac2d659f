"""Load-independent cost of the core: Python calls and CPU instructions per record.

Timings on a shared machine swing with its load; these counts do not. For the 55-record
campsite negotiation of ``core_throughput.py`` (the party records applied into fresh
ledgers, and its lineage through ``verify_lines``):

- ``calls``: Python function calls per record, counted by cProfile;
- ``--callgrind``: instructions per record under ``valgrind --tool=callgrind``, taken as the
  difference between a run doing N replays and one doing none (so imports and the
  negotiation's production are not counted), with ``PYTHONHASHSEED=0``;
- ``--top N``: the top of the cProfile profile by own time.

    python benchmarks/core_counts.py [--replays 200] [--callgrind] [--top 15]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from core_throughput import SCENARIO, party_records

from valuesneg.core import Ledger, verify_lines
from valuesneg.scenario import load_scenario


def workload(replays: int, which: str) -> int:
    """Replay the negotiation ``replays`` times through ``which`` (core or verify); the
    records handled."""
    terms, inputs, lines = party_records(load_scenario(SCENARIO).terms, 40)
    done = 0
    for _ in range(replays):
        if which == "core":
            ledger = Ledger(terms)
            for record in inputs:
                done += len(ledger.apply(record))
        else:
            done += len(verify_lines(lines).records)
    return done


def calls(replays: int, which: str, top: int) -> tuple[float, int]:
    workload(1, which)  # warm caches, as a long run would have them
    profiler = cProfile.Profile()
    profiler.enable()
    done = workload(replays, which)
    profiler.disable()
    stats = pstats.Stats(profiler)
    if top:
        stats.sort_stats("tottime").print_stats(top)
    return stats.total_calls / done, done  # type: ignore[attr-defined]


def instructions(replays: int, which: str) -> float:
    """Instructions per record: callgrind's total at ``replays`` minus at 0, per record."""
    totals, records = [], 0
    for n in (0, replays):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "cg.out"
            run = subprocess.run(
                ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                 sys.executable, __file__, "--child", which, str(n)],
                env={**os.environ, "PYTHONHASHSEED": "0"}, capture_output=True, text=True,
                check=True)
            totals.append(int(re.findall(r"^summary: (\d+)", out.read_text(), re.M)[-1]))
            if n:
                records = int(run.stdout.split()[-1])
    return (totals[1] - totals[0]) / records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replays", type=int, default=200)
    parser.add_argument("--callgrind", action="store_true")
    parser.add_argument("--top", type=int, default=0)
    parser.add_argument("--child", nargs=2, metavar=("WHICH", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(workload(int(args.child[1]), args.child[0]))
        return
    for which in ("core", "verify"):
        per_record, done = calls(args.replays, which, args.top)
        line = f"{which}: {per_record:.1f} Python calls per record ({done} records)"
        if args.callgrind:
            per_instr = instructions(max(args.replays // 4, 20), which)
            line += f", {per_instr:,.0f} instructions per record"
        print(line, flush=True)


if __name__ == "__main__":
    main()
