from inferenceguard.service.engine.commit import CommitTracker, common_prefix_length


def test_common_prefix_length() -> None:
    assert common_prefix_length([[1, 2, 3], [1, 2, 4], [1, 2]]) == 2
    assert common_prefix_length([[5], [6]]) == 0
    assert common_prefix_length([[1, 2]]) == 2


def test_commits_only_what_every_beam_shares() -> None:
    tracker = CommitTracker(lambda ids: "".join(chr(96 + i) for i in ids))
    first = tracker.advance([[1, 2, 3], [1, 2, 5]])
    assert first is not None and first.text == "ab" and first.token_ids == (1, 2)
    assert tracker.advance([[1, 2, 3, 4], [1, 2, 5]]) is None
    last, text = tracker.finish([1, 2, 5, 6])
    assert last is not None and last.text == "ef" and text == "abef"


def test_holds_back_a_cut_multibyte_character() -> None:
    table = {1: "a", 2: "\ufffd", 3: "é"}

    def decode(ids: list[int]) -> str:  # 2 then 3 stand for the two bytes of one character
        text = "".join(table[i] for i in ids)
        return text.replace("\ufffdé", "é")

    tracker = CommitTracker(decode)
    chunk = tracker.advance([[1, 2]])
    assert chunk is not None and chunk.text == "a" and chunk.token_ids == (1,)
    chunk = tracker.advance([[1, 2, 3]])
    assert chunk is not None and chunk.text == "é" and chunk.token_ids == (2, 3)


def test_finish_appends_a_closing_message() -> None:
    tracker = CommitTracker(lambda ids: "x" * len(ids))
    tracker.advance([[1, 1]])
    last, text = tracker.finish([1, 1], " [stopped]")
    assert last is not None and last.text == " [stopped]" and last.token_ids == ()
    assert text == "xx [stopped]"
