"""LM-written benign requests: commissions, cleaning, de-duplication (the LM itself runs in the real test)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from inferenceguard.prompts.cli import near_duplicates
from inferenceguard.prompts.lm_written import SHOTS_PER_REQUEST, Commission, clean, commissions, requests
from inferenceguard.service.cli import main


def test_commissions_are_few_shot_chats_ending_with_the_request() -> None:
    asked = commissions()
    assert len(asked) == len({(c.topic, c.form) for c in asked}) >= 500
    chat = asked[0].messages()
    assert chat[0]["role"] == "system" and len(chat) == 2 + 2 * SHOTS_PER_REQUEST
    assert chat[-1] == {"role": "user", "content": f"Write {asked[0].form} about {asked[0].topic}."}
    assert chat == asked[0].messages()  # the shots are chosen by the commission, not at random
    assert {tuple(c.messages()[1].items()) for c in asked[:40]} != {tuple(chat[1].items())}  # but vary across them


def test_clean_keeps_one_plain_request() -> None:
    assert clean('1. "How do I repot a cactus?"\nThanks!') == "How do I repot a cactus?"
    assert clean("Question: Explain what a pivot table does.") == "Explain what a pivot table does."
    assert clean("Give me three tips for sleeping well.") == "Give me three tips for sleeping well."
    for bad in (
        "Hi?",
        "Here is a question about tea: what is it?",
        "How do I repot a cactus",
        "",
        "?? !! ...",
        "Stretching is a normal part of life.",  # a statement, not a request
    ):
        assert clean(bad) is None, bad


def test_requests_are_unique_new_and_named_by_their_text() -> None:
    tea, cats = Commission("tea", "a question"), Commission("cats", "a question")
    answers = [
        (tea, "How do I brew green tea?"),
        (tea, "How do I brew green tea!"),  # the same normalised text: a duplicate
        (cats, "Why do cats purr?"),
        (cats, "What is the capital of France?"),  # already in another prompt set
        (cats, "How do I cook fluffy rice on the stove?"),  # a worked example, echoed back
    ]
    records = requests(answers, known={"what is the capital of france"})
    assert [r["prompt"] for r in records] == ["How do I brew green tea?", "Why do cats purr?"]
    assert records[0]["id"].startswith("lm-benign:") and records[0]["topic"] == "tea"
    assert requests(answers, known=set())[0]["id"] == records[0]["id"]
    thinned = requests(answers, known=set(), similar=lambda texts: [0])
    assert [r["prompt"] for r in thinned] == ["Why do cats purr?", "What is the capital of France?"]


def test_near_duplicates_drop_later_rows_close_to_a_kept_one() -> None:
    vectors = np.array([[1.0, 0.0], [0.99, 0.141], [0.0, 1.0], [0.1, 0.995]], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert near_duplicates(vectors) == [1, 3]


@pytest.mark.slow
def test_the_default_lm_writes_plain_requests(tmp_path: Path) -> None:
    out = tmp_path / "benign.jsonl"
    assert main(["prompts", "write-benign", "--out", str(out), "--limit", "8", "--samples", "2"]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) >= 4  # most of the 16 answers are one plain request
    assert all(clean(r["prompt"]) == r["prompt"] and r["id"].startswith("lm-benign:") for r in records)
