"""Which requests are nearly the same (bottom-k MinHash over word shingles, in memory)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from haven.intake import similarity
from haven.intake.similarity import Item, clusters, sketch

STORY = ("They came to my flat last night and asked my neighbours about me. My brother was "
         "taken to the station. I need to leave the city with my partner as soon as possible.")
OTHER = ("I live in a village near the border. My family found my messages and threatens me. "
         "I have a passport but no money for the ticket, please advise what to do next.")


def test_identical_and_renumbered_texts_are_the_same() -> None:
    assert similarity.similarity(sketch(STORY), sketch(STORY)) == 1.0
    numbered = STORY.replace("last night", "last night 4711")
    assert similarity.similarity(sketch(STORY), sketch(numbered.upper())) >= 0.9


def test_a_template_with_a_word_changed_is_alike_and_another_story_is_not() -> None:
    changed = STORY.replace("brother", "cousin")
    assert similarity.similarity(sketch(STORY), sketch(changed)) >= similarity.THRESHOLD
    assert similarity.similarity(sketch(STORY), sketch(OTHER)) < 0.1


def test_yo_and_ye_and_case_are_one() -> None:
    assert sketch("Ёлка в лесу стоит, зелёная") == sketch("елка В лесу стоит, зеленая")


def test_clusters_group_alike_texts_and_one_lineage_and_leave_the_rest() -> None:
    items = [Item(key=n, sketch=sketch(STORY + f" copy {n}"), lineage=None) for n in range(5)]
    items.append(Item(key="other", sketch=sketch(OTHER), lineage=None))
    items.append(Item(key="alone", sketch=sketch("Completely different words here."),
                      lineage=None))
    items.append(Item(key="a", sketch=sketch("first text of a session"), lineage=b"L"))
    items.append(Item(key="b", sketch=sketch("second, unrelated one"), lineage=b"L"))
    found = sorted(clusters(items), key=len)
    assert found == [["a", "b"], [0, 1, 2, 3, 4]]


def test_a_flood_of_one_text_costs_one_comparison_per_copy(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    calls = []
    real = similarity.similarity

    def counted(a: similarity.Sketch, b: similarity.Sketch) -> float:
        calls.append(1)
        return real(a, b)

    monkeypatch.setattr(similarity, "similarity", counted)
    one = sketch(STORY)
    found = clusters([Item(key=n, sketch=one, lineage=None) for n in range(3000)])
    assert [len(c) for c in found] == [3000]
    assert len(calls) < 2 * 3000


@given(st.lists(st.text(min_size=1, max_size=60), min_size=1, max_size=30),
       st.randoms(use_true_random=False))
def test_clusters_partition_their_items(texts: list[str], rand: random.Random) -> None:
    items = [Item(key=i, sketch=sketch(t), lineage=rand.choice([None, b"x", b"y"]))
             for i, t in enumerate(texts)]
    found = clusters(items)
    flat = [k for c in found for k in c]
    assert len(flat) == len(set(flat))
    assert all(len(c) > 1 for c in found)
    for lineage in (b"x", b"y"):
        same = {i.key for i in items if i.lineage == lineage}
        if len(same) > 1:
            assert any(same <= set(c) for c in found)
