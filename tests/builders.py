"""Shared builders: small, fully valid terms that tests then bend one field at a time.

A plain module, not a conftest: several folders have a conftest, and importing "conftest"
would get whichever pytest loaded last."""

from __future__ import annotations

from typing import Any

from valuesneg.core import (
    Dimension,
    Envelope,
    Party,
    Policy,
    Terms,
    Vocabulary,
    VocabularyEntry,
)

CLAUSES = ("clause:agreement", "clause:tier-break", "clause:fallback", "clause:timeout",
           "clause:expiry", "clause:preemption", "clause:revocation", "clause:safety-first",
           "clause:envelope-change", "clause:dependency-cycle")
FAIRNESS = ("fair:needs_coverage", "fair:proportionality", "fair:equal_split",
            "fair:pareto_efficiency", "fair:envy_freeness")


def vocabulary(dims: tuple[str, ...], parties: tuple[str, ...]) -> Vocabulary:
    entries = [VocabularyEntry(id=c, kind="clause") for c in CLAUSES]
    entries += [VocabularyEntry(id=d, kind="dimension") for d in dims]
    entries += [VocabularyEntry(id=f, kind="fairness") for f in FAIRNESS]
    entries.append(VocabularyEntry(id="card:equal-shares", kind="card"))
    for p in parties:
        entries.append(VocabularyEntry(id=f"card:{p}-needs", kind="card", owner=p, private=True))
        entries.append(VocabularyEntry(id=f"ap:{p}-needs.1", kind="policy", owner=p,
                                       private=True))
    return Vocabulary(entries=tuple(entries))


def make_terms(*, parties: tuple[str, ...] = ("alice", "bob"), round_cap: int = 4,
               terminal: dict[str, str] | None = None, multiparty_rule: str = "unanimity",
               tiers: dict[str, dict[str, str]] | None = None,
               preemptible: tuple[dict[str, str], ...] = (),
               scopes: dict[str, dict[str, tuple[str, ...]]] | None = None,
               **policy: Any) -> Terms:
    dims = ("dim:firewood", "dim:spot", "dim:water")
    units = {"dim:firewood": 3, "dim:spot": 1, "dim:water": 3}
    weights = [{"dim:water": 5.0, "dim:firewood": 3.0, "dim:spot": 2.0},
               {"dim:water": 3.0, "dim:firewood": 5.0, "dim:spot": 4.0},
               {"dim:water": 4.0, "dim:firewood": 4.0, "dim:spot": 1.0}]
    party_models = tuple(
        Party(id=p, envelope=Envelope(scope=(scopes or {}).get(
            p, {d: ("camp:shared",) for d in dims})),
              weights=weights[i % 3], needs={"dim:water": 1}, contribution=float(i + 1),
              reservation=5.0, cards=(f"card:{p}-needs",))
        for i, p in enumerate(parties))
    default_tiers = {p: {d: "tier:routine" for d in dims} for p in parties}
    for p, scope in (scopes or {}).items():
        default_tiers[p] = {d: "tier:routine" for d in scope}
    return Terms(
        negotiation="neg:camp",
        dimensions=tuple(Dimension(id=d, units=units[d]) for d in dims),
        parties=party_models,
        policy=Policy(
            id="policy:camp", round_cap=round_cap, timeout_ticks=5, grant_duration_cap=10,
            tier_order=("tier:routine", "tier:safety"),
            tiers=tiers or default_tiers,
            terminal=terminal or {"dim:spot": "tier_break", "dim:water": "nash",
                                  "dim:firewood": "nash"},
            multiparty_rule=multiparty_rule, fairness=FAIRNESS,
            preemptible=preemptible, **policy),
        vocabulary=vocabulary(dims, parties),
    )


class Play:
    """Builds well-formed records for the current state, so a test can break one field."""

    def __init__(self, terms: Terms) -> None:
        from valuesneg.core import Negotiation

        self.terms = terms
        self.neg = Negotiation(terms)

    def header(self, sender: str, **fields: Any) -> dict[str, Any]:
        state = self.neg.state
        base: dict[str, Any] = {
            "negotiation": self.terms.negotiation, "sender": sender, "seq": state.next_seq,
            "tick": state.tick + 1,
            "reply_to": state.proposal.seq if state.proposal else None,
            "envelope_version": self.terms.party(sender).envelope.version,
        }
        base.update(fields)
        return base

    def request(self, sender: str = "alice", **fields: Any) -> Any:
        from valuesneg.core import Request

        contested = self.terms.contested
        proposal = {d: {sender: self.terms.dimension(d).units} for d in contested}
        values: dict[str, Any] = {
            "projection": tuple(contested), "proposal": proposal, "duration": 5,
            "tiers": {d: self.terms.policy.tier_of(sender, d) for d in contested},
            "rationale": (f"card:{sender}-needs", "clause:agreement"),
        }
        header_fields = {k: fields.pop(k) for k in list(fields) if k in _HEADER}
        values.update(fields)
        return Request(**self.header(sender, **header_fields), **values)

    def make(self, kind: str, sender: str, **fields: Any) -> Any:
        from valuesneg.core import RECORD_TYPES

        record_type = next(t for t in RECORD_TYPES if t.model_fields["kind"].default == kind)
        defaults: dict[str, Any] = {
            "accept": {"rationale": (f"card:{sender}-needs",)},
            "defer": {"rationale": ("clause:agreement",)},
            "refuse": {"reasons": (f"card:{sender}-needs",)},
        }.get(kind, {})
        header_fields = {k: fields.pop(k) for k in list(fields) if k in _HEADER}
        return record_type(**self.header(sender, **header_fields), **{**defaults, **fields})

    def apply(self, record: Any) -> Any:
        return self.neg.apply(record)

    def agree(self) -> Any:
        """alice proposes everything to herself, bob accepts: an agreement with grants."""
        self.apply(self.request("alice"))
        return self.apply(self.make("accept", "bob"))


_HEADER = {"negotiation", "sender", "seq", "tick", "reply_to", "envelope_version"}
