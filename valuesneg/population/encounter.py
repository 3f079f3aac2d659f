"""One encounter: two members negotiate a CaSiNo-style division through the core.

An :class:`EncounterJob` is plain, picklable data, so any executor can run it anywhere;
:func:`run_job` returns what it :class:`Played`: the lineage, signed with keys derived from
the run's seed (Ed25519 signatures are deterministic, so the same seed gives the same bytes),
and its summary. The summary is read from the ledger the core just built, not from a replay
of the lineage: the core validated every record as it appended it, so replaying it here
would only check the core against itself (``population verify`` replays every lineage and
checks every signature, whenever a reviewer wants). It uses only what the lineage shows:
records, the terms in its genesis and the views any party could be shown.

A lineage written but not yet recorded (a run killed in between) is summarized by
:func:`replay_job`: the encounter is played again with each party answering exactly what
the lineage says it answered, and the rebuilt lineage must be the file's very bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from valuesneg.agents.adversarial import Misreporter, PriorityHider
from valuesneg.agents.base import Agent
from valuesneg.agents.llm import LLMAgent, NoValidDecision, card_texts, describe_terminal_rules
from valuesneg.agents.menu import Guard, card_dimensions, card_text
from valuesneg.agents.models import ChatModel
from valuesneg.agents.scripted import make_scripted
from valuesneg.core import Commit, Grant, Header, Ledger, ProtocolViolation, Terms, verify_lines
from valuesneg.core.lineage import signers
from valuesneg.core.machine import owed_acks
from valuesneg.core.settle import utility
from valuesneg.core.view import PartyView
from valuesneg.corpora.base import PartySpec, division_terms
from valuesneg.evals.integrity import RESPONSES, Observed, decisions, prediction, public_cards
from valuesneg.evals.manipulation import detect
from valuesneg.orchestration.driver import Driver
from valuesneg.signing import RunKeys, check_signatures
from valuesneg.values.casino_terms import PACKAGES, WALK_AWAY

from .world import Member, graph

HONEST_PLAY = "values"  # what the misreporters play underneath their lie


@dataclass(frozen=True)
class EncounterJob:
    """One encounter of a generation, picklable for any executor: the two members, the moral
    graph, the round cap and the seed."""

    seed: int
    generation: int
    index: int  # within the generation
    members: tuple[Member, Member]
    graph_path: str
    round_cap: int
    wind_down: bool = False  # after the outcome, holders use, lose and acknowledge grants
    model: ChatModel | None = None  # what an ``llm`` member speaks through
    guard: Guard = "sound"

    @property
    def name(self) -> str:
        return f"g{self.generation:04d}-e{self.index:04d}"


@dataclass(frozen=True)
class Played:
    """One encounter as played: its lineage, written whole, and the summary line the core's
    own ledger gave (so the runner need not replay it)."""

    lineage: str  # JSON lines
    summary: dict[str, Any]


def agent_for(member: Member, job: EncounterJob, terms: Terms) -> Agent:
    """The agent a member's strategy stands for: a scripted strategy, or a misreporter that
    plays honestly otherwise."""
    if member.strategy == "inflate":
        return Misreporter(member.id, inflate=2.0, strategy=HONEST_PLAY)
    if member.strategy == "hide":
        return PriorityHider(member.id, strategy=HONEST_PLAY)
    if member.strategy == "llm":
        if job.model is None:
            raise ValueError(f"{member.id} plays llm, and the encounter has no model")
        return LLMAgent(name=member.id, model=job.model, cards=card_texts(graph(job.graph_path)),
                        terminal_rules=describe_terminal_rules(terms.policy.terminal),
                        guard=job.guard)
    return make_scripted(member.id, member.strategy)


def terms_for(job: EncounterJob) -> Terms:
    """The campsite division between the two members. A card both hold cannot have two
    owners in the vocabulary: it is declared once, public (holding it in common reveals
    nothing), and listed among both parties' cards."""
    cards = {c.id: c for c in graph(job.graph_path).cards}
    first, second = job.members
    shared = set(first.cards) & set(second.cards)
    specs = [PartySpec(id=m.id, weights=dict(m.weights), reservation=WALK_AWAY,
                       cards=tuple(cards[c] for c in m.cards
                                   if m is first or c not in shared))
             for m in job.members]
    units = {d: PACKAGES for d, _ in first.weights}
    terms = division_terms(f"neg:population-{job.name}", "population", units, specs,
                           round_cap=job.round_cap)
    if not shared:
        return terms
    public = shared | {p.id for c in shared for p in cards[c].attentional_policies}
    data = terms.model_dump()
    for entry in data["vocabulary"]["entries"]:
        entry["private"] = entry["private"] and entry["id"] not in public
    data["parties"][1]["cards"] = tuple(second.cards)
    return Terms.model_validate(data)


@cache
def _private_key(seed: int, who: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(f"valuesneg-population:{seed}:{who}".encode()).digest())


def keys_for(seed: int, terms: Terms) -> RunKeys:
    """Each agent's key is its identity for the whole run (the same in every encounter);
    the core's key is the run's. Derived from the seed, so reruns sign identically."""
    return RunKeys({who: _private_key(seed, who) for who in signers(terms)})


