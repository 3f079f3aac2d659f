"""``valuesneg eval SUITE``: run an eval suite, write ``metrics.json`` and ``report.html``."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import get_args

from valuesneg.io.files import UserError
from valuesneg.orchestration.executors import add_executor_argument, parse_executor

from .base import Backend, Dataset, DatasetKind, EvalConfig

KINDS: tuple[str, ...] = get_args(DatasetKind)
# The suites whose negotiations run through an executor; the others run in this process only.
DISTRIBUTED = ("winwin",)
# The corpora each suite can run on; the others run on the shipped scenarios only.
SUITE_DATASETS: dict[str, tuple[str, ...]] = {"winwin": KINDS, "manipulation": ("casino",)}
# What a suite runs on without --dataset; "scenarios" (the shipped scenarios) otherwise.
DEFAULT_DATASET: dict[str, str] = {"winwin": "casino"}
SCENARIOS = "scenarios"
BACKENDS: tuple[str, ...] = get_args(Backend)


def add_eval_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``valuesneg eval`` command and its options."""
    from . import SUITES

    parser = sub.add_parser("eval", help="run an eval suite: metrics.json and report.html")
    parser.add_argument("suite", help=f"one of: {', '.join(SUITES)}")
    parser.add_argument("--dataset", metavar="KIND:PATH",
                        help=f"a public corpus to run on; KIND is one of {', '.join(KINDS)}; "
                             "a bare 'casino' is the shipped CaSiNo training split (winwin's "
                             "default), 'scenarios' the shipped scenarios (the others' default)")
    parser.add_argument("--backend", choices=BACKENDS, default="scripted",
                        help="who negotiates: scripted strategies (default, deterministic), "
                             "the embedded local model, or an OpenAI-compatible endpoint")
    parser.add_argument("--strategy", default="values",
                        help="the scripted strategy of the agents under test")
    parser.add_argument("--out", help="output folder (default runs/eval-SUITE-TIMESTAMP)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seeds the model and the bootstrap resampling (default 0)")
    parser.add_argument("--limit", type=whole_number(1), metavar="N",
                        help="run at most N negotiations (margin: N runs per level), "
                             "for a quick look")
    parser.add_argument("--axis", action="append", dest="axes", metavar="AXIS",
                        help="margin only: sweep only this axis (repeatable)")
    parser.add_argument("--concurrency", type=whole_number(1), default=4,
                        help="negotiations in flight at once against one model endpoint")
    parser.add_argument("--model", help="the model name for --backend openai (default "
                                         "gpt-4o-mini)")
    parser.add_argument("--guard", choices=("sound", "none"), default="sound",
                        help="LLM agents pick among moves sound for them (default), or "
                             "'none': the raw model")
    parser.add_argument("--base-url", metavar="URL",
                        help="the OpenAI-compatible endpoint for --backend openai (default "
                             "$OPENAI_BASE_URL, else OpenAI's)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_executor_argument(parser)
    parser.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    """`valuesneg eval`: run a suite and write metrics.json, rows.jsonl and report.html."""
    from . import load_suite
    from .report import write_outputs

    suite = load_suite(args.suite)
    if args.axes and args.suite != "margin":
        raise UserError(f"--axis applies to the margin suite only, not {args.suite!r}")
    dataset = parse_dataset(args.dataset or DEFAULT_DATASET.get(args.suite, SCENARIOS))
    # A plugin's suite says which corpora it reads by a ``datasets`` attribute (README).
    readable = SUITE_DATASETS.get(args.suite) or tuple(getattr(suite, "datasets", ()))
    if readable == KINDS:  # a suite that reads every built-in corpus reads the plugins' too
        readable = (*KINDS, *([] if dataset is None else [dataset.kind]))
    if dataset is not None and dataset.kind not in readable:
        raise UserError(f"--dataset {args.dataset}: the {args.suite} suite reads "
                        + (f"only {', '.join(readable)} corpora" if readable
                           else "no corpus (it runs on the shipped scenarios)"))
    executor = parse_executor(args.executor)
    if executor.kind != "local" and args.suite not in DISTRIBUTED:
        raise UserError(f"--executor {executor}: the {args.suite} suite runs in this process "
                        f"only (suites with executors: {', '.join(DISTRIBUTED)})")
    out = Path(args.out) if args.out else fresh_dir(Path("runs"), f"eval-{args.suite}")
    config = EvalConfig(suite=args.suite, out=out, seed=args.seed, backend=args.backend,
                        strategy=args.strategy, dataset=dataset,
                        limit=args.limit,
                        axes=tuple(dict.fromkeys(args.axes)) if args.axes else None,
                        concurrency=args.concurrency, model=args.model,
                        base_url=args.base_url, progress=not args.no_progress,
                        guard=args.guard, executor=str(executor))
    started = time.perf_counter()
    result = suite(config)
    metrics_path, report_path = write_outputs(config, result, time.perf_counter() - started)
    headline = ", ".join(f"{k} {v}" for k, v in result.metrics.items()
                         if isinstance(v, int | float) and not isinstance(v, bool))
    print(f"{args.suite}: {headline}")
    print(f"wrote {metrics_path} and {report_path}")
    return 0


def parse_dataset(text: str) -> Dataset | None:
    """``KIND:PATH`` (the path may itself contain ':'; it must exist), a bare ``casino`` (the
    shipped split) or ``scenarios`` (None: the shipped scenarios)."""
    from valuesneg.corpora import SHIPPED_CASINO

    if text == SCENARIOS:
        return None
    if text == "casino":
        return Dataset(kind="casino", path=SHIPPED_CASINO)
    kind, sep, path = text.partition(":")
    if not sep or not path:
        raise UserError(f"--dataset {text!r}: expected KIND:PATH, e.g. dond:train.txt "
                        "(only 'casino' ships, so only it may go without a path)")
    if kind not in KINDS:
        from valuesneg.corpora import corpus_loader

        corpus_loader(kind, f"--dataset {text!r}")  # a plugin's, or an error naming them all
    if not Path(path).exists():
        raise UserError(f"--dataset {text!r}: {path}: no such file or folder")
    return Dataset(kind=kind, path=Path(path))


def fresh_dir(parent: Path, stem: str) -> Path:
    """A new folder name under ``parent``: never reuse one, so two runs keep both."""
    base = parent / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse ``type``: a whole number no less than ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} must be at least {minimum}")
        return value

    return parse
