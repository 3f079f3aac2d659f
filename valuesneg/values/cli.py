"""The ``valuesneg graph`` command: import, rank and inspect moral graphs.

The main CLI calls :func:`add_graph_commands` with its subparsers; every leaf parser sets
``func`` to a handler ``handler(args) -> int`` (0 success, 1 environment or write failure,
2 bad input: a :class:`GraphError`, printed on stderr). ``GRAPH`` arguments accept our own
graph files and, for convenience, MAI exports (recognised by a top-level ``values`` list
and no ``format`` field), which are imported on the fly.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path

from .elicit_cli import add_edge_commands, add_graph_arguments
from .errors import GraphError
from .io import dump_graph, parse_graph, read_json_file, write_bytes_atomic
from .lint import GraphWarning, lint_graph
from .mai import import_mai
from .model import MoralGraph
from .ranking import rank
from .render import MissingDependencyError, describe_graph, graph_png

MAX_WARNINGS_SHOWN = 20


def add_graph_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``graph import-mai|rank|show`` on the main parser's subparsers."""
    graph = subparsers.add_parser(
        "graph", help="import, inspect and rank moral graphs",
        description="Import, inspect and rank moral graphs (values cards plus wiser-than "
                    "edges per context).")
    sub = graph.add_subparsers(dest="graph_command", metavar="SUBCOMMAND", required=True)

    p = sub.add_parser("import-mai", help="import a Meaning Alignment Institute export",
                       description="Import a MAI moral-graph export (format v1) into "
                                   "valuesneg's own graph format, losslessly.")
    p.add_argument("file", metavar="FILE", help="the MAI export (JSON)")
    p.add_argument("-o", "--output", metavar="GRAPH", required=True,
                   help="where to write the graph (written atomically)")
    p.add_argument("--filter", action="store_true",
                   help="keep only edges the reference publishes (markedWiser >= 2, "
                        "wiserLikelihood >= 0.33, entropy <= 1.69) and the values they touch")
    p.add_argument("--id", dest="graph_id", metavar="ID",
                   help="graph id (default: graph:<file stem>)")
    p.add_argument("--title", help="graph title")
    p.set_defaults(func=cmd_import_mai)

    p = sub.add_parser("rank", help="rank values by weighted PageRank",
                       description="Rank values best first by PageRank over wiser-than "
                                   "edges weighted by wiserLikelihood (damping 0.85, 100 "
                                   "iterations), as the MAI reference does.")
    add_graph_arguments(p, "a valuesneg graph file (or a MAI export)",
                        "use only edges holding in this context (id or exact title)")
    p.add_argument("--json", action="store_true",
                   help="print a JSON list of {id, source_id, title, score}, best first")
    p.add_argument("--filter", action="store_true",
                   help="apply the reference edge filter before ranking")
    p.add_argument("--all", action="store_true", dest="include_unranked",
                   help="also list cards on no edge in scope (score 0)")
    p.set_defaults(func=cmd_rank)

    p = sub.add_parser("show", help="print a readable summary (and optionally a PNG)",
                       description="Summarise a graph: contexts, cards and their attentional "
                                   "policies, edges with likelihood and entropy, cycles, "
                                   "warnings.")
    add_graph_arguments(p, "a valuesneg graph file (or a MAI export)",
                        "draw only this context's edges")
    p.add_argument("--png", metavar="OUT",
                   help="also draw the graph to OUT as PNG (needs matplotlib)")
    p.set_defaults(func=cmd_show)
    add_edge_commands(sub)


def read_any_graph(path: str | Path) -> MoralGraph:
    """Load our graph format, or import a MAI export when the file is one."""
    data = read_json_file(path, GraphError)
    if isinstance(data, Mapping) and "format" not in data and isinstance(
            data.get("values"), list):
        return import_mai(path)
    return parse_graph(data, path=path)


def _error(message: object) -> None:
    print(f"valuesneg: error: {message}", file=sys.stderr)


def _print_warnings(warnings: list[GraphWarning]) -> None:
    for warning in warnings[:MAX_WARNINGS_SHOWN]:
        print(warning, file=sys.stderr)
    if len(warnings) > MAX_WARNINGS_SHOWN:
        print(f"... and {len(warnings) - MAX_WARNINGS_SHOWN} more warnings "
              "(see `valuesneg graph show`)", file=sys.stderr)


def cmd_import_mai(args: argparse.Namespace) -> int:
    """`valuesneg graph import-mai`: a Meaning Alignment Institute export as our moral graph."""
    try:
        graph = import_mai(args.file, apply_reference_filter=args.filter,
                           graph_id=args.graph_id, title=args.title)
    except GraphError as exc:
        _error(exc)
        return 2
    try:
        dump_graph(graph, args.output)
    except OSError as exc:
        _error(f"{args.output}: cannot write: {exc.strerror or exc}")
        return 1
    _print_warnings(lint_graph(graph))
    print(f"wrote {args.output}: {len(graph.cards)} cards, {len(graph.edges)} edges, "
          f"{len(graph.contexts)} contexts; version {graph.content_hash}")
    return 0


def cmd_rank(args: argparse.Namespace) -> int:
    """`valuesneg graph rank`: the values of a graph, ranked in a context."""
    try:
        graph = read_any_graph(args.graph)
        ranked = rank(graph, args.context, apply_reference_filter=args.filter,
                      include_unranked=args.include_unranked)
    except GraphError as exc:
        _error(exc if exc.path else exc.located(path=args.graph))
        return 2
    if args.json:
        print(json.dumps([r.model_dump(mode="json") for r in ranked], indent=2,
                         ensure_ascii=False))
        return 0
    if not ranked:
        print("no edges in scope, nothing to rank")
        return 0
    width = max(len(r.id) for r in ranked)
    print(f"{'#':>3}  {'score':>8}  {'id':<{width}}  {'source_id':>9}  title")
    for n, r in enumerate(ranked, start=1):
        source = "" if r.source_id is None else str(r.source_id)
        print(f"{n:>3}  {r.score:>8.5f}  {r.id:<{width}}  {source:>9}  {r.title}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """`valuesneg graph show`: a readable summary of a graph (and a PNG with ``--png``)."""
    try:
        graph = read_any_graph(args.graph)
        if args.context is not None:
            try:
                graph.resolve_context(args.context)
            except KeyError as exc:
                raise GraphError(str(exc.args[0]), where="--context") from None
        png = graph_png(graph, context=args.context) if args.png else None
    except GraphError as exc:
        _error(exc if exc.path else exc.located(path=args.graph))
        return 2
    except MissingDependencyError as exc:
        _error(exc)
        return 1
    print(describe_graph(graph, lint_graph(graph)), end="")
    if png is not None:
        try:
            write_bytes_atomic(args.png, png)
        except OSError as exc:
            _error(f"{args.png}: cannot write: {exc.strerror or exc}")
            return 1
        print(f"wrote {args.png}")
    return 0
