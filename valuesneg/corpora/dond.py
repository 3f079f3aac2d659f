"""Import Deal or No Deal (Lewis et al., 2017): item-division dialogues, one line per side.

A line reads (see ``formats/deal-or-no-deal.md``)::

    <input> C0 V0 C1 V1 C2 V2 </input> <dialogue> YOU: ... <eos> THEM: ... <selection>
    </dialogue> <output> item0=a item1=b item2=c item0=d item1=e item2=f </output>
    <partner_input> C0 W0 C1 W1 C2 W2 </partner_input>

The corpus holds every dialogue twice, once from each side with YOU and THEM swapped. Both
lines describe one negotiation, so they become one scenario: a line's *canonical key* is
the smaller of its own reading and its mirror image (counts, both sides' values, and the
turns with speakers swapped), and lines sharing a key are one dialogue. Party ``p1`` is the
YOU of the first line of a dialogue in the file, ``p2`` its partner.

A failed negotiation (``<disagree>``, ``<no_agreement>`` or ``<disconnect>`` in
``<output>``) scores 0 for both, which is also each party's reservation value. When the two
sides of one dialogue recorded different deals, no deal was made: that is what the game
does when selections do not match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .base import CorpusError, CorpusScenario, PartySpec, Recorded, division_terms, issue_cards
from .space import DivisionSpace

ITEMS = ("book", "hat", "ball")  # item0, item1, item2 in the corpus
FAILED = frozenset({"<disagree>", "<no_agreement>", "<disconnect>"})
PARTIES = ("p1", "p2")
NO_DEAL = 0.0

_SECTION = re.compile(r"<(input|dialogue|output|partner_input)>(.*?)</\1>", re.DOTALL)
_SPEAKER = {"YOU": "THEM", "THEM": "YOU"}

Turns = tuple[tuple[str, str], ...]  # (speaker as written, words)


@dataclass(frozen=True)
class DondLine:
    """One line: the game from YOU's side."""

    line: int
    counts: tuple[int, ...]
    mine: tuple[int, ...]  # YOU's value per unit of each item
    theirs: tuple[int, ...]  # THEM's
    turns: Turns
    output: tuple[tuple[int, ...], tuple[int, ...]] | None  # (YOU's items, THEM's); None = failed

    def key(self) -> tuple[object, ...]:
        own = (self.counts, self.mine, self.theirs, self.turns)
        mirror = (self.counts, self.theirs, self.mine,
                  tuple((_SPEAKER[s], w) for s, w in self.turns))
        return min(own, mirror)

    def same_side(self, other: DondLine) -> bool:
        """True when this line's YOU is ``other``'s YOU (else it is ``other``'s THEM)."""
        return (self.mine, self.theirs, self.turns) == (other.mine, other.theirs, other.turns)


def parse_dond_line(text: str, *, line: int, path: str | Path) -> DondLine:
    """One corpus line; :class:`CorpusError` naming the file, line and section when bad."""
    sections = {name: body.split() for name, body in _SECTION.findall(text)}
    for name in ("input", "dialogue", "output", "partner_input"):
        if name not in sections:
            raise CorpusError(f"missing <{name}> ... </{name}>", path=path, where=f"line {line}")
    counts, mine = _game(sections["input"], "input", line, path)
    partner_counts, theirs = _game(sections["partner_input"], "partner_input", line, path)
    if partner_counts != counts:
        raise CorpusError(f"<partner_input> counts {list(partner_counts)} differ from "
                          f"<input> counts {list(counts)}", path=path, where=f"line {line}")
    output = _output(sections["output"], counts, line, path)
    return DondLine(line=line, counts=counts, mine=mine, theirs=theirs,
                    turns=_turns(" ".join(sections["dialogue"])), output=output)


def _game(tokens: list[str], section: str, line: int,
          path: str | Path) -> tuple[tuple[int, ...], tuple[int, ...]]:
    where = f"line {line} <{section}>"
    if len(tokens) != 2 * len(ITEMS) or not all(t.isdigit() for t in tokens):
        raise CorpusError(f"expected {2 * len(ITEMS)} whole numbers (count, value per item), "
                          f"found {' '.join(tokens)!r}", path=path, where=where)
    numbers = [int(t) for t in tokens]
    counts, values = tuple(numbers[0::2]), tuple(numbers[1::2])
    if sum(counts) == 0:
        raise CorpusError("there is nothing to divide (every count is 0)", path=path,
                          where=where)
    return counts, values


