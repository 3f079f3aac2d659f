"""``valuesneg tournament``: every competitor against every other, on every scenario."""

from __future__ import annotations

import argparse
from pathlib import Path

from valuesneg.evals.cli import fresh_dir, parse_dataset, whole_number
from valuesneg.orchestration.executors import add_executor_argument, parse_executor


def add_tournament_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``valuesneg tournament`` command and its options."""
    parser = sub.add_parser("tournament", help="cross-play competitors: scores.csv, "
                                               "leaderboard.json and report.html")
    parser.add_argument("--competitors", required=True, metavar="FILE",
                        help="YAML: competitors: [{name, backend, strategy, model, "
                             "base_url, guard}, ...]")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--scenarios", metavar="DIR",
                       help="a folder of two-party scenario files (*.yaml)")
    where.add_argument("--dataset", metavar="KIND:PATH",
                       help="a public corpus (casino, dond, genius), one scenario per entry; "
                            "a bare 'casino' is the CaSiNo split that ships with valuesneg")
    parser.add_argument("--limit", type=whole_number(1), metavar="N",
                        help="play on the first N scenarios only")
    parser.add_argument("--reps", type=whole_number(1), default=1, metavar="R",
                        help="play each pairing R times, with seeds SEED..SEED+R-1")
    parser.add_argument("--rotate", action="store_true",
                        help="seat every pair both ways round (every competitor in every role)")
    parser.add_argument("--self-play", action="store_true",
                        help="also play each competitor against itself")
    parser.add_argument("--seed", type=int, default=0,
                        help="the first seed: rep r plays with seed SEED + r (default 0)")
    parser.add_argument("--out", help="output folder (default runs/tournament-TIMESTAMP); "
                                      "run again with the same --out to resume")
    parser.add_argument("--concurrency", type=whole_number(1), default=4,
                        help="cells in flight at once against model endpoints")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_executor_argument(parser)
    parser.set_defaults(func=cmd_tournament)


def cmd_tournament(args: argparse.Namespace) -> int:
    """`valuesneg tournament`: play every cell, then write the scores, leaderboard and
    report."""
    from .run import Options, run_tournament

    options = Options(competitors=Path(args.competitors),
                      out=Path(args.out) if args.out else fresh_dir(Path("runs"), "tournament"),
                      scenarios=Path(args.scenarios) if args.scenarios else None,
                      dataset=parse_dataset(args.dataset) if args.dataset else None,
                      limit=args.limit, reps=args.reps,
                      rotate=args.rotate, self_play=args.self_play, seed=args.seed,
                      executor=parse_executor(args.executor), concurrency=args.concurrency,
                      progress=not args.no_progress)
    summary = run_tournament(options)
    for entry in summary.board["competitors"]:
        low, high = entry["ci95"]
        print(f"{entry['rank']:>3}. {entry['name']}: mean advantage {entry['mean_advantage']} "
              f"[{low}, {high}] over {entry['seats']} seats")
    print(f"{summary.board['lineages_verified']} of {summary.cells} lineages verified; wrote "
          + ", ".join(str(p) for p in summary.paths))
    return 0
