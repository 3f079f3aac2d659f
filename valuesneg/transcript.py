"""Readable transcripts of records, for `valuesneg replay` and the report."""

from __future__ import annotations

from collections.abc import Iterable

from valuesneg.core import (
    Accept,
    Ack,
    Commit,
    Counter,
    Defer,
    Denial,
    EnvelopeUpdate,
    Grant,
    Header,
    Outcome,
    Preemption,
    Refuse,
    Request,
    Revocation,
    TierBreak,
)


def shares(share: dict[str, int]) -> str:
    """One dimension's shares, readable: ``ana 2, ben 1``."""
    return ", ".join(f"{party} {units}" for party, units in share.items())


def allocation(alloc: dict[str, dict[str, int]]) -> str:
    """An allocation, readable: ``dim:food: ana 2, ben 1; dim:water: ...``."""
    return "; ".join(f"{dim}: {shares(share)}" for dim, share in alloc.items())


def describe(record: Header) -> str:
    """One line saying who did what, citing which ids."""
    match record:
        case Request() if record.reply_to is not None:  # after the outcome: a renewal
            return (f"{record.sender} asks to renew the grant of #{record.reply_to}: "
                    f"[{allocation(record.proposal)}] for {record.duration} ticks, because "
                    f"{', '.join(record.rationale)}")
        case Request():
            extra = f" reserving for plan {record.reservation.plan}" if record.reservation else ""
            return (f"{record.sender} requests [{allocation(record.proposal)}] for "
                    f"{record.duration} ticks{extra}, because {', '.join(record.rationale)}")
        case Counter():
            return (f"{record.sender} counters on {record.dimension}: {shares(record.value)}, "
                    f"because {', '.join(record.rationale)}")
        case Accept():
            return f"{record.sender} accepts #{record.reply_to}, because " + ", ".join(
                record.rationale)
        case Defer():
            return f"{record.sender} defers, because {', '.join(record.rationale)}"
        case Refuse() if record.cycle:
            return (f"{record.sender} refuses #{record.reply_to}: dependency cycle "
                    + ", ".join(f"{e.waiter}->{e.waits_on}" for e in record.cycle))
        case Refuse() if record.silent_party:
            return f"core: {record.silent_party} was silent past the deadline ({record.reasons[0]})"
        case Refuse():
            return f"{record.sender} refuses #{record.reply_to}: {', '.join(record.reasons)}"
        case TierBreak():
            ranks = ", ".join(
                f"{c.party} ({c.tier}, " + ("never proposed)" if c.first_proposal_tick is None
                                            else f"first proposal at t={c.first_proposal_tick})")
                for c in record.candidates)
            return (f"core: tier-break on {record.dimension} under {', '.join(record.clauses)}: "
                    f"{record.winner} wins among {ranks}; {why_won(record)}")
        case Outcome():
            return (f"core: outcome {record.terminal}: [{allocation(record.allocation)}]; "
                    f"satisfied {', '.join(record.satisfied) or 'none'}; sacrificed "
                    + (", ".join(f"{s.property} ({s.magnitude:.3f})" for s in record.sacrificed)
                       or "none"))
        case Grant():
            return (f"core: {record.grant_id}: {record.grantee} holds {record.units} of "
                    f"{record.dimension} until tick {record.expires} "
                    f"(from {', '.join(record.grantors)}; {', '.join(record.clauses)}"
                    + (f"; answers #{record.reply_to})" if record.reply_to else ")"))
        case Revocation():
            return f"{record.sender}: {record.grant_id} ends under {record.clause}"
        case Preemption():
            return (f"{record.sender} pre-empts {record.grant_id}, because "
                    f"{', '.join(record.rationale)}")
        case Ack():
            return f"{record.sender} acknowledges the end of {record.grant_id}"
        case EnvelopeUpdate():
            return (f"{record.sender} changes its envelope to "
                    + "; ".join(f"{d}: {', '.join(i)}" for d, i in record.scope.items())
                    + f", because {', '.join(record.rationale)}")
        case Denial():
            return (f"core: {record.party} asked for {record.requested} of {record.dimension} "
                    f"and gets {record.granted} ({', '.join(record.clauses)})")
        case Commit():
            return (f"{record.sender} commits {record.units} of {record.dimension} under "
                    f"{record.grant_id}")
    return f"{record.sender}: {type(record).__name__}"


def why_won(record: TierBreak) -> str:
    """Which step of the tier-break order (core/tiebreak.py) decided: tier, then the earlier
    first proposal, then the hash order key."""
    won = next(c for c in record.candidates if c.party == record.winner)
    rivals = [c for c in record.candidates if c.party != record.winner]
    if not rivals:
        return "the only claimant"
    if all(c.tier_rank < won.tier_rank for c in rivals):
        return f"highest tier ({won.tier})"
    tied = [c for c in rivals if c.tier_rank == won.tier_rank]
    if all(c.first_proposal_tick is None or (won.first_proposal_tick is not None
           and c.first_proposal_tick > won.first_proposal_tick) for c in tied):
        return f"same tier as {', '.join(c.party for c in tied)}, earlier first proposal"
    return (f"same tier and first proposal as {', '.join(c.party for c in tied)}, "
            "lowest order key (a hash of party and tick)")


def transcript(records: Iterable[Header]) -> str:
    """A lineage's records, one readable line each (what `valuesneg replay` prints)."""
    return "\n".join(f"#{r.seq:<4} t={r.tick:<4} {describe(r)}" for r in records)
