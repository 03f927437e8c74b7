import argparse
from dataclasses import fields, replace
from pathlib import Path

import pytest

from inferenceguard.service.cli import build_parser, main
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


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "inferenceguard.toml"
    path.write_text(text)
    return path


def test_a_config_file_sets_fields_under_the_environment_and_the_flags(tmp_path: Path) -> None:
    config = write(
        tmp_path, 'grpc-port = 6000\nthreads = 2\ndevice = "cpu"\ngraceful_shutdown_s = 5\nreflection = false\n'
    )
    from_file = Settings.load(environ={}, config=config)
    assert from_file.grpc_port == 6000 and from_file.device == "cpu" and from_file.reflection is False
    assert from_file.graceful_shutdown_s == 5.0 and isinstance(from_file.graceful_shutdown_s, float)
    environ = {"INFERENCEGUARD_THREADS": "3", "INFERENCEGUARD_DEVICE": "cuda", "INFERENCEGUARD_CONFIG": str(config)}
    layered = Settings.load({"device": "cuda:1"}, environ=environ)
    assert layered.grpc_port == 6000 and layered.threads == 3 and layered.device == "cuda:1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("grpc_prot = 1\n", r"inferenceguard.toml: grpc_prot: unknown setting"),
        ('grpc_port = "6000"\n', r"inferenceguard.toml: grpc_port: must be an integer, got '6000'"),
        ("grpc_port = true\n", r"grpc_port: must be an integer, got True"),
        ("reflection = 1\n", r"reflection: must be true or false, got 1"),
        ("graceful_shutdown_s = true\n", r"graceful_shutdown_s: must be a number, got True"),
        ("critic = 3\n", r"critic: must be a string, got 3"),
        ("[server]\ngrpc_port = 1\n", r"server: unknown setting"),
        ("grpc-port = 1\ngrpc_port = 2\n", r"grpc_port: is given twice"),
        ("grpc_port = \n", r"inferenceguard.toml: not valid TOML: .*line 1"),
        ('log_format = "xml"\n', r"log_format: must be one of json, text, got 'xml'"),
        ('log_level = "loud"\n', r"log_level: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got 'loud'"),
    ],
)
def test_a_bad_config_file_is_refused_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InvalidOptionError, match=message):
        Settings.load(environ={}, config=write(tmp_path, text))


def test_a_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidOptionError, match=r"absent.toml: config file not found"):
        Settings.load(environ={"INFERENCEGUARD_CONFIG": str(tmp_path / "absent.toml")})


def test_config_show_prints_a_file_that_loads_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, 'home = "/srv/ig"\ngraceful_shutdown_s = inf\nlexicon = "wörter.json"\napi_key = "s3cret"\n')
    assert main(["--config", str(path), "--threads", "2", "config", "show"]) == 0
    shown = capsys.readouterr().out
    assert "s3cret" not in shown and "# api_key is set" in shown and "threads = 2" in shown
    expected = Settings.load({"threads": 2}, config=path)
    assert Settings.load(environ={}, config=write(tmp_path, shown)) == replace(expected, api_key=None)


def test_the_command_exits_2_naming_a_bad_key_of_its_config_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "max_queued_requests = -1.5\n")
    assert main(["--config", str(path), "config", "show"]) == 2
    error = capsys.readouterr().err
    assert f"{path}: max_queued_requests: must be an integer, got -1.5" in error and "Traceback" not in error


def test_every_setting_is_documented_with_its_environment_variable_flag_and_default() -> None:
    """docs/configuration.md has one table row per field: | `field` | `ENV` | `--flag` or — | default | meaning |"""
    rows = {}
    for line in (Path(__file__).parents[1] / "docs" / "configuration.md").read_text().splitlines():
        cells = [cell.strip().strip("`") for cell in line.split("|")[1:-1]]
        if cells and cells[0] in {item.name for item in fields(Settings)}:
            rows[cells[0]] = cells
    flags = {
        option: action.dest for parser in parsers() for action in parser._actions for option in action.option_strings
    }
    for item in fields(Settings):
        assert item.name in rows, f"{item.name} is missing from docs/configuration.md"
        assert rows[item.name][1] == f"INFERENCEGUARD_{item.name.upper()}"
        flag = rows[item.name][2]
        assert flag == "—" or flags.get(flag) == item.name, f"{item.name}: the docs name the flag {flag}"
        assert item.name == "home" or rows[item.name][3] == documented(getattr(Settings(), item.name))


def documented(default: object) -> str:
    if default is None or default == "":
        return "unset" if default is None else "empty"
    return str(default).lower() if isinstance(default, bool) else str(default)


def parsers() -> list[argparse.ArgumentParser]:
    """The parsers whose flags set Settings fields: the global one and serve's."""
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return [parser, commands.choices["serve"]]
