"""Every GenerateRequest field fuzzed against one live server: a well-formed answer or a documented status.

The server runs in a background thread with its own event loop (started once for the module), and hypothesis drives
a plain synchronous channel, so each example is one ordinary blocking RPC. A request either succeeds with a
well-formed response or fails with a client-error status whose message names the offending field; INTERNAL,
UNKNOWN or a hang is a bug. The server is configured so that every *valid* request stays cheap (a few tokens,
a few candidates): the fuzz explores the validation boundary, not the model.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from inferenceguard.policies import hookimpl
from inferenceguard.policies.manager import build_plugin_manager
from inferenceguard.policies.registry import Registry
from inferenceguard.policies.types import LoadContext
from inferenceguard.service.config import Settings
from inferenceguard.service.convert import request_id_of
from inferenceguard.service.engine import Engine, InvalidOptionError, LanguageModel, SearchOptions
from inferenceguard.service.engine.options import MAX_WEIGHT, MIN_TEMPERATURE
from inferenceguard.service.engine.types import FinishReason
from inferenceguard.service.runtime import Runtime
from inferenceguard.service.server import READINESS, Server, build_server, drain, warm_up_and_serve
from inferenceguard.v1 import inference_pb2, inference_pb2_grpc, safety_pb2
from tests.server_helpers import single_torch_thread
from tests.test_plugins import WordsPlugin
from tests.tiny_model import WORDS, ids_of

CALL_TIMEOUT_S = 60.0  # generous: a valid request here takes milliseconds; this only turns a hang into a failure
CLIENT_ERRORS = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.OUT_OF_RANGE,
}
STOPPED = " [stopped]"  # the exhausted message of every policy the fuzz server knows
# Server limits and defaults sized so that any request that passes validation is cheap on the tiny model.
LIMITS: dict[str, Any] = {"max_new_tokens_limit": 64, "max_num_candidates": 8, "max_concurrent_requests": 2}
LIMITS |= {"min_block_tokens": 2, "max_retries_limit": 12}  # the work caps refuse a few drawn requests
# every strategy a request can carry, and the policies that load (a policy that cannot load stops the start)
FLOOR = {
    "allowed_strategies": "inferenceguard,sample,best_of_n,beam,args",
    "allowed_policies": "no-five-six,always-unsafe",
}
DEFAULTS = SearchOptions(num_candidates=4, block_tokens=4, max_new_tokens=8)


# -- the server ------------------------------------------------------------------------------------------------
class AlwaysOne:
    """A prefix cost of 1 for any text: with its budget of 0.5 every child is over budget (fallback, exhaustion)."""

    name = "always-one"
    semantics = "prefix"
    default_budget = 0.5

    def __call__(self, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
        return np.ones(len(responses))


def unbuildable(context: LoadContext) -> Any:
    raise RuntimeError("the model file is missing")


class FuzzPlugin:
    @hookimpl
    def register_cost_functions(self, register: Any) -> None:
        register("always-one", lambda context: AlwaysOne(), version="1")
        register("unbuildable", unbuildable, version="1")

    @hookimpl
    def register_policies(self, register: Any) -> None:
        register(
            "always-unsafe", cost_functions={"always-one": 0.5}, reward="length", version="1", exhausted_message=STOPPED
        )
        register("broken", cost_functions={"unbuildable": 1.0}, reward="length", version="1")


def fuzz_runtime(lm: LanguageModel) -> Runtime:
    """tiny_runtime's words policy plus an always-unsafe policy and one that fails to load.

    The built-in harm and toxicity policies are left out of the drawn ids: loading them on the tiny model builds
    real scorers into the cache folder before failing, which is slow and writes outside the test.
    """
    values: dict[str, Any] = {"default_policy": "no-five-six", "grpc_port": 0, "host": "127.0.0.1", **LIMITS, **FLOOR}
    config = Settings.load(values, environ={})
    plugins = build_plugin_manager()
    plugins.manager.register(WordsPlugin(), name="words")
    plugins.manager.register(FuzzPlugin(), name="fuzz")
    registry = Registry(plugins, LoadContext(home=Path("/nonexistent"), lm_id=lm.model_id, hidden_size=lm.hidden_size))
    runtime = Runtime(config, lm, registry, Engine(lm))
    runtime.engine.default_guard = runtime.guard()
    return runtime


@dataclass
class LiveServer:
    """A real server on its own event loop in a background thread, for synchronous clients."""

    runtime: Runtime
    defaults: SearchOptions
    running: Server | None = None
    error: BaseException | None = None
    _ready: threading.Event = field(default_factory=threading.Event)
    _loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    _stop: asyncio.Event | None = None
    _thread: threading.Thread | None = None

    def start(self) -> Server:
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._serve(),), daemon=True)
        self._thread.start()
        if not self._ready.wait(120):
            raise TimeoutError("the server did not start")
        if self.error is not None:
            raise self.error
        assert self.running is not None
        return self.running

    def close(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(60)
            assert not self._thread.is_alive(), "the server did not stop"
        self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        try:
            running = await build_server(self.runtime.settings, self.runtime, self.defaults)
            await warm_up_and_serve(running, self.runtime)
        except BaseException as exc:
            self.error = exc
            self._ready.set()
            raise
        self.running = running
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await drain(running, 1.0)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread() -> Iterator[None]:
    with single_torch_thread():
        yield


@pytest.fixture(scope="module")
def live(lm: LanguageModel) -> Iterator[tuple[Server, grpc.Channel]]:
    server = LiveServer(fuzz_runtime(lm), DEFAULTS)
    running = server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{running.port}")
    try:
        yield running, channel
    finally:
        channel.close()
        server.close()


# -- what a request may look like -------------------------------------------------------------------------------
def field_paths(descriptor: Any, prefix: str = "") -> set[str]:
    """Every field of a message as a dotted path ("search.num_candidates"), nested messages included."""
    paths: set[str] = set()
    for item in descriptor.fields:
        paths.add(prefix + item.name)
        if item.message_type is not None:
            paths |= field_paths(item.message_type, f"{prefix}{item.name}.")
    return paths


REQUEST_FIELDS = field_paths(inference_pb2.GenerateRequest.DESCRIPTOR)
UINT32, UINT64 = 2**32 - 1, 2**64 - 1
NAN, INF = float("nan"), float("inf")
WORD = st.sampled_from([f"w{i}" for i in range(WORDS)])


def maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A value for an optional field, or None for unset."""
    return st.one_of(st.none(), values)


