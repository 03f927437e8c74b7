"""Scoring interfaces and the runtimes of learned safety models (cost functions, critics)."""
