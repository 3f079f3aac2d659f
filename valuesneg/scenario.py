"""Scenario files: YAML that names the parties, their values and envelopes, and the policy.

A scenario compiles into the core's ``Terms`` (what the lineage binds) plus, per party, how
its records are produced (backend and strategy). The vocabulary is derived, never typed by
hand: policy clauses, contested dimensions, fairness properties, and each party's values
cards and attentional policies from the moral graph, private to their holder unless listed
as public.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from valuesneg.core import (
    Clauses,
    DependencyEdge,
    Dimension,
    Envelope,
    Id,
    Party,
    Policy,
    Preemptible,
    Terms,
    Vocabulary,
)
from valuesneg.core.confidentiality import Attestation
from valuesneg.io.attest import forged_attestations
from valuesneg.io.files import UserError
from valuesneg.values import DataError, MoralGraph, load_graph
from valuesneg.values.vocab import FAIRNESS_PROPERTIES, vocabulary_for


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AgentSpec(_Strict):
    backend: Literal["scripted", "llm", "human"] = "llm"  # human: answered at a prompt
    strategy: str = "linear"  # scripted strategy, or the fallback when no model is used
    deliberates: bool = False  # defers once before answering its first proposal


class AttestationSpec(_Strict):
    """An authority's signature over the redacted and sealed envelope versions."""

    authority: Id
    covers: tuple[Id, ...]
    signature: str


class PartySpec(_Strict):
    id: Id
    cards: tuple[Id, ...] = ()
    public_cards: tuple[Id, ...] = ()
    envelope: dict[Id, tuple[Id, ...]]
    weights: dict[Id, float] = {}
    needs: dict[Id, Annotated[int, Field(ge=0)]] = {}
    contribution: Annotated[float, Field(ge=0)] = 0.0
    reservation: float = 0.0
    tiers: dict[Id, Id]
    agent: AgentSpec = AgentSpec()
    represents: tuple[Id, ...] = ()
    depends_on: tuple[Id, ...] = ()  # negotiations this party's requests wait on
    knows: tuple[DependencyEdge, ...] = ()  # wait-for edges this party knows of elsewhere
    sealed_envelope: dict[Id, tuple[Id, ...]] | None = None  # un-redacted, for reviewers
    envelope_after: dict[Id, tuple[Id, ...]] | None = None  # moved to after using grants
    attestation: AttestationSpec | None = None


class PolicySpec(_Strict):
    id: Id
    round_cap: int
    timeout_ticks: int = 10
    grant_duration_cap: int
    reask_budget: int = 2
    tier_order: tuple[Id, ...]
    terminal: dict[Id, Literal["tier_break", "nash", "equal_split", "priority"]]
    multiparty_rule: Literal["unanimity", "majority"] = "unanimity"
    fairness: tuple[Id, ...] = FAIRNESS_PROPERTIES
    reservation_requires: tuple[Literal["clause", "card", "policy", "dimension",
                                        "fairness"], ...] = ("clause", "card")
    plans: tuple[Id, ...] = ()
    preemptible: tuple[Preemptible, ...] = ()
    clauses: Clauses = Clauses()
    extra_clauses: tuple[Id, ...] = ()  # further clause ids parties may cite


class ScenarioFile(_Strict):
    scenario: Id
    title: str
    negotiation: Id
    moral_graph: str  # path relative to the scenario file
    context: Id | None = None
    dimensions: Annotated[tuple[Dimension, ...], Field(min_length=1)]
    parties: Annotated[tuple[PartySpec, ...], Field(min_length=2)]
    policy: PolicySpec
    authorities: dict[Id, str] = {}  # attestation authority -> Ed25519 public key (hex)


