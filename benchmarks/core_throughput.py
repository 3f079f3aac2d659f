"""Core throughput: records applied per second (validation, vocabulary checks, hash chaining)
and lineage entries verified per second (parse, chain check, replay through the core), and
the same for a signed lineage with every Ed25519 signature checked (what `verify` does).

The records are produced once by scripted agents and then replayed into fresh ledgers, so
the timing covers the core alone, not the agents.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from valuesneg.agents.scripted import ConcessionAgent
from valuesneg.core import CORE, Header, Ledger, Terms, verify_lines
from valuesneg.core.lineage import signers
from valuesneg.orchestration.driver import Driver
from valuesneg.scenario import load_scenario
from valuesneg.signing import RunKeys, check_signatures

SCENARIO = "moral_graphs/scenarios/campsite_supplies.yaml"


@dataclass(frozen=True)
class Figures:
    core_records_per_s: float
    verify_records_per_s: float
    verify_signed_records_per_s: float
    records_per_negotiation: int


def party_records(terms: Terms, round_cap: int) -> tuple[Terms, list[Header], list[str]]:
    long_terms = terms.model_copy(update={"policy": terms.policy.model_copy(
        update={"round_cap": round_cap})})
    agents = {p: ConcessionAgent.named(p, "boulware") for p in long_terms.party_ids}
    ledger = Driver(long_terms, agents, wind_down=False).run()
    inputs = [r for r in ledger.records if r.sender != CORE]
    return long_terms, inputs, [e.line() for e in ledger.entries]


def measure(seconds: float = 2.0, round_cap: int = 40) -> Figures:
    terms, inputs, lines = party_records(load_scenario(SCENARIO).terms, round_cap)
    applied = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        ledger = Ledger(terms)
        for record in inputs:
            applied += len(ledger.apply(record))
    apply_rate = applied / (time.perf_counter() - started)
    verified = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        verified += len(verify_lines(lines).records) + 1
    verify_rate = verified / (time.perf_counter() - started)
    return Figures(round(apply_rate), round(verify_rate),
                   round(signed_verify_rate(terms, inputs, seconds)), len(lines) - 1)


def signed_verify_rate(terms: Terms, inputs: list[Header], seconds: float) -> float:
    keys = RunKeys({who: Ed25519PrivateKey.generate() for who in signers(terms)})
    ledger = Ledger(terms, keys.public, keys.sign)
    for record in inputs:
        ledger.apply(record)
    lines = [e.line() for e in ledger.entries]
    verified = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        checked = verify_lines(lines)
        check_signatures(checked)
        verified += len(checked.entries)
    return verified / (time.perf_counter() - started)


if __name__ == "__main__":
    print(measure())
