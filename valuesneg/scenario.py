"""Scenario files: YAML that names the parties, their values and envelopes, and the policy.

A scenario compiles into the core's ``Terms`` (what the lineage binds) plus, per party, how
its records are produced (backend and strategy). The vocabulary is derived, never typed by
hand: policy clauses, contested dimensions, fairness properties, and each party's values
cards and attentional policies from the moral graph, private to their holder unless listed
as public.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from valuesneg.core import (
    CORE,
    Clauses,
    DependencyEdge,
    Dimension,
    Envelope,
    Id,
    Party,
    Policy,
    Preemptible,
    Retrieval,
    Terms,
    Vocabulary,
)
from valuesneg.core.confidentiality import Attestation, AttestedWait
from valuesneg.io import strict_yaml
from valuesneg.io.attest import forged_attestations
from valuesneg.io.files import UserError, read_input
from valuesneg.io.inputs import SCENARIO_BYTES
from valuesneg.values import DataError, MoralGraph, load_graph
from valuesneg.values.vocab import FAIRNESS_PROPERTIES, vocabulary_for

# Far above any negotiation the core is meant for, and low enough that a hostile file (10,000
# parties once took 32 s to refuse) is refused before the terms are built.
MAX_PARTIES = 64
MAX_DIMENSIONS = 64
# Utility points stay far from overflow: with at most 1,000 units a dimension, a utility is at
# most 6.4e10 and a Nash product of a few parties finite (1e200 in weights once overflowed to
# infinity mid-run, after the lineage was begun).
Points = Annotated[float, Field(ge=-1e6, le=1e6)]


class _Strict(BaseModel):
    # Attribute docstrings become the JSON Schema's descriptions (scenario.schema.json).
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True,
                              allow_inf_nan=False)


class AgentSpec(_Strict):
    """Who speaks for a party, and how: the backend, the scripted strategy, the model and its
    settings, the guard."""

    backend: Literal["scripted", "llm", "human"] = "llm"
    """Who speaks for the party: a scripted strategy, the LLM of `--backend`, or a person at
    the terminal (or as JSON lines on stdin)."""
    strategy: str = "linear"
    """The scripted strategy (boulware, conceder, linear, tit-for-tat, values), one an
    installed plugin registers (entry point group `valuesneg.strategies`), or any agent class
    as `package.module:Class`; also what an LLM party plays when run with `--backend
    scripted`."""
    deliberates: bool = False
    """Defers once before answering its first proposal."""
    model: str | None = None
    """The model an LLM party speaks through: `local` for the embedded model, or a model
    name at `base_url` (an OpenAI-compatible endpoint). Unset: the run's `--backend` and
    `--model`."""
    base_url: str | None = None
    """The OpenAI-compatible endpoint of `model` (unset: the run's `--base-url`)."""
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    """Sampling temperature of this party's model (unset: 0, greedy)."""
    n_ctx: Annotated[int, Field(ge=512, le=32768)] | None = None
    """Context size of this party's embedded server; a party with its own gets its own
    server (unset: the shared one, 8192)."""
    schema_reasks: Annotated[int, Field(ge=0, le=100)] = 2
    """Re-asks within one decision after a reply the party's model got wrong (not JSON that
    fits the schema, or no option of the menu). Separate from the policy's `reask_budget`
    (re-asks after the core refuses a record), so one turn costs at most
    `(reask_budget + 1) * (schema_reasks + 1)` model calls."""
    guard: Literal["sound", "none"] = "sound"
    """`sound`: the model picks one of a menu of moves that are sound for the party (never
    an accept below its no-deal value) and cites ids that fit it; `none`: free units and
    any citable id, the raw model (for studying models)."""


class AttestationSpec(_Strict):
    """An authority's signature over the redacted and sealed envelope versions."""

    authority: Id
    """An authority named in the top-level `authorities`."""
    covers: tuple[Id, ...]
    """The dimensions whose redaction the authority vouches for."""
    signature: str
    """Ed25519 signature (hex) over the redacted and sealed envelope versions."""


class WaitSpec(_Strict):
    """An authority's word that one negotiation waits on another."""

    waiter: Id
    """The negotiation that waits."""
    waits_on: Id
    """The negotiation it waits on."""
    authority: Id
    """An authority named in the top-level `authorities`."""
    signature: str
    """Ed25519 signature (hex) over `{"authority", "wait": [waiter, waits_on]}`."""


class RetrieveSpec(_Strict):
    """Cards chosen by retrieval rather than listed: the `retrieve` cards of the graph most
    relevant to the scenario's context and to the dimensions the party divides."""

    retrieve: Annotated[int, Field(ge=1, le=64)]
    """How many cards the party holds."""
    from_: str = Field(alias="from")
    """The moral graph to retrieve from, named as `moral_graph` is; it must be the
    scenario's moral graph (the cards are cited through its vocabulary)."""


class PartySpec(_Strict):
    """One party of a scenario: its cards, envelope, utilities, tiers, agent, and what it knows
    of other negotiations."""

    id: Id
    """The party id, as records name it."""
    cards: tuple[Id, ...] | RetrieveSpec = ()
    """Values cards of the moral graph this party holds, citable by it alone until revealed;
    or `{retrieve: K, from: GRAPH}`: the K cards of the graph most relevant to the
    negotiation, chosen by the card store (parties in file order; a card listed by any party,
    or retrieved for an earlier one, is never retrieved again: a card has one holder)."""
    public_cards: tuple[Id, ...] = ()
    """Those of `cards` every party may cite from the start."""
    envelope: dict[Id, tuple[Id, ...]]
    """Per dimension, the scope items the party can act on; overlaps open the negotiation."""
    weights: dict[Id, Points] = {}
    """Utility of one unit of each dimension to this party."""
    needs: dict[Id, Annotated[int, Field(ge=0)]] = {}
    """Units of each dimension the party declares it needs (read by needs coverage)."""
    contribution: Annotated[Points, Field(ge=0)] = 0.0
    """What the party brought (read by proportionality)."""
    reservation: Points = 0.0
    """The party's utility if nothing is agreed."""
    tiers: dict[Id, Id] | None = None
    """The party's tier on each dimension of its envelope, from `policy.tier_order`; may be
    left out when that order has a single tier (the party holds it on every dimension)."""
    agent: AgentSpec = AgentSpec()
    represents: tuple[Id, ...] = ()
    """Subordinate parties this team party negotiates for."""
    depends_on: tuple[Id, ...] = ()
    """Negotiations this party's requests wait on."""
    knows: tuple[DependencyEdge, ...] = ()
    """Wait-for edges between other negotiations that this party knows of."""
    sealed_envelope: dict[Id, tuple[Id, ...]] | None = None
    """The un-redacted envelope behind a redacted `envelope`, kept for reviewers."""
    envelope_after: dict[Id, tuple[Id, ...]] | None = None
    """The envelope the party moves to after using its grants (ends them)."""
    renews: bool = False
    """Once grants it held have ended with an envelope change, it asks to renew each (the
    grantors answer), and uses what it gets again."""
    attestation: AttestationSpec | None = None


class PolicySpec(_Strict):
    """The policy of a scenario: caps, tiers, terminal rules, the multiparty rule, what is
    measured and which clauses are cited."""

    id: Id
    round_cap: int
    """Rounds of offers before the terminal rules decide."""
    timeout_ticks: int = 10
    """Logical ticks of silence after which a party counts as refusing."""
    grant_duration_cap: int
    """Longest grant, in ticks."""
    reask_budget: int = 2
    """Re-asks after a refused record before the policy's default applies."""
    tier_order: tuple[Id, ...]
    """Tiers, lowest first."""
    terminal: dict[Id, Literal["tier_break", "nash", "equal_split", "priority"]]
    """Per dimension, what decides at the round cap: a tier-break (indivisible scope) or a
    named fallback."""
    multiparty_rule: Literal["unanimity", "majority"] = "unanimity"
    """How three or more parties' responses combine."""
    fairness: tuple[Id, ...] = FAIRNESS_PROPERTIES
    """Fairness properties every outcome is measured on."""
    reservation_requires: tuple[Literal["clause", "card", "policy", "dimension",
                                        "fairness"], ...] = ("clause", "card")
    plans: tuple[Id, ...] = ()
    """Plans a reservation may name."""
    preemptible: tuple[Preemptible, ...] = ()
    """(dimension, tier) pairs whose grants a higher tier may pre-empt."""
    clauses: Clauses = Clauses()
    extra_clauses: tuple[Id, ...] = ()
    """Further clause ids parties may cite."""


class ScenarioFile(_Strict):
    """A scenario file as written: the format `Write your own scenario` documents field by
    field."""

    scenario: Id
    title: str
    negotiation: Id
    """The negotiation id every record carries."""
    moral_graph: str
    """A shipped moral graph by name (`scarce_supplies`, `compute_and_tools`,
    `shared_authority`), or the path of a moral graph file (JSON), relative to the scenario
    file's folder."""
    context: Id | None = None
    """A context of the moral graph this negotiation happens in."""
    dimensions: Annotated[tuple[Dimension, ...], Field(min_length=1, max_length=MAX_DIMENSIONS)]
    parties: Annotated[tuple[PartySpec, ...], Field(min_length=2, max_length=MAX_PARTIES)]
    policy: PolicySpec
    authorities: dict[Id, str] = {}
    """Attestation authorities and their Ed25519 public keys (hex)."""
    signing_keys: dict[Id, Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]] = {}
    """Ed25519 public keys (hex) some signers of the lineage must use: `core` (the run) or
    a party id. Each private key is passed with `run --keys DIR` as `DIR/ID.pem`; signers
    not named here get a key generated for the run."""
    waits: tuple[WaitSpec, ...] = ()
    """Waits between other negotiations that an authority vouches for (Ed25519 over
    `{"authority", "wait": [waiter, waits_on]}`): the only ones a shown cycle may use."""


