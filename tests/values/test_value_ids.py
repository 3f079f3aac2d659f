from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from valuesneg.values.ids import (
    ID_MAX_LENGTH,
    allocate_slugs,
    card_id,
    context_id,
    id_problem,
    is_valid_id,
    policy_id,
    slugify,
)


def test_slugify_folds_accents_and_punctuation() -> None:
    assert slugify("When making decisions") == "when-making-decisions"
    assert slugify("  Café — crème brûlée!! ") == "cafe-creme-brulee"
    assert slugify("When sharing scarce supplies!") == "when-sharing-scarce-supplies"
    assert slugify("Ünïcode ONLY 42") == "unicode-only-42"


def test_slugify_empty_and_symbol_only_text_falls_back() -> None:
    assert slugify("") == "x"
    assert slugify("!!! ???") == "x"
    assert slugify("日本語") == "x"


def test_slugify_cuts_long_text_at_a_word_boundary() -> None:
    text = "When a very long context description goes on and on beyond any sensible length"
    slug = slugify(text)
    assert len(slug) <= 48
    assert text.lower().replace(" ", "-").startswith(slug)
    assert not slug.endswith("-")


@given(st.text(max_size=200))
def test_any_text_gives_valid_ids_of_every_kind(text: str) -> None:
    slug = slugify(text)
    assert is_valid_id(card_id(slug))
    assert is_valid_id(context_id(slug))
    assert is_valid_id(policy_id(card_id(slug), 99))


@given(st.lists(st.text(max_size=30), max_size=12), st.randoms())
def test_allocate_slugs_is_injective_and_order_independent(texts: list[str],
                                                           rnd: random.Random) -> None:
    mapping = allocate_slugs(texts)
    assert set(mapping) == set(texts)
    assert len(set(mapping.values())) == len(mapping)
    shuffled = list(texts)
    rnd.shuffle(shuffled)
    assert allocate_slugs(shuffled) == mapping


def test_allocate_slugs_resolves_collisions_deterministically() -> None:
    mapping = allocate_slugs(["When x!", "When x", "When x 2"])
    # sorted code-point order: "When x" < "When x 2" < "When x!"
    assert mapping == {"When x": "when-x", "When x 2": "when-x-2", "When x!": "when-x-3"}


def test_id_grammar() -> None:
    for good in ("card:equal-shares", "ap:equal-shares.1", "ctx:a", "graph:x_y.z-1"):
        assert is_valid_id(good) and id_problem(good) is None
    for bad in ("Card:x", "card:", "card::x", "card:x-", "1card:x", "card:x y", "card:Ñ",
                "card:\u0430", "card:x\n", "", "card:x.-y"):
        assert not is_valid_id(bad), bad
        assert id_problem(bad) is not None
    long_id = "card:" + "a" * (ID_MAX_LENGTH - 4)
    assert len(long_id) == ID_MAX_LENGTH + 1
    assert not is_valid_id(long_id)
    assert "maximum is 64" in (id_problem(long_id) or "")
    assert is_valid_id(long_id[:-1])


def test_policy_id_follows_card_slug() -> None:
    assert policy_id("card:equal-shares", 3) == "ap:equal-shares.3"
