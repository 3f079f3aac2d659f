"""Probing the core, one attack at a time: stage the attack's phase with honest records,
try it once, and report what the core did (the bypass eval's first part)."""

from __future__ import annotations

from dataclasses import dataclass

from valuesneg.agents.attack import Attack
from valuesneg.agents.intel import Intel, legal
from valuesneg.core import (
    Ledger,
    LineageError,
    Phase,
    ProtocolViolation,
    Terms,
    parse_record,
    verify_lines,
)
from valuesneg.core.view import view_for


def _say(ledger: Ledger, party: str, kind: str) -> None:
    """An honest record that cites only a clause, so no private card is revealed by staging."""
    terms = ledger.negotiation.terms
    raw = legal(kind, Intel(view_for(ledger.negotiation, party, tuple(ledger.records)), terms))
    reason = "reasons" if kind == "refuse" else "rationale"
    ledger.apply(parse_record({**raw, reason: [terms.policy.clauses.agreement]}))


def stage(terms: Terms, phase: Phase) -> tuple[Ledger, str]:
    """A ledger brought by honest records to where attacks of ``phase`` are tried, and the
    attacker: the second claimant, awaited there (or, once settled, holding grants).

    The first claimant proposes an even split. To settle, everyone accepts it. Otherwise the
    attacker counters it, so that it has a record of its own to replay; then the first
    claimant counters back (the attacker must answer) or refuses (the attacker must propose,
    under unanimity).
    """
    first, attacker = terms.claimants[0], terms.claimants[1]
    ledger = Ledger(terms)
    _say(ledger, first, "request")
    if phase is Phase.SETTLED:
        # Under a majority rule the offer may settle before everyone has answered.
        while ledger.negotiation.state.phase is Phase.PROPOSED:
            _say(ledger, ledger.negotiation.expected()[0], "accept")
        return ledger, attacker
    _say(ledger, attacker, "counter")
    _say(ledger, first, "refuse" if phase is Phase.OPEN else "counter")
    return ledger, attacker


@dataclass(frozen=True)
class Probe:
    """How the core judged one attack."""

    attack: str
    expected: str | None
    code: str | None  # the refusal's code; None if admitted; "crash:<type>" if the core broke
    state_unchanged: bool
    lineage_verifies: bool

    @property
    def as_expected(self) -> bool:
        return self.code == self.expected and (self.expected is None or self.state_unchanged)


class NotApplicable(Exception):
    """An attack that cannot be staged on these terms (say, a commit on a grant the attacker
    never holds because a tier-break gave the only unit away)."""


def staged(terms: Terms, attack: Attack) -> tuple[Ledger, Intel]:
    """The ledger and attacker's knowledge where ``attack`` is tried, or ``NotApplicable``.

    Applicable means: staging reaches the attack's phase with the attacker to move (or, once
    settled, holding a grant), the attack is ready there, and its record can be built.
    """
    try:
        ledger, attacker = stage(terms, attack.phase)
    except ProtocolViolation as error:  # the honest staging itself does not fit these terms
        raise NotApplicable(f"{attack.name}: staging refused ({error.code.value})") from None
    negotiation = ledger.negotiation
    if negotiation.state.phase is not attack.phase or (
            attack.phase is not Phase.SETTLED and attacker not in negotiation.expected()):
        raise NotApplicable(f"{attack.name}: the attacker is not to move in {attack.phase}")
    intel = Intel(view_for(negotiation, attacker, tuple(ledger.records)), terms)
    if not attack.ready(intel):
        raise NotApplicable(f"{attack.name}: not ready here")
    try:
        attack.raw(intel)
    except (StopIteration, AssertionError, KeyError, IndexError, ValueError) as error:
        raise NotApplicable(f"{attack.name}: cannot be built ({type(error).__name__})"
                            ) from None
    return ledger, intel


def probe(terms: Terms, attack: Attack, *, wire: bool = True) -> Probe:
    """Stage ``attack``'s phase on ``terms``, try it once, and report what the core did.

    Raises ``NotApplicable`` when the attack cannot be staged or built here, so that a
    failure to *build* an attack is never mistaken for the core breaking.
    """
    ledger, intel = staged(terms, attack)
    before, length = ledger.negotiation.state, len(ledger.entries)
    code: str | None = None
    record = attack.raw(intel) if wire else attack.record(intel)
    try:
        ledger.apply(parse_record(record) if isinstance(record, dict) else record)
    except ProtocolViolation as violation:
        code = violation.code.value
    except Exception as error:  # whatever else the core raises is itself the finding
        code = f"crash:{type(error).__name__}"
    unchanged = ledger.negotiation.state is before and len(ledger.entries) == length
    try:
        verify_lines([e.line() for e in ledger.entries], require_outcome=False)
        verifies = True
    except LineageError:
        verifies = False
    return Probe(attack.name, None if attack.expect is None else attack.expect.value, code,
                 unchanged, verifies)