def wide(values: st.SearchStrategy[Any], *edges: Any) -> st.SearchStrategy[Any]:
    return st.one_of(values, st.sampled_from(edges))


# Each field: (tame, wild). A request takes tame values (valid, cheap, or unset) for all but a few fields, which
# take wild ones, so that the effect of each wild value is seen rather than masked by another field's rejection.
# uint fields cannot carry negative numbers (the client refuses them); their wild values reach 2^32-1 / 2^64-1.
FLOAT32 = wide(st.floats(width=32), 0.0, -0.0, 1e-45, 1e-38, 1.0000001, 3.4028235e38, NAN, INF, -INF)
DOUBLE = wide(
    st.floats(), 0.0, -0.0, 5e-324, 1e-300, 1e6, 1.0000001e6, 1e300, 1.7976931348623157e308, -1.0, NAN, INF, -INF
)
UINT = wide(st.integers(0, UINT32), 0, 1, 2**31, UINT32)
LOWEST_TEMPERATURE = float(np.float32(MIN_TEMPERATURE))  # the smallest positive one a float field can carry
MODEST = st.floats(0, 100)
FIELDS: dict[str, tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]] = {
    "request_id": (
        st.one_of(st.just(""), st.text(alphabet="abcdef0123456789-_.:/", min_size=1, max_size=40)),
        wide(
            st.text(max_size=40),
            "r" * 128,
            "r" * 129,
            "r" * 4096,
            "r" * 20_000,
            "Grüße",
            "line\nbreak",
            " padded ",
            "\x7f",
        ),
    ),
    "prompt": (
        st.lists(WORD, min_size=1, max_size=12).map(" ".join),
        wide(
            st.text(max_size=64),  # unicode, controls, whitespace only (unknown words become <pad>)
            "",
            " \t\n",
            "\x00",
            "w1 " * 250,  # fits the 256-token context, but not with the default 8 new tokens
            "w1 " * 300,  # over the model's context
            "é" * 5000,  # long in characters, one token
            "w2" * 33_000,  # over the server's 32 000-character limit
        ),
    ),
    "sampling.temperature": (maybe(st.one_of(st.just(0.0), st.floats(LOWEST_TEMPERATURE, 2, width=32))), FLOAT32),
    "sampling.top_p": (maybe(st.floats(0, 1, exclude_min=True, width=32)), FLOAT32),
    "sampling.top_k": (maybe(st.integers(0, 200)), UINT),
    "sampling.seed": (maybe(st.integers(0, 2**63 - 1)), wide(st.integers(0, UINT64), 2**63, UINT64)),
    "stopping.max_new_tokens": (maybe(st.integers(1, 8)), wide(UINT, 0, 9, 64, 65, 300, 1024, 1025)),
    "stopping.time_limit_ms": (maybe(st.integers(0, 10_000)), UINT),
    "search.strategy": (st.integers(0, 5), wide(st.integers(-(2**31), 2**31 - 1), -1, 6)),  # open enum: any int32
    "search.num_candidates": (maybe(st.integers(1, 8)), wide(UINT, 9, 256, 1024, 1025)),
    "search.num_beams": (maybe(st.integers(1, 2)), UINT),
    "search.block_tokens": (maybe(st.integers(1, 10)), UINT),
    "search.max_retries": (maybe(st.integers(0, 16)), wide(UINT, 16, 17)),
    "search.logit_penalty_beta": (maybe(MODEST), DOUBLE),
    "search.p_safe_threshold": (maybe(st.floats(0, 1)), DOUBLE),
    "search.unsafe_penalty": (maybe(st.floats(min_value=0, exclude_min=True)), DOUBLE),
    "search.lagrange_lambda": (maybe(MODEST), DOUBLE),
    "search.args_weight": (maybe(MODEST), DOUBLE),
    "safety.budget": (maybe(MODEST), DOUBLE),
    "safety.policy_ids": (
        st.lists(st.sampled_from(["no-five-six", "always-unsafe"]), max_size=3),  # duplicates allowed
        st.lists(
            wide(st.text(max_size=16), "no-five-six", "always-unsafe", "broken", "nope", "", " ", "NO-FIVE-SIX"),
            max_size=4,
        ),
    ),
    "response.output_token_ids": (st.booleans(), st.booleans()),
    "response.include_safety_trace": (st.booleans(), st.booleans()),
}


