"""The commands that make and search cards: ``values elicit``, ``graph elicit-edges`` and
``graph search`` (handlers return 0 success, 1 nothing written, 2 bad input, 4 paused)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from valuesneg.io.files import UserError

from .errors import GraphError
from .model import MoralGraph

if TYPE_CHECKING:
    from .elicit import Interviewer

PAUSED_EXIT = 4  # as a paused run: an answer never came; run the same command again


def add_graph_arguments(parser: argparse.ArgumentParser, graph: str, context: str) -> None:
    """GRAPH, the moral graph a ``graph`` subcommand reads, and ``--context C``, the context
    it keeps to; ``graph`` and ``context`` are their help lines."""
    parser.add_argument("graph", metavar="GRAPH", help=graph)
    parser.add_argument("--context", metavar="C", help=context)


def _add_model_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=("local", "openai"), default="local",
                        help="the embedded local model (default) or an OpenAI-compatible "
                             "endpoint")
    parser.add_argument("--model", help="the model name for --backend openai")
    parser.add_argument("--base-url", metavar="URL",
                        help="the endpoint for --backend openai (default $OPENAI_BASE_URL)")
    parser.add_argument("--answers", choices=("terminal", "json"), default="terminal",
                        help="answer at the terminal, or one JSON line per prompt on stdin "
                             "(prompts go to stdout as JSON lines)")


def add_values_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`valuesneg values elicit`."""
    values = subparsers.add_parser("values", help="make values cards from people's words")
    sub = values.add_subparsers(dest="values_command", metavar="SUBCOMMAND", required=True)
    p = sub.add_parser("elicit", help="interview a person and write their values card",
                       description="The model asks about a concrete choice you faced, "
                                   "proposes a values card from your answer, and writes the "
                                   "card you accept (or edit) into a moral graph.")
    p.add_argument("--context", metavar="C",
                   help="the situation: a context of the graph (id or title) or a new one's "
                        f"title (default: {_default_context()!r})")
    p.add_argument("-o", "--output", metavar="GRAPH", default="values.json",
                   help="the moral graph the card goes into, created if missing (default "
                        "values.json)")
    p.add_argument("--resume", action="store_true",
                   help="continue the interview paused in GRAPH.interview.json (running the "
                        "same command again does too)")
    _add_model_args(p)
    p.set_defaults(func=cmd_elicit)


