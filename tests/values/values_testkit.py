"""Builders shared by the values tests: small valid documents to bend one field at a time."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

from valuesneg.corpora import SHIPPED_CASINO

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
MAI_SAMPLE = DATA / "mai_export_sample.json"
SHIPPED = {
    "scarce_supplies": REPO / "moral_graphs" / "scarce_supplies.json",
    "compute_and_tools": REPO / "moral_graphs" / "compute_and_tools.json",
    "shared_authority": REPO / "moral_graphs" / "shared_authority.json",
}
SCHEMA_FILE = REPO / "moral_graphs" / "schema" / "moral-graph.schema.json"
CASINO_TRAIN = SHIPPED_CASINO


def counts(w: int, nw: int = 0, lw: int = 0, u: int = 0, imp: int | None = None) -> dict[str, int]:
    return {"marked_wiser": w, "marked_not_wiser": nw, "marked_less_wise": lw,
            "marked_unsure": u, "impressions": w + nw + lw + u if imp is None else imp}


def card_doc(slug: str, *, contexts: tuple[str, ...] = ("ctx:camp",), n_policies: int = 2,
             title: str | None = None) -> dict[str, Any]:
    return {
        "id": f"card:{slug}",
        "title": title or slug.replace("-", " ").title(),
        "description": f"Acts on {slug}.",
        "attentional_policies": [
            {"id": f"ap:{slug}.{n}", "text": f"the {slug.upper()} THING number {n}"}
            for n in range(1, n_policies + 1)],
        "contexts": list(contexts),
        "provenance": {"source": "authored"},
    }


def graph_doc() -> dict[str, Any]:
    """A valid graph: three cards, two contexts, three edges (a -> b -> c, a -> c)."""
    return copy.deepcopy({
        "format": "valuesneg.moral-graph/1",
        "id": "graph:test",
        "title": "Test graph",
        "contexts": [{"id": "ctx:camp", "title": "When camping"},
                     {"id": "ctx:work", "title": "When working"}],
        "cards": [card_doc("alpha"), card_doc("beta"),
                  card_doc("gamma", contexts=("ctx:camp", "ctx:work"))],
        "edges": [
            {"source": "card:alpha", "wiser": "card:beta", "contexts": ["ctx:camp"],
             "counts": counts(5, 1, 0, 1, 8)},
            {"source": "card:beta", "wiser": "card:gamma", "contexts": ["ctx:camp"],
             "counts": counts(4, 1, 1, 0)},
            {"source": "card:alpha", "wiser": "card:gamma", "contexts": ["ctx:work"],
             "counts": counts(3, 0, 0, 1)},
        ],
    })


def plain_likelihood(w: int, nw: int, lw: int, u: int) -> float:
    total = w + nw + lw + u
    return 0.0 if total == 0 else (w - lw) / total


def plain_entropy(values: list[int]) -> float:
    total = sum(values)
    return -sum((v / total) * math.log2(v / total) for v in values if v > 0)


def plain_pagerank(nodes: list[str], edges: list[tuple[str, str, float]],
                   damping: float = 0.85, iterations: int = 100) -> dict[str, float]:
    """An independent power iteration written as a matrix product.

    M[j][i] = weight(i -> j) / (sum of i's outgoing weights), and column i is zero when
    that sum is not positive (the reference passes nothing on then); no redistribution of
    dangling rank, as in the reference.
    """
    n = len(nodes)
    at = {node: k for k, node in enumerate(nodes)}
    weight = [[0.0] * n for _ in range(n)]  # weight[i][j]: i -> j
    for s, w, x in edges:
        weight[at[s]][at[w]] += x
    out = [sum(row) for row in weight]
    matrix = [[(weight[i][j] / out[i]) if out[i] > 0 else 0.0 for i in range(n)]
              for j in range(n)]
    r = [1.0 / n] * n
    for _ in range(iterations):
        r = [(1 - damping) / n + damping * sum(matrix[j][i] * r[i] for i in range(n))
             for j in range(n)]
    return {node: r[at[node]] for node in nodes}
