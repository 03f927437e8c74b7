"""Structured logs: one JSON object a line, one line per request, and no prompt or response text by default."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from inferenceguard.service.cli import build_parser
from inferenceguard.service.config import Settings
from inferenceguard.service.engine import LanguageModel
from inferenceguard.service.logs import JsonFormatter, StderrHandler, TextFormatter, configure_logging
from inferenceguard.v1 import inference_pb2
from tests.server_helpers import serving, tiny_runtime

PROMPT = "w40 w41 zebracorn w42"  # a word the tiny vocabulary lacks, so it can only reach a log from the prompt


def request(request_id: str, max_new_tokens: int = 12) -> inference_pb2.GenerateRequest:
    message = inference_pb2.GenerateRequest(prompt=PROMPT, request_id=request_id)
    message.sampling.seed = 3
    message.stopping.max_new_tokens = max_new_tokens
    message.search.num_candidates = 4
    message.search.block_tokens = 4
    return message


def record(msg: str = "request finished", **fields: Any) -> logging.LogRecord:
    return logging.makeLogRecord(
        {"name": "inferenceguard.test", "levelno": 20, "levelname": "INFO", "msg": msg} | fields
    )


def test_the_json_formatter_writes_one_object_with_the_extra_fields() -> None:
    line = JsonFormatter().format(record(request_id="r-1", completion_tokens=12, policies=["harm@1.0"]))
    entry = json.loads(line)
    assert "\n" not in line and entry["ts"].endswith("Z") and "T" in entry["ts"]
    assert entry["level"] == "INFO" and entry["logger"] == "inferenceguard.test" and entry["msg"] == "request finished"
    assert entry["request_id"] == "r-1" and entry["completion_tokens"] == 12 and entry["policies"] == ["harm@1.0"]


def test_the_text_formatter_appends_the_extra_fields() -> None:
    assert TextFormatter().format(record(request_id="r-1")).endswith('request finished request_id="r-1"')


def test_configure_logging_replaces_its_own_handler_only(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    try:
        configure_logging(Settings(log_format="text"), "INFO")
        configure_logging(Settings(), "INFO")
        ours = [h for h in root.handlers if isinstance(h, StderrHandler)]
        others = [h for h in root.handlers if not isinstance(h, StderrHandler)]
        assert len(ours) == 1 and others == [h for h in before if not isinstance(h, StderrHandler)]
        assert root.level == logging.INFO
        logging.getLogger("inferenceguard.test").info("hello", extra={"request_id": "r-2"})
        assert json.loads(capsys.readouterr().err.splitlines()[-1])["request_id"] == "r-2"
    finally:
        root.handlers[:], root.level = before, level


def test_serve_logs_requests_at_info_unless_a_level_is_set() -> None:
    parser = build_parser()
    assert parser.parse_args(["serve"]).default_log_level == "INFO"
    assert not hasattr(parser.parse_args(["health"]), "default_log_level")  # other commands: WARNING


def run_requests(runtime: Any, *requests: inference_pb2.GenerateRequest) -> list[Any]:
    async def scenario() -> list[Any]:
        async with serving(runtime) as (_, inference, _control):
            calls = [inference.Generate(message) for message in requests]
            return await asyncio.gather(*calls, return_exceptions=True)

    return asyncio.run(scenario())


def request_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[logging.LogRecord, str]]:
    """Every request record with its JSON line: the line carries every field a record has."""
    formatter = JsonFormatter()
    return [(r, formatter.format(r)) for r in caplog.records if r.name == "inferenceguard.service.servicer"]


def test_a_finished_request_is_logged_without_its_text(lm: LanguageModel, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="inferenceguard")
    (reply,) = run_requests(tiny_runtime(lm), request("log-1"))
    assert reply.finish.text
    ((_, text),) = request_lines(caplog)
    entry = json.loads(text)
    assert entry["msg"] == "request finished" and entry["request_id"] == "log-1" and entry["status"] == "OK"
    assert entry["policies"][0].startswith("no-five-six@") and entry["strategy"] == "inferenceguard"
    assert entry["completion_tokens"] == reply.finish.usage.completion_tokens and entry["prompt_tokens"] == 4
    assert entry["finish_reason"] and {"queue_ms", "ttft_ms", "duration_ms", "peer"} <= set(entry)
    everything = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    assert "zebracorn" not in everything and "w40 w41" not in everything
    assert reply.finish.text not in everything


def test_log_text_adds_the_prompt_and_the_response(lm: LanguageModel, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="inferenceguard")
    (reply,) = run_requests(tiny_runtime(lm, log_text=True), request("log-2"))
    ((_, text),) = request_lines(caplog)
    assert json.loads(text)["prompt"] == PROMPT and json.loads(text)["text"] == reply.finish.text


def test_a_bad_request_logs_its_status_and_id_but_not_its_prompt(
    lm: LanguageModel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="inferenceguard")
    (error,) = run_requests(tiny_runtime(lm), request("log-3", max_new_tokens=5000))
    assert isinstance(error, grpc.aio.AioRpcError) and error.code() == grpc.StatusCode.INVALID_ARGUMENT
    ((line, text),) = request_lines(caplog)
    entry = json.loads(text)
    assert line.levelno == logging.WARNING and entry["msg"] == "request failed" and entry["request_id"] == "log-3"
    assert entry["status"] == "INVALID_ARGUMENT" and "stopping.max_new_tokens: must be at most 1024" in entry["error"]
    assert "zebracorn" not in text


def test_an_internal_error_logs_its_stack_but_not_its_message(
    lm: LanguageModel, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = tiny_runtime(lm)
    generate = runtime.engine.generate

    def failing(prompt: str, *args: Any, **kwargs: Any) -> Iterator[Any]:
        if prompt == PROMPT:  # the warm-up still runs
            raise RuntimeError(f"could not continue {prompt!r}")  # an unexpected error that quotes its input
        yield from generate(prompt, *args, **kwargs)

    caplog.set_level(logging.INFO, logger="inferenceguard")
    runtime.engine.generate = failing
    (error,) = run_requests(runtime, request("log-4"))
    assert error.code() == grpc.StatusCode.INTERNAL
    ((line, text),) = request_lines(caplog)
    entry = json.loads(text)
    assert line.levelno == logging.ERROR and entry["status"] == "INTERNAL" and entry["error"] == "internal error"
    assert entry["error_type"] == "RuntimeError" and "in failing" in entry["stack"]
    assert "zebracorn" not in text


def test_a_cancelled_request_is_logged(lm: LanguageModel, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async with serving(tiny_runtime(lm)) as (running, inference, _control):
            call = inference.GenerateStream(request("log-5", max_new_tokens=200))
            await call.read()
            call.cancel()
            for _ in range(100):
                if not len(running.inflight):
                    break
                await asyncio.sleep(0.05)

    caplog.set_level(logging.INFO, logger="inferenceguard")
    asyncio.run(scenario())
    ((_, text),) = request_lines(caplog)
    entry = json.loads(text)
    assert entry["msg"] == "request cancelled" and entry["request_id"] == "log-5" and entry["status"] == "CANCELLED"
