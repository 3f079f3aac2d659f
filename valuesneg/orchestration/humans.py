"""Answering a human party's prompt: at a terminal, or as JSON lines for a program.

Both take the prompt ``HumanAgent`` raised (see ``valuesneg.agents.human``) and return a
decision: an action from the legal ones, units in range, and rationale ids picked from the
admissible list. Neither accepts free text; what is chosen still goes through the core.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from rich.console import Console
from rich.prompt import IntPrompt, Prompt
from rich.table import Table

from valuesneg.core import strict_json
from valuesneg.transcript import allocation

Answerer = Callable[[dict[str, Any]], Any]


class NoAnswer(Exception):
    """Nobody is left to answer (stdin closed): the run stays paused at the human's turn."""


# -- the terminal ------------------------------------------------------------------------------

@dataclass
class TerminalAnswerer:
    """Answers a human party's prompts at the terminal: shows the view, then asks for an action,
    units and reasons."""

    console: Console = field(default_factory=Console)

    def __call__(self, prompt: dict[str, Any]) -> dict[str, Any]:
        self._show(prompt)
        action = self._pick("Choose an action", prompt["actions"])
        answer: dict[str, Any] = {"action": action}
        units: dict[str, int] = prompt["units"]
        if action == "request":
            answer["my_units"] = {d: self._units(d, n) for d, n in units.items()}
        elif action == "counter":
            dimension = self._pick("Which dimension to change", list(units))
            answer |= {"dimension": dimension, "my_units": self._units(dimension,
                                                                       units[dimension])}
        answer["rationale"] = self._reasons(prompt["rationale"], prompt["max_reasons"])
        return answer

    def _show(self, prompt: dict[str, Any]) -> None:
        out = self.console
        out.rule(f"[bold]{prompt['party']}[/], your turn (record #{prompt['seq']}, round "
                 f"{prompt['round']} of {prompt['round_cap']})")
        out.print("To divide: " + ", ".join(
            f"{d} ({n} units, each worth {prompt['weights'].get(d, 0):g} to you)"
            for d, n in prompt["units"].items()))
        table = prompt["table"]
        if table is not None:
            out.print(f"On the table (#{table['seq']}, from {table['proposer']}): "
                      f"{allocation(table['allocation'])}; worth {table['utility_to_me']:g} to "
                      f"you, of {prompt['best_utility']:g} at best")
        feedback = prompt["feedback"]
        if feedback is not None:
            out.print(f"[red]Your last answer was refused: {feedback['code']} at "
                      f"{feedback['field']} ({feedback['detail']})[/]")

    def _pick(self, question: str, options: Sequence[str]) -> str:
        for number, option in enumerate(options, 1):
            self.console.print(f"  {number}. {option}")
        choice = IntPrompt.ask(question, console=self.console,
                               choices=[str(n) for n in range(1, len(options) + 1)])
        return options[choice - 1]

    def _units(self, dimension: str, total: int) -> int:
        return IntPrompt.ask(f"Your units of {dimension} (0 to {total})", console=self.console,
                             choices=[str(n) for n in range(total + 1)], show_choices=False)

    def _reasons(self, citable: list[dict[str, Any]], most: int) -> list[str]:
        listing = Table("#", "id", "kind", "what it says", box=None)
        for number, entry in enumerate(citable, 1):
            kind = entry["kind"] + (", yours" if entry["own"] else "")
            listing.add_row(str(number), entry["id"], kind, entry["text"])
        self.console.print("Reasons you may cite:", listing)
        while True:
            raw = Prompt.ask(f"Pick 1 to {most} reasons by number, separated by spaces",
                             console=self.console)
            picked = parse_selection(raw, len(citable), most)
            if isinstance(picked, str):
                self.console.print(f"[red]{picked}[/]")
                continue
            return [citable[n - 1]["id"] for n in picked]


def parse_selection(raw: str, options: int, most: int) -> list[int] | str:
    """Numbers 1..options, each once, at most ``most`` of them; or what is wrong, to show."""
    tokens = raw.replace(",", " ").split()
    if not tokens or not all(t.isdigit() for t in tokens):
        return "type the numbers of the reasons, e.g. 1 3"
    numbers = [int(t) for t in tokens]
    if any(not 1 <= n <= options for n in numbers):
        return f"each number must be between 1 and {options}"
    if len(set(numbers)) != len(numbers):
        return "each reason once"
    if len(numbers) > most:
        return f"at most {most} reasons"
    return numbers


# -- a program over stdin/stdout ---------------------------------------------------------------

@dataclass
class JsonAnswerer:
    """One prompt per line on ``output``; one answer per line from ``input``.

    A line that is not JSON is passed on as it is, so the core's refusal of it comes back in
    the next prompt's ``feedback`` like that of any other bad answer.
    """

    input: IO[str] = field(default_factory=lambda: sys.stdin)
    output: IO[str] = field(default_factory=lambda: sys.stdout)

    def __call__(self, prompt: dict[str, Any]) -> Any:
        self.output.write(json.dumps(prompt, sort_keys=True) + "\n")
        self.output.flush()
        line = self.input.readline()
        if not line:
            raise NoAnswer(f"no answer for {prompt['party']}'s turn (stdin closed)")
        try:
            return strict_json.loads(line)
        except strict_json.JsonInputError:
            return line.rstrip("\n")
