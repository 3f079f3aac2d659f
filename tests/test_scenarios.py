"""Every shipped scenario runs scripted to a terminal outcome whose lineage verifies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from valuesneg.agents.factory import scripted_agents
from valuesneg.agents.llm import LLMAgent
from valuesneg.cli import main
from valuesneg.core import KINDS, Terms, canonical_json, verify_lines
from valuesneg.core.lineage import entry_hash
from valuesneg.core.view import view_for
from valuesneg.io.attest import public_hex, sign
from valuesneg.io.files import UserError
from valuesneg.orchestration.driver import Driver
from valuesneg.scenario import load_scenario, scenario_json_schema_text
from valuesneg.transcript import transcript

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "moral_graphs" / "scenarios")
                   .glob("*.yaml"))
CONFIDENTIAL = next(p for p in SCENARIOS if p.stem == "confidential_tenancy")


@pytest.fixture(scope="module")
def lineages() -> dict[str, list[str]]:
    out = {}
    for path in SCENARIOS:
        scenario = load_scenario(path)
        ledger = Driver.of(scenario, scripted_agents(scenario)).run()
        out[path.stem] = [e.line() for e in ledger.entries]
    return out


def test_there_are_the_issue_scenarios() -> None:
    assert {p.stem for p in SCENARIOS} >= {
        "campsite_supplies", "robot_work_cell", "tool_quota", "supervised_operation",
        "three_labs_gpus", "dependency_cycle", "confidential_tenancy"}


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_reaches_an_outcome_that_verifies(path: Path,
                                                   lineages: dict[str, list[str]]) -> None:
    verified = verify_lines(lineages[path.stem])
    assert verified.outcome is not None
    assert verified.outcome.terminal in ("agreement", "tier_break", "fallback")


def test_together_they_produce_every_record_kind(lineages: dict[str, list[str]]) -> None:
    seen = {json.loads(line)["record"]["kind"] for lines in lineages.values()
            for line in lines[1:]}
    assert set(KINDS) - seen == set()


def test_the_cycle_scenario_breaks_at_once(lineages: dict[str, list[str]]) -> None:
    outcome = verify_lines(lineages["dependency_cycle"]).outcome
    assert outcome is not None and outcome.terminal == "tier_break"
    assert "clause:dependency-cycle" in outcome.justification.clauses
    assert outcome.justification.rounds == 1
    # The replay says why the break happened and why the winner won.
    told = transcript(verify_lines(lineages["dependency_cycle"]).records).splitlines()
    assert any("refuses #1: dependency cycle neg:drying-rack->neg:spray-booth" in line
               for line in told)
    tier_break = next(line for line in told if "tier-break on dim:spray-booth" in line)
    assert "clause:dependency-cycle" in tier_break and "round cap" not in tier_break
    assert tier_break.endswith("body-shop (tier:line, never proposed); same tier as "
                               "body-shop, earlier first proposal")


def test_forged_attestation_is_caught_by_verify(lineages: dict[str, list[str]], tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    entries = [json.loads(line) for line in lineages["confidential_tenancy"]]
    party = entries[0]["genesis"]["terms"]["parties"][0]
    signature = party["attestation"]["signature"]
    party["attestation"]["signature"] = ("0" if signature[0] != "0" else "1") + signature[1:]
    forged = rechained(entries, tmp_path / "lineage.jsonl")
    assert main(["verify", str(forged), "--unsigned"]) == 1
    assert "line 1: the attestation of 'fintech'" in capsys.readouterr().err


def rechained(entries: list[dict[str, Any]], path: Path) -> Path:
    """What a forger does after editing the genesis: re-bind its hashes and re-chain every
    entry after it, so the lineage is self-consistent again."""
    terms = Terms.model_validate(entries[0]["genesis"]["terms"])
    entries[0]["genesis"]["bound"] = terms.hashes()
    prev = "0" * 64
    for i, entry in enumerate(entries):
        entry["prev"] = prev
        body = {k: v for k, v in entry.items() if k in ("genesis", "record")}
        entry["hash"] = prev = entry_hash(i, prev, body)
    path.write_text("\n".join(canonical_json(e) for e in entries) + "\n")
    return path


def test_a_swapped_authority_key_is_caught_against_the_trusted_scenario(
        lineages: dict[str, list[str]], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    entries = [json.loads(line) for line in lineages["confidential_tenancy"]]
    genesis = entries[0]["genesis"]["terms"]
    party = genesis["parties"][0]
    authority = party["attestation"]["authority"]
    own_key = Ed25519PrivateKey.generate()
    genesis["authorities"][authority] = public_hex(own_key)
    attestation = Terms.model_validate(genesis).party(party["id"]).attestation
    assert attestation is not None
    party["attestation"]["signature"] = sign(own_key, attestation, party["id"])
    forged = rechained(entries, tmp_path / "lineage.jsonl")
    # Self-consistent: only a pinned key tells.
    assert main(["verify", str(forged), "--unsigned"]) == 0
    assert "pin them with --trust SCENARIO" in capsys.readouterr().err
    assert main(["verify", str(forged), "--unsigned", "--trust", str(CONFIDENTIAL)]) == 1
    assert f"authority {authority!r} signs with a key that {CONFIDENTIAL} does not trust" \
        in capsys.readouterr().err
    clean = tmp_path / "clean.jsonl"
    clean.write_text("\n".join(lineages["confidential_tenancy"]) + "\n")
    assert main(["verify", str(clean), "--unsigned", "--trust", str(CONFIDENTIAL)]) == 0
    assert main(["verify", str(clean), "--unsigned", "--head", "0" * 64]) == 1
    assert f"not at the expected {'0' * 64}" in capsys.readouterr().err


def test_a_redaction_that_hides_contested_scope_is_refused(tmp_path: Path) -> None:
    text = CONFIDENTIAL.read_text().replace(
        "envelope: {dim:a100-slots: [pool:shared], dim:egress: [pool:shared]}\n    sealed",
        "envelope: {dim:a100-slots: [pool:shared]}\n    sealed", 1)
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(UserError, match="hides contested scope"):
        load_scenario(bad, check_signatures=False)


def test_peers_never_see_the_sealed_envelope() -> None:
    scenario = load_scenario(CONFIDENTIAL)
    driver = Driver(scenario.terms, scripted_agents(scenario), wind_down=False)
    driver.turn()  # fintech proposes
    view = view_for(driver.ledger.negotiation, "biotech", driver.transcript)
    shown = view.model_dump_json()
    agent = LLMAgent(name="biotech", model=None, cards={},  # type: ignore[arg-type]
                     terminal_rules="")
    from valuesneg.agents.prompts import load_prompt

    prompt = agent._render(load_prompt("negotiator.respond"), view, None)
    for secret in ("queue:fraud-scoring", "queue:kyc-batch", "link:exchange-feed"):
        assert secret not in shown and secret not in prompt


def test_attest_reproduces_the_shipped_signature(capsys: pytest.CaptureFixture[str]) -> None:
    """Ed25519 signatures are deterministic: re-signing the demo scenario gives its signature."""
    key = CONFIDENTIAL.parent / "keys" / "demo-tenancy-authority.pem"
    assert main(["attest", str(CONFIDENTIAL), "--party", "fintech", "--key", str(key)]) == 0
    signature = capsys.readouterr().out.strip()
    assert f'signature: "{signature}"' in CONFIDENTIAL.read_text()


SCENARIO_SCHEMA = SCENARIOS[0].parents[1] / "schema" / "scenario.schema.json"


def test_checked_in_scenario_schema_equals_generated() -> None:
    assert SCENARIO_SCHEMA.read_text(encoding="utf-8") == scenario_json_schema_text(), (
        "moral_graphs/schema/scenario.schema.json is stale; regenerate it with: python -c "
        "\"from valuesneg.scenario import scenario_json_schema_text as t; "
        "open('moral_graphs/schema/scenario.schema.json','w').write(t())\"")


def test_shipped_scenarios_validate_against_the_schema_and_a_typo_does_not() -> None:
    validator = jsonschema.Draft202012Validator(json.loads(SCENARIO_SCHEMA.read_text()))
    for path in SCENARIOS:
        assert list(validator.iter_errors(yaml.safe_load(path.read_text()))) == [], path
    typo = yaml.safe_load(SCENARIOS[0].read_text())
    typo["policy"]["round_caps"] = typo["policy"].pop("round_cap")
    assert {e.validator for e in validator.iter_errors(typo)} == {"additionalProperties",
                                                                    "required"}


def test_the_quota_scenario_ends_renews_and_expires_its_grants(
        lineages: dict[str, list[str]]) -> None:
    records = verify_lines(lineages["tool_quota"]).records
    settled = [r for r in records if r.seq > next(o.seq for o in records if o.kind == "outcome")]
    ended = {r.grant_id: r.clause for r in settled if r.kind == "revocation"}
    renewals = [r for r in settled if r.kind == "request"]
    renewed = [r for r in settled if r.kind == "grant" and r.reply_to is not None]
    assert len(renewals) == 2 and [g.reply_to for g in renewed] == [r.seq for r in renewals]
    # the originals ended with the envelope change, the renewed ones by expiry
    originals = {r.grant_id for r in records if r.kind == "grant"} - {g.grant_id for g in renewed}
    assert {ended[g] for g in originals} == {"clause:envelope-change"}
    assert {ended[g.grant_id] for g in renewed} == {"clause:expiry"}
    assert {r.grant_id for r in settled if r.kind == "commit"} >= {g.grant_id for g in renewed}
    assert {r.grant_id for r in settled if r.kind == "ack"} == set(ended)


def test_a_grant_outside_the_holders_new_envelope_is_not_renewed(tmp_path: Path) -> None:
    """tool_quota re-scopes the researcher to search only. When the deal gave it GPU hours
    (as the local model's did), the wind-down asked to renew them and the core refused it
    (outside_envelope), so the run could never finish. Here the researcher values GPU hours
    most, so the scripted deal gives it some, and the run still reaches its end."""
    source = next(p for p in SCENARIOS if p.stem == "tool_quota")
    spec = yaml.safe_load(source.read_text(encoding="utf-8"))
    researcher = next(p for p in spec["parties"] if p["id"] == "researcher")
    researcher["weights"] = {"dim:gpu-hours": 6, "dim:search-calls": 1}
    path = tmp_path / "tool_quota_gpu_researcher.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    scenario = load_scenario(path)
    ledger = Driver.of(scenario, scripted_agents(scenario)).run()
    records = ledger.records
    gpu_grants = {r.grant_id for r in records if r.kind == "grant"
                  and r.grantee == "researcher" and r.dimension == "dim:gpu-hours"}
    assert gpu_grants  # the case that crashed: the researcher held GPU hours
    renewals = [r for r in records if r.kind == "request" and r.sender == "researcher"
                and r.reply_to is not None and "dim:gpu-hours" in r.projection]
    assert renewals == []
    assert verify_lines([e.line() for e in ledger.entries]).outcome is not None
    assert any(r.kind == "request" and r.sender == "indexer" and r.reply_to is not None
               for r in records)  # the indexer, still scoped for both, renews


def test_the_shipped_wait_signature_is_the_demo_schedulers() -> None:
    """The cycle scenario's attested wait verifies, and re-signing it with the demo key in
    keys/ gives the shipped signature (Ed25519 is deterministic)."""
    cycle = next(p for p in SCENARIOS if p.stem == "dependency_cycle")
    terms = load_scenario(cycle).terms
    key = load_pem_private_key((cycle.parent / "keys" / "demo-plant-scheduler.pem").read_bytes(),
                               password=None)
    assert isinstance(key, Ed25519PrivateKey)
    assert [key.sign(wait.message()).hex() for wait in terms.waits] == \
        [wait.signature for wait in terms.waits]
