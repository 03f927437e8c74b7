"""The scorers' shared per-text cache: one computation per missing text, LRU eviction, safe across threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from inferenceguard.policies.builtin.text_cache import TextCache


def test_missing_texts_are_computed_once_together_and_the_least_recent_is_evicted() -> None:
    calls: list[list[str]] = []

    def compute(texts: list[str]) -> list[int]:
        calls.append(texts)
        return [len(t) for t in texts]

    cache: TextCache[int] = TextCache(size=2)
    assert cache.get_many(["aa", "b", "aa"], compute) == [2, 1, 2]
    assert cache.get_many(["aa"], compute) == [2]  # "aa" is now the most recent
    assert cache.get_many(["ccc"], compute) == [3]  # evicts "b"
    assert cache.get_many(["b", "aa"], compute) == [1, 2]
    assert calls == [["aa", "b"], ["ccc"], ["b"]]


def test_threads_sharing_a_cache_get_every_result_right() -> None:
    cache: TextCache[int] = TextCache(size=8)
    texts = [str(i) * (i % 5 + 1) for i in range(40)]

    def read(offset: int) -> list[int]:
        chosen = texts[offset : offset + 10]
        return cache.get_many(chosen, lambda missing: [len(t) for t in missing])

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(read, [i % 30 for i in range(400)]))
    for offset, got in zip([i % 30 for i in range(400)], results, strict=True):
        assert got == [len(t) for t in texts[offset : offset + 10]]