def add_edge_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`valuesneg graph elicit-edges` and `valuesneg graph search`."""
    p = sub.add_parser("elicit-edges", help="wiser-than edges from votes on stories",
                       description="For pairs of cards of a context the model writes a story "
                                   "of someone moving from one to the other; people vote "
                                   "wiser, not wiser or unsure, and the votes become edges.")
    add_graph_arguments(p, "a valuesneg graph file (updated in place)",
                        "the context (id or title; default: the graph's only context)")
    p.add_argument("--voters", type=int, default=1, help="votes asked per story (default 1)")
    p.add_argument("--pairs", type=int, help="stop after this many pairs (default: all)")
    _add_model_args(p)
    p.set_defaults(func=cmd_elicit_edges)

    p = sub.add_parser("search", help="the cards most relevant to a text",
                       description="Rank a graph's cards by relevance to QUERY with the card "
                                   "store, exactly as scenarios with `cards: {retrieve: K}` "
                                   "do.")
    p.add_argument("graph", metavar="GRAPH", help="a valuesneg graph file or a shipped name")
    p.add_argument("query", metavar="QUERY", help="what to rank the cards against, in words")
    p.add_argument("-k", type=int, default=5, help="how many cards (default 5)")
    p.add_argument("--json", action="store_true", help="print a JSON list, best first")
    p.set_defaults(func=cmd_search)


def _default_context() -> str:
    from .elicit import DEFAULT_CONTEXT

    return DEFAULT_CONTEXT


@contextmanager
def _interviewer(args: argparse.Namespace) -> Iterator[Interviewer]:
    from valuesneg.agents.factory import chat_backend

    from .elicit import Interviewer

    with chat_backend(args.backend, model=args.model, base_url=args.base_url) as (pool, _):
        assert pool is not None
        setting = pool.default_setting()
        name = pool.served(setting) if setting.local else setting.model
        yield Interviewer(pool.chat(setting), name)


def cmd_elicit(args: argparse.Namespace) -> int:
    """`valuesneg values elicit`: one interview, resumable, into a graph file."""
    from valuesneg.agents.models import ModelError
    from valuesneg.orchestration.humans import NoAnswer

    from .elicit import NoCard, elicit, open_graph, state_path
    from .people import asking

    path = Path(args.output)
    context = args.context or _default_context()
    open_graph(path)  # a file that is no moral graph fails before the model starts
    try:
        with _interviewer(args) as model:
            _, said = elicit(path, context, model, asking(args.answers),
                             resume=args.resume)
    except NoAnswer as paused:
        print(f"valuesneg: paused: {paused}; the interview is saved, continue it with: "
              f"valuesneg values elicit -o {path} --resume"
              + (" --answers json" if args.answers == "json" else ""), file=sys.stderr)
        return PAUSED_EXIT
    except NoCard as none:
        print(f"valuesneg: no card: {none}", file=sys.stderr)
        return 1
    except ModelError as error:  # the interview is saved: run the command again
        print(f"valuesneg: error: {error}; the interview is saved in {state_path(path)}",
              file=sys.stderr)
        return 1
    print(f"wrote {path}: {said}", file=sys.stderr if args.answers == "json" else sys.stdout)
    return 0


def _load(path: str) -> MoralGraph:
    from .cli import read_any_graph

    try:
        return read_any_graph(path)
    except GraphError as error:
        raise UserError(f"{path}: not a moral graph: "
                        f"{error if error.path else error.located(path=path)}") from None


def cmd_elicit_edges(args: argparse.Namespace) -> int:
    """`valuesneg graph elicit-edges`: stories, votes, and the edges they make."""
    from valuesneg.agents.models import ModelError
    from valuesneg.orchestration.humans import NoAnswer

    from .edges import elicit_edges
    from .people import asking

    graph = _load(args.graph)
    context = _context(graph, args.context)
    if args.voters < 1:
        raise UserError(f"--voters {args.voters}: at least one voter")
    out = sys.stderr if args.answers == "json" else sys.stdout
    try:
        with _interviewer(args) as model:
            edges = elicit_edges(graph, Path(args.graph), context, model,
                                 asking(args.answers), voters=args.voters, pairs=args.pairs)
    except NoAnswer as paused:
        print(f"valuesneg: paused: {paused}; the votes so far are in {args.graph}; run the "
              "same command again to continue", file=sys.stderr)
        return PAUSED_EXIT
    except ModelError as error:
        print(f"valuesneg: error: {error}; the votes so far are in {args.graph}",
              file=sys.stderr)
        return 1
    for edge in edges:
        print(f"{edge.source} -> {edge.wiser}: wiser {edge.counts.marked_wiser}, not wiser "
              f"{edge.counts.marked_not_wiser}, unsure {edge.counts.marked_unsure}; "
              f"wiserLikelihood {edge.wiser_likelihood:.3f}, entropy {edge.entropy:.3f}",
              file=out)
    print(f"wrote {args.graph}: {len(edges)} edges voted on in {context}", file=out)
    return 0


def _context(graph: MoralGraph, key: str | None) -> str:
    if key is None:
        if len(graph.contexts) != 1:
            raise UserError(f"graph {graph.id!r} has {len(graph.contexts)} contexts; name one "
                            f"with --context ({', '.join(c.id for c in graph.contexts)})")
        return graph.contexts[0].id
    try:
        return graph.resolve_context(key).id
    except KeyError as error:
        raise UserError(f"--context: {error.args[0]}") from None


def cmd_search(args: argparse.Namespace) -> int:
    """`valuesneg graph search`: a graph's cards ranked against a query."""
    from valuesneg.retrieval import RetrievalError
    from valuesneg.retrieval.select import search
    from valuesneg.scenario import SHIPPED_GRAPHS

    if not args.query.strip():
        raise UserError("QUERY is empty")
    if args.k < 1:
        raise UserError(f"-k {args.k}: at least 1")
    shipped = SHIPPED_GRAPHS / f"{args.graph}.json"
    graph = _load(str(shipped) if "/" not in args.graph and shipped.exists() else args.graph)
    try:
        found = search(graph, args.query, args.k)
    except RetrievalError as error:
        print(f"valuesneg: error: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([{"card": c.card_id, "title": c.title, "score": round(c.score, 4),
                           "matched": c.policy_id, "matched_text": c.matched_text}
                          for c in found], indent=2, ensure_ascii=False))
        return 0
    for n, c in enumerate(found, 1):
        print(f"{n:>2}  {c.score:.4f}  {c.card_id}  {c.title}\n      {c.matched_text}")
    return 0
