"""Compiling a checked scenario file into the core's ``Terms``: its moral graph, the cards
each party holds (listed, or retrieved from the graph), the parties, the policy and the
vocabulary. A field found wrong here is a ``FieldError`` naming its location in the file;
``valuesneg.scenario`` turns it into the one ``UserError`` that points at the line.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from valuesneg.core import Envelope, Party, Policy, Retrieval, Terms, Vocabulary
from valuesneg.core.confidentiality import Attestation, AttestedWait
from valuesneg.io.files import UserError
from valuesneg.scenario_file import (
    AttestationSpec,
    PartySpec,
    PolicySpec,
    RetrieveSpec,
    ScenarioFile,
)
from valuesneg.values import DataError, MoralGraph, load_graph
from valuesneg.values.vocab import vocabulary_for

# The graphs that ship with the package (valuesneg/moral_graphs links to moral_graphs/).
SHIPPED_GRAPHS = Path(__file__).resolve().parent / "moral_graphs"


class FieldError(Exception):
    """A scenario field found wrong after the schema passed (e.g. an unknown card)."""

    def __init__(self, loc: list[str], message: str) -> None:
        super().__init__(message)
        self.loc, self.message = loc, message


def compile_terms(path: Path, spec: ScenarioFile) -> tuple[Terms, MoralGraph]:
    """The terms ``spec`` (read from ``path``) compiles into, and its moral graph. Raises
    ``FieldError`` for a field found wrong, ``ValidationError`` for terms the core refuses."""
    graph = _load_graph(path, spec.moral_graph)
    if spec.context is not None and spec.context not in {c.id for c in graph.contexts}:
        raise FieldError(["context"], f"{spec.context!r} is not a context of the moral graph "
                                      f"{spec.moral_graph}")
    retrievals = _retrievals(path, spec, graph)
    holdings = _holdings(spec, retrievals)
    terms = Terms(
        negotiation=spec.negotiation,
        dimensions=spec.dimensions,
        parties=tuple(_party(p, holdings[p.id]) for p in spec.parties),
        policy=_policy(spec.policy, spec.parties),
        vocabulary=_vocabulary(spec, graph, holdings),
        moral_graph=graph.content_hash,
        authorities=spec.authorities,
        waits=tuple(AttestedWait(**w.model_dump()) for w in spec.waits),
        retrievals=retrievals,
    )
    return terms, graph


def _load_graph(path: Path, name: str) -> MoralGraph:
    """A name without a folder or ``.json`` is a shipped graph, so a scenario copied anywhere
    still finds it; a path is relative to the scenario's folder, and an error says so."""
    shipped = sorted(p.stem for p in SHIPPED_GRAPHS.glob("*.json"))
    if "/" not in name and not name.endswith(".json"):
        if name not in shipped:
            raise FieldError(["moral_graph"], f"{name!r} is no shipped moral graph (shipped: "
                                              f"{', '.join(shipped)}); a file's path ends in "
                                              ".json")
        graph_path = SHIPPED_GRAPHS / f"{name}.json"
    else:
        graph_path = (path.parent / name).resolve()
    try:
        return load_graph(graph_path)
    except DataError as error:
        where = "" if graph_path.parent == SHIPPED_GRAPHS else (
            f" (resolved from the scenario's folder {path.parent.resolve()}; or name a "
            f"shipped graph: {', '.join(shipped)})")
        raise UserError(f"{path}: moral_graph {name}{where}: {error}") from None


def _holdings(spec: ScenarioFile, retrievals: tuple[Retrieval, ...]) -> dict[str, tuple[str, ...]]:
    retrieved = {r.party: tuple(c.card for c in r.cards) for r in retrievals}
    return {p.id: retrieved[p.id] if isinstance(p.cards, RetrieveSpec) else p.cards
            for p in spec.parties}


