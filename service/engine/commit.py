"""Streaming without retraction: a token is committed once every beam that can still win contains it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from inferenceguard.service.engine.types import Chunk

_INCOMPLETE = "\ufffd"  # what a byte-level tokenizer decodes from a cut multi-byte character


def common_prefix_length(sequences: Sequence[Sequence[int]]) -> int:
    if not sequences:
        return 0
    length = min(len(s) for s in sequences)
    first = sequences[0]
    for position in range(length):
        token = first[position]
        if any(s[position] != token for s in sequences):
            return position
    return length


class CommitTracker:
    """Turns the beams' token ids into chunks whose concatenation is the final text."""

    def __init__(self, decode: Callable[[list[int]], str]) -> None:
        self._decode = decode
        self.token_ids: list[int] = []
        self.text = ""

    def advance(self, sequences: Sequence[Sequence[int]]) -> Chunk | None:
        """The newly final part of the beams' common prefix, if any."""
        prefix = list(sequences[0][: common_prefix_length(sequences)]) if sequences else []
        # Hold back tokens that end inside a multi-byte character; they are released once it is complete.
        while len(prefix) > len(self.token_ids):
            text = self._decode(prefix)
            if not text.endswith(_INCOMPLETE) and text.startswith(self.text):
                return self._emit(prefix, text)
            prefix.pop()
        return None

    def finish(self, final_ids: Sequence[int], suffix: str = "") -> tuple[Chunk | None, str]:
        """The last chunk and the final text; `final_ids` must extend what was committed."""
        if list(final_ids[: len(self.token_ids)]) != self.token_ids:
            raise AssertionError("the final answer does not extend the committed prefix")
        text = self._decode(list(final_ids))
        if not text.startswith(self.text):  # pragma: no cover - tokenizers whose decoding is not prefix-stable
            text = self.text + self._decode(list(final_ids[len(self.token_ids) :]))
        chunk = self._emit(list(final_ids), text + suffix)
        return chunk, self.text

    def _emit(self, ids: list[int], text: str) -> Chunk | None:
        new_ids, delta = tuple(ids[len(self.token_ids) :]), text[len(self.text) :]
        self.token_ids, self.text = list(ids), text
        return Chunk(delta, new_ids) if (new_ids or delta) else None
