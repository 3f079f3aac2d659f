"""Scaling: concurrent scripted negotiations, memory for 1,000 held at once, and the cost per
lineage entry as a lineage grows from 10^2 to 10^6 entries.

- ``concurrent_rates``: N negotiations (DoND-like divisions, Boulware against Boulware) run
  as N asyncio tasks that yield to the event loop after every turn, so all N are in flight
  at once; negotiations per second for N = 1, 10, 100, 1,000. The scripted agents and the
  core are synchronous and CPU-bound, so asyncio interleaves them on one core: the figure
  shows the cost of holding many negotiations open, not parallel speed-up.
- ``peak_rss_mb``: the peak resident set of a fresh interpreter that runs 1,000 such
  negotiations concurrently and keeps every ledger (all entries and records) in memory,
  read from ``resource.getrusage`` in a subprocess so no other benchmark's allocations count.
- ``lineage_rates``: one lineage grown to N entries, the records built directly (no agents,
  whose views re-read the transcript every turn). The protocol caps a negotiation at 10^4
  rounds (``Policy.round_cap``), so each lineage is a negotiation of up to 10^4 counter-offers
  that the fallback settles, followed by the grantee's commits under its grant until it
  holds N entries. Applied through a real ``Ledger`` whose entries are flushed every 10^4
  (so 10^6 entries fit in memory); verified through ``verify_lines``, which holds the whole
  lineage, up to ``verify_limit`` entries.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from valuesneg.agents.scripted import ConcessionAgent
from valuesneg.core import (
    Commit,
    Counter,
    Header,
    Ledger,
    Negotiation,
    Request,
    Terms,
    verify_lines,
)
from valuesneg.corpora.base import PartySpec, division_terms
from valuesneg.orchestration.driver import Driver

HERE = Path(__file__).resolve().parent
ROUND_CAP = 20


def dond_game(rng: random.Random) -> tuple[list[int], tuple[list[int], list[int]]]:
    """Deal or No Deal's game: three item types, 1-4 of each, and each party's integer
    points per item such that the whole pool is worth 10 to it."""
    while True:
        counts = [rng.randint(1, 4) for _ in range(3)]
        # Every point vector with the pool worth 10 (some counts, e.g. all 4s, allow none).
        options = [v for v in itertools.product(range(11), repeat=3)
                   if sum(a * c for a, c in zip(v, counts, strict=True)) == 10]
        if options:
            return counts, (list(rng.choice(options)), list(rng.choice(options)))


def dond_terms(index: int, rng: random.Random, round_cap: int = ROUND_CAP) -> Terms:
    """A DoND-like division: three item types, integer points, the pool worth 10 to each."""
    counts, values = dond_game(rng)
    dims = {f"dim:item{i}": c for i, c in enumerate(counts)}
    parties = [PartySpec(p, {d: float(v) for d, v in zip(dims, points, strict=True)}, 0.0, ())
               for p, points in zip(("p1", "p2"), values, strict=True)]
    return division_terms(f"neg:scale-{index}", "dond", dims, parties, round_cap=round_cap)


def _drivers(count: int, seed: int = 8) -> list[Driver]:
    rng = random.Random(seed)
    out = []
    for n in range(count):
        terms = dond_terms(n, rng)
        agents = {p: ConcessionAgent.named(p, "boulware") for p in terms.party_ids}
        out.append(Driver(terms, agents, wind_down=False))
    return out


async def _negotiate(driver: Driver) -> None:
    while driver.ledger.negotiation.outcome is None:
        driver.turn()
        await asyncio.sleep(0)  # let every other negotiation take its turn


async def _all(drivers: list[Driver]) -> None:
    await asyncio.gather(*(_negotiate(d) for d in drivers))


def concurrent_rate(count: int) -> float:
    drivers = _drivers(count)  # terms and agents built outside the timing
    started = time.perf_counter()
    asyncio.run(_all(drivers))
    elapsed = time.perf_counter() - started
    assert all(d.ledger.negotiation.outcome is not None for d in drivers)
    return count / elapsed


def concurrent_rates(levels: tuple[int, ...], repeats: int = 2) -> dict[int, float]:
    return {n: round(max(concurrent_rate(n) for _ in range(repeats)), 1) for n in levels}


def _peak_mb() -> float:
    """This process's peak resident set. ru_maxrss survives fork and exec on Linux, so a
    child of a big benchmark process would report its parent's peak: VmHWM (reset by exec)
    is read instead where /proc has it."""
    import resource

    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _hold(count: int) -> dict[str, float]:
    """In a fresh interpreter: run ``count`` negotiations concurrently, keep them all."""
    before = _peak_mb()  # the interpreter with valuesneg and its dependencies imported
    drivers = _drivers(count)
    asyncio.run(_all(drivers))
    entries = sum(len(d.ledger.entries) for d in drivers)
    return {"peak_rss_mb": round(_peak_mb(), 1), "baseline_rss_mb": round(before, 1),
            "held_negotiations": len(drivers), "held_entries": entries}


def peak_rss(count: int = 1_000) -> dict[str, float]:
    out = subprocess.run([sys.executable, str(Path(__file__)), "--hold", str(count)],
                         check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# -- lineage growth --------------------------------------------------------------------------

def _long_terms(round_cap: int) -> Terms:
    return dond_terms(0, random.Random(1), round_cap=round_cap)


def _inputs(terms: Terms, entries: int) -> Iterator[Header]:
    """Party records that make a lineage of about ``entries`` entries: counter-offers until
    the round cap, then commits under the first party's grant."""
    negotiation = Negotiation(terms)  # a scratch copy to read seqs and the grant from
    p1, p2 = terms.party_ids
    dims = sorted(terms.contested)
    units = {d: terms.dimension(d).units for d in dims}
    version = {p: negotiation.state.envelopes[p].version for p in (p1, p2)}
    why = ("clause:agreement",)
    seq = 1

    def send(record: Header) -> Header:
        nonlocal seq
        seq += len(negotiation.apply(record))
        return record

    yield send(Request(
        negotiation=terms.negotiation, sender=p1, seq=seq, tick=0, envelope_version=version[p1],
        projection=tuple(dims), proposal={d: {p1: units[d], p2: 0} for d in dims},
        duration=terms.policy.grant_duration_cap, tiers=dict(terms.policy.tiers[p1]),
        rationale=why))
    turn = 0
    while negotiation.outcome is None:
        sender = p2 if turn % 2 == 0 else p1
        table = negotiation.state.proposal
        assert table is not None
        # A counter must change the table: move one unit of one dimension to the sender.
        dim = next(d for d in dims if table.allocation[d][sender] < units[d])
        other = p1 if sender == p2 else p2
        value = {sender: table.allocation[dim][sender] + 1,
                 other: table.allocation[dim][other] - 1}
        yield send(Counter(
            negotiation=terms.negotiation, sender=sender, seq=seq, tick=0,
            envelope_version=version[sender], reply_to=table.seq, dimension=dim, value=value,
            rationale=why))
        turn += 1
    grant = next(g.grant for g in negotiation.state.grants.values())
    while seq < entries:
        yield send(Commit(
            negotiation=terms.negotiation, sender=grant.grantee, seq=seq, tick=grant.starts,
            envelope_version=version[grant.grantee], grant_id=grant.grant_id,
            dimension=grant.dimension, units=1))


