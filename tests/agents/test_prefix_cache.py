"""Reusing a cached prompt prefix on the embedded server leaves every reply as an empty cache
gives it (valuesneg.agents.llama_child): the real prompts of a campsite run, answered on two
fresh servers in opposite orders, so each prompt is answered once cold and once after a
prompt of the same party that shares its prefix (the resume case: a resumed run asks a fresh
server a turn the uninterrupted run asked a warm one), both from the live context and from a
saved one after the other party's turn.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from valuesneg.agents.local_server import (
    LocalModelServer,
    local_chat_model,
    prefix_reuse_default,
)
from valuesneg.agents.models import Message
from valuesneg.orchestration.prompts import first_option_prompts

SCENARIO = Path(__file__).resolve().parents[2] / "moral_graphs" / "scenarios" / \
    "campsite_supplies.yaml"
# Free text (within JSON) rather than a menu letter: a long reply shows a changed float
# sooner than a choice among a few labels would.
SCHEMA: dict[str, Any] = {"type": "object", "properties": {
    "choice": {"type": "string", "maxLength": 80}}, "required": ["choice"],
    "additionalProperties": False}
REUSED = re.compile(r"valuesneg prefix cache: reused (\d+) of (\d+) prompt tokens \((\w+)\)")


def answers(prompts: list[str], order: list[int], log_dir: Path
            ) -> tuple[dict[int, str], list[tuple[int, str]]]:
    """Replies by prompt index, asked in ``order`` of one fresh server with reuse on, and
    what its cache reused for each."""
    with LocalModelServer(log_dir=log_dir, prefix_reuse=True) as server:
        with local_chat_model(server, max_tokens=48) as model:
            replies = {i: model.complete([Message("user", prompts[i])], SCHEMA,
                                         schema_name="decision").text for i in order}
        assert server.log_path is not None
        log = server.log_path.read_text(errors="replace")
    reused = [(int(n), source) for n, _, source in REUSED.findall(log)]
    return replies, reused


@pytest.mark.llm
def test_replies_with_a_reused_prefix_equal_cold_replies(tmp_path: Path) -> None:
    prompts = [text for _, text, _ in first_option_prompts(SCENARIO)[:4]]  # ana, ben, ana, ben
    forward, forward_reused = answers(prompts, [0, 1, 2, 3], tmp_path / "forward")
    backward, backward_reused = answers(prompts, [3, 2, 1, 0], tmp_path / "backward")
    assert forward == backward
    # Each prompt was cold on one server and warm on the other: the first two asked of
    # each server found nothing to reuse; the last two reused a saved prefix of their
    # party's earlier prompt (the other party spoke in between).
    for reused in (forward_reused, backward_reused):
        assert [n for n, _ in reused[:2]] == [0, 0]
        assert all(n > 0 and source == "saved" for n, source in reused[2:]), reused


@pytest.mark.llm
def test_the_live_prefix_is_reused_and_the_switch_turns_reuse_off(tmp_path: Path) -> None:
    prompts = [text for _, text, _ in first_option_prompts(SCENARIO)[:3:2]]  # ana, ana
    warm, reused = answers(prompts, [0, 1], tmp_path / "warm")
    assert [source for _, source in reused] == ["none", "live"] and reused[1][0] > 0
    with LocalModelServer(log_dir=tmp_path / "off", prefix_reuse=False) as server:
        with local_chat_model(server, max_tokens=48) as model:
            cold = model.complete([Message("user", prompts[1])], SCHEMA,
                                  schema_name="decision").text
            again = model.complete([Message("user", prompts[1])], SCHEMA,
                                   schema_name="decision").text
        assert server.log_path is not None
        off = REUSED.findall(server.log_path.read_text(errors="replace"))
    assert cold == again == warm[1]
    assert [int(n) for n, _, _ in off] == [0, 0]


def test_reuse_is_on_unless_the_environment_turns_it_off(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VALUESNEG_LLM_PREFIX_CACHE", raising=False)
    assert prefix_reuse_default()
    for off in ("0", "false", "OFF", " no "):
        monkeypatch.setenv("VALUESNEG_LLM_PREFIX_CACHE", off)
        assert not prefix_reuse_default()
    monkeypatch.setenv("VALUESNEG_LLM_PREFIX_CACHE", "1")
    assert prefix_reuse_default()
    server = LocalModelServer(prefix_reuse=False)
    server.port = 1
    command = server._command(Path("model.gguf"))
    assert command[4] == "0"  # after python -c BOOTSTRAP PARENT_PID
    assert command[command.index("--n_batch") + 1] == command[command.index("--n_ubatch") + 1]


@pytest.mark.llm
def test_a_reused_prefix_leaves_the_logits_bit_identical() -> None:
    """In-process, the most sensitive check: the float logits of the last prompt token."""
    import llama_cpp
    import numpy as np

    from valuesneg.agents.llama_child import PREFIX_BLOCK, PrefixCache
    from valuesneg.agents.local_server import plain_cpu_buffers
    from valuesneg.agents.model_file import ensure_model_file

    plain_cpu_buffers()
    llm = llama_cpp.Llama(str(ensure_model_file()), n_ctx=2048, n_batch=PREFIX_BLOCK,
                          n_ubatch=PREFIX_BLOCK, n_threads=1, verbose=False)
    prompts = [llm.tokenize(f"<start_of_turn>user\n{text}<end_of_turn>\n<start_of_turn>model\n"
                            .encode(), add_bos=True, special=True)
               for _, text, _ in first_option_prompts(SCENARIO)[:5]]  # ana, ben, ana, ben, ana

    reused: list[int] = []

    def logits(cache: PrefixCache, tokens: list[int]) -> bytes:
        reused.append(cache.prepare(llm, tokens))
        llm.eval(tokens[llm.n_tokens:])
        last = llm._ctx.get_logits()  # type: ignore[no-untyped-call]
        return np.ctypeslib.as_array(last, shape=(llm.n_vocab(),)).tobytes()

    off = PrefixCache(PREFIX_BLOCK, reuse=False)
    cold = {i: logits(off, prompts[i]) for i in (2, 4)}
    on = PrefixCache(PREFIX_BLOCK, reuse=True)
    warm = {i: logits(on, prompts[i]) for i in (0, 2, 1, 4)}  # 2: live prefix; 4: saved one
    assert reused == [0, 0, 0, PREFIX_BLOCK, 0, PREFIX_BLOCK]  # cold, cold, then on's four
    assert warm[2] == cold[2] and warm[4] == cold[4]
