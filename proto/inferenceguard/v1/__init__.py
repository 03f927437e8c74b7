"""Generated gRPC stubs of the InferenceGuard API (`python proto/generate.py` rebuilds them)."""
