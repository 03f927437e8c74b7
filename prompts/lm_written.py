"""Benign requests written by the served LM itself, for the benign side of cost-model training.

The project's hand-written benign prompts number in the low hundreds; a cost model trained on so few learns
their topics, not what a benign request is. Here the LM is asked, topic by topic and in several forms, to write
one request a user might send an assistant; the answers are cleaned, filtered and de-duplicated. Topics are
everyday and deliberately plain: sensitive-sounding benign requests come from the hand-written hard negatives.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources

from inferenceguard.prompts.splits import normalise

TOPICS = tuple(
    line.strip()
    for line in resources.files("inferenceguard.prompts").joinpath("data/lm_topics.txt").read_text().splitlines()
    if line.strip()
)  # everyday subjects, one per line
SYSTEM = "You write realistic requests that people send to a helpful assistant."
SHOTS = (  # (topic, form, request): worked examples that show the LM what a request looks like
    ("cooking rice", "a how-to question", "How do I cook fluffy rice on the stove?"),
    ("the moon", "a question", "Why does the moon look bigger near the horizon?"),
    ("saving money", "a request for advice", "What are some easy ways to save money on groceries each month?"),
    ("birthdays", "a request to write something short", "Write a short, funny birthday message for my brother."),
    ("spreadsheets", "a request to explain something", "Explain what a pivot table does in a spreadsheet."),
    ("tomatoes", "a question", "When is the right time to pick tomatoes from the vine?"),
    ("cover letters", "a request to write something short", "Draft a two-sentence opening for a cover letter."),
    ("running", "a request for advice", "I get side stitches when I run. How can I avoid them?"),
)
SHOTS_PER_REQUEST = 4
FORMS = (
    "a question",
    "a how-to question",
    "a request for advice",
    "a request to explain something",
    "a request to write something short",
)
WORDS = (4, 40)  # a request outside this many words is dropped
# a request asks (ends with "?") or tells the assistant to do something: it opens with one of these words
OPENERS = frozenset(
    [
        "write",
        "draft",
        "explain",
        "give",
        "list",
        "describe",
        "suggest",
        "tell",
        "help",
        "recommend",
        "share",
        "create",
        "make",
        "plan",
        "compose",
        "summarise",
        "summarize",
        "teach",
        "show",
        "outline",
        "provide",
        "name",
        "compare",
        "translate",
        "how",
        "what",
        "why",
        "when",
        "where",
        "which",
        "who",
        "can",
        "could",
    ]
)
_PREFIX = re.compile(r"^\s*(?:\d+[.)]\s*|[-*]\s*|(?:question|request|user|q)\s*:\s*)+", re.IGNORECASE)
_META = re.compile(r"\b(ai assistant|language model|this question|the question|here is|here's a)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Commission:
    """What the LM is asked to write."""

    topic: str
    form: str

    def messages(self) -> list[dict[str, str]]:
        """A few-shot chat: four worked examples (chosen by the commission, for variety), then the commission."""
        start = int(hashlib.sha256(f"{self.topic}|{self.form}".encode()).hexdigest()[:8], 16) % len(SHOTS)
        shots = [SHOTS[(start + i) % len(SHOTS)] for i in range(SHOTS_PER_REQUEST)]
        chat = [{"role": "system", "content": SYSTEM}]
        for topic, form, request in shots:
            chat += [{"role": "user", "content": _ask(form, topic)}, {"role": "assistant", "content": request}]
        return [*chat, {"role": "user", "content": _ask(self.form, self.topic)}]


def _ask(form: str, topic: str) -> str:
    return f"Write {form} about {topic}."


def commissions() -> list[Commission]:
    return [Commission(topic, form) for topic in TOPICS for form in FORMS]


def clean(answer: str) -> str | None:
    """The request in an LM answer, or None when the answer is not one plain request."""
    line = next((part for part in answer.strip().splitlines() if part.strip()), "")
    text = _PREFIX.sub("", line).strip().strip("\"'“”").strip()
    words = len(text.split())
    if not WORDS[0] <= words <= WORDS[1] or _META.search(text) or not re.search(r"[A-Za-z]", text):
        return None
    if not text.endswith(("?", ".", "!")):
        return None
    if not text.endswith("?") and text.split()[0].lower().strip(",:") not in OPENERS:
        return None  # a statement, not a request
    return text


def requests(
    answers: Sequence[tuple[Commission, str]],
    known: set[str],
    similar: Callable[[list[str]], list[int]] | None = None,
) -> list[dict[str, str]]:
    """Cleaned, de-duplicated records: no normalised text twice, none already in `known` (normalised texts of
    every other prompt set); `similar` (optional) gives the indices of near-duplicates to drop."""
    known = known | {normalise(request) for _, _, request in SHOTS}  # the worked examples, echoed back
    kept: dict[str, tuple[Commission, str]] = {}
    for commission, answer in answers:
        text = clean(answer)
        if text is None:
            continue
        key = normalise(text)
        if key not in known and key not in kept:
            kept[key] = (commission, text)
    records = list(kept.values())
    if similar is not None:
        drop = set(similar([text for _, text in records]))
        records = [r for i, r in enumerate(records) if i not in drop]
    return [
        {
            "id": "lm-benign:" + hashlib.sha256(normalise(text).encode()).hexdigest()[:10],
            "prompt": text,
            "category": "plain",
            "topic": commission.topic,
            "form": commission.form,
        }
        for commission, text in records
    ]