def run_job(job: EncounterJob) -> Played:
    """Negotiate the encounter: its signed lineage and its summary."""
    terms = terms_for(job)
    return _play(job, terms, {m.id: agent_for(m, job, terms) for m in job.members})


def replay_job(job: EncounterJob, lineage: str) -> dict[str, Any]:
    """The summary of an encounter whose lineage was written but not recorded, without
    asking any agent again. ``LineageError`` or ``ProtocolViolation`` if it does not verify;
    ``ValueError`` if it is not the lineage of this encounter."""
    verified = verify_lines(lineage.splitlines())
    check_signatures(verified)
    agents = {m.id: _Recorded(m.id, verified.records) for m in job.members}
    played = _play(job, terms_for(job), agents)
    if played.lineage != lineage:
        raise ValueError(f"not the lineage of encounter {job.name}")
    return played.summary


@dataclass(frozen=True)
class _Recorded:
    """A party that answers what the lineage records it answered at each seq (and is silent
    where the core recorded its silence)."""

    name: str
    records: Sequence[Header]

    def decide(self, view: PartyView, feedback: ProtocolViolation | None = None) -> Header:
        for record in self.records:
            if record.seq == view.next_seq and record.sender == self.name:
                return record
        raise NoValidDecision(f"{self.name}: silent at seq {view.next_seq} in the lineage")


def _play(job: EncounterJob, terms: Terms, agents: Mapping[str, Agent]) -> Played:
    observed = {party: Observed(agent) for party, agent in agents.items()}
    driver = Driver(terms, observed, wind_down=job.wind_down,
                    signing=keys_for(job.seed, terms))
    ledger = driver.run()
    lineage = "".join(entry.line() + "\n" for entry in ledger.entries)
    return Played(lineage, summary(job, ledger, observed))


def summary(job: EncounterJob, ledger: Ledger, observed: Mapping[str, Observed]
            ) -> dict[str, Any]:
    """What the encounter came to. A fallback or tier-break is the policy's default, not a
    deal: each party is paid its walk-away value, as the winwin suite counts it."""
    outcome = ledger.negotiation.outcome
    assert outcome is not None  # the driver runs to one
    terms = ledger.negotiation.terms
    agreed = outcome.terminal == "agreement"
    units = {d.id: d.units for d in terms.dimensions}
    records = ledger.records
    parties = {}
    for m in job.members:
        parties[m.id] = {
            "strategy": m.strategy,
            "payoff": round(utility(terms, outcome.allocation, m.id) if agreed
                            else terms.party(m.id).reservation, 6),
            "flags": list(detect(records, m.id, units)),
            "predicted": predicted(observed[m.id], records, job.graph_path, terms),
            "grants": grants(ledger, m.id) if job.wind_down else None,
            "revealed": revealed(records, m.id, m.cards),
            "cards": list(m.cards),
        }
    return {"generation": job.generation, "encounter": job.index, "name": job.name,
            "terminal": outcome.terminal, "agreed": agreed,
            "allocation": outcome.allocation if agreed else None,
            "rounds": outcome.justification.rounds, "parties": parties,
            "lineage": f"lineages/{job.name}.jsonl", "head": ledger.head,
            "entries": len(ledger.entries)}


def predicted(observed: Observed, records: Sequence[Header], graph_path: str, terms: Terms
              ) -> list[int]:
    """[responses, responses the integrity suite's predictor got right]: does the party
    answer offers as its revealed cards predict? The predictor sees only public things
    (the cards revealed so far, the table, the round, the legal kinds)."""
    labels = relevance(graph_path, tuple(sorted((d.id, d.units) for d in terms.dimensions)))
    public = public_cards(terms)
    made = right = 0
    for decision in decisions(observed, records):
        if decision.view.table is None or decision.record.kind not in RESPONSES:
            continue
        made += 1
        right += prediction(decision.view, labels, public).kind == decision.record.kind
    return [made, right]


@cache
def relevance(graph_path: str, units: tuple[tuple[str, int], ...]
              ) -> dict[str, tuple[str, ...]]:
    """Each card's dimensions, read from its own words as the LLM negotiator's menu reads
    them (a graph's cards carry no hand-made relevance labels)."""
    g = graph(graph_path)
    texts = card_texts(g)
    return {c.id: tuple(sorted(card_dimensions(card_text(c.id, texts), dict(units))))
            for c in g.cards}


def grants(ledger: Ledger, party: str) -> dict[str, int]:
    """Did the party honour its grants: of those it held, how many it used, and how many
    ended grants it still owes an acknowledgement for when the encounter closed."""
    held = [r for r in ledger.records if isinstance(r, Grant) and r.grantee == party]
    used = {r.grant_id for r in ledger.records if isinstance(r, Commit) and r.sender == party}
    return {"held": len(held), "used": len(used),
            "acks_owed": len(owed_acks(ledger.negotiation.state, party))}


def revealed(records: Sequence[Any], party: str, held: Sequence[str]) -> list[str]:
    """The cards ``party`` cited in its own records: revealed to its partner, in order."""
    cited: dict[str, None] = {}
    for record in records:
        if record.sender != party:
            continue
        for ident in (getattr(record, "rationale", None) or getattr(record, "reasons", None)
                      or ()):
            if ident in held:
                cited[ident] = None
    return list(cited)
