"""Seconds per decision of the embedded model with prompt-prefix reuse on and off.

The prompts are the real ones of every shipped scenario's LLM parties (each taking its first
option, `first_option_prompts`), asked in run order, so parties alternate as in a real run.
Servers started alike answer every prompt in turn (the order rotating from prompt to
prompt), so all see the same machine load and the same sequence; for each block size B
(--blocks, default the server's own, 192):

- ``on_B``: prompts cut into B-token blocks, whole blocks of a cached prefix reused;
- ``off_B``: B-token blocks, every prompt from an empty cache (VALUESNEG_LLM_PREFIX_CACHE=0);
- ``before_512``: 512-token blocks from an empty cache (what the server did before).

A decision here is one model call with the menu's schema: the framework adds ~0.0001 of that
(benchmarks/llm_decisions.py). Each pass starts fresh servers.

    .venv/bin/python benchmarks/prefix_cache.py [--passes N] [--blocks 64 192] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from valuesneg.agents.llama_child import PREFIX_BLOCK
from valuesneg.agents.local_server import LocalModelServer, local_chat_model
from valuesneg.agents.models import Message
from valuesneg.orchestration.prompts import first_option_prompts

ROOT = Path(__file__).resolve().parents[1]
REUSED = re.compile(r"valuesneg prefix cache: reused (\d+) of (\d+) prompt tokens")
PROMPT_EVAL = re.compile(r"prompt eval time =\s*([\d.]+) ms /\s*(\d+) tokens")


def setups(blocks: Sequence[int]) -> dict[str, tuple[int, bool]]:
    return {**{f"{kind}_{b}": (b, kind == "on") for b in blocks for kind in ("on", "off")},
            "before_512": (512, False)}


def prompts() -> list[tuple[str, str, str, dict[str, Any]]]:
    """(scenario, party, prompt, schema) of every model call of the shipped scenarios."""
    asked = []
    for path in sorted((ROOT / "moral_graphs" / "scenarios").glob("*.yaml")):
        asked += [(path.stem, party, text, schema)
                  for party, text, schema in first_option_prompts(path)]
    return asked


def shared_prefixes(asked: Sequence[tuple[str, str, str, dict[str, Any]]]
                    ) -> dict[str, float]:
    """Longest prefix (tokens) each prompt shares with an earlier prompt of its scenario:
    of the same party, and of another party."""
    import llama_cpp

    from valuesneg.agents.local_server import plain_cpu_buffers
    from valuesneg.agents.model_file import ensure_model_file

    plain_cpu_buffers()
    vocab = llama_cpp.Llama(str(ensure_model_file()), vocab_only=True, verbose=False)

    def tokens(text: str) -> list[int]:  # as the server's gemma chat format sends it
        wrapped = f"<start_of_turn>user\n{text}<end_of_turn>\n<start_of_turn>model\n"
        return vocab.tokenize(wrapped.encode(), add_bos=True, special=True)

    def common(a: list[int], b: list[int]) -> int:
        return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                    min(len(a), len(b)))

    toks = [tokens(text) for _, _, text, _ in asked]
    same, other = [], []
    for i, (scenario, party, _, _) in enumerate(asked):
        earlier = [j for j in range(i) if asked[j][0] == scenario]
        mine = [common(toks[i], toks[j]) for j in earlier if asked[j][1] == party]
        theirs = [common(toks[i], toks[j]) for j in earlier if asked[j][1] != party]
        same += [max(mine)] if mine else []
        other += [max(theirs)] if theirs else []
    return {"prompt_tokens_mean": round(statistics.mean(len(t) for t in toks), 1),
            "shared_same_party_tokens_mean": round(statistics.mean(same), 1),
            "shared_same_party_tokens_min": min(same),
            "shared_same_party_tokens_max": max(same),
            "shared_other_party_tokens_max": max(other)}


class Pass:
    """One pass: every prompt asked of a fresh server per setup, interleaved."""

    def __init__(self, setups: dict[str, tuple[int, bool]]) -> None:
        self.setups = setups
        self.seconds: dict[str, list[float]] = {name: [] for name in setups}
        self.replies: dict[str, list[str]] = {name: [] for name in setups}
        self.reused: dict[str, list[tuple[int, int]]] = {}
        self.prompt_eval: dict[str, tuple[float, int]] = {}  # ms, tokens (server's own count)

    def run(self, asked: Sequence[tuple[str, str, str, dict[str, Any]]], logs: Path) -> None:
        with ExitStack() as stack:
            servers = {name: stack.enter_context(LocalModelServer(
                log_dir=logs / name, n_batch=block, prefix_reuse=reuse))
                for name, (block, reuse) in self.setups.items()}
            models = {name: stack.enter_context(local_chat_model(server))
                      for name, server in servers.items()}
            self._ask(asked, models)
            for name, server in servers.items():
                assert server.log_path is not None
                log = server.log_path.read_text(errors="replace")
                self.reused[name] = [(int(n), int(m)) for n, m in REUSED.findall(log)]
                evals = [(float(ms), int(n)) for ms, n in PROMPT_EVAL.findall(log)]
                self.prompt_eval[name] = (sum(ms for ms, _ in evals), sum(n for _, n in evals))

    def _ask(self, asked: Sequence[tuple[str, str, str, dict[str, Any]]],
             models: dict[str, Any]) -> None:
        names = list(models)
        for i, (_, _, text, schema) in enumerate(asked):
            turn = i % len(names)
            for name in names[turn:] + names[:turn]:
                started = time.perf_counter()
                reply = models[name].complete([Message("user", text)], schema,
                                              schema_name="decision")
                self.seconds[name].append(time.perf_counter() - started)
                self.replies[name].append(reply.text)


def measure(passes: int, blocks: Sequence[int]) -> dict[str, Any]:
    asked = prompts()
    figures: dict[str, Any] = {"decisions_per_pass": len(asked), "passes": passes,
                               **shared_prefixes(asked)}
    load_before = os.getloadavg()[0]
    runs = []
    for _ in range(passes):
        with tempfile.TemporaryDirectory() as logs:
            runs.append(Pass(setups(blocks)))
            runs[-1].run(asked, Path(logs))
    names = list(setups(blocks))
    seconds = {n: [s for r in runs for s in r.seconds[n]] for n in names}
    for name in names:
        ms = sum(r.prompt_eval[name][0] for r in runs)
        tokens = sum(r.prompt_eval[name][1] for r in runs)
        figures[f"seconds_per_decision_{name}"] = round(statistics.mean(seconds[name]), 2)
        figures[f"prompt_eval_tokens_per_s_{name}"] = round(tokens / (ms / 1000), 1)
        figures[f"prompt_eval_seconds_per_decision_{name}"] = round(
            ms / 1000 / len(seconds[name]), 2)
    for b in blocks:
        reused = [hit for r in runs for hit in r.reused[f"on_{b}"]]
        pairs = {"off": f"off_{b}", "before": "before_512"}
        for label, other in pairs.items():
            ratios = [x / y for x, y in zip(seconds[f"on_{b}"], seconds[other], strict=True)]
            figures[f"ratio_on_{b}_{label}_median"] = round(statistics.median(ratios), 3)
            figures[f"ratio_on_{b}_{label}_of_totals"] = round(
                sum(seconds[f"on_{b}"]) / sum(seconds[other]), 3)
            same = sum(x == y for r in runs for x, y in
                       zip(r.replies[f"on_{b}"], r.replies[other], strict=True))
            figures[f"replies_identical_on_{b}_{label}"] = f"{same}/{len(reused)}"
        figures |= {
            f"cache_hit_rate_{b}": round(sum(n > 0 for n, _ in reused) / len(reused), 3),
            f"reused_prompt_token_share_{b}": round(sum(n for n, _ in reused)
                                                    / sum(m for _, m in reused), 3),
            f"reused_tokens_per_hit_{b}": round(statistics.mean(
                [n for n, _ in reused if n > 0] or [0]), 1),
        }
    figures |= {"load_average_1min_start_end": [round(load_before, 2),
                                                round(os.getloadavg()[0], 2)],
                "cpus": os.cpu_count()}
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--passes", type=int, default=1)
    parser.add_argument("--blocks", type=int, nargs="+", default=[PREFIX_BLOCK])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures = measure(args.passes, args.blocks)
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
