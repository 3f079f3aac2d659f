"""Values-card elicitation on the embedded model, answered in the words of CaSiNo participants.

Ten participants (``mturk_agent_1`` of the first ten dialogues of the CaSiNo train split
shipped at ``valuesneg/corpora/data/casino_train.json``) each answer the interview with
their own stated reasons (``value2reason`` of their High and Medium items, each after the
item it is about, e.g. "Firewood: It gets cold at night..."). The
answers go through the real JSON-lines channel (``JsonAnswerer``): the interviewee accepts
the first proposed card and keeps both cards when a near-duplicate is shown. All ten cards go
into one graph, so later interviews meet earlier cards in the duplicate check.

Reported: the share of interviews that wrote a card that validates (a ``ValuesCard`` with 3
to 6 attentional policies, in a graph that loads), the share whose card also passes
``lint_card`` (policies name things in CAPITALS, the title is not a position), mean
attentional policies per card, seconds per interview (model calls plus the duplicate check;
the server's start is timed apart), model calls per interview, near-duplicates shown.

    PYTHONPATH=. python benchmarks/elicitation.py [--n 10] [--json FILE]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from valuesneg.agents.factory import chat_backend
from valuesneg.agents.prompts import load_prompt
from valuesneg.orchestration.humans import JsonAnswerer
from valuesneg.values import load_graph
from valuesneg.values.elicit import PROMPTS, Interviewer, NoCard, elicit
from valuesneg.values.lint import lint_card
from valuesneg.values.people import checked

CASINO = Path(__file__).resolve().parents[1] / "valuesneg" / "corpora" / "data" / \
    "casino_train.json"
CONTEXT = "Sharing food, water and firewood with other campers before a camping trip"


class ScriptedPerson(io.StringIO):
    """stdin and stdout of an interviewee: each prompt line written gets its answer line."""

    def __init__(self, answer: str) -> None:
        super().__init__()
        self.answer = answer
        self.last: dict[str, Any] = {}
        self.prompts: list[str] = []

    def write(self, text: str) -> int:
        self.last = json.loads(text)
        self.prompts.append(self.last["type"])
        return len(text)

    def readline(self, size: int | None = -1) -> str:
        kind = self.last["type"]
        reply = {"interview_question": {"answer": self.answer},
                 "card_proposal": {"decision": "accept"},
                 "near_duplicate": {"decision": "keep"}}[kind]
        return json.dumps(reply) + "\n"


def participants(n: int) -> list[tuple[str, str]]:
    dialogues = json.loads(CASINO.read_text(encoding="utf-8"))[:n]
    out = []
    for d in dialogues:
        info = d["participant_info"]["mturk_agent_1"]
        words = " ".join(f"{info['value2issue'][p]}: {info['value2reason'][p].strip()}"
                         for p in ("High", "Medium"))
        out.append((f"{d['dialogue_id']}/mturk_agent_1", words))
    return out


WORD = re.compile(r"[a-z]{4,}")
STOP = {"that", "this", "with", "have", "will", "need", "more", "they", "what", "when",
        "from", "your", "about", "would", "there", "their", "them", "some", "also", "very",
        "because", "want", "much", "into", "just", "been", "were", "than"}


def grounded(card: Any, answer: str) -> bool:
    """The card's title or policies use a content word of the person's answer."""
    said = set(WORD.findall(answer.lower())) - STOP
    text = " ".join([card.title, *(p.text for p in card.attentional_policies)]).lower()
    return bool(said & set(WORD.findall(text)))


def copied(card: Any) -> bool:
    """The title or a policy is text of the prompts themselves, not the person's."""
    prompts = " ".join(load_prompt(p).template.template.lower() for p in PROMPTS)
    return any(len(t) >= 12 and t.lower().strip(" .") in prompts
               for t in [card.title, *(p.text for p in card.attentional_policies)])


class Counting:
    def __init__(self, model: Any) -> None:
        self.model, self.calls = model, 0

    def complete(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.model.complete(*args, **kwargs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp, chat_backend("local") as (pool, _):
        os.environ.setdefault("VALUESNEG_CARD_STORE", str(Path(tmp) / "store"))
        assert pool is not None
        setting = pool.default_setting()
        started = time.perf_counter()
        name = pool.served(setting)
        chat = Counting(pool.chat(setting))
        server_s = time.perf_counter() - started
        graph_path = Path(tmp) / "elicited.json"
        for who, answer in participants(args.n):
            person = ScriptedPerson(answer)
            before = chat.calls
            t0 = time.perf_counter()
            try:
                _, said = elicit(graph_path, CONTEXT, Interviewer(chat, name),  # type: ignore[arg-type]
                                 checked(JsonAnswerer(input=person, output=person)))
                card = load_graph(graph_path).cards[-1] if said.startswith("added") else None
            except NoCard as none:
                said, card = f"no card: {none}", None
            seconds = time.perf_counter() - t0
            row = {"participant": who, "seconds": round(seconds, 1),
                   "model_calls": chat.calls - before, "result": said,
                   "duplicate_shown": "near_duplicate" in person.prompts,
                   "policies": len(card.attentional_policies) if card else None,
                   "lint_clean": (not lint_card(card, "card")) if card else None,
                   "grounded": grounded(card, answer) if card else None,
                   "copied_from_prompt": copied(card) if card else None,
                   "title": card.title if card else None,
                   "policy_texts": [p.text for p in card.attentional_policies] if card
                   else None}
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)
    cards = [r for r in rows if r["policies"] is not None or r["result"].startswith("merged")]
    added = [r for r in rows if r["policies"] is not None]
    summary = {
        "interviews": len(rows), "model": name, "server_start_s": round(server_s, 1),
        "validating_card_share": len(cards) / len(rows),
        "lint_clean_share": sum(bool(r["lint_clean"]) for r in rows) / len(rows),
        "grounded_share": sum(bool(r["grounded"]) for r in rows) / len(rows),
        "copied_from_prompt_share": sum(bool(r["copied_from_prompt"]) for r in rows)
        / len(rows),
        "mean_policies_per_card": statistics.fmean(r["policies"] for r in added)
        if added else None,
        "seconds_per_interview_mean": round(statistics.fmean(r["seconds"] for r in rows), 1),
        "seconds_per_interview_median": round(statistics.median(r["seconds"] for r in rows), 1),
        "model_calls_per_interview": statistics.fmean(r["model_calls"] for r in rows),
        "duplicates_shown": sum(r["duplicate_shown"] for r in rows),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()], "rows": rows}
    text = json.dumps(summary, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
