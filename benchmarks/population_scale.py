"""Population scale: how a population run grows with the number of agents and generations.

For each size N (agents; default 100, 1,000 and 10,000) and each generation count G
(default 1), G generations in which every agent meets one other (N/2 encounters each, every
one a full signed negotiation through the core, its lineage written to disk), run by
``valuesneg population run`` in a fresh interpreter, so start-up and imports are counted
once per run and no other run's memory is. The full benchmark of the issue is
``--sizes 1000 --generations 20`` (10,000 encounters). Reported per run:

- ``run_seconds``: the run itself as the command reports it (founders drawn, every
  encounter negotiated, written, re-read and recorded, the ledger, ``metrics.json`` and
  ``report.html``), without interpreter start-up and imports; ``wall_seconds`` with them;
- ``encounters_per_s``: encounters / ``run_seconds``; ``ms_per_encounter``: the inverse;
- ``cpu_seconds`` (user + system of the child) and ``encounters_per_cpu_s``: what one core
  would do with the machine to itself (on a shared machine wall time is inflated by load);
- ``peak_rss_mb``: the child's peak resident set (``getrusage(RUSAGE_CHILDREN)``);
- ``bytes_per_encounter``: the run folder's size over its encounters (lineages dominate).

``--executor process:N`` runs the encounters in a pool of N worker processes instead.
``--profile`` runs one generation of the first size in this process under cProfile and
prints the top of the profile instead.

    .venv/bin/python benchmarks/population_scale.py [--sizes 100,1000,10000]
        [--generations 1,5,20] [--executor local|process:N] [--json FILE] [--profile]
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
    config = folder / f"scale-{agents}-{generations}.yaml"
    config.write_text(yaml.safe_dump(_settings(agents, generations)))
    out = folder / f"out-{agents}-{generations}"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    child = subprocess.run([sys.executable, "-m", "valuesneg", "population", "run",
                            str(config), "--out", str(out), "--executor", executor, "--quiet"],
                           check=True, stdout=subprocess.PIPE, text=True)
    wall = time.perf_counter() - began
    reported = re.search(r" in ([0-9.]+)s;", child.stdout)
    assert reported is not None, child.stdout
    seconds = float(reported.group(1))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    encounters = json.loads((out / "metrics.json").read_text())["encounters"]
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return {"agents": agents, "generations": generations, "encounters": encounters,
            "run_seconds": seconds, "wall_seconds": round(wall, 1),
            "encounters_per_s": round(encounters / seconds, 1),
            "ms_per_encounter": round(1000 * seconds / encounters, 2),
            "cpu_seconds": round(cpu, 1),
            "encounters_per_cpu_s": round(encounters / cpu, 1),
            # ru_maxrss is the largest child so far: a smaller run's peak never shows up as
            # a later run's, since runs go in increasing order of size.
            "peak_rss_mb": round(max(after.ru_maxrss, before.ru_maxrss) / 1024, 1),
            "bytes_per_encounter": size // encounters}


def profile(agents: int, folder: Path) -> None:
    """One generation of ``agents`` in this process under cProfile: the top by own time."""
    import cProfile
    import pstats

    from valuesneg.population.config import config_from
    from valuesneg.population.runner import start

    config = config_from(_settings(agents, 1), folder / "profile.yaml")
    profiler = cProfile.Profile()
    profiler.runcall(start, config, folder / "profiled", progress=False)
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)


def _settings(agents: int, generations: int) -> dict[str, Any]:
    return {"name": f"scale-{agents}", "agents": agents, "generations": generations,
            "seed": 1, "strategies": {"values": 2, "boulware": 1, "conceder": 1, "inflate": 1},
            "learning": {"enabled": True}, "dynamics": {"rule": "imitation"}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--generations", default="1", help="generation counts, e.g. 1,5,20")
    parser.add_argument("--executor", default="local")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    counts = sorted(int(g) for g in args.generations.split(","))
    rows = []
    with tempfile.TemporaryDirectory(prefix="population-scale-") as tmp:
        if args.profile:
            profile(sizes[0], Path(tmp))
            return
        for agents, generations in sorted((n, g) for n in sizes for g in counts):
            row = measure(agents, generations, args.executor, Path(tmp))
            rows.append(row)
            print(f"{agents:>7} agents {generations:>3} gen  {row['encounters']:>6} enc  "
                  f"{row['run_seconds']:>8.1f} s run  {row['wall_seconds']:>8.1f} s wall  "
                  f"{row['encounters_per_s']:>7.1f} enc/s  {row['cpu_seconds']:>7.1f} s cpu  "
                  f"{row['encounters_per_cpu_s']:>7.1f} enc/cpu-s  "
                  f"{row['peak_rss_mb']:>7.1f} MB  {row['bytes_per_encounter']:>6} B/enc",
                  flush=True)
    result = {"executor": args.executor, "cpus": os.cpu_count(),
              "load_average": os.getloadavg(), "sizes": rows}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
