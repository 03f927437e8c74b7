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

from inferenceguard.prompts.splits import normalise

TOPICS = (
    "baking bread",
    "cooking pasta",
    "vegetarian recipes",
    "coffee brewing",
    "meal planning",
    "food storage",
    "houseplants",
    "vegetable gardening",
    "composting",
    "lawn care",
    "bird watching",
    "dog training",
    "cat care",
    "aquariums",
    "hiking",
    "camping",
    "cycling",
    "running a marathon",
    "swimming technique",
    "yoga",
    "stretching",
    "sleep habits",
    "drinking enough water",
    "healthy breakfasts",
    "budgeting",
    "saving for retirement",
    "credit scores",
    "filing taxes",
    "renting an apartment",
    "buying a used car",
    "car maintenance",
    "changing a tyre",
    "home cleaning",
    "laundry stains",
    "decluttering",
    "interior design",
    "painting a room",
    "fixing a leaky tap",
    "woodworking",
    "knitting",
    "sewing",
    "photography",
    "drawing",
    "watercolour painting",
    "learning guitar",
    "piano practice",
    "singing",
    "music theory",
    "writing poetry",
    "writing a novel",
    "public speaking",
    "job interviews",
    "writing a CV",
    "asking for a raise",
    "time management",
    "working from home",
    "email etiquette",
    "team meetings",
    "learning a language",
    "Spanish grammar",
    "French vocabulary",
    "studying for exams",
    "taking notes",
    "memory techniques",
    "algebra",
    "geometry",
    "statistics",
    "probability",
    "physics",
    "chemistry homework",
    "biology of cells",
    "astronomy",
    "the solar system",
    "climate and weather",
    "volcanoes",
    "oceans",
    "dinosaurs",
    "ancient Egypt",
    "the Roman Empire",
    "medieval castles",
    "the Renaissance",
    "world geography",
    "capital cities",
    "famous paintings",
    "classical music",
    "film history",
    "board games",
    "chess openings",
    "video game design",
    "Python programming",
    "JavaScript",
    "SQL databases",
    "spreadsheets",
    "Git version control",
    "web design",
    "building a website",
    "Linux commands",
    "keyboard shortcuts",
    "smartphone settings",
    "backing up photos",
    "choosing a laptop",
    "3D printing",
    "electronics for beginners",
    "robotics",
    "machine learning basics",
    "travel packing",
    "visiting Japan",
    "visiting Italy",
    "planning a road trip",
    "train travel",
    "learning to drive",
    "wedding planning",
    "birthday parties",
    "gift ideas",
    "writing a thank-you note",
    "parenting toddlers",
    "helping children read",
    "homework help",
    "making friends",
    "volunteering",
    "recycling",
    "saving energy at home",
    "solar panels",
    "electric cars",
    "first aid basics",
    "dental care",
    "skin care",
    "haircuts",
    "fashion basics",
    "ironing shirts",
    "moving house",
    "organising a desk",
    "mindfulness",
    "journaling",
    "reading habits",
    "book recommendations",
    "poetry analysis",
    "grammar rules",
    "punctuation",
    "spelling",
    "economics basics",
    "how elections work",
    "the history of the internet",
    "space exploration",
    "ocean animals",
    "insects",
    "trees",
    "mushrooms",
    "weather forecasts",
    "rainbows",
)
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
    return text


def requests(
    answers: Sequence[tuple[Commission, str]],
    known: set[str],
    similar: Callable[[list[str]], list[int]] | None = None,
) -> list[dict[str, str]]:
    """Cleaned, de-duplicated records: no normalised text twice, none already in `known` (normalised texts of
    every other prompt set); `similar` (optional) gives the indices of near-duplicates to drop."""
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
