"""The places a payload can go in a record, by ``"kind.place"``: the fields the catalogue
(``valuesneg.agents.catalogue``) crosses with its payloads."""

from __future__ import annotations

from typing import Any

from valuesneg.core import Code, Phase

from .attack import (
    Attack,
    Bend,
    Field,
    Payload,
    proposal,
    put,
    put_field,
    put_ids,
    put_share,
    replace_id,
)
from .intel import Intel, one_more, short_dim

_O, _P, _S = Phase.OPEN, Phase.PROPOSED, Phase.SETTLED


def _tier(value: Any) -> Bend:
    return lambda r, i: {**r, "tiers": {**r["tiers"], i.dims[0]: value}}


def _sole_holder(value: Any) -> Bend:
    return lambda r, i: {**r, "value": {i.me: 0, value: i.view.units[r["dimension"]]}}


# Where a payload goes, by "kind.place": the record kind it is bent from, and how it is put.
FIELDS: dict[str, Field] = {
    **{f"{kind}.{key}": Field(phase, kind, replace_id)  # the first rationale id or reason
       for phase, kind, key in ((_P, "accept", "rationale"), (_O, "request", "rationale"),
                                (_P, "defer", "rationale"), (_P, "refuse", "reasons"))},
    **{f"accept.{name}": Field(_P, "accept", put_field(name))
       for name in ("negotiation", "sender", "kind", "envelope_version", "note", "message",
                    "tick", "reply_to")},
    **{f"request.{name}": Field(_O, "request", put_field(name))
       for name in ("negotiation", "sender", "message", "duration")},
    "accept.rationale-list": Field(_P, "accept", put_field("rationale")),
    "counter.dimension": Field(_P, "counter", put_field("dimension")),
    "counter.value": Field(_P, "counter", lambda v: put(value=dict(v))),
    "counter.share-holder": Field(_P, "counter", lambda v: put_share(
        lambda i: {v: i.view.units[short_dim(i.view)]})),
    "counter.sole-holder": Field(_P, "counter", _sole_holder),
    "request.projection": Field(_O, "request", lambda v: put_ids(
        "projection", lambda i: [*i.dims, v])),
    "request.tier": Field(_O, "request", _tier),
    "request.reservation-plan": Field(_O, "request", lambda v: put(
        reservation={"plan": v, "steps": 2})),
    "request.depends_on": Field(_O, "request", lambda v: put(depends_on=[v])),
    "request.dependency-waiter": Field(_O, "request", lambda v: lambda r, i: {
        **r, "dependencies": [{"waiter": v, "waits_on": i.view.negotiation}]}),
    "request.precondition-dimension": Field(_O, "request", lambda v: lambda r, i: {
        **r, "precondition": {"dimension": v, "party": i.me}}),
    "request.proposal-holder": Field(_O, "request", lambda v: proposal(
        lambda p, i: {**p, i.dims[0]: {v: i.view.units[i.dims[0]]}})),
    "commit.grant_id": Field(_S, "commit", put_field("grant_id")),
}


def at(where: str, name: str, payload: Payload, expect: Code | None, description: str,
        ready: Any = None) -> Attack:
    """The attack ``name``: ``payload`` put at ``where`` (a key of ``FIELDS``)."""
    return FIELDS[where].carrying(name, payload, expect, description, ready)


def more(i: Intel) -> dict[str, int]:
    """One unit more than the attacker holds, on the first dimension it is short of."""
    return one_more(i.view, short_dim(i.view))


