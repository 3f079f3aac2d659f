"""What runs inside the embedded model's server process (started by `local_server`).

`main` starts a watchdog that ends the process once its parent is gone, keeps the weights in
plain CPU buffers, makes every completion start from a deterministic prompt cache state
(`PrefixCache`), and hands over to `llama_cpp.server`.

Why the prompt cache needs care: llama.cpp evaluates a prompt in batches, and the floats of a
token's keys, values and logits depend on where the batches were cut. llama-cpp-python's own
reuse keeps the whole prefix shared with the previous prompt and evaluates the rest in batches
cut at the end of that prefix, so a near-tie token flipped and a run resumed on a fresh server
answered a turn differently. Here every prompt is cut at the same absolute positions (0, B,
2B, ... with B the server's --n_batch, which is also its --n_ubatch), and only whole blocks of
B tokens are ever reused, so the remaining blocks are cut where a cold evaluation cuts them
and see the same keys and values before them: a reply is the one an empty cache would give.
Only blocks of the prompt are reusable, never the generated tokens (decoded one at a time).
"""

from __future__ import annotations

import ctypes
import os
import runpy
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

# Tokens: the batch (and ubatch) size, so the unit of reuse. The negotiator's prompts share
# 204-231 tokens with the same party's previous prompt (benchmarks/prefix_cache.py), so 192
# reuses as much as 64 would, while a cold prompt runs at the speed of 512-token batches
# (64-token batches evaluated prompts ~16% slower).
PREFIX_BLOCK = 192
SAVED_PREFIXES = 8  # the parties of a negotiation alternate on one server: one slot each


def _common(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class PrefixCache:
    """The live prompt's whole blocks plus a few saved ones (least recently used dropped)."""

    def __init__(self, block: int, reuse: bool, capacity: int = SAVED_PREFIXES) -> None:
        self.block = block
        self.reuse = reuse
        self.capacity = max(capacity, 2)  # the prefix being loaded and the live one
        self.saved: OrderedDict[tuple[int, ...], bytes] = OrderedDict()
        self.live_blocks = 0  # tokens of the live context evaluated in whole aligned blocks

    def _aligned(self, n: int) -> int:
        return n // self.block * self.block

    def prepare(self, llama: Any, tokens: Sequence[int]) -> int:
        """Leave `llama` holding the longest reusable whole-block prefix of `tokens` (or
        nothing), and return its length. The last prompt token is always evaluated: its
        logits give the first reply token."""
        live = self._live(llama)
        best, source = self._aligned(_common(live, tokens)), "live"
        for key in self.saved if self.reuse else ():
            shared = self._aligned(_common(key, tokens))
            if shared > best:
                best, source = shared, "saved"
        best = min(best, self._aligned(len(tokens) - 1)) if self.reuse else 0
        if source == "saved" and best:
            key = max((k for k in self.saved if _common(k, tokens) >= best), key=len)
            self.saved.move_to_end(key)  # so that saving the live prefix cannot evict it
            self._save(llama, live)
            best = best if self._load(llama, key) else 0
        elif not best:
            self._save(llama, live)
        best = self._keep(llama, tokens, best)
        self.live_blocks = self._aligned(len(tokens))
        print(f"valuesneg prefix cache: reused {best} of {len(tokens)} prompt tokens "
              f"({source if best else 'none'})", file=sys.stderr, flush=True)
        return best

    def _live(self, llama: Any) -> tuple[int, ...]:
        valid = min(self.live_blocks, self._aligned(llama.n_tokens))
        return tuple(int(t) for t in llama.input_ids[:valid])

    def _keep(self, llama: Any, tokens: Sequence[int], length: int) -> int:
        import llama_cpp

        if length and llama._ctx.kv_cache_seq_rm(0, length, -1):
            memory = llama_cpp.llama_get_memory(llama._ctx.ctx)
            # A cache that dropped early positions (sliding window) cannot resume here.
            if llama_cpp.llama_memory_seq_pos_min(memory, 0) == 0:
                llama.input_ids[:length] = tokens[:length]
                llama.n_tokens = length
                return length
        llama.reset()
        return 0

    def _save(self, llama: Any, key: tuple[int, ...]) -> None:
        import llama_cpp

        if not self.reuse:
            return
        # A sliding-window cache writes only the cells inside the window of the last
        # position, so a longer saved prefix would come back without its first tokens.
        window = llama_cpp.llama_model_n_swa(llama._model.model)
        key = key[: self._aligned(window)] if window > 0 else key
        if key in self.saved:
            self.saved.move_to_end(key)
            return
        if not key:
            return
        ctx = llama._ctx.ctx
        llama._ctx.kv_cache_seq_rm(0, len(key), -1)
        size = llama_cpp.llama_state_seq_get_size(ctx, 0)
        buffer = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_seq_get_data(ctx, buffer, size, 0)
        self.saved[key] = bytes(buffer)[:written]
        while len(self.saved) > self.capacity:
            self.saved.popitem(last=False)

    def _load(self, llama: Any, key: tuple[int, ...]) -> bool:
        import llama_cpp

        ctx = llama._ctx.ctx
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(ctx), True)
        data = self.saved[key]
        buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        if llama_cpp.llama_state_seq_set_data(ctx, buffer, len(data), 0) != len(data):
            llama.reset()
            return False
        self.saved.move_to_end(key)
        llama.input_ids[: len(key)] = key
        llama.n_tokens = len(key)
        return True


def install(cache: PrefixCache) -> None:
    """Route every `Llama.generate` through `cache.prepare` first."""
    import llama_cpp

    generate = llama_cpp.Llama.generate

    def prepared(self: Any, tokens: Sequence[int], *args: Any, **kwargs: Any) -> Any:
        tokens = list(tokens)
        cache.prepare(self, tokens)
        # With n_tokens set, llama-cpp-python keeps exactly that prefix and evaluates the
        # rest in --n_batch slices from there, i.e. at the same absolute cuts.
        return generate(self, tokens, *args, **kwargs)

    llama_cpp.Llama.generate = prepared  # type: ignore[method-assign]


def _watch_parent(parent: int) -> None:
    # The child is reparented once its parent is gone, so getppid changes.
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def main(argv: Sequence[str] | None = None) -> None:
    """argv: PARENT_PID REUSE(0|1) then llama_cpp.server's own options (with --n_batch)."""
    from valuesneg.agents.local_server import plain_cpu_buffers

    parent, reuse, *options = list(sys.argv[1:] if argv is None else argv)
    plain_cpu_buffers()
    threading.Thread(target=_watch_parent, args=(int(parent),), daemon=True).start()
    block = int(options[options.index("--n_batch") + 1])
    install(PrefixCache(block, reuse == "1"))
    sys.argv = ["llama_cpp.server", *options]
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
