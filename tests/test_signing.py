"""Signed lineages: who wrote each entry, checked by `verify`, carried through resume."""

from __future__ import annotations

import json
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from builders import make_terms
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from valuesneg.agents.scripted import ConcessionAgent
from valuesneg.cli import main
from valuesneg.core import (
    EnvelopeUpdate,
    Ledger,
    LineageError,
    Terms,
    canonical_json,
    verify_lines,
)
from valuesneg.core.lineage import entry_hash, genesis_body, make_entry, signed_bytes, signers
from valuesneg.io.attest import public_hex
from valuesneg.io.files import UserError
from valuesneg.orchestration.driver import Driver
from valuesneg.signing import RunKeys, check_signatures, run_keys

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "moral_graphs" / "scenarios" / "campsite_supplies.yaml"


def fresh_keys(terms: Terms) -> RunKeys:
    return RunKeys({who: Ed25519PrivateKey.generate() for who in signers(terms)})


@pytest.fixture(scope="module")
def signed() -> tuple[list[str], RunKeys]:
    terms = make_terms(round_cap=3)
    keys = fresh_keys(terms)
    agents = {p: ConcessionAgent.named(p, "boulware") for p in terms.party_ids}
    ledger = Driver(terms, agents, signing=keys).run()
    return [e.line() for e in ledger.entries], keys


def bad_signature(lines: list[str]) -> LineageError:
    with pytest.raises(LineageError) as caught:
        check_signatures(verify_lines(lines))
    return caught.value


def forged(lines: list[str], edit: Any, keys: RunKeys | None = None) -> list[str]:
    """Edit the entries, re-chain them, and re-sign them with ``keys`` when given (a
    forger holding keys of its own) or keep the old signatures."""
    entries = [json.loads(line) for line in lines]
    edit(entries)
    genesis = entries[0]["genesis"]
    genesis["bound"] = Terms.model_validate(genesis["terms"]).hashes()
    if keys is not None:
        genesis["keys"] = keys.public
    prev = "0" * 64
    for position, entry in enumerate(entries):
        entry["prev"] = prev
        body = {k: v for k, v in entry.items() if k in ("genesis", "record")}
        entry["hash"] = prev = entry_hash(position, prev, body)
        if keys is not None:
            who = "core" if position == 0 else entry["record"]["sender"]
            entry["sig"] = keys.sign(who, signed_bytes(entry["hash"]))
    return [canonical_json(e) for e in entries]


def test_a_signed_lineage_verifies_and_names_its_signers(
        signed: tuple[list[str], RunKeys]) -> None:
    lines, keys = signed
    verified = verify_lines(lines)
    check_signatures(verified)
    assert verified.keys == keys.public
    assert [verified.signer(i) for i in range(3)] == ["core", "alice", "bob"]


def test_the_hash_chain_is_the_unsigned_one_plus_the_keys(
        signed: tuple[list[str], RunKeys]) -> None:
    """Signatures sit beside the records: dropping them and the genesis keys gives exactly
    the unsigned lineage of the same inputs."""
    lines, _ = signed
    terms = make_terms(round_cap=3)
    agents = {p: ConcessionAgent.named(p, "boulware") for p in terms.party_ids}
    unsigned = [e.line() for e in Driver(terms, agents).run().entries]

    def strip(entries: list[dict[str, Any]]) -> None:
        del entries[0]["genesis"]["keys"]
        for entry in entries:
            del entry["sig"]
    assert forged(lines, strip) == unsigned
    assert [json.loads(a)["record"] for a in lines[1:]] == \
        [json.loads(b)["record"] for b in unsigned[1:]]


@pytest.mark.parametrize("what", ["rationale", "terms"])
def test_a_rechained_forgery_is_named_by_its_first_bad_signature(
        signed: tuple[list[str], RunKeys], what: str) -> None:
    lines, _ = signed
    position = {"rationale": 3, "terms": 0}[what]

    def edit(entries: list[dict[str, Any]]) -> None:
        if what == "rationale":
            record = entries[3]["record"]
            record["rationale" if "rationale" in record else "reasons"] = ["clause:agreement"]
        else:  # a term that changes no record: only the genesis hash and signature tell
            entries[0]["genesis"]["terms"]["policy"]["plans"] = ["plan:extra"]
    rewritten = forged(lines, edit)
    verify_lines(rewritten)  # the replay alone accepts it
    error = bad_signature(rewritten)
    assert error.line == position + 1 and error.code == "signature"