@st.composite
def generate_requests(draw: st.DrawFn, max_wild: int = 3) -> inference_pb2.GenerateRequest:
    wild = draw(st.sets(st.sampled_from(sorted(FIELDS)), max_size=max_wild))
    message = inference_pb2.GenerateRequest()
    for path, (tame, wilder) in FIELDS.items():
        value = draw(wilder if path in wild else tame)
        part, _, name = path.rpartition(".")
        target = getattr(message, part) if part else message
        if value is None:
            continue
        if isinstance(value, list):
            getattr(target, name).extend(value)
        else:
            setattr(target, name, value)
    return message


# -- what every answer must look like ---------------------------------------------------------------------------
def check_error(error: grpc.RpcError) -> None:
    code, details = error.code(), error.details() or ""
    assert code in CLIENT_ERRORS, f"{code}: {details}"
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        named = re.match(r"([a-z_.]+): ", details)
        assert named and named.group(1) in REQUEST_FIELDS, f"the message names no request field: {details!r}"
    elif code == grpc.StatusCode.NOT_FOUND:
        assert "is not registered" in details, details
    elif code == grpc.StatusCode.PERMISSION_DENIED:
        assert details.startswith(("safety.policy_ids: ", "safety.budget: ")), details


def check_text(text: str, token_ids: Sequence[int], finish: Any, request: inference_pb2.GenerateRequest) -> None:
    """The text decodes the token ids (the tiny vocabulary maps back exactly; <pad> and <eos> decode to nothing)."""
    assert finish.reason != safety_pb2.FINISH_REASON_UNSPECIFIED
    assert finish.usage.prompt_tokens > 0 and finish.usage.completion_tokens <= 64
    if finish.reason == safety_pb2.FINISH_REASON_BUDGET_EXHAUSTED:
        assert text.endswith(STOPPED), text
        text = text.removesuffix(STOPPED)
    if request.response.output_token_ids:
        assert len(token_ids) == finish.usage.completion_tokens
        assert ids_of(text) == [i for i in token_ids if i >= 2]
    else:
        assert not token_ids
    assert len(text.split()) <= finish.usage.completion_tokens
    if request.sampling.HasField("seed"):
        assert finish.seed == request.sampling.seed


def check_request_id(reply: inference_pb2.GenerateResponse, request: inference_pb2.GenerateRequest) -> None:
    if request.request_id:
        assert reply.request_id == request.request_id
    else:
        assert reply.request_id  # the server assigned one


def check_trailer(metadata: Any, request_id: str) -> None:
    """x-request-id carries the id the response carries (or, for a refused request, the valid id it sent)."""
    if request_id:
        assert dict(metadata or ()).get("x-request-id") == request_id


