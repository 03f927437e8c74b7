"""`inferenceguard eval`: prompt sets, the resumable runner, the metrics and the report, on the tiny model."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from inferenceguard.evaluation.judge import Judge
from inferenceguard.evaluation.methods import Method
from inferenceguard.evaluation.prompt_sets import EvalPrompt, file_prompts, run_order, seed_of, split_prompts
from inferenceguard.evaluation.report import SAFETY_VS_REWARD, SAFETY_VS_SECONDS, markdown_table, plot
from inferenceguard.evaluation.runner import EvalPlan, read_rows, run_eval
from inferenceguard.evaluation.summary import summarise
from inferenceguard.prompts.catalog import PromptRecord
from inferenceguard.service.engine import LanguageModel, SearchOptions
from inferenceguard.service.engine.errors import InvalidOptionError
from tests.server_helpers import tiny_runtime

PROMPTS = [
    EvalPrompt("h1", "w1 w2", "harmful"),
    EvalPrompt("h2", "w3 w4", "harmful"),
    EvalPrompt("b1", "w2 w3", "benign"),
    EvalPrompt("b2", "w4 w1", "benign", category="hard_negative"),
]


def small_methods() -> dict[str, Method]:
    shared = {"num_candidates": 4, "block_tokens": 2, "max_new_tokens": 4}
    table = [
        Method("base", "Base", SearchOptions(strategy="sample", max_new_tokens=4), False),
        Method("beam_augmented", "Beam", SearchOptions(strategy="beam", **shared), False),
        Method("inferenceguard", "IG", SearchOptions(strategy="inferenceguard", **shared), False),
    ]
    return {m.name: m for m in table}


def plan(**config: object) -> EvalPlan:
    return EvalPlan(PROMPTS, small_methods(), ["no-five-six"], 0, {"N": 4, **config})


def test_the_runner_resumes_without_repeating_rows(lm: LanguageModel, tmp_path: Path) -> None:
    runtime = tiny_runtime(lm)
    assert run_eval(runtime, plan(), tmp_path, limit=5, judge=Judge({}, "")) == 5
    assert run_eval(runtime, plan(), tmp_path, judge=Judge({}, "")) == 7
    rows = read_rows(tmp_path)
    keys = [(r["method"], r["prompt_id"]) for r in rows]
    assert len(keys) == len(set(keys)) == 12
    assert all("text" not in r and len(r["text_sha256"]) == 64 for r in rows)
    assert run_eval(runtime, plan(), tmp_path, judge=Judge({}, "")) == 0


def test_rows_are_reproducible_and_methods_share_a_prompt_seed(lm: LanguageModel, tmp_path: Path) -> None:
    runtime = tiny_runtime(lm)
    for folder in ("a", "b"):
        run_eval(runtime, plan(), tmp_path / folder, judge=Judge({}, ""))
    first, second = read_rows(tmp_path / "a"), read_rows(tmp_path / "b")
    assert [r["text_sha256"] for r in first] == [r["text_sha256"] for r in second]
    seeds: dict[str, set[int]] = {r["prompt_id"]: set() for r in first}
    for r in first:
        seeds[r["prompt_id"]].add(r["seed"])
    assert all(len(s) == 1 for s in seeds.values())


def test_a_folder_refuses_rows_of_other_settings(lm: LanguageModel, tmp_path: Path) -> None:
    runtime = tiny_runtime(lm)
    run_eval(runtime, plan(), tmp_path, limit=1, judge=Judge({}, ""))
    with pytest.raises(InvalidOptionError, match="N=4"):
        run_eval(runtime, plan(N=8), tmp_path, judge=Judge({}, ""))
    run_eval(runtime, plan(date="another day"), tmp_path, limit=1, judge=Judge({}, ""))  # free to change


def test_save_text_keeps_the_answers_apart_from_the_rows(lm: LanguageModel, tmp_path: Path) -> None:
    keep = EvalPlan(PROMPTS[:1], small_methods(), ["no-five-six"], 0, {}, text_dir=tmp_path / "texts")
    run_eval(tiny_runtime(lm), keep, tmp_path / "out", judge=Judge({}, ""))
    rows = read_rows(tmp_path / "out")
    texts = [json.loads(line) for line in (tmp_path / "texts" / "texts.jsonl").read_text().splitlines()]
    assert all("text" not in r for r in rows)
    assert [(t["method"], t["prompt_id"]) for t in texts] == [(r["method"], r["prompt_id"]) for r in rows]
    assert [hashlib.sha256(t["text"].encode()).hexdigest() for t in texts] == [r["text_sha256"] for r in rows]


def row(method: str, kind: str, judge: dict[str, object] | None = None, **fields: object) -> dict[str, object]:
    verdict: dict[str, object] = {"refused": False, "toxicity": None, "harm": None, "harmful_compliance": True}
    verdict |= judge or {}
    base = {"method": method, "kind": kind, "category": "", "safe": True, "cost": 0.0, "reward": 1.0}
    return base | {"seconds": 1.0, "finish_reason": "eos", "usage": {"tokens_sampled": 10}, "judge": verdict} | fields


def test_metrics_count_what_the_guide_and_the_judge_say() -> None:
    rows = [
        row("base", "harmful", safe=False, cost=2.0),
        row("base", "harmful", judge={"refused": True, "harmful_compliance": False}),
        row("base", "benign", reward=0.8),
        row("ig", "harmful", finish_reason="budget_exhausted"),
        row("ig", "harmful"),
        row("ig", "benign", reward=0.4, finish_reason="budget_exhausted"),
        row("ig", "toxic", judge={"toxicity": 0.9}),
    ]
    methods = {name: Method(name, name, SearchOptions(), False) for name in ("base", "ig")}
    table = summarise(rows, methods)
    assert table["base"]["harmful_safety_rate"] == 0.5
    assert table["base"]["judge_refusal_rate_harmful"] == 0.5
    assert table["base"]["judge_safety_rate_harmful"] == 0.5
    assert table["base"]["guide_judge_agreement_harmful"] == 1.0  # unsafe and complying; safe and refusing
    assert table["ig"]["guide_judge_agreement_harmful"] == 0.0  # within budget, yet complying
    assert table["base"]["cost_mean"] == pytest.approx(2 / 3)
    assert table["ig"]["withheld_rate_harmful"] == 0.5
    assert table["ig"]["over_refusal_rate_benign"] == 1.0
    assert table["ig"]["judge_toxic_rate_continuations"] == 1.0
    assert table["ig"]["benign_reward_vs_base"] == pytest.approx(0.5)


def test_the_report_has_a_row_per_method_and_two_plots(tmp_path: Path) -> None:
    methods = {name: Method(name, f"title-{name}", SearchOptions(), False) for name in ("base", "ig")}
    rows = [row("base", "harmful", safe=False), row("ig", "harmful"), row("ig", "benign")]
    table = summarise(rows, methods)
    markdown = markdown_table(table, methods)
    assert "| title-base |" in markdown and "| title-ig |" in markdown
    written = plot(table, methods, tmp_path)
    assert [p.name for p in written] == [SAFETY_VS_REWARD, SAFETY_VS_SECONDS]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in written)


def test_the_judge_reads_what_was_released(lm: LanguageModel) -> None:
    judge = Judge({}, " [withheld]")
    assert judge("p", " [withheld]").refused  # nothing was released
    assert judge("p", "I'm sorry, I can't help with that.").refused
    verdict = judge("p", "Sure, here it is [withheld]")
    assert not verdict.refused and verdict.harmful_compliance and verdict.released_chars == len("Sure, here it is")


def test_prompt_files_are_checked_line_by_line(tmp_path: Path) -> None:
    path = tmp_path / "prompts.jsonl"
    good = {"id": "a", "prompt": "hello", "label": "benign"}
    path.write_text(json.dumps(good) + "\n" + json.dumps(good | {"id": "b", "label": "harmful"}) + "\n")
    assert [(p.id, p.kind) for p in file_prompts(path)] == [("a", "benign"), ("b", "harmful")]
    for bad, message in (
        (good | {"label": "maybe"}, "prompts.jsonl:2: field 'label'"),
        ({"id": "b", "label": "benign"}, "prompts.jsonl:2: field 'prompt'"),
        (good, "prompts.jsonl:2: id 'a' appears twice"),
    ):
        path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
        with pytest.raises(InvalidOptionError, match=message):
            file_prompts(path)
    with pytest.raises(InvalidOptionError, match="cannot read"):
        file_prompts(tmp_path / "missing.jsonl")


def test_order_and_seeds_do_not_depend_on_the_other_prompts() -> None:
    assert run_order(PROMPTS) == run_order(list(reversed(PROMPTS)))
    assert seed_of(PROMPTS[0], 0) == seed_of(EvalPrompt("h1", "other text", "benign"), 0)
    assert seed_of(PROMPTS[0], 1) == seed_of(PROMPTS[0], 0) + 1


def test_shards_split_the_prompts_between_processes(lm: LanguageModel, tmp_path: Path) -> None:
    runtime = tiny_runtime(lm)
    for k in (0, 1):
        shard = EvalPlan(PROMPTS, small_methods(), ["no-five-six"], 0, {"N": 4}, shard=(k, 2))
        assert run_eval(runtime, shard, tmp_path, judge=Judge({}, "")) == 6
    assert sorted(p.name for p in tmp_path.glob("results*.jsonl")) == [
        "results.shard0of2.jsonl",
        "results.shard1of2.jsonl",
    ]
    assert len({(r["method"], r["prompt_id"]) for r in read_rows(tmp_path)}) == 12
    assert run_eval(runtime, plan(), tmp_path, judge=Judge({}, "")) == 0  # one process sees both shards' rows


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--methods", "base", "magic"], "methods: unknown method 'magic'"),
        (["--shard", "2/2"], "shard: must be K/N with 0 <= K < N"),
        (["--num-candidates", "0"], "num_candidates: must be in 1..1024"),
    ],
)
def test_eval_refuses_bad_flags_before_loading_anything(flags: list[str], message: str) -> None:
    from tests.test_cli import cli

    done = cli("eval", *flags)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_split_slices_take_each_pool_in_hash_order_after_an_offset() -> None:
    records = [PromptRecord(f"h{i}", "advbench", f"harm {i}", "harmful", split="dev") for i in range(6)]
    records += [PromptRecord(f"b{i}", "aplomb", f"plain {i}", "benign", split="dev") for i in range(3)]
    records += [
        PromptRecord(f"t{i}", "inferenceguard-hard", f"hard {i}", "benign", "hard_negative", split="dev")
        for i in range(3)
    ]
    first = split_prompts(records, "dev", {"harmful": 2, "benign": 3})
    assert [p.kind for p in first] == ["harmful"] * 2 + ["benign"] * 3
    assert not any(p.source == "inferenceguard-hard" for p in first)  # the typed set is its own pool
    typed = split_prompts(records, "dev", {"hard_negatives": 3})
    assert {p.id for p in typed} == {"t0", "t1", "t2"} and all(p.category == "hard_negative" for p in typed)
    second = split_prompts(records, "dev", {"harmful": 2}, offset=2)
    assert not {p.id for p in second} & {p.id for p in first}
    with pytest.raises(InvalidOptionError, match="after 4 but the dev split has 6"):
        split_prompts(records, "dev", {"harmful": 3}, offset=4)
