"""`inferenceguard eval audit`: blinded items, resumable labels (ids only), W from the rows, rates and kappa."""

from __future__ import annotations

import hashlib
import io
import json
from argparse import Namespace
from pathlib import Path
from typing import Any

import pytest

from inferenceguard.evaluation.audit import Label, items_to_read, read_labels, withheld_labels
from inferenceguard.evaluation.audit_cli import _interactive
from inferenceguard.evaluation.audit_report import agreement, rates, reading, sources_for
from inferenceguard.evaluation.rubric import BENIGN_LABELS, HARMFUL_LABELS, WITHHELD
from inferenceguard.evaluation.stats import cohen_kappa
from inferenceguard.service.cli import main
from inferenceguard.service.engine.errors import InvalidOptionError

NOTICE = " [withheld]"
PROMPTS = {"h1": "placeholder request one", "h2": "placeholder request two", "b1": "placeholder question"}
KIND = {"h1": "harmful", "h2": "harmful", "b1": "benign"}
ANSWERS = {  # (method, prompt) -> the saved text
    ("base", "h1"): "Sure, here is a plan",
    ("ig", "h1"): "Sure, here is a plan",  # the same answer: one item, read once
    ("base", "h2"): "Blue whales are large.",
    ("ig", "h2"): NOTICE,  # nothing released: W, never read
    ("base", "b1"): "An answer.",
    ("ig", "b1"): "An ans" + NOTICE,  # a benign answer the policy cut: W
}


def rows() -> list[dict[str, Any]]:
    out = []
    for (method, prompt_id), text in ANSWERS.items():
        released = text.removesuffix(NOTICE)
        out.append(
            {
                "method": method,
                "prompt_id": prompt_id,
                "kind": KIND[prompt_id],
                "category": "",
                "safe": True,
                "finish_reason": "budget_exhausted" if text.endswith(NOTICE) else "eos",
                "judge": {
                    "refused": not released,
                    "released_chars": len(released),
                    "harmful_compliance": bool(released),
                },
                "text_sha256": hashlib.sha256(text.encode()).hexdigest(),
            }
        )
    return out


def texts() -> dict[tuple[str, str], str]:
    return dict(ANSWERS)


def test_items_are_distinct_answers_in_hashed_order_without_the_notice() -> None:
    items = items_to_read(rows(), texts(), PROMPTS)
    assert sorted((i.prompt_id, i.answer) for i in items) == [
        ("b1", "An answer."),
        ("h1", "Sure, here is a plan"),
        ("h2", "Blue whales are large."),
    ]
    assert [i.item_id for i in items] == sorted(i.item_id for i in items)
    assert all("base" not in i.item_id and "ig" not in i.item_id for i in items)


def test_a_saved_text_that_does_not_match_its_row_is_refused() -> None:
    tampered = texts() | {("base", "h2"): "Another text."}
    with pytest.raises(InvalidOptionError, match="does not match"):
        items_to_read(rows(), tampered, PROMPTS)
    with pytest.raises(InvalidOptionError, match="--save-text"):
        items_to_read(rows(), {}, PROMPTS)


def test_withheld_rows_get_w_once_per_answer() -> None:
    labels = withheld_labels(rows(), [], "me")
    assert sorted((label.prompt_id, label.label) for label in labels) == [("b1", WITHHELD), ("h2", WITHHELD)]
    assert withheld_labels(rows(), labels, "me") == []


def test_interactive_reading_checks_labels_resumes_and_writes_ids_only(tmp_path: Path) -> None:
    labels_path = tmp_path / "labels.jsonl"
    args = Namespace(labels=labels_path, rater="me")
    items = items_to_read(rows(), texts(), PROMPTS)
    first = items[0]
    out = io.StringIO()
    bad = "Y" if first.kind == "harmful" else "H"  # a label of the other rubric
    _interactive(items, args, io.StringIO(f"{bad}\n?\n{'N' if first.kind == 'harmful' else 'Y'}\nq\n"), out)
    assert "takes one of" in out.getvalue() and "rubric" in out.getvalue()
    assert "base" not in out.getvalue() and NOTICE not in out.getvalue()  # blinded: no method, no notice
    saved = read_labels(labels_path)
    assert [(label.prompt_id, label.rater) for label in saved] == [(first.prompt_id, "me")]
    assert set(json.loads(labels_path.read_text().splitlines()[0])) == {"prompt_id", "text_sha256", "label", "rater"}


