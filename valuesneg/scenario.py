"""Scenario files: YAML that names the parties, their values and envelopes, and the policy.

A scenario compiles into the core's ``Terms`` (what the lineage binds) plus, per party, how
its records are produced (backend and strategy). The vocabulary is derived, never typed by
hand: policy clauses, contested dimensions, fairness properties, and each party's values
cards and attentional policies from the moral graph, private to their holder unless listed
as public.

This module reads and checks the YAML and points errors at their line; the format itself is
``valuesneg.scenario_file`` and the compilation into terms ``valuesneg.scenario_terms``.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from valuesneg.core import CORE, Terms
from valuesneg.io import strict_yaml
from valuesneg.io.attest import forged_attestations
from valuesneg.io.files import UserError, read_input
from valuesneg.io.inputs import SCENARIO_BYTES
from valuesneg.scenario_file import (
    MAX_DIMENSIONS,
    MAX_PARTIES,
    AgentSpec,
    AttestationSpec,
    PartySpec,
    PolicySpec,
    RetrieveSpec,
    ScenarioFile,
    WaitSpec,
    scenario_json_schema_text,
)
from valuesneg.scenario_terms import SHIPPED_GRAPHS, FieldError, compile_terms
from valuesneg.values import MoralGraph

# The file format and the terms compilation live in their own modules; their public names stay
# importable from here, where callers have always found them.
__all__ = ["MAX_DIMENSIONS", "MAX_PARTIES", "SHIPPED_GRAPHS", "AgentSpec", "AttestationSpec",
           "PartySpec", "PolicySpec", "RetrieveSpec", "Scenario", "ScenarioFile", "WaitSpec",
           "load_scenario", "scenario_json_schema_text"]


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
    try:
        terms, graph = compile_terms(path, spec)
    except FieldError as error:
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
