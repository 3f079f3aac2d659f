"""Human-readable views of a moral graph: a text summary and, with matplotlib, a PNG."""

from __future__ import annotations

import io
import math
import textwrap
from typing import Any

from .lint import GraphWarning, lint_graph
from .model import MoralGraph
from .ranking import find_cycles, rank


class MissingDependencyError(RuntimeError):
    """An optional package (matplotlib) is needed for this and is not installed."""


def describe_graph(graph: MoralGraph, warnings: list[GraphWarning] | None = None) -> str:
    """A readable summary: header, contexts, cards with policies, edges, cycles, warnings."""
    if warnings is None:
        warnings = lint_graph(graph)
    scores = {r.id: r.score for r in rank(graph)}
    lines = [
        f"{graph.title}  [{graph.id}]",
        f"version {graph.content_hash}",
        f"{len(graph.cards)} cards, {len(graph.edges)} edges, {len(graph.contexts)} contexts",
    ]
    if graph.description:
        lines += ["", *textwrap.wrap(graph.description, 96)]
    lines += ["", "Contexts:"]
    for ctx in graph.contexts:
        n_edges = len(graph.edges_in_context(ctx.id))
        lines.append(f"  {ctx.id}  {ctx.title}  ({n_edges} edges)")
    lines += ["", "Cards:"]
    for card in graph.cards:
        src = f"  source_id={card.provenance.source_id}" if (
            card.provenance.source_id is not None) else ""
        score = f"  pagerank={scores[card.id]:.4f}" if card.id in scores else ""
        lines.append(f"  {card.id}  {card.title}{src}{score}")
        for ap in card.attentional_policies:
            lines.append(f"      {ap.id}  {ap.text}")
        if card.contexts:
            lines.append(f"      contexts: {', '.join(card.contexts)}")
    lines += ["", "Edges (less wise -> wiser):"]
    for i, edge in enumerate(graph.edges):
        c = edge.counts
        lines.append(
            f"  [{i}] {edge.source} -> {edge.wiser}  in {', '.join(edge.contexts) or '(none)'}"
            f"  wiser={c.marked_wiser} not={c.marked_not_wiser} less={c.marked_less_wise}"
            f" unsure={c.marked_unsure} impressions={c.impressions}"
            f"  likelihood={edge.wiser_likelihood:.4f} entropy={edge.entropy:.4f}"
            f"{'' if edge.passes_reference_filter else '  (below reference filter)'}")
    cycles = find_cycles(graph)
    lines += ["", f"Cycles: {len(cycles)} strongly connected group(s)"]
    for cycle in cycles:
        lines.append("  " + " -> ".join([*cycle, cycle[0]]))
    for ctx in graph.contexts:
        for cycle in find_cycles(graph, ctx.id):
            lines.append(f"  within {ctx.id}: " + " -> ".join([*cycle, cycle[0]]))
    if warnings:
        lines += ["", f"Warnings: {len(warnings)}"]
        lines += [f"  {w}" for w in warnings]
    return "\n".join(lines) + "\n"


def _load_matplotlib() -> tuple[Any, Any]:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingDependencyError(
            "drawing a PNG needs matplotlib, which is not installed; install it with "
            "`pip install matplotlib` (valuesneg does not depend on it)") from None
    return Figure, FigureCanvasAgg


def graph_png(graph: MoralGraph, *, context: str | None = None) -> bytes:
    """PNG bytes: cards on a circle (best ranked at the top), arrows from less wise to wiser.

    Node size follows the PageRank score. Uses matplotlib's object API (no pyplot, no global
    backend change). Raises :class:`MissingDependencyError` when matplotlib is absent.
    """
    figure_cls, canvas_cls = _load_matplotlib()
    ranked = rank(graph, context, include_unranked=True)
    order = [r.id for r in ranked]
    order += [c.id for c in graph.cards if c.id not in set(order)]
    scores = {r.id: r.score for r in ranked}
    top = max([s for s in scores.values() if s > 0], default=1.0)
    n = max(len(order), 1)
    pos = {cid: (math.cos(math.pi / 2 - 2 * math.pi * k / n),
                 math.sin(math.pi / 2 - 2 * math.pi * k / n)) for k, cid in enumerate(order)}
    fig = figure_cls(figsize=(11, 11))
    canvas_cls(fig)
    ax = fig.add_subplot(1, 1, 1)
    ctx_id = graph.resolve_context(context).id if context else None
    for edge in graph.edges:
        if ctx_id is not None and ctx_id not in edge.contexts:
            continue
        (x0, y0), (x1, y1) = pos[edge.source], pos[edge.wiser]
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops={"arrowstyle": "-|>", "lw": 0.5 + 2.5 * max(
                        edge.wiser_likelihood, 0.0), "color": "#4a6fa5", "alpha": 0.8,
                        "shrinkA": 18, "shrinkB": 18,
                        # curved, so that A -> B and B -> A do not overlap
                        "connectionstyle": "arc3,rad=0.15"})
    for cid in order:
        x, y = pos[cid]
        size = 300 + 2200 * max(scores.get(cid, 0.0), 0.0) / top
        ax.scatter([x], [y], s=size, color="#f2c14e", edgecolors="#333333", zorder=3)
        label = "\n".join(textwrap.wrap(graph.card(cid).title, 18))
        ax.text(x * 1.25, y * 1.22, f"{label}\n({cid})", ha="center", va="center", fontsize=8)
    where = f" — {graph.context(ctx_id).title}" if ctx_id else ""
    ax.set_title(f"{graph.title}{where}\narrows point to the wiser value; size = PageRank")
    ax.set_xlim(-1.6, 1.6)
    ax.set_ylim(-1.6, 1.6)
    ax.set_aspect("equal")
    ax.axis("off")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()