def check_generate(stub: Any, request: inference_pb2.GenerateRequest) -> str:
    """One unary call checked; returns its outcome ("OK" or the status code's name)."""
    try:
        reply, call = stub.Generate.with_call(request, timeout=CALL_TIMEOUT_S)
    except grpc.RpcError as error:
        check_error(error)
        if error.code() != grpc.StatusCode.INVALID_ARGUMENT or not (error.details() or "").startswith("request_id"):
            check_trailer(error.trailing_metadata(), request.request_id)
        return str(error.code().name)
    assert reply.WhichOneof("event") == "finish"
    check_request_id(reply, request)
    check_trailer(call.trailing_metadata(), reply.request_id)
    check_text(reply.finish.text, reply.finish.token_ids, reply.finish, request)
    return "OK"


def check_stream(stub: Any, request: inference_pb2.GenerateRequest) -> None:
    messages: list[inference_pb2.GenerateResponse] = []
    try:
        messages.extend(stub.GenerateStream(request, timeout=CALL_TIMEOUT_S))
    except grpc.RpcError as error:
        assert not messages, "a stream that started must end with a finish message, not an error"
        check_error(error)
        return
    kinds = [m.WhichOneof("event") for m in messages]
    assert kinds[0] == "start" and kinds[-1] == "finish" and set(kinds[1:-1]) <= {"chunk"}, kinds
    for message in messages:
        check_request_id(message, request)
    assert len({m.request_id for m in messages}) == 1
    chunks = [m.chunk for m in messages[1:-1]]
    if not request.response.include_safety_trace:
        assert not any(c.HasField("safety") for c in chunks)
    finish = messages[-1].finish
    assert not finish.text and not finish.token_ids  # the stream's chunks carry them
    text, ids = "".join(c.text for c in chunks), [i for c in chunks for i in c.token_ids]
    check_text(text, ids, finish, request)
    assert messages[0].start.num_prompt_tokens == finish.usage.prompt_tokens


# -- the tests --------------------------------------------------------------------------------------------------
FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,  # the same examples on every run: reproducible in CI
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


def request(**fields: Any) -> inference_pb2.GenerateRequest:
    """A valid, cheap request with `fields` ("search.args_weight": 1e308, "safety.policy_ids": [...]) changed."""
    message = inference_pb2.GenerateRequest(prompt="w1 w2 w3", request_id="explicit")
    for path, value in fields.items():
        part, _, name = path.rpartition(".")
        target = getattr(message, part) if part else message
        if isinstance(value, list):
            getattr(target, name).extend(value)
        else:
            setattr(target, name, value)
    return message


# Requests that once failed with INTERNAL (the fixed bugs), and one of each client error, run on every pass.
EXPLICIT = [
    request(**{"sampling.temperature": 1e-45}),  # logits / T overflowed float32: NaN probabilities
    request(**{"search.logit_penalty_beta": 1e308, "safety.policy_ids": ["always-unsafe"]}),  # inf * 0 = NaN
    request(**{"search.strategy": inference_pb2.STRATEGY_ARGS, "search.args_weight": 1e308}),  # inf - inf
    request(request_id="Grüße"),  # not a header value: the x-request-id trailer failed the call
    request(request_id="line\nbreak"),
    request(request_id="r" * 20_000),  # over the client's metadata limit, after the work was done
    request(**{"safety.policy_ids": ["no-five-six", "broken"]}),  # PERMISSION_DENIED: never loaded, never allowed
    request(**{"safety.policy_ids": ["no-five-six", ""]}),  # NOT_FOUND
    request(**{"search.strategy": 99}),
    request(**{"safety.policy_ids": ["always-unsafe", "always-unsafe"], "search.max_retries": 16}),
]


def with_examples(requests: list[inference_pb2.GenerateRequest]) -> Any:
    def decorate(test: Any) -> Any:
        for item in reversed(requests):
            test = example(item)(test)
        return test

    return decorate


def settle(running: Server) -> None:
    """Wait (bounded) until the server has released every request; the handler's cleanup runs after the reply."""
    for _ in range(200):
        if len(running.inflight) == 0 and running.admission.running == 0 and running.admission.waiting == 0:
            return
        time.sleep(0.05)


def assert_still_serving(running: Server, channel: grpc.Channel) -> None:
    settle(running)
    assert len(running.inflight) == 0 and running.admission.running == 0 and running.admission.waiting == 0
    health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=READINESS), timeout=10)
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    normal = request(request_id="after-the-fuzz", **{"sampling.seed": 3, "response.output_token_ids": True})
    reply = inference_pb2_grpc.InferenceServiceStub(channel).Generate(normal, timeout=CALL_TIMEOUT_S)
    assert reply.request_id == "after-the-fuzz" and reply.finish.safety.within_budget
    assert reply.finish.reason in (safety_pb2.FINISH_REASON_LENGTH, safety_pb2.FINISH_REASON_EOS)
    assert 0 < reply.finish.usage.completion_tokens == len(reply.finish.token_ids) <= DEFAULTS.max_new_tokens