def _round_cap_for(entries: int) -> int:
    # Half the lineage negotiating (up to the protocol's 10^4 cap), the rest committing;
    # counters alternate parties so a run of them never empties a dimension.
    return max(2, min(10_000, entries // 2))


def lineage_point(entries: int, verify: bool) -> dict[str, float]:
    terms = _long_terms(_round_cap_for(entries))
    inputs = list(_inputs(terms, entries))
    ledger = Ledger(terms)
    lines = [ledger.entries[0].line()] if verify else []
    applied = 0
    started = time.perf_counter()
    for record in inputs:
        applied += len(ledger.apply(record))
        if len(ledger.entries) > 10_000:
            if verify:
                lines.extend(e.line() for e in ledger.entries[1:])
            del ledger.entries[:-1]  # keep the head only: 10^6 entries would not fit
            ledger.records.clear()
    apply_s = time.perf_counter() - started
    # Writing lines out is the caller's job; it is timed out of the apply figure above.
    point = {"entries": applied + 1, "apply_per_s": round(applied / apply_s)}
    if verify:
        lines.extend(e.line() for e in ledger.entries[1:])
        started = time.perf_counter()
        verified = len(verify_lines(lines).records) + 1
        point["verify_per_s"] = round(verified / (time.perf_counter() - started))
    return point


def lineage_rates(sizes: tuple[int, ...], verify_limit: int) -> list[dict[str, float]]:
    return [lineage_point(n, verify=n <= verify_limit) for n in sizes]


def measure(quick: bool = False, smoke: bool = False) -> dict[str, Any]:
    """``smoke``: tiny sizes, only to check the harness runs (the test suite's mode)."""
    levels = (1, 2) if smoke else (1, 10, 100) if quick else (1, 10, 100, 1_000)
    figures: dict[str, Any] = {}
    for n, rate in concurrent_rates(levels, repeats=1 if quick or smoke else 2).items():
        figures[f"concurrent_{n}_negotiations_per_s"] = rate
    figures.update(peak_rss(5 if smoke else 1_000))
    sizes = ((100, 300) if smoke else (100, 1_000, 10_000) if quick
             else (100, 1_000, 10_000, 100_000, 1_000_000))
    points = lineage_rates(sizes, verify_limit=sizes[-1])
    for point in points:
        n = point["entries"]
        figures[f"lineage_{n}_apply_per_s"] = point["apply_per_s"]
        if "verify_per_s" in point:
            figures[f"lineage_{n}_verify_per_s"] = point["verify_per_s"]
    first, last = points[0], points[-1]
    # Linear total cost means a flat rate: the largest lineage's rate over the smallest's.
    figures["lineage_apply_rate_ratio_largest_smallest"] = round(
        last["apply_per_s"] / first["apply_per_s"], 2)
    verified = [p for p in points if "verify_per_s" in p]
    figures["lineage_verify_rate_ratio_largest_smallest"] = round(
        verified[-1]["verify_per_s"] / verified[0]["verify_per_s"], 2)
    return figures


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--hold":
        print(json.dumps(_hold(int(sys.argv[2]))))
    else:
        print(json.dumps(measure(quick="--quick" in sys.argv), indent=2))
