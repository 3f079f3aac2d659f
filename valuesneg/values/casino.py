"""Import CaSiNo, the campsite negotiation corpus (Chawla et al., NAACL 2021; CC BY 4.0).

Each dialogue becomes a :class:`CasinoDialogue`: two parties, each with three values cards
(one per priority), the utilities the corpus used, the agreed allocation (or a walk-away)
and the points the corpus recorded. Parsing is pure; :func:`load_casino` reads the file
through :mod:`valuesneg.values.io`.

Utilities: 3 packages of each issue (Food, Water, Firewood); each package is worth 5 points
to a party that ranked the issue High, 4 for Medium, 3 for Low. A walk-away gives each party
5 points. An agreement is a dialogue whose last entry is ``Accept-Deal``; the accepted offer is
the last ``Submit-Deal`` before it, read from the submitter's point of view (``issue2youget``
goes to the submitter, ``issue2theyget`` to the other party).

Values cards, one per (party, priority), derived deterministically:

- id ``card:casino-<dialogue_id>-<a1|a2>-<issue>`` (``a1`` = ``mturk_agent_1``);
  title ``"<Issue> needs (<priority> priority)"``; contexts ``(ctx:casino-campsite,)``;
- provenance: source ``casino``, source_id ``"<dialogue_id>/<agent>/<priority>"``, ``quote``
  = the participant's own reason from ``value2reason``, verbatim; ``extra`` records the issue,
  priority, points and which keywords matched which concept;
- attentional policies, numbered from 1 in this order:
  1. the *issue policy*, templated from issue and priority (:data:`ISSUE_POLICY`), e.g.
     "WHETHER I come away with enough FIREWOOD: my top priority, 5 points a package";
  2. one *keyword policy* per concept of :data:`KEYWORD_TABLE` whose keywords occur in the
     reason (lowercased, split into words; whole-word match), in table order. E.g. "It gets
     cold at night" matches ``warmth`` (cold) -> "WARMTH through cold nights, and how much
     firewood it takes to stay warm".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from .errors import CasinoError
from .ids import card_id, policy_id
from .io import read_json_file
from .model import (
    GRAPH_FORMAT,
    AttentionalPolicy,
    Context,
    MoralGraph,
    Provenance,
    ValuesCard,
)

ISSUES = ("Food", "Water", "Firewood")
PRIORITIES = ("High", "Medium", "Low")
POINTS_PER_UNIT = {"High": 5, "Medium": 4, "Low": 3}
UNITS_PER_ISSUE = 3
WALK_AWAY_POINTS = 5
AGENTS = ("mturk_agent_1", "mturk_agent_2")
AGENT_SLUGS = {"mturk_agent_1": "a1", "mturk_agent_2": "a2"}
TurnKind = Literal["chat", "submit", "accept", "reject", "walk_away"]
DEAL_MOVES: dict[str, TurnKind] = {"Submit-Deal": "submit", "Accept-Deal": "accept",
                                   "Reject-Deal": "reject", "Walk-Away": "walk_away"}
CASINO_CONTEXT = Context(
    id="ctx:casino-campsite",
    title="Two campers dividing packages of food, water and firewood before a camping trip",
)

# The issue policy, by priority; {ISSUE} is the issue in capitals, {points} its value.
ISSUE_POLICY = {
    "High": ("WHETHER I come away with enough {ISSUE}: my top priority, "
             "{points} points a package"),
    "Medium": ("HOW MUCH {ISSUE} I can secure once my top priority is covered "
               "({points} points a package)"),
    "Low": ("{ISSUE} I can give up to the other camper in exchange for what I need more "
            "({points} points a package)"),
}

# (concept, keywords, policy template). {issue} is the issue in lowercase. Fixed order.
KEYWORD_TABLE: tuple[tuple[str, frozenset[str], str], ...] = (
    ("health", frozenset({
        "diabetic", "diabetes", "medical", "medication", "medications", "medicine", "health",
        "sick", "illness", "condition", "blood", "sugar", "sugars", "pregnant", "pregnancy",
        "allergy", "allergies", "allergic", "asthma", "anemic", "insulin", "metabolism",
        "disease", "kidney", "kidneys", "hypoglycemia", "hypoglycemic"}),
     "WHETHER my HEALTH NEEDS (a condition, medication or diet) are covered by the {issue} "
     "I get"),
    ("dependents", frozenset({
        "kid", "kids", "child", "children", "son", "sons", "daughter", "daughters", "baby",
        "babies", "family", "families", "wife", "husband", "toddler", "toddlers", "teenage",
        "teenager", "teenagers", "grandkids", "grandchildren", "elderly", "breastfeeding"}),
     "the needs of my DEPENDENTS (children, family) that the {issue} must cover"),
    ("warmth", frozenset({
        "cold", "colder", "freezing", "freeze", "chilly", "warm", "warmth", "warmer", "frigid",
        "snow", "winter", "cozy", "underheated", "hypothermia"}),
     "WARMTH through cold nights, and how much {issue} it takes to stay warm"),
    ("hydration", frozenset({
        "hydrated", "hydrate", "hydration", "dehydrated", "dehydration", "dehydrate",
        "thirsty", "thirst", "sweat", "sweating", "desert", "heat", "hot", "humid"}),
     "the risk of DEHYDRATION in heat or exertion, and whether the {issue} I get guards "
     "against it"),
    ("exertion", frozenset({
        "hike", "hiking", "hikes", "hiker", "active", "activities", "activity", "marathon",
        "training", "exercise", "energy", "calories", "climbing", "swimming", "running",
        "kayaking", "biking"}),
     "the ENERGY my planned physical activity demands from the {issue} I get"),
    ("cooking", frozenset({
        "cook", "cooking", "boil", "boiling", "meals", "meal", "fish", "fishing", "grill",
        "dinner", "dinners", "purify", "sterilize"}),
     "COOKING and boiling on the trip, and the {issue} they depend on"),
    ("group", frozenset({
        "group", "people", "friends", "friend", "party", "everyone", "crowd", "others",
        "guests", "members"}),
     "the SIZE OF MY GROUP who will share the {issue} I get"),
    ("shortfall", frozenset({
        "forgot", "forget", "lost", "stolen", "robbed", "spill", "spilled", "spoiled",
        "scarce", "shortage", "leak", "leaked", "broke", "broken", "limited", "ran"}),
     "SHORTFALLS I already face (lost, forgotten or scarce {issue})"),
    ("availability", frozenset({
        "stream", "streams", "lake", "river", "creek", "spring", "nearby", "trees", "woods",
        "forest", "plenty", "forage", "foraging", "hunt", "hunting", "already"}),
     "what is ALREADY AVAILABLE to me (nearby sources, supplies on hand) that lowers my "
     "need for {issue}"),
    ("safety", frozenset({
        "safe", "safety", "emergency", "emergencies", "survive", "survival", "animals",
        "animal", "bear", "bears", "bugs", "mosquito", "mosquitos", "mosquitoes", "predators",
        "dark", "darkness", "wild", "injury", "protection", "danger", "dangerous"}),
     "SAFETY margins against emergencies, wildlife and the dark, and the {issue} they "
     "require"),
    ("comfort", frozenset({
        "smores", "s'mores", "enjoy", "fun", "nice", "comfortable", "comfort", "relax",
        "relaxing", "love", "treat", "treats", "snacks", "snack"}),
     "COMFORT and enjoyment on the trip that more {issue} would bring"),
    ("pets", frozenset({"dog", "dogs", "pet", "pets", "puppy", "cat", "cats", "horse"}),
     "my PETS' needs, which the {issue} must also cover"),
)

_WORDS = re.compile(r"[a-z]+(?:'[a-z]+)?")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def keyword_matches(reason: str) -> dict[str, list[str]]:
    """Concept -> the keywords found in ``reason`` (sorted), for concepts that matched."""
    words = set(_WORDS.findall(reason.lower().replace("’", "'")))
    out: dict[str, list[str]] = {}
    for concept, keywords, _ in KEYWORD_TABLE:
        hits = sorted(words & keywords)
        if hits:
            out[concept] = hits
    return out


def derive_policies(card: str, issue: str, priority: str,
                    reason: str) -> tuple[tuple[AttentionalPolicy, ...], dict[str, list[str]]]:
    """The attentional policies of one CaSiNo card, and the keyword matches behind them."""
    texts = [ISSUE_POLICY[priority].format(ISSUE=issue.upper(),
                                           points=POINTS_PER_UNIT[priority])]
    matches = keyword_matches(reason)
    for concept, _, template in KEYWORD_TABLE:
        if concept in matches:
            texts.append(template.format(issue=issue.lower()))
    policies = tuple(AttentionalPolicy(id=policy_id(card, n), text=text)
                     for n, text in enumerate(texts, start=1))
    return policies, matches


class CasinoParty(_Frozen):
    """One participant: values cards (High, Medium, Low), utilities and what they scored."""

    id: str  # "mturk_agent_1" or "mturk_agent_2"
    cards: tuple[ValuesCard, ...]
    weights: dict[str, int]  # issue -> points per package
    priorities: dict[str, str]  # "High"/"Medium"/"Low" -> issue (value2issue)
    reasons: dict[str, str]  # priority -> the participant's words (value2reason)
    points_scored: int  # as recorded by the corpus
    satisfaction: str | None = None
    opponent_likeness: str | None = None

    def points_for(self, allocation: Mapping[str, int]) -> int:
        """Points this party gets from ``allocation`` (issue -> packages)."""
        return sum(self.weights[issue] * int(n) for issue, n in allocation.items())

    def card_for(self, issue: str) -> ValuesCard:
        for card in self.cards:
            if card.provenance.extra.get("issue") == issue:
                return card
        raise KeyError(f"party {self.id!r} has no card for issue {issue!r}")


class CasinoTurn(_Frozen):
    """One chat entry; deal moves are typed, submitted offers kept per party."""

    speaker: str
    kind: TurnKind
    text: str
    offer: dict[str, dict[str, int]] | None = None  # party -> issue -> packages (submit)


class CasinoDeal(_Frozen):
    """The deal a CaSiNo dialogue ended with: who submitted and accepted it, and each party's
    packages."""

    submitted_by: str
    accepted_by: str
    allocation: dict[str, dict[str, int]]  # party -> issue -> packages


class CasinoDialogue(_Frozen):
    """A two-party campsite negotiation, ready to become a scenario."""

    dialogue_id: int
    parties: tuple[CasinoParty, CasinoParty]
    outcome: CasinoDeal | None  # the agreed allocation, None without agreement
    walk_away: bool
    walked_away_by: str | None = None
    points_scored: dict[str, int]  # party -> points, as recorded by the corpus
    turns: tuple[CasinoTurn, ...] = ()

    @property
    def status(self) -> Literal["agreed", "walk_away", "incomplete"]:
        if self.outcome is not None:
            return "agreed"
        return "walk_away" if self.walk_away else "incomplete"

    def party(self, party_id: str) -> CasinoParty:
        for party in self.parties:
            if party.id == party_id:
                return party
        raise KeyError(f"dialogue {self.dialogue_id} has no party {party_id!r}")

    def computed_points(self) -> dict[str, int] | None:
        """Points from the utilities: the deal's value, 5 each on a walk-away, else None."""
        if self.outcome is not None:
            return {p.id: p.points_for(self.outcome.allocation[p.id]) for p in self.parties}
        if self.walk_away:
            return {p.id: WALK_AWAY_POINTS for p in self.parties}
        return None

    def to_graph(self) -> MoralGraph:
        """Both parties' cards as a moral graph (no edges): the dialogue's card vocabulary."""
        return MoralGraph(
            format=GRAPH_FORMAT, id=f"graph:casino-{self.dialogue_id}",
            title=f"CaSiNo dialogue {self.dialogue_id}",
            description="Values cards derived from the participants' stated priorities and "
                        "reasons (CaSiNo, Chawla et al. 2021, CC BY 4.0).",
            contexts=(CASINO_CONTEXT,),
            cards=tuple(card for party in self.parties for card in party.cards),
            provenance=Provenance(source="casino", source_id=self.dialogue_id))