def test_an_appended_legal_record_is_named_by_its_signature(
        signed: tuple[list[str], RunKeys]) -> None:
    lines, _ = signed
    verified = verify_lines(lines)
    state = verified.negotiation.state
    update = EnvelopeUpdate(negotiation=verified.terms.negotiation, sender="alice",
                            seq=state.next_seq, tick=state.tick + 1,
                            envelope_version=state.envelopes["alice"].version,
                            scope={"dim:water": ("camp:shared",)},
                            rationale=("clause:agreement",))
    ledger = Ledger.resumed(replace(verified, keys=None))
    stolen = json.loads(lines[-1])["sig"]  # a signature of the right shape, over another hash
    added = [replace(entry, sig=stolen).line() for entry in ledger.apply(update)]
    appended = [*lines, *added]
    verify_lines(appended)  # legal, and re-chained: the replay alone accepts it
    error = bad_signature(appended)
    assert (error.line, error.code) == (len(lines) + 1, "signature")


def test_a_forger_with_keys_of_its_own_is_caught_only_against_trusted_keys(
        signed: tuple[list[str], RunKeys]) -> None:
    lines, _ = signed
    terms = make_terms(round_cap=3)
    mine = fresh_keys(terms)
    rewritten = forged(lines, lambda entries: None, keys=mine)
    check_signatures(verify_lines(rewritten))  # self-consistent, as the README says
    assert verify_lines(rewritten).keys != verify_lines(lines).keys


def test_stripped_signatures_are_refused(signed: tuple[list[str], RunKeys]) -> None:
    lines, _ = signed
    one_missing = [json.loads(line) for line in lines]
    del one_missing[2]["sig"]
    with pytest.raises(LineageError) as caught:
        verify_lines([canonical_json(e) for e in one_missing])
    assert (caught.value.line, caught.value.code) == (3, "signature")

    def strip(entries: list[dict[str, Any]]) -> None:
        del entries[0]["genesis"]["keys"]
        for entry in entries:
            del entry["sig"]
    error = bad_signature(forged(lines, strip))
    assert (error.line, error.code) == (1, "unsigned")


def test_a_ledger_signs_with_every_signer_or_not_at_all() -> None:
    terms = make_terms()
    keys = fresh_keys(terms)
    with pytest.raises(ValueError, match="exactly those of core, alice, bob"):
        Ledger(terms, {"core": keys.public["core"]}, keys.sign)
    with pytest.raises(ValueError, match="both"):
        Ledger(terms, keys.public)


# -- runs --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("signed")
    assert main(["run", str(SCENARIO), "--backend", "scripted", "--out", str(out)]) == 0
    return out


def test_a_run_keeps_its_private_keys_for_the_owner_only(run_dir: Path) -> None:
    pems = sorted(p.name for p in (run_dir / "keys").iterdir())
    assert pems == ["ana.pem", "ben.pem", "core.pem"]
    for pem in (run_dir / "keys").iterdir():
        assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    genesis = json.loads((run_dir / "lineage.jsonl").read_text().splitlines()[0])
    assert set(genesis["genesis"]["keys"]) == {"ana", "ben", "core"}


def test_verify_reports_the_signers_and_refuses_unsigned(
        run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(run_dir / "lineage.jsonl")]) == 0
    assert "signed by ana, ben, core" in capsys.readouterr().out

    def strip(entries: list[dict[str, Any]]) -> None:
        del entries[0]["genesis"]["keys"]
        for entry in entries:
            del entry["sig"]
    lines = (run_dir / "lineage.jsonl").read_text().splitlines()
    unsigned = tmp_path / "lineage.jsonl"
    unsigned.write_text("\n".join(forged(lines, strip)) + "\n")
    assert main(["verify", str(unsigned)]) == 1
    assert "line 1: unsigned lineage" in capsys.readouterr().err
    assert main(["verify", str(unsigned), "--unsigned"]) == 0
    assert "UNSIGNED (hash chain only)" in capsys.readouterr().out


