"""Population scale: how a population run grows with the number of agents.

For each size N (agents; default 100, 1,000 and 10,000), one generation in which every
agent meets one other (N/2 encounters, each a full signed negotiation through the core,
its lineage written, re-read, replayed and signature-checked before it is recorded), run
by ``valuesneg population run`` in a fresh interpreter, so start-up and imports are counted
once per size and no other size's memory is. Reported per size:

- ``run_seconds``: the run itself as the command reports it (founders drawn, every
  encounter negotiated, written, re-read and recorded, the ledger, ``metrics.json`` and
  ``report.html``), without interpreter start-up and imports; ``wall_seconds`` with them;
- ``encounters_per_s``: encounters / ``run_seconds``; ``ms_per_encounter``: the inverse;
- ``peak_rss_mb``: the child's peak resident set (``getrusage(RUSAGE_CHILDREN)``);
- ``bytes_per_encounter``: the run folder's size over its encounters (lineages dominate).

``--executor process:N`` runs the encounters in a pool of N worker processes instead.

    .venv/bin/python benchmarks/population_scale.py [--sizes 100,1000,10000]
        [--generations G] [--executor local|process:N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml


def measure(agents: int, generations: int, executor: str, folder: Path) -> dict[str, Any]:
    config = folder / f"scale-{agents}.yaml"
    config.write_text(yaml.safe_dump({
        "name": f"scale-{agents}", "agents": agents, "generations": generations, "seed": 1,
        "strategies": {"values": 2, "boulware": 1, "conceder": 1, "inflate": 1},
        "learning": {"enabled": True}, "dynamics": {"rule": "imitation"}}))
    out = folder / f"out-{agents}"
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    began = time.perf_counter()
    child = subprocess.run([sys.executable, "-m", "valuesneg", "population", "run",
                            str(config), "--out", str(out), "--executor", executor, "--quiet"],
                           check=True, stdout=subprocess.PIPE, text=True)
    wall = time.perf_counter() - began
    reported = re.search(r" in ([0-9.]+)s;", child.stdout)
    assert reported is not None, child.stdout
    seconds = float(reported.group(1))
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    encounters = json.loads((out / "metrics.json").read_text())["encounters"]
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {"agents": agents, "generations": generations, "encounters": encounters,
            "run_seconds": seconds, "wall_seconds": round(wall, 1),
            "encounters_per_s": round(encounters / seconds, 1),
            "ms_per_encounter": round(1000 * seconds / encounters, 2),
            # ru_maxrss is the largest child so far: a smaller size's peak never shows up
            # as a later size's, since sizes run in increasing order.
            "peak_rss_mb": round(max(peak, before) / 1024, 1),
            "bytes_per_encounter": size // encounters}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--generations", type=int, default=1)
    parser.add_argument("--executor", default="local")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    rows = []
    with tempfile.TemporaryDirectory(prefix="population-scale-") as tmp:
        for agents in sizes:
            row = measure(agents, args.generations, args.executor, Path(tmp))
            rows.append(row)
            print(f"{agents:>7} agents  {row['encounters']:>6} encounters  "
                  f"{row['run_seconds']:>8.1f} s run  {row['wall_seconds']:>8.1f} s wall  "
                  f"{row['encounters_per_s']:>7.1f} enc/s  "
                  f"{row['ms_per_encounter']:>7.2f} ms/enc  {row['peak_rss_mb']:>7.1f} MB  "
                  f"{row['bytes_per_encounter']:>6} B/enc", flush=True)
    result = {"executor": args.executor, "cpus": os.cpu_count(), "sizes": rows}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
