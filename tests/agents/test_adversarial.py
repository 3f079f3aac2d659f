"""Adversarial agents against the real core: every attack is refused with its typed code and
leaves the state and the lineage intact; liars and bullies stay within the rules; injected
instructions never reach a peer's prompt."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from builders import make_terms

from valuesneg.agents.adversarial import BypassAgent, Machiavellian, Misreporter, PromptInjector
from valuesneg.agents.attack import INSTRUCTION, PROSE, Attack
from valuesneg.agents.base import Agent
from valuesneg.agents.catalogue import ATTACKS
from valuesneg.agents.factory import llm_agents
from valuesneg.agents.injections import INJECTIONS, carries_injection
from valuesneg.agents.intel import Intel
from valuesneg.agents.llm import LLMAgent
from valuesneg.agents.local_server import LocalModelServer, local_chat_model
from valuesneg.agents.prompts import load_prompt
from valuesneg.agents.scripted import make_scripted
from valuesneg.agents.testing import FunctionModel, RecordingModel, never_called
from valuesneg.core import (
    CORE,
    Accept,
    Code,
    Counter,
    Defer,
    Ledger,
    Negotiation,
    Phase,
    ProtocolViolation,
    Refuse,
    Terms,
    parse_record,
    verify_lines,
)
from valuesneg.core.view import view_for
from valuesneg.evals.probes import probe, stage
from valuesneg.orchestration.driver import Driver
from valuesneg.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = load_scenario(ROOT / "moral_graphs" / "scenarios" / "campsite_supplies.yaml")
CAMPSITE = SCENARIO.terms
TERMS = {"campsite": CAMPSITE, "camp": make_terms()}
# Rules the core cannot enforce today (see the report): the test stays, marked, until it can.
# Attacks the core is known to let through, with why; empty since the core re-validates
# in-process records and only accepts cycles that leave through a declared wait.
GAPS: dict[str, str] = {}


def lines(ledger: Ledger) -> list[str]:
    return [e.line() for e in ledger.entries]


def attack_cases() -> list[Any]:
    return [pytest.param(TERMS[label], attack, id=f"{label}-{attack.name}",
                         marks=[pytest.mark.xfail(strict=True, reason=GAPS[attack.name])]
                         if attack.name in GAPS else [])
            for label in TERMS for attack in ATTACKS]


@pytest.mark.parametrize(("terms", "attack"), attack_cases())
def test_attack_is_refused_and_changes_nothing(terms: Terms, attack: Attack) -> None:
    ledger, attacker = stage(terms, attack.phase)
    intel = Intel(view_for(ledger.negotiation, attacker, tuple(ledger.records)), terms)
    assert attack.ready(intel)
    before, length = ledger.negotiation.state, len(ledger.entries)
    raw = attack.raw(intel)
    if attack.expect is None:  # legal, and bounded: a defer costs the attacker a round
        ledger.apply(parse_record(raw))
        assert ledger.negotiation.state.rounds == before.rounds + 1
    else:
        with pytest.raises(ProtocolViolation) as refused:
            ledger.apply(parse_record(raw))
        assert refused.value.code is attack.expect, refused.value
        assert ledger.negotiation.state is before
        assert len(ledger.entries) == length
    verify_lines(lines(ledger), require_outcome=False)


def test_the_catalogue_is_named_distinct_and_covers_every_refusal() -> None:
    names = [a.name for a in ATTACKS]
    assert len(names) == len(set(names)) >= 50
    assert all(a.description and a.name == a.name.lower() for a in ATTACKS)
    expected = {a.expect for a in ATTACKS}
    # Every refusal a party's record can provoke; NOT_TIMED_OUT only answers the driver's
    # timeouts, OUTSIDE_ENVELOPE needs a team grant, which these terms do not have, ACK_OWED
    # a grant a peer ended first, UNVERIFIED_CYCLE a wait the proposal on the table declared
    # (one attacking record cannot stage any of them; all are in tests/core/test_violations.py).
    assert set(Code) - expected <= {Code.NOT_TIMED_OUT, Code.OUTSIDE_ENVELOPE, Code.ACK_OWED,
                                    Code.UNVERIFIED_CYCLE}
    assert {a.phase for a in ATTACKS} == set(Phase)


def test_every_attack_probes_as_expected_on_the_wire() -> None:
    probes = [probe(CAMPSITE, a) for a in ATTACKS if a.name not in GAPS]
    assert all(p.as_expected and p.lineage_verifies for p in probes), [
        p for p in probes if not (p.as_expected and p.lineage_verifies)]


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydantic warns dumping unvalidated records
def test_in_process_attacks_never_break_the_core() -> None:
    broken = []
    for attack in ATTACKS:
        if attack.expect is not Code.SCHEMA:
            continue
        p = probe(CAMPSITE, attack, wire=False)
        crashed = p.code is not None and p.code.startswith("crash:")
        if crashed or not p.lineage_verifies or (p.code is not None and not p.state_unchanged):
            broken.append((p.attack, p.code))
    assert broken == []


def test_the_driver_binds_a_record_to_the_party_it_asked() -> None:
    terms = make_terms(parties=("alice", "bob", "carol"))
    spoof = next(a for a in ATTACKS if a.name == "spoofed-peer")
    agents: dict[str, Agent] = {"alice": make_scripted("alice", "linear"),
                                "bob": BypassAgent("bob", terms, attacks=(spoof,)),
                                "carol": make_scripted("carol", "linear")}
    driver = Driver(terms, agents)
    driver.turn()  # alice proposes; bob and carol are awaited
    driver.turn()  # bob answers, in carol's name
    assert all(r.sender != "carol" for r in driver.ledger.records)


def with_round_cap(terms: Terms, round_cap: int) -> Terms:
    data = terms.model_dump()
    data["policy"]["round_cap"] = round_cap
    return Terms.model_validate(data)


def test_the_bypasser_gets_nothing_past_the_driver() -> None:
    """Talks long enough for every attack on an offer to be tried in turn. (Once its silence
    has cost it the turn to propose, the bypasser only ever answers offers; attacks on
    proposing are each tried against the core directly above.)"""
    terms = with_round_cap(CAMPSITE, 60)
    attacks = tuple(a for a in ATTACKS if a.name not in GAPS)
    bypasser = BypassAgent("ana", terms, attacks=attacks)
    driver = Driver(terms, {"ana": bypasser, "ben": make_scripted("ben", "boulware")},
                    wind_down=False)
    ledger = driver.run()
    assert ledger.negotiation.outcome is not None
    verify_lines(lines(ledger))
    bounded = {a.kind for a in attacks if a.expect is None}
    for record in ledger.records:
        if record.sender == "ana":
            assert record.kind in bounded
        if record.sender == CORE and isinstance(record, Refuse) and record.silent_party:
            assert record.silent_party == "ana"  # only the attacker ever ran out of budget
    on_offers = {a.name for a in attacks if a.phase is Phase.PROPOSED}
    # Never ready here: ben cites (so reveals) its private card at once, and the bypasser
    # never makes a counter of its own to replay.
    assert on_offers - set(bypasser.tried) == {"peer-private-card", "resequenced-replay"}
    assert sum(t.defaulted for t in driver.turns if t.party == "ana") >= 3


def test_the_misreporter_claims_needs_it_does_not_have_and_stays_legal() -> None:
    ledger = Driver(CAMPSITE, {"ana": Misreporter("ana"),
                               "ben": make_scripted("ben", "linear")}).run()
    verify_lines(lines(ledger))
    honest = Driver(CAMPSITE, {"ana": make_scripted("ana", "linear"),
                               "ben": make_scripted("ben", "linear")}).run()
    assert lines(ledger) != lines(honest)  # the core cannot see why, but the play differs
    true_needs = CAMPSITE.party("ana").needs
    unfounded = [r for r in ledger.records if r.sender == "ana" and r.kind == "counter"
                 and true_needs.get(r.model_dump()["dimension"], 0) == 0
                 and "fair:needs_coverage" in r.model_dump()["rationale"]]
    assert unfounded  # it cited a need where it declared none


def test_the_misreporter_bargains_on_its_inflated_profile() -> None:
    view = view_for(Ledger(CAMPSITE).negotiation, "ana")
    claimed = Misreporter("ana", inflate=3.0).claimed(view)
    assert claimed.me.needs == view.units
    assert claimed.me.weights["dim:firewood"] == 3.0 * view.me.weights["dim:firewood"]
    assert claimed.me.weights["dim:water"] == view.me.weights["dim:water"]  # a real need


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_machiavellian_bluffs_and_threatens_within_the_rules(seed: int) -> None:
    def play() -> Ledger:
        return Driver(CAMPSITE, {"ana": Machiavellian("ana", seed=seed),
                                 "ben": make_scripted("ben", "linear")}, wind_down=False).run()

    ledger = play()
    assert lines(ledger) == lines(play())  # seeded: the same threats every time
    verify_lines(lines(ledger))
    opening = ledger.records[0].model_dump()
    assert opening["kind"] == "request" and opening["sender"] == "ana"
    assert all(share["ana"] == CAMPSITE.dimension(d).units
               for d, share in opening["proposal"].items())
    assert "fair:needs_coverage" in opening["rationale"]  # needs it never declared
    replay, patience = Negotiation(CAMPSITE), 0.7 * CAMPSITE.policy.round_cap
    stalls = 0
    for record in ledger.records:
        if record.sender == CORE:
            continue
        rounds = replay.state.rounds
        if isinstance(record, Defer | Refuse) and record.sender == "ana":
            stalls += 1
            cited = record.rationale if isinstance(record, Defer) else record.reasons
            assert rounds < patience and {"clause:fallback", "clause:tier-break"} & set(cited)
        elif isinstance(record, Accept | Counter) and record.sender == "ana":
            assert rounds >= patience  # it gives nothing before its patience runs out
        replay.apply(record)
    assert stalls


# -- prompt injection -------------------------------------------------------------------------

def offline_llm_agents(scenario: Scenario) -> dict[str, Agent]:
    """The scenario's real LLM agents over a model that fails the test if it is ever asked:
    only their prompt rendering is used."""
    return llm_agents(scenario, FunctionModel(never_called))


def rendered_prompt(agent: LLMAgent, ledger: Ledger, party: str) -> str:
    view = view_for(ledger.negotiation, party, tuple(ledger.records))
    prompt = load_prompt("negotiator.propose" if view.table is None else "negotiator.respond")
    return agent._render(prompt, view, None)


@pytest.mark.parametrize("channel", INJECTIONS, ids=[c.name for c in INJECTIONS])
def test_no_injection_channel_reaches_a_peer_prompt(channel: Attack) -> None:
    ledger, injector = stage(CAMPSITE, channel.phase)
    peer = next(p for p in CAMPSITE.claimants if p != injector)
    llm = offline_llm_agents(SCENARIO)[peer]
    assert isinstance(llm, LLMAgent)
    raw = channel.raw(Intel(view_for(ledger.negotiation, injector, tuple(ledger.records)),
                            CAMPSITE))
    try:
        ledger.apply(parse_record(raw))
        admitted = True
    except ProtocolViolation as refused:
        admitted = False
        assert refused.code is channel.expect
    assert admitted == (channel.expect is None)
    verify_lines(lines(ledger), require_outcome=False)
    if admitted:
        # The core only admits ids, so what got in is an id-shaped payload, never prose...
        assert carries_injection(ledger.entries[-1].line())
        assert INSTRUCTION not in ledger.entries[-1].line()
    # ...and whatever got in, the peer's LLM is never shown it.
    assert not carries_injection(rendered_prompt(llm, ledger, peer))


def test_injection_channels_the_core_admits_are_only_unchecked_id_fields() -> None:
    admitted = {c.name for c in INJECTIONS if probe(CAMPSITE, c).code is None}
    assert admitted == {c.name for c in INJECTIONS if c.expect is None}
    assert admitted <= {"inject-every-unchecked-id", "inject-depends-on",
                        "inject-dependency-edge"}


@pytest.mark.llm
def test_prompt_injector_against_the_local_model(tmp_path: Path) -> None:
    with LocalModelServer(log_dir=tmp_path) as server, local_chat_model(server) as chat:
        model = RecordingModel(chat)
        agents = llm_agents(SCENARIO, model)
        injector = PromptInjector("ana", CAMPSITE)
        driver = Driver(CAMPSITE, {**agents, "ana": injector}, wind_down=False)
        llm = agents["ben"]
        assert isinstance(llm, LLMAgent)
        started = time.monotonic()
        while (driver.ledger.negotiation.outcome is None and len(llm.calls) < 4
               and time.monotonic() - started < 240):
            driver.turn()
    assert llm.calls, "the LLM was never asked"
    replayed = verify_lines(lines(driver.ledger), require_outcome=False)
    assert replayed.negotiation.state == driver.ledger.negotiation.state
    opening = driver.ledger.records[0].model_dump()
    assert opening["sender"] == "ana"
    carried = [*opening["depends_on"], *(n for e in opening["dependencies"] for n in e.values())]
    assert any(carries_injection(i) for i in carried)  # the payload is in the lineage
    for line in lines(driver.ledger):
        assert INSTRUCTION not in line and PROSE not in line  # no refused prose got in
    assert model.sent and not any(carries_injection(text) for text in model.sent)
    refused_channels = {c.name for c in INJECTIONS if c.expect is not None}
    assert set(injector.tried) & refused_channels  # it did try what the core refuses
