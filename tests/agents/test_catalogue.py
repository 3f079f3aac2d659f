"""The attack catalogue is data and its names are stable (eval results are compared across
versions by them); the agents' modules stay small."""

from __future__ import annotations

from pathlib import Path

from valuesneg.agents.catalogue import ATTACKS
from valuesneg.agents.fields import FIELDS
from valuesneg.agents.injections import INJECTIONS

HERE = Path(__file__).resolve().parent
AGENTS = HERE.parents[1] / "valuesneg" / "agents"
MAX_LINES = 400


def test_the_attack_names_are_those_pinned_in_order() -> None:
    """The names, in catalogue order, as they were when the catalogue became data (128:
    110 attacks on the rules, 18 injection channels)."""
    pinned = (HERE / "attack_names.txt").read_text().splitlines()
    assert [a.name for a in (*ATTACKS, *INJECTIONS)] == pinned
    assert len(pinned) == len(set(pinned)) == 128


def test_each_place_in_the_table_bends_the_kind_it_is_named_after() -> None:
    assert {key: f.kind for key, f in FIELDS.items() if key.split(".")[0] != f.kind} == {}


def test_a_payload_attack_puts_its_payload_where_its_field_says() -> None:
    by_name = {a.name: a for a in (*ATTACKS, *INJECTIONS)}
    free_text = [a for a in ATTACKS if a.name.startswith("free-text-")]
    assert len(free_text) == 18 and all(a.expect is not None for a in free_text)
    assert by_name["wrong-negotiation"].bend({"negotiation": "neg:x"}, None) == {  # type: ignore[arg-type]
        "negotiation": "neg:elsewhere"}


def test_no_module_of_the_agents_is_over_400_lines() -> None:
    sizes = {path.name: len(path.read_text().splitlines())
             for path in sorted(AGENTS.rglob("*.py"))}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}
