"""The InferenceGuard service: the decoding engine, its command line and (later) the gRPC server."""