class Scenario(BaseModel):
    """A loaded scenario: the file it came from, what it says (``spec``), the core's ``terms``
    it compiles into, and its moral graph."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    path: Path
    spec: ScenarioFile
    terms: Terms
    graph: MoralGraph

    def agent_spec(self, party: str) -> AgentSpec:
        return self.party_spec(party).agent

    def envelope_changes(self) -> dict[str, dict[str, tuple[str, ...]]]:
        return {p.id: p.envelope_after for p in self.spec.parties if p.envelope_after}

    def renewals(self) -> tuple[str, ...]:
        return tuple(p.id for p in self.spec.parties if p.renews)

    def party_spec(self, party: str) -> PartySpec:
        return next(p for p in self.spec.parties if p.id == party)


def load_scenario(path: str | Path, *, check_signatures: bool = True) -> Scenario:
    """Read, check and compile a scenario file; bad input is one ``UserError`` naming the file,
    the line and the field. ``check_signatures`` checks its attestations (off for a file whose
    signatures are being made)."""
    path = Path(path)
    raw, root = _read_yaml(path)
    try:
        # Strict, over the JSON the file loaded as: a bool is not an int (``round_cap: true``
        # once ran with a cap of 1) and a string is not a number.
        spec = ScenarioFile.model_validate_json(json.dumps(raw), strict=True)
    except ValidationError as error:
        raise UserError(_describe(path, root, error)) from None
    graph = _load_graph(path, root, spec.moral_graph)
    if spec.context is not None and spec.context not in {c.id for c in graph.contexts}:
        raise UserError(_at(path, root, ["context"], f"{spec.context!r} is not a context of "
                            f"the moral graph {spec.moral_graph}"))
    retrievals = _retrievals(path, root, spec, graph)
    holdings = _holdings(spec, retrievals)
    try:
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
    except _FieldError as error:
        raise UserError(_at(path, root, error.loc, error.message)) from None
    except ValidationError as error:
        raise UserError(_describe(path, root, error, terms=True)) from None
    unknown = sorted(set(spec.signing_keys) - {CORE, *terms.party_ids})
    if unknown:
        raise UserError(_at(path, root, ["signing_keys", unknown[0]],
                            f"{unknown[0]!r} is neither 'core' nor a party"))
    forged = forged_attestations(terms) if check_signatures else []
    if forged:
        where = forged[0] if forged[0].startswith("waits[") else \
            f"parties.{forged[0]}.attestation"
        raise UserError(f"{path}: {where}: the signature does not verify under its "
                        "authority's key")
    return Scenario(path=path, spec=spec, terms=terms, graph=graph)


# The graphs that ship with the package (valuesneg/moral_graphs links to moral_graphs/).
SHIPPED_GRAPHS = Path(__file__).resolve().parent / "moral_graphs"


def _load_graph(path: Path, root: yaml.Node, name: str) -> MoralGraph:
    """A name without a folder or ``.json`` is a shipped graph, so a scenario copied anywhere
    still finds it; a path is relative to the scenario's folder, and an error says so."""
    shipped = sorted(p.stem for p in SHIPPED_GRAPHS.glob("*.json"))
    if "/" not in name and not name.endswith(".json"):
        if name not in shipped:
            raise UserError(_at(path, root, ["moral_graph"], f"{name!r} is no shipped moral "
                                f"graph (shipped: {', '.join(shipped)}); a file's path "
                                "ends in .json"))
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