def test_outcome_json_carries_a_signature_over_the_head(
        run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summary = json.loads((run_dir / "outcome.json").read_text())
    assert len(summary["lineage_signature"]) == 128
    (tmp_path / "lineage.jsonl").write_text((run_dir / "lineage.jsonl").read_text())
    signature = summary["lineage_signature"]
    summary["lineage_signature"] = ("0" if signature[0] != "0" else "1") + signature[1:]
    (tmp_path / "outcome.json").write_text(json.dumps(summary))
    assert main(["verify", str(tmp_path / "lineage.jsonl")]) == 1
    assert "no valid signature of the run's key over the lineage head" in \
        capsys.readouterr().err


def test_trust_checks_the_genesis_terms_and_declared_keys(
        run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = (run_dir / "lineage.jsonl").read_text().splitlines()
    assert main(["verify", str(run_dir / "lineage.jsonl"), "--trust", str(SCENARIO)]) == 0
    terms = verify_lines(lines).terms
    mine = fresh_keys(terms)
    rewritten = forged(lines, lambda e: e[0]["genesis"]["terms"]["policy"].update(
        round_cap=99), keys=mine)
    (tmp_path / "lineage.jsonl").write_text("\n".join(rewritten) + "\n")
    assert main(["verify", str(tmp_path / "lineage.jsonl"), "--trust", str(SCENARIO)]) == 1
    assert "the genesis terms are not those of" in capsys.readouterr().err
    # A scenario declaring ana's key: a lineage signed with another key for ana is refused.
    declared = tmp_path / "declared.yaml"
    ana = public_hex(Ed25519PrivateKey.generate())
    declared.write_text(SCENARIO.read_text().replace("../", str(SCENARIO.parent.parent) + "/")
                        + f"\nsigning_keys: {{ana: {ana}}}\n")
    assert main(["verify", str(run_dir / "lineage.jsonl"), "--trust", str(declared)]) == 1
    assert "'ana' signs with a key that" in capsys.readouterr().err


def test_a_declared_key_must_be_supplied_and_match(tmp_path: Path) -> None:
    terms = make_terms()
    theirs = Ed25519PrivateKey.generate()
    with pytest.raises(UserError, match="--keys DIR"):
        run_keys(terms, {"alice": public_hex(theirs)}, None)
    RunKeys({"alice": Ed25519PrivateKey.generate()}).save(tmp_path)
    with pytest.raises(UserError, match="not the key the scenario declares"):
        run_keys(terms, {"alice": public_hex(theirs)}, tmp_path)
    RunKeys({"alice": theirs}).save(tmp_path)
    keys = run_keys(terms, {"alice": public_hex(theirs)}, tmp_path)
    assert keys.public["alice"] == public_hex(theirs) and set(keys.public) == {
        "core", "alice", "bob"}


def test_resume_refuses_keys_that_are_not_the_lineages(
        run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = (run_dir / "lineage.jsonl").read_text().splitlines()
    out = tmp_path / "run"
    out.mkdir()
    (out / "lineage.jsonl").write_text("\n".join(lines[:4]) + "\n")
    (out / "run.json").write_text((run_dir / "run.json").read_text())
    RunKeys({who: Ed25519PrivateKey.generate() for who in ("core", "ana", "ben")}).save(
        out / "keys")
    assert main(["resume", str(out)]) == 2
    assert "not the ones the lineage was signed with" in capsys.readouterr().err


def test_saved_keys_are_private_even_over_an_older_file(tmp_path: Path) -> None:
    (tmp_path / "core.pem").write_text("left by an earlier attempt")
    (tmp_path / "core.pem").chmod(0o644)
    RunKeys({"core": Ed25519PrivateKey.generate()}).save(tmp_path)
    assert stat.S_IMODE((tmp_path / "core.pem").stat().st_mode) == 0o600


@pytest.mark.parametrize("signing", [False, True])
def test_the_genesis_fast_path_is_the_reference_entry(signing: bool) -> None:
    """The ledger splices the genesis text together; it must be exactly the canonical entry
    of ``genesis_body``, signed or not."""
    terms = make_terms()
    keys = fresh_keys(terms)
    ledger = Ledger(terms, keys.public, keys.sign) if signing else Ledger(terms)
    reference = make_entry(0, "0" * 64, genesis_body(terms, keys.public if signing else None))
    assert ledger.entries[0].hash == reference.hash
    assert ledger.entries[0].line() == replace(reference, sig=ledger.entries[0].sig).line()
