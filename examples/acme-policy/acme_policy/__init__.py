"""ACME's InferenceGuard plugin."""