class Scenario(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    path: Path
    spec: ScenarioFile
    terms: Terms
    graph: MoralGraph

    def agent_spec(self, party: str) -> AgentSpec:
        return self.party_spec(party).agent

    def envelope_changes(self) -> dict[str, dict[str, tuple[str, ...]]]:
        return {p.id: p.envelope_after for p in self.spec.parties if p.envelope_after}

    def party_spec(self, party: str) -> PartySpec:
        return next(p for p in self.spec.parties if p.id == party)


def load_scenario(path: str | Path, *, check_signatures: bool = True) -> Scenario:
    path = Path(path)
    raw, root = _read_yaml(path)
    try:
        spec = ScenarioFile.model_validate(raw)
    except ValidationError as error:
        raise UserError(_describe(path, root, error)) from None
    graph_path = (path.parent / spec.moral_graph).resolve()
    try:
        graph = load_graph(graph_path)
    except DataError as error:
        raise UserError(f"{path}: moral_graph: {error}") from None
    try:
        terms = Terms(
            negotiation=spec.negotiation,
            dimensions=spec.dimensions,
            parties=tuple(_party(p) for p in spec.parties),
            policy=_policy(spec.policy, spec.parties),
            vocabulary=_vocabulary(spec, graph),
            moral_graph=graph.content_hash,
            authorities=spec.authorities,
        )
    except ValidationError as error:
        raise UserError(_describe(path, root, error, terms=True)) from None
    forged = forged_attestations(terms) if check_signatures else []
    if forged:
        raise UserError(f"{path}: parties.{forged[0]}.attestation: the signature does not "
                        "verify under its authority's key")
    return Scenario(path=path, spec=spec, terms=terms, graph=graph)


def _party(spec: PartySpec) -> Party:
    envelope = Envelope(scope=spec.envelope)
    sealed = None if spec.sealed_envelope is None else Envelope(scope=spec.sealed_envelope)
    return Party(id=spec.id, envelope=envelope, weights=spec.weights, needs=spec.needs,
                 contribution=spec.contribution, reservation=spec.reservation,
                 cards=spec.cards, represents=spec.represents, sealed=sealed,
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
    return Policy.model_validate({**fields, "tiers": {p.id: p.tiers for p in parties}})


def _vocabulary(spec: ScenarioFile, graph: MoralGraph) -> Vocabulary:
    known = {card.id: card for card in graph.cards}
    holdings = []
    for p_index, party in enumerate(spec.parties):
        for c_index, card_id in enumerate(party.cards):
            card = known.get(card_id)
            if card is None:
                raise UserError(f"parties[{p_index}].cards[{c_index}]: {card_id!r} is not a "
                                f"card of the moral graph {spec.moral_graph}")
            holdings.append((party.id, card, card_id not in party.public_cards))
    return vocabulary_for([*spec.policy.clauses.ids(), *spec.policy.extra_clauses],
                          [d.id for d in spec.dimensions], holdings)


def _read_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such scenario file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read ({error})") from None
    try:
        return yaml.safe_load(text), yaml.compose(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise UserError(f"{path}:{where} not valid YAML ({getattr(error, 'problem', error)})"
                        ) from None


def _describe(path: Path, root: yaml.Node | None, error: ValidationError,
              terms: bool = False) -> str:
    first = error.errors()[0]
    loc = [str(p) for p in first["loc"]]
    where = ".".join(loc) or "(top level)"
    line = None if terms else _line_of(root, loc)
    at = f" line {line}," if line else ""
    scope = "scenario terms" if terms else "scenario"
    return f"{path}:{at} {scope} field {where}: {first['msg']}"


def _line_of(node: yaml.Node | None, loc: list[str]) -> int | None:
    """The 1-based line of the YAML node at a pydantic error location, as near as exists."""
    line = None if node is None else node.start_mark.line + 1
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == key), None)
        elif isinstance(node, yaml.SequenceNode) and key.isdigit() and int(key) < len(
                node.value):
            node = node.value[int(key)]
        else:
            break
        if node is None:
            break
        line = node.start_mark.line + 1
    return line
