"""commit_lag_blocks (L) on the tiny model: text L blocks behind the frontier is committed from the leading beam,
so the first chunk comes early; chunks still concatenate to the final answer, and unset changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from inferenceguard.service.engine import BlockTrace, Chunk, InvalidOptionError, LanguageModel, SearchOptions
from tests.engine_helpers import PROMPT, make_engine, run

SEARCH: dict[str, Any] = {"num_candidates": 8, "num_beams": 4, "block_tokens": 4, "max_new_tokens": 24}


def committed_after_each_block(lm: LanguageModel, **options: Any) -> list[int]:
    """Tokens committed so far, read at each block's trace."""
    committed: list[int] = []
    after: list[int] = []
    engine = make_engine(lm)
    for event in engine.generate(PROMPT, SearchOptions(seed=3, **SEARCH, **options)):
        if isinstance(event, Chunk):
            committed.extend(event.token_ids)
        elif isinstance(event, BlockTrace):
            after.append(len(committed))
    return after


@pytest.mark.parametrize("strategy", ["inferenceguard", "beam"])
@pytest.mark.parametrize("lag", [0, 1, 2])
def test_text_lag_blocks_behind_the_frontier_is_committed(lm: LanguageModel, strategy: str, lag: int) -> None:
    # the trace of block b comes before its chunk, so at block b's trace blocks 0..b-1-lag are committed
    after = committed_after_each_block(lm, strategy=strategy, commit_lag_blocks=lag)
    for block, tokens in enumerate(after):
        assert tokens >= min(max(block - lag, 0) * SEARCH["block_tokens"], 24), (block, after)


@pytest.mark.parametrize("lag", [0, 1, 2, None])
def test_chunks_still_concatenate_to_the_answer(lm: LanguageModel, lag: int | None) -> None:
    out = run(make_engine(lm), **SEARCH, commit_lag_blocks=lag)
    assert out.result is not None and out.streamed_text == out.result.text
    assert tuple(out.streamed_ids) == out.result.token_ids


def test_without_a_lag_the_first_chunk_waits_for_agreement(lm: LanguageModel) -> None:
    never, early = committed_after_each_block(lm), committed_after_each_block(lm, commit_lag_blocks=0)
    assert sum(early) > sum(never)  # on this prompt the beams disagree for a while; L = 0 commits at once
    default = run(make_engine(lm), **SEARCH).result
    unset = run(make_engine(lm), **SEARCH, commit_lag_blocks=None).result
    assert default is not None and unset is not None and default.token_ids == unset.token_ids


def test_a_negative_lag_is_refused() -> None:
    with pytest.raises(InvalidOptionError, match="commit_lag_blocks: must be >= 0"):
        SearchOptions(commit_lag_blocks=-1)
