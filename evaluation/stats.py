"""Uncertainty for the report: Wilson intervals for rates, exact McNemar tests for paired comparisons, and
Cohen's kappa for the agreement of two label sources.

Every method answers the same prompts with the same seeds, so two methods are compared prompt by prompt
(McNemar) rather than by their rates alone; only the prompts where they disagree carry information.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence

Z95 = 1.959963984540054  # two-sided 95% normal quantile


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a binomial rate; sound at 0% and 100%, where the normal one collapses."""
    if trials <= 0:
        raise ValueError(f"trials must be positive, got {trials}")
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must be in 0..{trials}, got {successes}")
    rate = successes / trials
    denominator = 1 + z * z / trials
    centre = (rate + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(rate * (1 - rate) / trials + z * z / (4 * trials * trials)) / denominator
    low = 0.0 if successes == 0 else max(0.0, centre - half)  # exact at the ends, where rounding would leak
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return low, high


def mcnemar_exact(only_first: int, only_second: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pairs (first right only, second right only)."""
    if only_first < 0 or only_second < 0:
        raise ValueError("discordant counts must be non-negative")
    discordant = only_first + only_second
    if discordant == 0:
        return 1.0
    tail = sum(math.comb(discordant, k) for k in range(min(only_first, only_second) + 1)) / 2**discordant
    return min(1.0, 2 * tail)


def cohen_kappa(first: Sequence[Hashable], second: Sequence[Hashable]) -> float | None:
    """Cohen's kappa between two raters' labels of the same items; None when chance agreement is total."""
    if len(first) != len(second):
        raise ValueError(f"the raters labelled {len(first)} and {len(second)} items")
    if not first:
        return None
    n = len(first)
    observed = sum(a == b for a, b in zip(first, second, strict=True)) / n
    counts_first, counts_second = Counter(first), Counter(second)
    expected = sum(counts_first[c] * counts_second[c] for c in counts_first) / (n * n)
    if expected == 1:
        return None  # both raters gave one and the same label to everything: agreement says nothing
    return (observed - expected) / (1 - expected)
