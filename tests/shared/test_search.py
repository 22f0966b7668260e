"""The n-gram tokens behind q= (shared.search): what a row holds and what a query asks for.
Every query's tokens are among the tokens of any text containing it — the index never loses a match."""

from __future__ import annotations

import pytest

from shared import search


def test_a_row_holds_every_character_and_pair_folded():
    assert search.grams("江门Ａb") == {"江", "门", "a", "b", "江门", "门a", "ab"}
    assert search.row_tokens(["机械", None, "", "91"]) == {"机", "械", "机械", "9", "1", "91"}  # no pair spans fields


@pytest.mark.parametrize(
    ("q", "tokens"),
    [
        ("新", ["新"]),
        ("江门", ["江门"]),
        ("江门市", ["江门", "门市"]),
        ("江江江", ["江江"]),  # distinct
        ("ＡＢ", ["ab"]),  # 全角 folded
        ("9144\u200b07", ["14", "44", "40", "07", "91"]),  # a zero-width space is not a character
        ("", []),
    ],
)
def test_a_query_asks_for_its_distinct_bigrams_or_its_one_character(q, tokens):
    assert sorted(search.query_tokens(q)) == sorted(tokens)


@pytest.mark.parametrize("text", ["江门市新会区机械厂", "91440703MA4UXXXX1L", "=鹤山100%安全_服务中心", "ABC有限公司"])
def test_every_substring_query_is_served(text):
    held = search.row_tokens([text])
    for i in range(len(text)):
        for j in range(i + 1, len(text) + 1):
            for q in (text[i:j], text[i:j].lower(), text[i:j].upper()):
                assert set(search.query_tokens(q)) <= held, q


def test_the_like_compares_the_query_as_names_are_stored():
    assert search.query_text("ＪＭ－２０２６") == "JM-2026"
    assert search.query_text("100%_") == "100%_"