def _output(tokens: list[str], counts: tuple[int, ...], line: int,
            path: str | Path) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    where = f"line {line} <output>"
    if tokens and all(t in FAILED for t in tokens):
        return None
    expected = [f"item{i}" for i in range(len(ITEMS))] * 2
    fields = [t.split("=", 1) for t in tokens]
    if [f[0] for f in fields] != expected or not all(
            len(f) == 2 and f[1].isdigit() for f in fields):
        raise CorpusError("expected item0=a item1=b item2=c item0=d item1=e item2=f, or a "
                          f"failure marker six times; found {' '.join(tokens)!r}", path=path,
                          where=where)
    units = [int(f[1]) for f in fields]
    you, them = tuple(units[:len(ITEMS)]), tuple(units[len(ITEMS):])
    for i, (a, b, c) in enumerate(zip(you, them, counts, strict=True)):
        if a + b != c:
            raise CorpusError(f"item{i}: the two shares {a} + {b} do not add up to the count "
                              f"{c}", path=path, where=where)
    return you, them


def _turns(dialogue: str) -> Turns:
    turns = []
    for chunk in dialogue.split("<eos>"):
        words = chunk.split()
        if words and words[0].rstrip(":") in _SPEAKER:
            turns.append((words[0].rstrip(":"), " ".join(words[1:])))
    return tuple(turns)


def read_dond_lines(path: str | Path) -> list[DondLine]:
    """A Deal-or-No-Deal corpus file, one dialogue per line; an unreadable file or line is a
    ``CorpusError`` naming it."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CorpusError("no such file", path=p) from None
    except (OSError, UnicodeDecodeError) as error:
        raise CorpusError(f"cannot read ({error})", path=p) from None
    lines = [parse_dond_line(raw, line=n, path=p)
             for n, raw in enumerate(text.splitlines(), start=1) if raw.strip()]
    if not lines:
        raise CorpusError("no dialogues in the file", path=p)
    return lines


def load_dond(path: str | Path) -> list[CorpusScenario]:
    """Every dialogue of a Deal or No Deal file, once (both sides' lines merged), in the
    order each first appears."""
    groups: dict[tuple[object, ...], list[DondLine]] = {}
    for line in read_dond_lines(path):
        groups.setdefault(line.key(), []).append(line)
    return [dond_scenario(lines, index=n, path=Path(path))
            for n, lines in enumerate(groups.values(), start=1)]


def dond_scenario(lines: list[DondLine], *, index: int, path: Path) -> CorpusScenario:
    """One dialogue (all lines that record it) as a two-party division scenario."""
    first = lines[0]
    values = {PARTIES[0]: first.mine, PARTIES[1]: first.theirs}
    dims = {f"dim:{item}": count for item, count in zip(ITEMS, first.counts, strict=True)
            if count > 0}  # an item with no units is nothing to negotiate over
    labels = {d: d.removeprefix("dim:") + "s" for d in dims}
    key = f"{index}"
    parties = []
    for party in PARTIES:
        weights = {f"dim:{item}": float(v) for item, v in zip(ITEMS, values[party], strict=True)
                   if f"dim:{item}" in dims}
        parties.append(PartySpec(id=party, weights=weights, reservation=NO_DEAL,
                                 cards=issue_cards("dond", key, party, labels, weights)))
    terms = division_terms(f"neg:dond-{index}", "dond", dims, parties)
    space = DivisionSpace(terms)
    return CorpusScenario(
        name=f"dond-{index}", corpus="dond",
        source=f"{path}:{','.join(str(line.line) for line in lines)}", terms=terms,
        space=space, cards=tuple(c for p in parties for c in p.cards),
        recorded=_recorded(lines, dims, space), issues={d: d.removeprefix("dim:") for d in dims})


def _recorded(lines: list[DondLine], dims: dict[str, int], space: DivisionSpace) -> Recorded:
    """The deal as p1 and p2 hold it; no deal when a side failed or the sides disagree."""
    deals: set[tuple[tuple[int, ...], tuple[int, ...]] | None] = set()
    for line in lines:
        if line.output is None:
            deals.add(None)
            continue
        you, them = line.output
        deals.add((you, them) if line.same_side(lines[0]) else (them, you))
    deal = next(iter(deals)) if len(deals) == 1 else None
    if deal is None:
        return Recorded(agreed=False, allocation=None,
                        utilities=dict.fromkeys(space.parties, NO_DEAL))
    allocation = {f"dim:{item}": {PARTIES[0]: deal[0][i], PARTIES[1]: deal[1][i]}
                  for i, item in enumerate(ITEMS) if f"dim:{item}" in dims}
    return Recorded(agreed=True, allocation=allocation, utilities=space.utilities(allocation))
