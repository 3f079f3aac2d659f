"""Import the Meaning Alignment Institute's moral-graph export (format v1), losslessly.

Mapping (see ``moral_graphs/README.md``):

- each value becomes a card ``card:mai-<id>``; ``provenance.source_id`` is the integer id;
  ``title`` is the title; ``description`` copies ``instructionsShort`` (older exports call it
  ``description``); ``evaluationCriteria`` (older exports: ``policies``) become the attentional
  policies ``ap:mai-<id>.1``, ``.2``, ... in their order; every other field of the value
  (``instructionsShort``, ``instructionsDetailed``, ``createdAt``, ``updatedAt``,
  ``pageRank``, ``votes``, anything unknown) is kept verbatim in ``provenance.extra``;
- each context string becomes a context ``ctx:<slug>`` whose title is the string; slugs are
  allocated over the sorted set of all context strings in the file, a collision getting
  ``-2``, ``-3``, ... (:func:`valuesneg.values.ids.allocate_slugs`), so ids do not depend on
  edge order or on filtering;
- each edge keeps its counts; its ``summary`` and any unknown fields (unknown keys inside
  ``counts`` under ``extra["counts"]``) are kept verbatim in ``provenance.extra``. The
  derived ``wiser_likelihood`` and ``entropy`` are always recomputed from the counts; lint
  reports a ``summary-mismatch`` when the file's own values disagree;
- a card's contexts are the contexts of the (kept) edges that touch it;
- unknown top-level fields go to the graph's ``provenance.extra["fields"]``.

Cycles are accepted. ``apply_reference_filter=True`` keeps only the edges MAI publishes
(markedWiser >= 2, wiserLikelihood >= 0.33, entropy <= 1.69) and, like the reference, only
the values those edges reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

from pydantic import ValidationError

from .errors import GraphError, format_loc
from .ids import allocate_slugs, card_id, context_id, policy_id, slugify
from .io import read_json_file
from .model import (
    GRAPH_FORMAT,
    AttentionalPolicy,
    Context,
    MoralGraph,
    Provenance,
    ValuesCard,
    VoteCounts,
    WiserEdge,
    entropy,
    passes_reference_filter,
    wiser_likelihood,
)

COUNT_FIELDS = (
    ("markedWiser", "marked_wiser"),
    ("markedNotWiser", "marked_not_wiser"),
    ("markedLessWise", "marked_less_wise"),
    ("markedUnsure", "marked_unsure"),
    ("impressions", "impressions"),
)
DESCRIPTION_FIELDS = ("instructionsShort", "description", "instructionsDetailed")
CRITERIA_FIELDS = ("evaluationCriteria", "policies")
EDGE_FIELDS = ("sourceValueId", "wiserValueId", "contexts", "counts")


def mai_card_id(value_id: int) -> str:
    """Our card id for a MAI value id."""
    return card_id(f"mai-{value_id}")


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def import_mai(source: str | Path | Mapping[str, Any], *,
               apply_reference_filter: bool = False, graph_id: str | None = None,
               title: str | None = None) -> MoralGraph:
    """Import a MAI moral-graph export (a file path or the decoded JSON object).

    Raises :class:`GraphError` naming the file and the field (``values[3].id``,
    ``edges[7].counts.markedWiser``) when the export is malformed.
    """
    path: Path | None = None
    if isinstance(source, Mapping):
        data: Any = source
    else:
        path = Path(source)
        data = read_json_file(path, GraphError)
    stem = path.stem if path is not None else "mai-import"
    return _convert(data, path=path, apply_filter=apply_reference_filter,
                    graph_id=graph_id or f"graph:{slugify(stem)}",
                    title=title or (f"MAI moral graph ({path.name})" if path else
                                    "MAI moral graph"))


def _fail(message: str, where: str | None, path: Path | None) -> GraphError:
    return GraphError(message, where=where, path=path)


def _convert(data: Any, *, path: Path | None, apply_filter: bool, graph_id: str,
             title: str) -> MoralGraph:
    if not isinstance(data, Mapping):
        raise _fail(f"a MAI export is a JSON object, not {type(data).__name__}", None, path)
    for key in ("values", "edges"):
        if key not in data:
            raise _fail("required field is missing", key, path)
        if not isinstance(data[key], list):
            raise _fail(f"must be a list, not {type(data[key]).__name__}", key, path)

    cards: dict[int, dict[str, Any]] = {}
    order: list[int] = []
    for i, value in enumerate(data["values"]):
        here = f"values[{i}]"
        if not isinstance(value, Mapping):
            raise _fail("a value is a JSON object", here, path)
        vid = value.get("id")
        if not _is_int(vid) or vid < 0:
            raise _fail(f"value id must be a non-negative integer, found {vid!r}",
                        f"{here}.id", path)
        if vid in cards:
            raise _fail(f"duplicate value id {vid} (also values[{cards[vid]['index']}])",
                        f"{here}.id", path)
        vtitle = value.get("title")
        if not isinstance(vtitle, str) or not vtitle.strip():
            raise _fail(f"value {vid}: title must be a non-empty string", f"{here}.title",
                        path)
        crit_key = next((k for k in CRITERIA_FIELDS if k in value), None)
        if crit_key is None:
            raise _fail(f"value {vid} has neither evaluationCriteria nor policies", here, path)
        criteria = value[crit_key]
        if not isinstance(criteria, list) or not criteria:
            raise _fail(f"value {vid} has no evaluation criteria (attentional policies); a "
                        "values card lists the things its holder attends to",
                        f"{here}.{crit_key}", path)
        for j, text in enumerate(criteria):
            if not isinstance(text, str) or not text.strip():
                raise _fail(f"value {vid}: each criterion must be a non-empty string",
                            f"{here}.{crit_key}[{j}]", path)
        description = next((value[k] for k in DESCRIPTION_FIELDS
                            if isinstance(value.get(k), str) and value[k].strip()), vtitle)
        extra = {k: v for k, v in value.items() if k not in ("id", "title", crit_key)}
        cards[vid] = {"index": i, "title": vtitle, "description": description,
                      "criteria": criteria, "extra": extra}
        order.append(vid)

    edges: list[dict[str, Any]] = []
    seen: dict[tuple[int, int, str], int] = {}
    context_strings: list[str] = []
    for i, edge in enumerate(data["edges"]):
        here = f"edges[{i}]"
        if not isinstance(edge, Mapping):
            raise _fail("an edge is a JSON object", here, path)
        ends: list[int] = []
        for key in ("sourceValueId", "wiserValueId"):
            vid = edge.get(key)
            if not _is_int(vid):
                raise _fail(f"must be an integer value id, found {vid!r}", f"{here}.{key}",
                            path)
            if vid not in cards:
                raise _fail(f"edge refers to unknown value id {vid}", f"{here}.{key}", path)
            ends.append(vid)
        src, wiser = ends
        if src == wiser:
            raise _fail(f"edge {src} -> {wiser}: a value cannot be wiser than itself", here,
                        path)
        contexts = edge.get("contexts", None)
        if not isinstance(contexts, list):
            raise _fail("must be a list of context strings", f"{here}.contexts", path)
        for j, ctx in enumerate(contexts):
            if not isinstance(ctx, str) or not ctx.strip():
                raise _fail("a context must be a non-empty string", f"{here}.contexts[{j}]",
                            path)
            if contexts.index(ctx) != j:
                raise _fail(f"context {ctx!r} is listed twice", f"{here}.contexts[{j}]", path)
            key3 = (src, wiser, ctx)
            if key3 in seen:
                raise _fail(f"edge {src} -> {wiser} appears twice in context {ctx!r} (also "
                            f"edges[{seen[key3]}])", here, path)
            seen[key3] = i
            context_strings.append(ctx)
        if not contexts:
            key3 = (src, wiser, "")
            if key3 in seen:
                raise _fail(f"edge {src} -> {wiser} appears twice without a context (also "
                            f"edges[{seen[key3]}])", here, path)
            seen[key3] = i
        counts_raw = edge.get("counts")
        if not isinstance(counts_raw, Mapping):
            raise _fail("required object 'counts' is missing or not an object",
                        f"{here}.counts", path)
        counts: dict[str, int] = {}
        for mai_key, our_key in COUNT_FIELDS:
            n = counts_raw.get(mai_key)
            if not _is_int(n) or n < 0:
                raise _fail(f"must be a non-negative integer, found {n!r}",
                            f"{here}.counts.{mai_key}", path)
            counts[our_key] = n
        edge_extra: dict[str, Any] = {k: v for k, v in edge.items() if k not in EDGE_FIELDS}
        unknown_counts = {k: v for k, v in counts_raw.items()
                          if k not in dict(COUNT_FIELDS)}
        if unknown_counts:
            edge_extra["counts"] = unknown_counts
        edges.append({"source": src, "wiser": wiser, "contexts": contexts,
                      "counts": VoteCounts(**counts), "extra": edge_extra})

    slugs = allocate_slugs(context_strings)
    ctx_ids = {text: context_id(slug) for text, slug in slugs.items()}
    contexts_decl: dict[str, Context] = {}
    for text in context_strings:  # first-appearance order
        contexts_decl.setdefault(ctx_ids[text], Context(id=ctx_ids[text], title=text))

    total_edges = len(edges)
    if apply_filter:
        edges = [e for e in edges if passes_reference_filter(e["counts"])]
        referenced = {e["source"] for e in edges} | {e["wiser"] for e in edges}
        kept_values = [vid for vid in order if vid in referenced]
    else:
        kept_values = order

    card_contexts: dict[int, set[str]] = {vid: set() for vid in kept_values}
    for e in edges:
        for vid in (e["source"], e["wiser"]):
            card_contexts[vid].update(ctx_ids[c] for c in e["contexts"])
    ctx_rank = {cid: n for n, cid in enumerate(contexts_decl)}

    built_cards = []
    for vid in kept_values:
        info = cards[vid]
        cid = mai_card_id(vid)
        built_cards.append(ValuesCard(
            id=cid, title=info["title"], description=info["description"],
            attentional_policies=tuple(
                AttentionalPolicy(id=policy_id(cid, n), text=text)
                for n, text in enumerate(info["criteria"], start=1)),
            contexts=tuple(sorted(card_contexts[vid], key=ctx_rank.__getitem__)),
            provenance=Provenance(source="mai", source_id=vid, extra=info["extra"]),
        ))
    built_edges = [
        WiserEdge(source=mai_card_id(e["source"]), wiser=mai_card_id(e["wiser"]),
                  contexts=tuple(ctx_ids[c] for c in e["contexts"]), counts=e["counts"],
                  provenance=Provenance(source="mai", extra=e["extra"]))
        for e in edges
    ]
    unknown_top = {k: v for k, v in data.items() if k not in ("values", "edges")}
    graph_extra: dict[str, Any] = {
        "reference_filter_applied": apply_filter,
        "edges_in_file": total_edges,
        "values_in_file": len(order),
    }
    if unknown_top:
        graph_extra["fields"] = unknown_top
    try:
        return MoralGraph(
            format=GRAPH_FORMAT, id=graph_id, title=title,
            description="Imported from a Meaning Alignment Institute moral-graph export.",
            contexts=tuple(contexts_decl.values()), cards=tuple(built_cards),
            edges=tuple(built_edges),
            provenance=Provenance(source="mai", extra=graph_extra))
    except ValidationError as exc:  # e.g. a non-JSON value inside an unknown field
        first = exc.errors()[0]
        raise _fail(f"cannot convert: {first['msg']}",
                    f"(converted graph) {format_loc(tuple(first['loc']))}", path) from None


@dataclass(frozen=True)
class SummaryMismatch:
    """An imported edge whose own ``summary`` disagrees with the recomputed value."""

    edge_index: int
    field: str  # "wiserLikelihood" or "entropy"
    file_value: float
    computed: float
    tolerance: float


def _decimals(value: float) -> int:
    text = repr(float(value)).lower()
    mantissa, _, exp = text.partition("e")
    return max(len(mantissa.partition(".")[2]) - int(exp or 0), 0)


def summary_tolerance(values: list[float | int]) -> float:
    """Half a unit in the last decimal place the file uses for its summaries.

    The precision is the file's, not each number's: the most decimals written in any
    summary value (``0.6667`` everywhere -> 5e-5; full ``repr`` floats -> 1e-9, the floor).
    """
    decimals = max((_decimals(v) for v in values if not isinstance(v, int)), default=0)
    if decimals == 0:
        return 1e-9
    return max(0.5 * 10.0 ** -decimals, 1e-9) * (1 + 1e-9)


def _summary_values(graph: MoralGraph) -> list[tuple[int, str, float | int]]:
    out: list[tuple[int, str, float | int]] = []
    for i, edge in enumerate(graph.edges):
        prov = edge.provenance
        if prov is None or prov.source != "mai":
            continue
        summary = prov.extra.get("summary")
        if not isinstance(summary, Mapping):
            continue
        for field in ("wiserLikelihood", "entropy"):
            value = summary.get(field)
            if isinstance(value, int | float) and not isinstance(value, bool):
                out.append((i, field, value))
    return out


def summary_mismatches(graph: MoralGraph) -> list[SummaryMismatch]:
    """Edges imported from MAI whose own ``summary`` differs from our recomputation."""
    found = _summary_values(graph)
    tol = summary_tolerance([v for _, _, v in found])
    out: list[SummaryMismatch] = []
    for i, field, file_value in found:
        counts = graph.edges[i].counts
        computed = wiser_likelihood(counts) if field == "wiserLikelihood" else entropy(counts)
        if abs(computed - file_value) > tol:
            out.append(SummaryMismatch(i, field, float(file_value), computed, tol))
    return out
