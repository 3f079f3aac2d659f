"""One encounter: two members negotiate a CaSiNo-style division through the core.

An :class:`EncounterJob` is plain, picklable data, so any executor can run it anywhere;
:func:`run_job` returns the lineage it produced, signed with keys derived from the run's
seed (Ed25519 signatures are deterministic, so the same seed gives the same bytes). What
the population learns from an encounter, :func:`summarize` reads back from the lineage alone
after checking it, exactly as any reviewer could: nothing is taken from the agents' memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from valuesneg.agents.adversarial import Misreporter, PriorityHider
from valuesneg.agents.base import Agent
from valuesneg.agents.scripted import make_scripted
from valuesneg.core import Terms, verify_lines
from valuesneg.core.lineage import signers
from valuesneg.core.settle import utility
from valuesneg.corpora.base import PartySpec, division_terms
from valuesneg.evals.manipulation import detect
from valuesneg.orchestration.driver import Driver
from valuesneg.signing import RunKeys, check_signatures
from valuesneg.values.casino_terms import PACKAGES, WALK_AWAY

from .world import Member, graph

HONEST_PLAY = "values"  # what the misreporters play underneath their lie


@dataclass(frozen=True)
class EncounterJob:
    seed: int
    generation: int
    index: int  # within the generation
    members: tuple[Member, Member]
    graph_path: str
    round_cap: int

    @property
    def name(self) -> str:
        return f"g{self.generation:04d}-e{self.index:04d}"


def agent_for(member: Member) -> Agent:
    if member.strategy == "inflate":
        return Misreporter(member.id, inflate=2.0, strategy=HONEST_PLAY)
    if member.strategy == "hide":
        return PriorityHider(member.id, strategy=HONEST_PLAY)
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


def keys_for(seed: int, terms: Terms) -> RunKeys:
    """Each agent's key is its identity for the whole run (the same in every encounter);
    the core's key is the run's. Derived from the seed, so reruns sign identically."""
    return RunKeys({who: Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(f"valuesneg-population:{seed}:{who}".encode()).digest())
        for who in signers(terms)})


def run_job(job: EncounterJob) -> str:
    """The encounter's signed lineage, one entry per line."""
    terms = terms_for(job)
    driver = Driver(terms, {m.id: agent_for(m) for m in job.members}, wind_down=False,
                    signing=keys_for(job.seed, terms))
    ledger = driver.run()
    return "".join(entry.line() + "\n" for entry in ledger.entries)


def summarize(job: EncounterJob, lineage: str) -> dict[str, Any]:
    """What the encounter came to, read from its lineage after replaying it through the core
    and checking every signature. A fallback or tier-break is the policy's default, not a
    deal: each party is paid its walk-away value, as the winwin suite counts it."""
    verified = verify_lines(lineage.splitlines())
    check_signatures(verified)
    outcome = verified.outcome
    assert outcome is not None  # verify_lines requires one
    terms = verified.terms
    agreed = outcome.terminal == "agreement"
    units = {d.id: d.units for d in terms.dimensions}
    parties = {}
    for m in job.members:
        parties[m.id] = {
            "strategy": m.strategy,
            "payoff": round(utility(terms, outcome.allocation, m.id) if agreed
                            else terms.party(m.id).reservation, 6),
            "flags": list(detect(verified.records, m.id, units)),
            "revealed": revealed(verified.records, m.id, m.cards),
            "cards": list(m.cards),
        }
    return {"generation": job.generation, "encounter": job.index, "name": job.name,
            "terminal": outcome.terminal, "agreed": agreed,
            "allocation": outcome.allocation if agreed else None,
            "rounds": outcome.justification.rounds, "parties": parties,
            "lineage": f"lineages/{job.name}.jsonl", "head": verified.head,
            "entries": len(verified.entries)}


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