def test_rates_and_kappa_follow_the_labels() -> None:
    table_rows = rows()
    by_prompt = {"h1": "H", "h2": "N", "b1": "Y"}
    labels = withheld_labels(table_rows, [], "me") + [
        Label(r["prompt_id"], r["text_sha256"], by_prompt[r["prompt_id"]], "me")
        for r in table_rows
        if r["method"] == "base"
    ]
    table = rates(table_rows, reading(labels, "me"))
    assert table["base"]["goes_along"]["rate"] == 0.5 and table["base"]["serves"]["count"] == 1
    assert table["ig"]["goes_along"]["rate"] == 0.5  # h1 (same text as base's: H) and h2 withheld
    assert table["ig"]["over_refused"]["rate"] == 1.0 and table["base"]["over_refused"]["rate"] == 0.0
    low, high = table["base"]["goes_along"]["ci95"]
    assert low < 0.5 < high
    pairs = {(p["kind"], tuple(p["sources"])): p for p in agreement(table_rows, sources_for(labels))}
    judge = pairs[("harmful", ("reading:me", "phrase judge"))]
    assert judge["rows"] == 4 and judge["agreement"] == 0.75  # the judge calls base's h2 compliance


def test_cohen_kappa() -> None:
    assert cohen_kappa("ABAB", "ABAB") == 1.0
    assert cohen_kappa("AABB", "ABAB") == 0.0  # agreement no better than chance
    assert cohen_kappa("AAAA", "AAAA") is None  # chance agreement is total
    assert cohen_kappa([True, True, False, False, True], [True, False, False, False, True]) == pytest.approx(
        (0.8 - 0.48) / 0.52
    )
    with pytest.raises(ValueError):
        cohen_kappa("AB", "A")


def test_the_command_exports_a_blinded_sheet_imports_labels_and_reports(tmp_path: Path, capsys: Any) -> None:
    results, text_dir = tmp_path / "run", tmp_path / "texts"
    results.mkdir()
    text_dir.mkdir()
    prompts_file = tmp_path / "prompts.jsonl"
    prompts_file.write_text(
        "".join(json.dumps({"id": k, "prompt": v, "label": KIND[k]}) + "\n" for k, v in PROMPTS.items())
    )
    (results / "run.json").write_text(json.dumps({"prompts": {"file": str(prompts_file)}}))
    (results / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows()))
    (text_dir / "texts.jsonl").write_text(
        "".join(json.dumps({"method": m, "prompt_id": p, "text": t}) + "\n" for (m, p), t in ANSWERS.items())
    )
    common = ["--home", str(tmp_path / "home"), "eval", "audit", "--results", str(results), "--texts", str(text_dir)]
    common += ["--labels", str(results / "labels.jsonl"), "--rater", "r2"]
    sheet, answers = tmp_path / "sheet.jsonl", tmp_path / "answers.jsonl"
    assert main([*common, "--export", str(sheet)]) == 0
    records = [json.loads(line) for line in sheet.read_text().splitlines()]
    assert len(records) == 3 and all(set(r) == {"item", "kind", "allowed", "prompt", "answer"} for r in records)
    answers.write_text(json.dumps({"item": records[0]["item"], "label": records[0]["allowed"][0]}) + "\n")
    assert main([*common, "--import", str(answers)]) == 0
    assert main([*common, "--export", str(sheet)]) == 0
    assert len(sheet.read_text().splitlines()) == 2  # resumed: the labelled item is not asked again
    answers.write_text(json.dumps({"item": records[1]["item"], "label": "Z"}) + "\n")
    assert main([*common, "--import", str(answers)]) == 2
    assert "takes one of" in capsys.readouterr().err
    assert main([*common, "--report", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rater"] == "r2" and set(report["methods"]) == {"base", "ig"}


def test_the_rubric_document_names_every_label() -> None:
    text = (Path(__file__).parents[1] / "docs" / "rubric.md").read_text()
    for label in {*HARMFUL_LABELS, *BENIGN_LABELS, WITHHELD}:
        assert f"**{label}**" in text
