"""What each dependency of valuesneg adds to an install: size, and where the time goes.

    VENV/bin/python benchmarks/install/measure.py sizes [EXTRA ...]
    python benchmarks/install/measure.py times PIP_LOG

``sizes`` reads the environment it runs in: a distribution's size is the sum of the sizes in
its RECORD (what pip wrote), and each direct dependency of valuesneg is charged with its own
closure and with the part of it no other direct dependency needs ("alone": what dropping it
would save). ``times`` reads a ``pip install --log FILE`` log (timestamped): the resolve and
download phase is charged, line by line, to the direct dependency each ``Collecting`` line
comes from, and the unpacking phase is reported as a whole (pip logs no per-package times).
"""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime
from importlib import metadata
from itertools import pairwise
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

MB = 1e6


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed() -> dict[str, tuple[metadata.Distribution, int]]:
    found = {}
    for dist in metadata.distributions():
        size = sum(int(f.size) for f in dist.files or () if f.size)
        found[canonical(dist.metadata["Name"])] = (dist, size)
    return found


def requirements(dists: dict, name: str, extras: tuple[str, ...]) -> list[tuple[str, tuple]]:
    env, out = default_environment(), []
    for text in dists[name][0].requires or ():
        req = Requirement(text)
        if req.marker is None or any(req.marker.evaluate({**env, "extra": e})
                                     for e in (*extras, "")):
            out.append((canonical(req.name), tuple(sorted(req.extras))))
    return out


def closure(dists: dict, roots: list[tuple[str, tuple]]) -> set[str]:
    seen: set[tuple[str, tuple]] = set()
    todo = list(roots)
    while todo:
        item = todo.pop()
        if item[0] in dists and item not in seen:
            seen.add(item)
            todo += requirements(dists, *item)
    return {name for name, _ in seen}


def sizes(extras: tuple[str, ...]) -> dict:
    dists = installed()
    direct = requirements(dists, "valuesneg", extras)
    every = closure(dists, direct)
    total = sum(dists[n][1] for n in every)
    rows = []
    for dep in direct:
        own = closure(dists, [dep])
        alone = own - closure(dists, [d for d in direct if d != dep])
        rows.append({"dependency": dep[0],
                     "closure_mb": round(sum(dists[n][1] for n in own) / MB, 1),
                     "alone_mb": round(sum(dists[n][1] for n in alone) / MB, 1),
                     "alone": sorted(alone, key=lambda n: -dists[n][1])})
    rows.sort(key=lambda r: -r["alone_mb"])
    return {"extras": list(extras), "distributions": len(every), "total_mb": round(total / MB, 1),
            "by_dependency": rows}


STAMP = re.compile(r"^(\S+) +(Collecting|Processing|Installing collected packages|"
                   r"Successfully installed) ?(\S*)(.*)$")


def _charged_to(what: str, rest: str) -> str:
    """The direct dependency a Collecting/Processing line works for: the second-last link
    of its ``(from A->B->valuesneg==V)`` chain, or the package itself when valuesneg wants it
    directly; a line with no chain is valuesneg's own build."""
    chain = re.search(r"\(from (.*)\)$", rest)
    if chain is None:
        return "(valuesneg's own build)"
    links = [re.match(r"[A-Za-z0-9_.\-]+", link).group(0) for link in chain.group(1).split("->")]
    if len(links) >= 2:
        return canonical(links[-2])
    if what.endswith(".whl"):  # a wheel's file name: NAME-VERSION-...
        return canonical(Path(what).name.split("-", 1)[0])
    return canonical(re.split(r"[<>=!~\[;]", what, maxsplit=1)[0])


def times(log: Path) -> dict:
    events = []
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if (match := STAMP.match(line)) is not None:
            when = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S,%f")
            events.append((when, match.group(2), _charged_to(match.group(3), match.group(4))))
    start, end = events[0][0], events[-1][0]
    unpack = next(w for w, kind, _ in reversed(events) if kind.startswith("Installing"))
    charged: dict[str, float] = {}
    for (when, kind, top), (after, _, _) in pairwise(events):
        if kind in ("Collecting", "Processing") and after <= unpack:
            charged[top] = charged.get(top, 0.0) + (after - when).total_seconds()
    return {"total_s": round((end - start).total_seconds(), 1),
            "resolve_and_download_s": round((unpack - start).total_seconds(), 1),
            "unpack_s": round((end - unpack).total_seconds(), 1),
            "resolve_by_dependency_s": {k: round(v, 1) for k, v in
                                        sorted(charged.items(), key=lambda kv: -kv[1])}}


if __name__ == "__main__":
    command, rest = sys.argv[1], sys.argv[2:]
    result = sizes(tuple(rest)) if command == "sizes" else times(Path(rest[0]))
    print(json.dumps(result, indent=2))