def assert_both_sides_were_explored(outcomes: Counter[str]) -> None:
    """The fuzz is only worth something if many requests pass validation and many do not."""
    total = sum(outcomes.values())
    assert outcomes["OK"] >= 0.2 * total and outcomes["INVALID_ARGUMENT"] >= 0.1 * total, outcomes
    assert outcomes["NOT_FOUND"] and outcomes["PERMISSION_DENIED"], outcomes


def test_fuzzed_generate_requests_get_an_answer_or_a_client_error(live: tuple[Server, grpc.Channel]) -> None:
    running, channel = live
    stub = inference_pb2_grpc.InferenceServiceStub(channel)
    outcomes: Counter[str] = Counter()

    @FUZZ
    @with_examples(EXPLICIT)
    @given(generate_requests())
    def one(request: inference_pb2.GenerateRequest) -> None:
        outcomes[check_generate(stub, request)] += 1

    one()
    assert_both_sides_were_explored(outcomes)
    assert_still_serving(running, channel)


def test_fuzzed_streams_are_well_formed_or_a_client_error(live: tuple[Server, grpc.Channel]) -> None:
    running, channel = live
    stub = inference_pb2_grpc.InferenceServiceStub(channel)

    @settings(FUZZ, max_examples=100)
    @with_examples(EXPLICIT)
    @given(generate_requests())
    def one(request: inference_pb2.GenerateRequest) -> None:
        check_stream(stub, request)

    one()
    assert_still_serving(running, channel)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"temperature": 1e-45}, "temperature"),
        ({"temperature": 9e-8}, "temperature"),
        ({"logit_penalty_beta": 1e308}, "logit_penalty_beta"),
        ({"logit_penalty_beta": 1.0000001e6}, "logit_penalty_beta"),
        ({"args_weight": 1e308}, "args_weight"),
        ({"lagrange_lambda": 1e7}, "lagrange_lambda"),
        ({"lagrange_lambda": float("nan")}, "lagrange_lambda"),
    ],
)
def test_values_that_overflowed_the_sampler_are_refused(changes: dict[str, float], field: str) -> None:
    with pytest.raises(InvalidOptionError) as caught:
        SearchOptions(**changes)
    assert caught.value.field == field


@pytest.mark.parametrize(
    "changes",
    [
        {"temperature": MIN_TEMPERATURE},
        {"temperature": LOWEST_TEMPERATURE},  # what a client's float field carries
        {"logit_penalty_beta": MAX_WEIGHT, "max_retries": 16},
        {"strategy": "args", "args_weight": MAX_WEIGHT, "temperature": MIN_TEMPERATURE},
        {"strategy": "args", "args_guidance": "lagrangian", "lagrange_lambda": MAX_WEIGHT, "args_weight": MAX_WEIGHT},
        {"strategy": "args", "args_guidance": "cost", "args_weight": MAX_WEIGHT},
    ],
)
def test_the_extreme_values_still_allowed_run_under_an_always_unsafe_policy(
    lm: LanguageModel, changes: dict[str, Any]
) -> None:
    """At the bounds, with every child over budget (so the fallback penalty and the cost guidance are used)."""
    runtime = fuzz_runtime(lm)
    options = SearchOptions(num_candidates=4, block_tokens=2, max_new_tokens=6, seed=0, **changes)
    result = runtime.engine.run("w1 w2", options, guard=runtime.guard(["always-unsafe"]))
    assert result.finish_reason in (FinishReason.BUDGET_EXHAUSTED, FinishReason.LENGTH, FinishReason.EOS)
    if changes.get("max_retries"):
        assert result.usage.retries == 16


def test_request_ids_that_cannot_travel_as_a_header_are_refused() -> None:
    for bad in ("Grüße", "line\nbreak", " padded", "\x7f", "r" * 129):
        with pytest.raises(InvalidOptionError, match=r"^request_id: must be 1\.\.128 visible ASCII"):
            request_id_of(inference_pb2.GenerateRequest(request_id=bad))
    assert request_id_of(inference_pb2.GenerateRequest(request_id="a-Z_0.9:/~" + "r" * 118)).startswith("a-Z")
    assert re.fullmatch(r"[0-9a-f]{32}", request_id_of(inference_pb2.GenerateRequest()))
