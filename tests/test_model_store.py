from pathlib import Path

import pytest

from inferenceguard.service.engine import model_store


def test_converts_once_then_reuses_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conversions: list[Path] = []

    def fake_convert(gguf: Path, target: Path) -> None:
        conversions.append(target)
        target.mkdir(parents=True)
        (target / "config.json").write_text("{}")

    monkeypatch.setattr(model_store, "_convert_gguf", fake_convert)
    first = model_store.default_model_dir(tmp_path)
    second = model_store.default_model_dir(tmp_path)
    assert first == second and conversions == [first]
    assert first.name.startswith("smollm2-135m-instruct-") and "-tf" in first.name
