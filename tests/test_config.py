from pathlib import Path

import pytest

from inferenceguard.service.config import Settings
from inferenceguard.service.engine import InvalidOptionError


def test_defaults_then_environment_then_flags() -> None:
    environ = {"INFERENCEGUARD_HOME": "/srv/ig", "INFERENCEGUARD_THREADS": "3", "INFERENCEGUARD_DEVICE": "cpu"}
    settings = Settings.load({"device": "cuda", "model": None}, environ=environ)
    assert settings.home == Path("/srv/ig") and settings.threads == 3
    assert settings.device == "cuda" and settings.model == "default"


def test_default_home_is_the_user_cache() -> None:
    assert Settings.load(environ={}).home == Path("~/.cache/inferenceguard").expanduser()


def test_a_malformed_environment_variable_is_named() -> None:
    with pytest.raises(InvalidOptionError, match="INFERENCEGUARD_THREADS: must be an integer, got 'two'"):
        Settings.load(environ={"INFERENCEGUARD_THREADS": "two"})
