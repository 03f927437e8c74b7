"""Regenerate the Python gRPC stubs next to the .proto files (one command: `python proto/generate.py`).

protoc runs with proto/ as the include root, so the modules come out as inferenceguard/v1/*_pb2.py and import
each other as `inferenceguard.v1`; a test fails when the committed stubs differ from a fresh generation.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
PROTOS = sorted((ROOT / "inferenceguard" / "v1").glob("*.proto"))


def generate(out: Path = ROOT) -> None:
    import grpc_tools
    from grpc_tools import protoc

    include = str(Path(grpc_tools.__file__).parent / "_proto")
    arguments = [
        "protoc",
        f"-I{ROOT}",
        f"-I{include}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *(str(p) for p in PROTOS),
    ]
    if protoc.main(arguments) != 0:
        raise SystemExit("protoc failed")


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT)
