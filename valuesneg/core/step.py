"""One transition in progress, and the facts about the terms every transition reads.

The handlers (``bargaining``, ``grants``, ``renewal``) and checks (``checks``) are functions
of a ``Step``: it carries the scratch state they replace and the records they append, and
the machine adopts both only if no handler raised.
"""

from __future__ import annotations

from typing import Any

from .errors import Code, ProtocolViolation
from .fast import evolved
from .ids import CORE
from .records import Header
from .state import State, deadline
from .terms import Terms


class Facts:
    """What the hot path reads from the terms on every record, looked up once per
    negotiation: the terms are fixed, so these are plain dicts and sets instead of scans."""

    def __init__(self, terms: Terms) -> None:
        self.negotiation = terms.negotiation
        self.parties = frozenset(terms.party_ids)
        self.claimants = terms.claimants
        self.contested = terms.contested
        self.claimant_sets = {d: frozenset(c) for d, c in terms.contested.items()}
        self.contested_sorted = sorted(terms.contested)
        self.units = {d: terms.dimension(d).units for d in terms.contested}
        policy = terms.policy
        # Each claimant's tiers on the contested dimensions it claims: a request's ``tiers``
        # must be exactly this mapping (what the party's view shows as ``my_tiers``).
        # Who awaits a claimant's proposal: the other claimants, in order.
        self.others = {p: tuple(q for q in terms.claimants if q != p) for p in terms.claimants}
        self.tiers = {
            p: {d: policy.tier_of(p, d) for d in terms.contested if p in terms.contested[d]}
            for p in terms.claimants
            if all(p in policy.tiers and d in policy.tiers[p]
                   for d in terms.contested if p in terms.contested[d])
        }
        self.round_cap = policy.round_cap
        self.timeout_ticks = policy.timeout_ticks
        self.duration_cap = policy.grant_duration_cap
        self.unanimity = policy.multiparty_rule == "unanimity"
        self.private = frozenset(e.id for e in terms.vocabulary.entries if e.private)
        self.attested = frozenset((w.waiter, w.waits_on) for w in terms.waits)
        # The scope items an envelope update may name: those some genesis envelope (public
        # or sealed) declared on that dimension, so an update cannot carry new words.
        self.scope_items = {d: frozenset().union(*(
            e.projection(d) for p in terms.parties for e in (p.envelope, p.sealed) if e))
            for d in terms.dimension_ids}


class Step:
    """One transition in progress: a scratch state and the records it will append.

    The scratch state is copied from the committed one at its first ``change`` and written
    in place after that: the copy is this step's alone until the machine adopts it (and is
    dropped with the step if a handler raises), so a record costs one copy of the state
    however many of its fields the handlers replace. Handlers read ``step.state`` afresh
    after a change rather than through an alias taken before it."""

    __slots__ = ("_own", "facts", "out", "seq", "state", "terms")

    def __init__(self, terms: Terms, state: State, facts: Facts) -> None:
        self.terms = terms
        self.state = state
        self.facts = facts
        self.out: list[Header] = []
        self.seq = state.next_seq  # the position a refusal is reported at
        self._own = False  # whether ``state`` is already this step's private copy

    def change(self, **changes: Any) -> None:
        """Replace fields of the scratch state (``dataclasses.replace`` semantics)."""
        if self._own:
            self.state.__dict__.update(changes)
        else:
            self.state = evolved(self.state, **changes)
            self._own = True

    def take(self, record: Header) -> None:
        """Append a party's record (its checks so far passed): the clock and seq move on."""
        # The first change of a party's step: the copy ``change`` would make.
        self.state = evolved(self.state, tick=record.tick, next_seq=record.seq + 1)
        self._own = True
        self.out.append(record)

    def emit(self, record_type: type[Header], **fields: Any) -> Header:
        """Append a record the core itself produces, at the next seq and the current tick."""
        state = self.state
        record = record_type(
            negotiation=self.terms.negotiation,
            sender=CORE,
            seq=state.next_seq,
            tick=state.tick,
            **fields,
        )
        self.change(next_seq=state.next_seq + 1)
        self.out.append(record)
        return record

    def rationale(self, record: Header, ids: tuple[str, ...], field: str) -> None:
        """Check the ids a record cites; citing one's own private card reveals it."""
        vocab, state = self.terms.vocabulary, self.state
        try:
            vocab.check_rationale(record.sender, ids, field, state.revealed)
        except ProtocolViolation as violation:
            violation.seq = self.seq
            raise
        # Peers may cite a revealed card from now on. (Every id is known by now, so the
        # private ones are those in the vocabulary's private set.)
        newly = self.facts.private.intersection(ids)
        if newly and not newly <= state.revealed:
            self.change(revealed=state.revealed | newly)

    def deadline(self) -> int | None:
        return deadline(self.terms, self.state)

    def violation(self, code: Code, field: str, detail: str) -> ProtocolViolation:
        return ProtocolViolation(code, field, detail, seq=self.seq)