def _retrievals(path: Path, root: yaml.Node, spec: ScenarioFile,
                graph: MoralGraph) -> tuple[Retrieval, ...]:
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
        if _load_graph(path, root, party.cards.from_).content_hash != graph.content_hash:
            raise UserError(_at(path, root, [*at, "from"], f"{party.cards.from_!r} is not "
                                f"the scenario's moral graph {spec.moral_graph!r}: cards are "
                                "cited through that graph's vocabulary"))
        query = party_query(situation, party.weights, party.envelope)
        try:
            found = search(graph, query, party.cards.retrieve, exclude=taken)
        except RetrievalError as error:
            raise UserError(_at(path, root, at, f"cannot retrieve cards: {error}")) from None
        if len(found) < party.cards.retrieve:
            raise UserError(_at(path, root, [*at, "retrieve"], f"asks for "
                                f"{party.cards.retrieve} cards, but only {len(found)} of "
                                f"the graph's {len(graph.cards)} are not held by another "
                                "party"))
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
        raise _FieldError(["policy", *(str(p) for p in first["loc"])], first["msg"]) from None


def _tiers(spec: PolicySpec, party: PartySpec, index: int) -> dict[str, str]:
    if party.tiers is not None:
        return party.tiers
    if len(spec.tier_order) != 1:
        raise _FieldError(["parties", str(index), "tiers"],
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
                raise _FieldError(at, f"{card_id!r} is not a card of the moral graph "
                                      f"{spec.moral_graph}")
            if holders.get(card_id) == party.id:
                raise _FieldError(at, f"{card_id!r} is listed twice")
            if card_id in holders:
                raise _FieldError(at, f"{card_id!r} is already held by {holders[card_id]!r}: "
                                  "a card has one holder, who alone may cite it until it is "
                                  "revealed (list it in that holder's public_cards to let "
                                  "everyone cite it, or give this party a card of its own)")
            holders[card_id] = party.id
            holdings.append((party.id, card, card_id not in party.public_cards))
    return vocabulary_for([*spec.policy.clauses.ids(), *spec.policy.extra_clauses],
                          [d.id for d in spec.dimensions], holdings)


def _read_yaml(path: Path) -> tuple[Any, yaml.Node]:
    try:
        raw, root = strict_yaml.load(read_input(path, SCENARIO_BYTES))
    except strict_yaml.YamlInputError as error:
        where = f" line {error.line}:" if error.line else ""
        raise UserError(f"{path}:{where} {error.message}") from None
    if root is None:
        raise UserError(f"{path}: empty scenario file")
    if not isinstance(raw, dict):
        raise UserError(f"{path}: line {root.start_mark.line + 1}: a scenario is a mapping of "
                        f"fields (scenario:, parties:, policy:, ...), not "
                        f"{'a list' if isinstance(raw, list) else 'a single value'}")
    return raw, root


class _FieldError(Exception):
    """A scenario field found wrong after the schema passed (e.g. an unknown card)."""

    def __init__(self, loc: list[str], message: str) -> None:
        super().__init__(message)
        self.loc, self.message = loc, message


# A terms-level check names its own field first: "parties[0].weights: ..." or "policy: ...".
_TERMS_FIELD = re.compile(r"^(?:Value error, )?([A-Za-z_][\w.\[\]:-]*): (.*)$", re.DOTALL)


def _describe(path: Path, root: yaml.Node, error: ValidationError,
              terms: bool = False) -> str:
    errors = error.errors()
    # A misspelt key also makes the real one "missing": name the cause, not the symptom.
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc, message = [str(p) for p in first["loc"]], first["msg"]
    if first["type"] == "extra_forbidden":
        message = _unknown_key(loc)
    if terms and not loc and (named := _TERMS_FIELD.match(message)):
        loc = re.findall(r"[^.\[\]]+", named.group(1))
        message = named.group(2)
    if terms and loc and loc[0] not in ScenarioFile.model_fields:
        loc = []  # a Terms field with no counterpart in the file: no line to point at
    return _at(path, root, loc, message, "scenario terms" if terms else "scenario")


def _at(path: Path, root: yaml.Node, loc: list[str], message: str,
        scope: str = "scenario") -> str:
    """``path: line N, scope field a.b.c: message``."""
    line = _line_of(root, loc) if loc else None
    at = f" line {line}," if line else ""
    return f"{path}:{at} {scope} field {'.'.join(loc) or '(top level)'}: {message}"


def _unknown_key(loc: list[str]) -> str:
    known = _keys_at(loc[:-1])
    close = difflib.get_close_matches(loc[-1], known, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else f"expected one of: {', '.join(known)}"
    return f"unknown key {loc[-1]!r} ({hint})"


def _keys_at(loc: list[str]) -> list[str]:
    """The keys the scenario schema allows in the mapping at a pydantic error location."""
    schema = ScenarioFile.model_json_schema(mode="validation")
    node: dict[str, Any] = schema
    for key in [*loc, None]:
        while "$ref" in node or "anyOf" in node:
            node = (schema["$defs"][node["$ref"].rsplit("/", 1)[-1]] if "$ref" in node else
                    next((n for n in node["anyOf"] if n.get("type") != "null"), {}))
        if key is None:
            break
        node = node.get("properties", {}).get(key) or (
            node.get("items", {}) if key.isdigit() else {})
    return list(node.get("properties", {}))


def scenario_json_schema_text() -> str:
    """The exact text of ``moral_graphs/schema/scenario.schema.json``."""
    schema = ScenarioFile.model_json_schema(mode="validation")
    document = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema,
                "title": "valuesneg scenario file (YAML)"}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


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
