"""Terms are refused up front when the core could not honour them later."""

from __future__ import annotations

import pickle

import pytest
from builders import make_terms
from pydantic import ValidationError

from valuesneg.core import Ledger, Terms
from valuesneg.core.view import view_for


def rebuilt(terms: Terms, **changes: object) -> Terms:
    return Terms.model_validate({**terms.model_dump(), **changes})


def test_exact_division_past_the_limit_is_refused_at_genesis() -> None:
    terms = make_terms(parties=("alice", "bob", "carol"))
    dims = [d.model_dump() for d in terms.dimensions]
    for d in dims:
        d["units"] = 1000 if d["id"] != "dim:spot" else 1
    with pytest.raises(ValidationError, match=r"searching \d+ allocations"):
        rebuilt(terms, dimensions=dims)


def test_the_same_space_is_fine_with_a_per_dimension_rule() -> None:
    terms = make_terms(parties=("alice", "bob", "carol"),
                       terminal={"dim:spot": "tier_break", "dim:water": "equal_split",
                                 "dim:firewood": "priority"})
    policy = terms.policy.model_copy(update={"fairness": ("fair:equal_split",)})
    dims = [{**d.model_dump(), "units": 1000 if d.id != "dim:spot" else 1}
            for d in terms.dimensions]
    assert rebuilt(terms, dimensions=dims, policy=policy.model_dump()).contested


def test_unknown_clause_in_policy_is_refused() -> None:
    terms = make_terms()
    policy = terms.policy.model_dump()
    policy["clauses"]["timeout"] = "clause:no-such-clause"
    with pytest.raises(ValidationError, match="clause:no-such-clause"):
        rebuilt(terms, policy=policy)


def test_terms_without_any_overlap_open_no_negotiation() -> None:
    with pytest.raises(ValidationError, match="no two envelopes overlap"):
        make_terms(scopes={"alice": {"dim:water": ("a:1",)}, "bob": {"dim:water": ("b:1",)}})


def test_a_copy_with_a_changed_field_does_not_keep_the_cached_hash() -> None:
    terms = make_terms()
    policy, vocabulary = terms.policy, terms.vocabulary
    cached = (policy.version, vocabulary.version, terms.party_ids)  # fill the caches
    assert all(cached)
    capped = policy.model_copy(update={"round_cap": policy.round_cap + 1})
    assert capped.version != policy.version
    assert capped.version == type(policy).model_validate(capped.model_dump()).version
    renamed = terms.model_copy(update={"parties": terms.parties[:1]})
    assert renamed.party_ids == terms.party_ids[:1]
    fewer = vocabulary.model_copy(update={"entries": vocabulary.entries[:-1]})
    assert fewer.version != vocabulary.version


def test_memos_shared_by_negotiations_stay_out_of_copies_and_pickles() -> None:
    terms = make_terms()
    ledger = Ledger(terms)
    view_for(ledger.negotiation, "alice")  # fills the terms' view memo
    assert terms.cache.citable and terms.cache.statics and terms.canonical
    assert "cache" not in terms.model_copy().__dict__
    restored = pickle.loads(pickle.dumps(terms))
    assert restored == terms
    assert "cache" not in restored.__dict__ and "canonical" not in restored.__dict__
    assert restored.canonical == terms.canonical
