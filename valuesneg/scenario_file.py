"""The scenario file format: what a scenario YAML may say, field by field, as frozen pydantic
models, and the JSON Schema generated from them (``moral_graphs/schema/scenario.schema.json``).
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from valuesneg.core import Clauses, DependencyEdge, Dimension, Id, Preemptible
from valuesneg.values.vocab import FAIRNESS_PROPERTIES

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



def scenario_json_schema_text() -> str:
    """The exact text of ``moral_graphs/schema/scenario.schema.json``."""
    schema = ScenarioFile.model_json_schema(mode="validation")
    document = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema,
                "title": "valuesneg scenario file (YAML)"}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
