"""What the sound guard costs per decision, against the raw design, on the same views.

The two designs are timed interleaved, view by view, against one embedded server, so both
see the same machine load: on a shared machine absolute seconds swing with the neighbours,
the ratio does not. Views are taken from scripted negotiations of the campsite scenario and
the first CaSiNo dialogues (the turns an LLM party would have faced).

    .venv/bin/python benchmarks/guard_cost.py [--views N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

from valuesneg.agents.llm import LLMAgent, card_texts, describe_terminal_rules
from valuesneg.agents.local_server import LocalModelServer, local_chat_model
from valuesneg.agents.scripted import make_scripted
from valuesneg.core import Terms
from valuesneg.core.view import PartyView
from valuesneg.corpora import load_corpus
from valuesneg.orchestration.driver import Driver
from valuesneg.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


class Recorder:
    """A scripted agent that keeps every view it was given."""

    def __init__(self, party: str, seen: list[PartyView]) -> None:
        self.name, self.inner, self.seen = party, make_scripted(party, "values"), seen

    def decide(self, view: PartyView, feedback: object = None) -> object:
        self.seen.append(view)
        return self.inner.decide(view)


def views(terms: Terms) -> list[PartyView]:
    seen: list[PartyView] = []
    Driver(terms, {p: Recorder(p, seen) for p in terms.party_ids}, wind_down=False).run()
    return seen


def sources(count: int) -> list[tuple[Terms, dict[str, str]]]:
    campsite = load_scenario(ROOT / "moral_graphs" / "scenarios" / "campsite_supplies.yaml")
    out = [(campsite.terms, card_texts(campsite.graph))]
    for case in load_corpus("casino", str(ROOT / "valuesneg" / "corpora" / "data" /
                                           "casino_train.json"))[:count]:
        out.append((case.terms, card_texts(case)))
    return out


def measure(limit: int) -> dict[str, float | int]:
    seconds: dict[str, list[float]] = {"sound": [], "none": []}
    asked = 0
    with tempfile.TemporaryDirectory() as logs, LocalModelServer(log_dir=Path(logs)) as server:
        model = local_chat_model(server)
        taken = 0
        for terms, texts in sources(3):
            rules = describe_terminal_rules(terms.policy.terminal)
            for view in views(terms):
                if taken >= limit:
                    break
                taken += 1
                for guard in ("sound", "none"):
                    agent = LLMAgent(name=view.party, model=model, cards=texts,
                                     terminal_rules=rules, guard=guard)  # type: ignore[arg-type]
                    agent.decide(view)
                    seconds[guard].append(sum(c.latency_s for c in agent.calls))
                    asked += guard == "sound" and any(c.prompt != "guard:forced"
                                                      for c in agent.calls)
    sound, none = statistics.fmean(seconds["sound"]), statistics.fmean(seconds["none"])
    return {"views": taken, "sound_model_asked": asked,
            "seconds_per_decision_sound": round(sound, 2),
            "seconds_per_decision_none": round(none, 2),
            "sound_over_none": round(sound / none, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--views", type=int, default=12)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    figures = measure(args.views)
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
