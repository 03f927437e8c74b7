"""ACME's confidential terms (a demonstration list) and their weights."""

TERMS = {"paris": 1.0, "falcon": 1.0, "bluebird": 1.0, "nightjar": 1.0}