def _retrievals(path: Path, spec: ScenarioFile, graph: MoralGraph) -> tuple[Retrieval, ...]:
    """Each retrieving party's cards, in file order, never a card another party holds."""
    asking = [(i, p) for i, p in enumerate(spec.parties) if isinstance(p.cards, RetrieveSpec)]
    if not asking:
        return ()
    from valuesneg.retrieval import RetrievalError
    from valuesneg.retrieval.select import party_query, retrieval_record, search

    taken = {c for p in spec.parties if not isinstance(p.cards, RetrieveSpec) for c in p.cards}
    situation = (graph.context(spec.context).title if spec.context is not None
                 else spec.title)
    out = []
    for index, party in asking:
        assert isinstance(party.cards, RetrieveSpec)
        at = ["parties", str(index), "cards"]
        if _load_graph(path, party.cards.from_).content_hash != graph.content_hash:
            raise FieldError([*at, "from"], f"{party.cards.from_!r} is not the scenario's "
                                            f"moral graph {spec.moral_graph!r}: cards are "
                                            "cited through that graph's vocabulary")
        query = party_query(situation, party.weights, party.envelope)
        try:
            found = search(graph, query, party.cards.retrieve, exclude=taken)
        except RetrievalError as error:
            raise FieldError(at, f"cannot retrieve cards: {error}") from None
        if len(found) < party.cards.retrieve:
            raise FieldError([*at, "retrieve"], f"asks for {party.cards.retrieve} cards, but "
                                                f"only {len(found)} of the graph's "
                                                f"{len(graph.cards)} are not held by another "
                                                "party")
        taken.update(c.card_id for c in found)
        out.append(retrieval_record(party.id, query, found))
    return tuple(out)


def _party(spec: PartySpec, cards: tuple[str, ...]) -> Party:
    envelope = Envelope(scope=spec.envelope)
    sealed = None if spec.sealed_envelope is None else Envelope(scope=spec.sealed_envelope)
    return Party(id=spec.id, envelope=envelope, weights=spec.weights, needs=spec.needs,
                 contribution=spec.contribution, reservation=spec.reservation,
                 cards=cards, represents=spec.represents, sealed=sealed,
                 attestation=_attestation(spec.attestation, envelope, sealed))


def _attestation(spec: AttestationSpec | None, envelope: Envelope,
                 sealed: Envelope | None) -> Attestation | None:
    """The versions are computed here, so the signature vouches for these exact envelopes."""
    if spec is None:
        return None
    return Attestation(authority=spec.authority, covers=spec.covers, signature=spec.signature,
                       redacted=envelope.version,
                       sealed=(sealed or envelope).version)


def _policy(spec: PolicySpec, parties: tuple[PartySpec, ...]) -> Policy:
    fields = spec.model_dump(exclude={"extra_clauses"})
    tiers = {p.id: _tiers(spec, p, n) for n, p in enumerate(parties)}
    try:
        return Policy.model_validate({**fields, "tiers": tiers})
    except ValidationError as error:  # the policy's own checks: point at the policy block
        first = error.errors()[0]
        raise FieldError(["policy", *(str(p) for p in first["loc"])], first["msg"]) from None


def _tiers(spec: PolicySpec, party: PartySpec, index: int) -> dict[str, str]:
    if party.tiers is not None:
        return party.tiers
    if len(spec.tier_order) != 1:
        raise FieldError(["parties", str(index), "tiers"],
                          f"required, since policy.tier_order has {len(spec.tier_order)} "
                          "tiers (name one per dimension of the envelope; it may be left "
                          "out only when there is a single tier)")
    return dict.fromkeys(party.envelope, spec.tier_order[0])


def _vocabulary(spec: ScenarioFile, graph: MoralGraph,
                held: dict[str, tuple[str, ...]]) -> Vocabulary:
    known = {card.id: card for card in graph.cards}
    holders: dict[str, str] = {}
    holdings = []
    for p_index, party in enumerate(spec.parties):
        for c_index, card_id in enumerate(held[party.id]):
            card = known.get(card_id)
            at = ["parties", str(p_index), "cards", str(c_index)]
            if card is None:
                raise FieldError(at, f"{card_id!r} is not a card of the moral graph "
                                      f"{spec.moral_graph}")
            if holders.get(card_id) == party.id:
                raise FieldError(at, f"{card_id!r} is listed twice")
            if card_id in holders:
                raise FieldError(at, f"{card_id!r} is already held by {holders[card_id]!r}: "
                                  "a card has one holder, who alone may cite it until it is "
                                  "revealed (list it in that holder's public_cards to let "
                                  "everyone cite it, or give this party a card of its own)")
            holders[card_id] = party.id
            holdings.append((party.id, card, card_id not in party.public_cards))
    return vocabulary_for([*spec.policy.clauses.ids(), *spec.policy.extra_clauses],
                          [d.id for d in spec.dimensions], holdings)
