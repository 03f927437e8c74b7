"""The `lexicon` cost function: an organisation's own words and regular expressions, each with a cost. No model,
so the cheapest policy there is, and the template for simple custom ones.

cost(response) = sum over entries of cost x number of matches in the response so far (a prefix cost). The list
is JSON: {"entries": [{"pattern": "...", "cost": 1.0, "regex": false}], "case_sensitive": false}; a plain
pattern matches whole words.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_LIST = Path(__file__).parent / "models" / "lexicon" / "default.json"
DEFAULT_BUDGET = 0.5


class LexiconError(ValueError):
    pass


class LexiconCost:
    name = "lexicon"
    semantics = "prefix"
    default_budget = DEFAULT_BUDGET

    def __init__(self, entries: Sequence[tuple[re.Pattern[str], float]]) -> None:
        self.entries = list(entries)

    @classmethod
    def from_file(cls, path: Path) -> LexiconCost:
        try:
            data: dict[str, Any] = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise LexiconError(f"{path}: cannot be read as JSON ({exc})") from exc
        flags = 0 if data.get("case_sensitive") else re.IGNORECASE
        entries = []
        for index, entry in enumerate(data.get("entries", [])):
            where = f"{path}: entries[{index}]"
            cost = entry.get("cost", 1.0)
            if not isinstance(cost, (int, float)) or not math.isfinite(cost) or cost < 0:
                raise LexiconError(f"{where}.cost: must be a finite number >= 0, got {cost!r}")
            pattern = entry.get("pattern")
            if not isinstance(pattern, str) or not pattern:
                raise LexiconError(f"{where}.pattern: must be a non-empty string")
            source = pattern if entry.get("regex") else rf"\b{re.escape(pattern)}\b"
            try:
                entries.append((re.compile(source, flags), float(cost)))
            except re.error as exc:
                raise LexiconError(f"{where}.pattern: not a valid regular expression ({exc})") from exc
        if not entries:
            raise LexiconError(f"{path}: entries: the list is empty")
        return cls(entries)

    def __call__(self, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
        return np.array([sum(cost * len(p.findall(text)) for p, cost in self.entries) for text in responses])