def _where(index: int, did: object, field: str | None = None) -> str:
    head = f"dialogue {did} (record {index})" if did is not None else f"record {index}"
    return f"{head}.{field}" if field else head


def _units(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _party(record: Mapping[str, Any], agent: str, did: int, index: int,
           path: Path | None) -> CasinoParty:
    def fail(message: str, field: str) -> CasinoError:
        return CasinoError(message, where=_where(index, did, field), path=path)

    base = f"participant_info.{agent}"
    info = record["participant_info"].get(agent)
    if not isinstance(info, Mapping):
        raise fail("participant is missing or not an object", base)
    v2i = info.get("value2issue")
    if not isinstance(v2i, Mapping) or set(v2i) != set(PRIORITIES) or sorted(
            map(str, v2i.values())) != sorted(ISSUES):
        raise fail("must map High, Medium and Low to Food, Water and Firewood, each once",
                   f"{base}.value2issue")
    v2r = info.get("value2reason")
    if not isinstance(v2r, Mapping) or set(v2r) != set(PRIORITIES) or not all(
            isinstance(v, str) for v in v2r.values()):
        raise fail("must map High, Medium and Low to the participant's reasons (strings)",
                   f"{base}.value2reason")
    outcomes = info.get("outcomes")
    if not isinstance(outcomes, Mapping):
        raise fail("required object is missing", f"{base}.outcomes")
    scored = outcomes.get("points_scored")
    if not isinstance(scored, int) or isinstance(scored, bool):
        raise fail(f"must be an integer, found {scored!r}", f"{base}.outcomes.points_scored")

    cards = []
    for priority in PRIORITIES:
        issue = str(v2i[priority])
        reason = str(v2r[priority])
        cid = card_id(f"casino-{did}-{AGENT_SLUGS[agent]}-{issue.lower()}")
        policies, matches = derive_policies(cid, issue, priority, reason)
        points = POINTS_PER_UNIT[priority]
        because = f", because: {reason.strip()}" if reason.strip() else ""
        cards.append(ValuesCard(
            id=cid, title=f"{issue} needs ({priority.lower()} priority)",
            description=(f"Bargains for {issue.lower()} as its {priority.lower()} priority "
                         f"({points} points a package){because}"),
            attentional_policies=policies, contexts=(CASINO_CONTEXT.id,),
            provenance=Provenance(
                source="casino", source_id=f"{did}/{agent}/{priority}", quote=reason,
                extra={"dialogue_id": did, "agent": agent, "priority": priority,
                       "issue": issue, "points_per_unit": points,
                       "keywords": {k: list(v) for k, v in matches.items()}}),
        ))

    def text_or_none(key: str) -> str | None:
        value = outcomes.get(key)
        return value if isinstance(value, str) else None

    return CasinoParty(
        id=agent, cards=tuple(cards),
        weights={str(v2i[p]): POINTS_PER_UNIT[p] for p in PRIORITIES},
        priorities={p: str(v2i[p]) for p in PRIORITIES},
        reasons={p: str(v2r[p]) for p in PRIORITIES},
        points_scored=scored, satisfaction=text_or_none("satisfaction"),
        opponent_likeness=text_or_none("opponent_likeness"))


def _offer(task_data: object, speaker: str, other: str, fail: Any,
           field: str) -> dict[str, dict[str, int]]:
    if not isinstance(task_data, Mapping):
        raise fail("Submit-Deal without task_data", field)
    shares: dict[str, dict[str, int]] = {}
    for key, who in (("issue2youget", speaker), ("issue2theyget", other)):
        raw = task_data.get(key)
        if not isinstance(raw, Mapping) or set(raw) != set(ISSUES):
            raise fail("must give a count for each of Food, Water and Firewood",
                       f"{field}.{key}")
        counts = {}
        for issue in ISSUES:
            n = _units(raw[issue])
            if n is None or not 0 <= n <= UNITS_PER_ISSUE:
                raise fail(f"must be a count from 0 to {UNITS_PER_ISSUE}, found "
                           f"{raw[issue]!r}", f"{field}.{key}.{issue}")
            counts[issue] = n
        shares[who] = counts
    for issue in ISSUES:
        if shares[speaker][issue] + shares[other][issue] != UNITS_PER_ISSUE:
            raise fail(f"the two shares of {issue} add up to "
                       f"{shares[speaker][issue] + shares[other][issue]}, not "
                       f"{UNITS_PER_ISSUE}", field)
    return shares


def parse_casino_dialogue(record: object, *, index: int = 0,
                          path: str | Path | None = None) -> CasinoDialogue:
    """One CaSiNo record as a :class:`CasinoDialogue`; :class:`CasinoError` when malformed."""
    p = Path(path) if path is not None else None
    if not isinstance(record, Mapping):
        raise CasinoError("a dialogue record is a JSON object", where=_where(index, None),
                          path=p)
    did = record.get("dialogue_id")

    def fail(message: str, field: str | None) -> CasinoError:
        return CasinoError(message, where=_where(index, did, field), path=p)

    if not isinstance(did, int) or isinstance(did, bool) or did < 0:
        raise fail(f"must be a non-negative integer, found {did!r}", "dialogue_id")
    info = record.get("participant_info")
    if not isinstance(info, Mapping):
        raise fail("required object is missing", "participant_info")
    if set(info) != set(AGENTS):
        raise fail(f"expected exactly the participants {', '.join(AGENTS)}, found "
                   f"{', '.join(map(str, info)) or 'none'}", "participant_info")
    parties = (_party(record, AGENTS[0], did, index, p),
               _party(record, AGENTS[1], did, index, p))
    logs = record.get("chat_logs")
    if not isinstance(logs, list):
        raise fail("required list is missing", "chat_logs")

    turns: list[CasinoTurn] = []
    last_offer: tuple[str, dict[str, dict[str, int]]] | None = None
    for j, entry in enumerate(logs):
        field = f"chat_logs[{j}]"
        if not isinstance(entry, Mapping):
            raise fail("a chat entry is a JSON object", field)
        speaker, text = entry.get("id"), entry.get("text")
        if speaker not in AGENTS:
            raise fail(f"speaker must be one of {', '.join(AGENTS)}, found {speaker!r}",
                       f"{field}.id")
        if not isinstance(text, str):
            raise fail("text must be a string", f"{field}.text")
        kind: TurnKind = DEAL_MOVES.get(text, "chat")
        offer = None
        if kind == "submit":
            other = AGENTS[1] if speaker == AGENTS[0] else AGENTS[0]
            offer = _offer(entry.get("task_data"), str(speaker), other, fail,
                           f"{field}.task_data")
            last_offer = (str(speaker), offer)
        turns.append(CasinoTurn(speaker=str(speaker), kind=kind, text=text, offer=offer))

    outcome = None
    walked = None
    if turns and turns[-1].kind == "accept":
        if last_offer is None:
            raise fail("ends with Accept-Deal but no Submit-Deal came before it",
                       f"chat_logs[{len(turns) - 1}]")
        submitter, allocation = last_offer
        if turns[-1].speaker == submitter:
            raise fail(f"{submitter} accepted their own offer",
                       f"chat_logs[{len(turns) - 1}]")
        outcome = CasinoDeal(submitted_by=submitter, accepted_by=turns[-1].speaker,
                             allocation=allocation)
    elif turns and turns[-1].kind == "walk_away":
        walked = turns[-1].speaker
    return CasinoDialogue(
        dialogue_id=did, parties=parties, outcome=outcome, walk_away=walked is not None,
        walked_away_by=walked, points_scored={party.id: party.points_scored for party in parties},
        turns=tuple(turns))


def parse_casino(data: object, *, path: str | Path | None = None) -> list[CasinoDialogue]:
    """Every record of a CaSiNo split (a JSON list of dialogues), in file order."""
    if not isinstance(data, Sequence) or isinstance(data, str | bytes):
        raise CasinoError(f"a CaSiNo file is a JSON list of dialogues, not "
                          f"{type(data).__name__}", path=path)
    dialogues = [parse_casino_dialogue(r, index=i, path=path) for i, r in enumerate(data)]
    seen: dict[int, int] = {}
    for i, dialogue in enumerate(dialogues):
        if dialogue.dialogue_id in seen:
            raise CasinoError(f"duplicate dialogue_id (also record {seen[dialogue.dialogue_id]})",
                              where=_where(i, dialogue.dialogue_id, "dialogue_id"), path=path)
        seen[dialogue.dialogue_id] = i
    return dialogues


def load_casino(path: str | Path) -> list[CasinoDialogue]:
    """Read a CaSiNo split such as ``casino_train.json``; :class:`CasinoError` when bad."""
    return parse_casino(read_json_file(path, CasinoError), path=path)
