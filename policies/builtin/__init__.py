"""Built-in scorers: Jigsaw toxicity (ONNX) and MiniLM relevance."""
