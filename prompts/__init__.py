"""Prompt sets for training, calibration and evaluation, read out of pinned PyPI wheels, with fixed splits.

Harmful texts stay out of logs and test output: callers print ids and counts only.
"""

from inferenceguard.prompts.catalog import PromptRecord, QAPair, harmful_answers, load_prompts
from inferenceguard.prompts.splits import SPLITS, split_of

__all__ = ["SPLITS", "PromptRecord", "QAPair", "harmful_answers", "load_prompts", "split_of"]
