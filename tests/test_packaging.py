"""The wheel installs everything under the one namespace `inferenceguard`."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_has_no_generic_top_level_package(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    wheel = next(tmp_path.glob("inferenceguard-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top_level == {"inferenceguard"}
    for module in (
        "service/engine/search.py",
        "policies/builtin/toxicity.py",
        "critics/interface.py",
        "bench/engine_bench.py",
    ):
        assert f"inferenceguard/{module}" in names
    models = ROOT / "policies" / "builtin" / "models"
    shipped = {f"inferenceguard/{p.relative_to(ROOT).as_posix()}" for p in models.rglob("*") if p.is_file()}
    assert shipped and shipped <= set(names), sorted(shipped - set(names))  # pinned critics and gate adapters too


def test_every_source_folder_is_a_declared_package() -> None:
    import tomllib

    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    tops = [folder for folder in setuptools["package-dir"].values() if "/" not in folder]
    found = {
        "inferenceguard." + ".".join(init.parent.relative_to(ROOT).parts)
        for top in tops
        for init in (ROOT / top).rglob("__init__.py")
    } | {"inferenceguard.v1"}
    source_folders = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}
    assert source_folders <= set(tops)  # a new top-level package must be mapped, not forgotten
    assert found == set(setuptools["packages"])


def test_the_engine_never_imports_grpc() -> None:
    code = (
        "import sys, inferenceguard.service.engine, inferenceguard.service.runtime;"
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] == 'grpc')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert done.stdout.split() == []
