"""``valuesneg population run|resume|verify|schema``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from valuesneg.evals.cli import fresh_dir, whole_number
from valuesneg.io.faults import no_faults
from valuesneg.orchestration.executors import add_executor_argument, parse_executor


def add_population_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``valuesneg population`` command and its subcommands."""
    parser = sub.add_parser("population", help="population experiments over generations")
    commands = parser.add_subparsers(dest="population_command", required=True)
    run = commands.add_parser("run", help="run a population experiment")
    run.add_argument("config", help="the experiment's config (YAML or JSON; see "
                                    "`valuesneg population schema`)")
    run.add_argument("--generations", type=whole_number(1), metavar="G",
                     help="override the config's generations")
    run.add_argument("--seed", type=whole_number(0), metavar="N", help="override its seed")
    run.add_argument("--arm", help="with an experiment file: the arm to run")
    run.add_argument("--out", help="output folder (default runs/population-NAME-TIMESTAMP)")
    _add_common(run)
    run.set_defaults(func=cmd_run)
    resume = commands.add_parser("resume", help="continue an interrupted population run")
    resume.add_argument("dir", help="the run folder")
    _add_common(resume)
    resume.set_defaults(func=cmd_resume)
    verify = commands.add_parser("verify", help="re-check every lineage and the ledger")
    verify.add_argument("dir", help="the run folder")
    verify.set_defaults(func=cmd_verify)
    experiment = commands.add_parser(
        "experiment", help="an experiment's arms over many seeds, with 95%% CIs")
    experiment.add_argument("file", help="an experiment (e.g. evals/population/*.yaml)")
    experiment.add_argument("--seeds", type=whole_number(1), default=10,
                            help="seeds 0..N-1 per arm")
    experiment.add_argument("--out", help="output folder (default runs/experiment-NAME)")
    _add_common(experiment)
    experiment.set_defaults(func=cmd_experiment)
    schema = commands.add_parser("schema", help="JSON Schema of a population config")
    schema.set_defaults(func=cmd_schema)


def _add_common(parser: argparse.ArgumentParser) -> None:
    add_executor_argument(parser)
    parser.add_argument("--concurrency", type=whole_number(1), default=4, metavar="N",
                        help="with llm members: encounters in flight at once against the "
                             "model endpoint (default 4; scripted encounters run one by one)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def cmd_run(args: argparse.Namespace) -> int:
    """`valuesneg population run`: check the config and its world, then run every generation."""
    from .config import load_config
    from .runner import start
    from .world import check_world

    parse_executor(args.executor)  # a bad --executor is refused before anything is written
    config = load_config(args.config, generations=args.generations, seed=args.seed,
                         arm=args.arm)
    check_world(config, args.config)
    out = Path(args.out) if args.out else fresh_dir(Path("runs"), f"population-{config.name}")
    began = time.monotonic()
    metrics = start(config, out, args.executor, progress=not args.quiet,
                    concurrency=args.concurrency, faults=args.faults or no_faults)
    _done(out, metrics, time.monotonic() - began)
    return 0


def cmd_resume(args: argparse.Namespace) -> int:
    """`valuesneg population resume`: continue an interrupted population run from its folder."""
    from .runner import resume

    parse_executor(args.executor)
    out = Path(args.dir)
    began = time.monotonic()
    _done(out, resume(out, args.executor, progress=not args.quiet,
                      concurrency=args.concurrency, faults=args.faults or no_faults),
          time.monotonic() - began)
    return 0


def cmd_experiment(args: argparse.Namespace) -> int:
    """`valuesneg population experiment`: every arm of an experiment over several seeds, and the
    differences between arms."""
    from .experiment import run_experiment

    parse_executor(args.executor)
    path = Path(args.file)
    out = Path(args.out or f"runs/experiment-{path.stem}")
    total = args.seeds

    def tick(what: str) -> None:
        if not args.quiet:
            print(f"  {what} done", file=sys.stderr, flush=True)

    result = run_experiment(path, total, out, args.executor, tick, args.concurrency)
    for arm, measures in result["arms"].items():
        print(f"{arm}: " + "; ".join(f"{m} {v['mean']} [{v['ci95'][0]}, {v['ci95'][1]}]"
                                     for m, v in measures.items()))
    print(f"{out / 'results.json'}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    """`valuesneg population verify`: replay every encounter's lineage and the credibility
    ledger."""
    from .check import Broken, verify_run

    try:
        encounters, head = verify_run(Path(args.dir))
    except Broken as error:
        print(error, file=sys.stderr)
        return 1
    print(f"{args.dir}: OK, {encounters} encounters, every lineage replays and its signatures "
          f"verify; credibility ledger head {head}")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    """`valuesneg population schema`: the JSON Schema of a population config."""
    from .config import config_schema

    print(json.dumps(config_schema(), indent=2, sort_keys=True))
    return 0


def _done(out: Path, metrics: dict[str, object], seconds: float) -> None:
    last = metrics["last_generation"]
    assert isinstance(last, dict)
    print(f"{out}: {metrics['encounters']} encounters over {metrics['generations']} "
          f"generations in {seconds:.1f}s; last generation: agreement "
          f"{last['agreement_rate']}, mean payoff {last['mean_payoff']}; "
          f"report {out / 'report.html'}")


__all__ = ["add_population_command"]
