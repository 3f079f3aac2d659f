"""Checking a run's lineage the way `valuesneg verify` does, for every caller: the CLI, the
Python API (``valuesneg.verify``) and the web pages (one implementation of the checks)."""

from __future__ import annotations

from pathlib import Path

from valuesneg.core import LineageError, Verified, strict_json, verify_lines
from valuesneg.io.attest import forged_attestations
from valuesneg.io.files import UserError, read_json, read_lines
from valuesneg.signing import check_signatures, head_signed, untrusted_keys


def verify_run(path: str | Path, *, partial: bool = False, unsigned: bool = False,
               trust: str | None = None, head: str | None = None) -> Verified:
    """Every check of `valuesneg verify` on a lineage file or run folder: the hash chain and
    replay, the signatures (an unsigned lineage passes only with ``unsigned``), the
    attestations, the run's outcome.json, the ``trust``ed scenario and the expected ``head``.
    Raises `LineageError` naming the first bad line."""
    lineage = lineage_path(str(path))
    verified = verified_lineage(lineage, require_outcome=not partial)
    if verified.keys is not None or not unsigned:
        check_signatures(verified)
    check_attestations(verified, trust)
    check_outcome_file(lineage, verified)
    if head is not None and head != verified.head:
        raise LineageError(len(verified.records) + 1, f"the lineage ends at head "
                           f"{verified.head}, not at the expected {head}", "head")
    return verified


def verified_lineage(path: Path, *, require_outcome: bool) -> Verified:
    """The lineage at ``path`` replayed through the core; an outcome.json given by mistake
    is named as such."""
    lines = read_lines(path)
    try:
        return verify_lines(lines, require_outcome=require_outcome)
    except LineageError as error:
        if error.line == 1 and _one_json_document(lines):  # e.g. outcome.json, indented
            raise LineageError(1, "not a lineage: this is one JSON document, while a lineage "
                               "has one JSON entry per line, its genesis first (a run's is "
                               "lineage.jsonl)", "malformed") from None
        raise


def _one_json_document(lines: list[str]) -> bool:
    try:
        strict_json.loads("\n".join(lines))
    except strict_json.JsonInputError:
        return False
    return len(lines) > 1


def lineage_path(arg: str) -> Path:
    """A lineage file, or a run folder standing for the lineage.jsonl in it."""
    path = Path(arg)
    if not path.is_dir():
        return path
    if not (path / "lineage.jsonl").exists():
        raise UserError(f"{path}: not a run folder (no lineage.jsonl in it)")
    return path / "lineage.jsonl"


def check_attestations(verified: Verified, trust: str | None) -> None:
    """Signatures under the lineage's own authority keys, and, with ``trust``, those keys
    against the ones a scenario file declares: a forger who swaps the key in the genesis and
    re-signs passes the first check, not the second."""
    if trust is not None:
        _check_trusted(verified, trust)
    forged = forged_attestations(verified.terms)
    if forged:
        what = f"the attested wait {forged[0]}" if forged[0].startswith("waits[") else \
            f"the attestation of {forged[0]!r}'s redacted envelope"
        raise LineageError(1, f"{what} does not verify under its authority's key",
                           "attestation")


def _check_trusted(verified: Verified, trust: str) -> None:
    """The genesis against a scenario file the reviewer trusts: the very same terms, the
    same authority keys, and the signing keys the scenario declares."""
    from valuesneg.scenario import load_scenario

    scenario = load_scenario(trust, check_signatures=False)
    trusted = scenario.spec.authorities
    for authority, key in sorted(verified.terms.authorities.items()):
        if trusted.get(authority) != key:
            raise LineageError(1, f"authority {authority!r} signs with a key that {trust} "
                               "does not trust", "attestation")
    untrusted = untrusted_keys(verified, scenario.spec.signing_keys)
    if untrusted:
        raise LineageError(1, f"{untrusted[0]!r} signs with a key that {trust} does not "
                           "declare", "trust")
    if scenario.terms.hashes() != verified.terms.hashes():
        changed = sorted(k for k, v in scenario.terms.hashes().items()
                         if verified.terms.hashes().get(k) != v)
        raise LineageError(1, f"the genesis terms are not those of {trust} (they differ in "
                           f"{', '.join(changed)})", "trust")


def check_outcome_file(lineage: Path, verified: Verified) -> None:
    """A run's outcome.json pins the lineage head, so a dropped tail is detected too."""
    summary_path = lineage.parent / "outcome.json"
    if not summary_path.exists() or verified.outcome is None:
        return
    summary = read_json(summary_path)
    if not isinstance(summary, dict):
        raise UserError(f"{summary_path}: not a run's outcome (a JSON object)")
    count = len(verified.records) + 1
    if summary.get("lineage_entries") != count or summary.get("lineage_head") != verified.head:
        claimed = summary.get("lineage_entries")
        ends = claimed if type(claimed) is int and 0 < claimed < count else count
        raise LineageError(ends + 1,
                           f"lineage does not end where {summary_path.name} says it does "
                           "(entries dropped or appended)", "truncated")
    if verified.keys is not None and not head_signed(verified, summary.get("lineage_signature")):
        raise LineageError(count, f"{summary_path.name} carries no valid signature of the "
                           "run's key over the lineage head", "signature")
    recorded = {k: summary.get(k) for k in ("terminal", "allocation", "satisfied")}
    produced = verified.outcome.model_dump(mode="json")
    if recorded != {k: produced[k] for k in recorded}:
        raise LineageError(count, f"{summary_path.name} differs from the outcome the core "
                           "produces", "outcome")
