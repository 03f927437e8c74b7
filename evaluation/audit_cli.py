"""`inferenceguard eval audit`: read an evaluation's answers blinded, label them by the rubric, report the rates.

Modes: interactive reading (default), --export / --import of a blinded sheet for readers working apart, and
--report (rates with Wilson intervals and Cohen's kappa between label sources).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from inferenceguard.service.config import Settings


def add_parser(actions: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    audit = actions.add_parser("audit", help="label answers by reading them, blinded; report rates and agreement")
    audit.add_argument("--results", type=Path, required=True, help="the evaluation's --out folder (rows, run.json)")
    audit.add_argument("--texts", type=Path, help="the evaluation's --save-text folder (needed to read)")
    audit.add_argument("--labels", type=Path, required=True, help="labels JSONL (ids and hashes only), appended")
    audit.add_argument("--rater", default="reader", help="whose labels are written and reported")
    audit.add_argument("--methods", nargs="+", help="only these methods' answers (default: all in the folder)")
    audit.add_argument("--kinds", nargs="+", choices=("harmful", "benign"), default=["harmful", "benign"])
    mode = audit.add_mutually_exclusive_group()
    mode.add_argument("--export", type=Path, metavar="SHEET", help="write the unread items, blinded, to SHEET")
    mode.add_argument("--import", dest="import_", type=Path, metavar="SHEET", help="read labels from SHEET")
    mode.add_argument("--report", action="store_true", help="print rates and agreement; with --json, one object")
    audit.add_argument("--json", action="store_true", help="with --report: the report as JSON")
    audit.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from inferenceguard.evaluation.audit import read_labels
    from inferenceguard.evaluation.runner import read_rows

    rows = [
        r
        for r in read_rows(args.results)
        if r["kind"] in args.kinds and (not args.methods or r["method"] in args.methods)
    ]
    labels = read_labels(args.labels)
    if args.report:
        return _report(rows, labels, args)
    items = _unread(rows, labels, args, settings)
    if args.export:
        return _export(items, args.export)
    if args.import_:
        return _import(items, args)
    return _interactive(items, args, sys.stdin, sys.stdout)


def _unread(rows: list[dict[str, Any]], labels: list[Any], args: argparse.Namespace, settings: Settings) -> list[Any]:
    """The items `args.rater` has still to read; the withheld rows in scope are labelled W on the way."""
    from inferenceguard.evaluation.audit import append_label, items_to_read, read_texts, unread, withheld_labels
    from inferenceguard.service.engine.errors import InvalidOptionError

    if args.texts is None:
        raise InvalidOptionError("texts", "reading needs the answers: give the evaluation's --save-text folder")
    items = items_to_read(rows, read_texts(args.texts), _prompt_texts(args.results, settings.home))
    for label in withheld_labels(rows, labels, args.rater):
        append_label(args.labels, label)
    return unread(items, labels, args.rater)


def _prompt_texts(results: Path, home: Path) -> dict[str, str]:
    """Prompt id -> text, from the source the evaluation recorded in run.json (a split, or a file)."""
    from inferenceguard.evaluation.prompt_sets import file_prompts
    from inferenceguard.prompts.catalog import load_prompts

    source = json.loads((results / "run.json").read_text())["prompts"]
    if "file" in source:
        return {p.id: p.text for p in file_prompts(Path(source["file"]))}
    return {r.id: r.text for r in load_prompts(home)}


def _export(items: list[Any], sheet: Path) -> int:
    from inferenceguard.evaluation.rubric import labels_for

    with sheet.open("w", encoding="utf-8") as out:
        for item in items:
            record = {
                "item": item.item_id,
                "kind": item.kind,
                "allowed": list(labels_for(item.kind)),
                "prompt": item.prompt,
                "answer": item.answer,
            }
            out.write(json.dumps(record) + "\n")
    print(f"eval audit: {len(items)} unread items written to {sheet}", file=sys.stderr)
    return 0


def _import(items: list[Any], args: argparse.Namespace) -> int:
    from inferenceguard.evaluation.audit import Label, append_label, check_label
    from inferenceguard.service.engine.errors import InvalidOptionError

    by_id = {item.item_id: item for item in items}
    added = 0
    for number, line in enumerate(args.import_.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidOptionError("import", f"{args.import_}:{number}: not JSON ({exc.msg})") from exc
        item = by_id.pop(record.get("item", ""), None) if isinstance(record, dict) else None
        if item is None:
            raise InvalidOptionError("import", f"{args.import_}:{number}: unknown or already labelled item")
        label = check_label(item, str(record.get("label", "")))
        append_label(args.labels, Label(item.prompt_id, item.text_sha256, label, args.rater))
        added += 1
    print(f"eval audit: {added} labels added for {args.rater}; {len(by_id)} items still unread", file=sys.stderr)
    return 0


def _interactive(items: list[Any], args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> int:
    from inferenceguard.evaluation.audit import Label, append_label, check_label
    from inferenceguard.evaluation.rubric import labels_for
    from inferenceguard.service.engine.errors import InvalidOptionError

    for number, item in enumerate(items, 1):
        allowed = labels_for(item.kind)
        stdout.write(f"\n[{number}/{len(items)}] item {item.item_id}, a {item.kind} request\n--- request\n")
        stdout.write(f"{item.prompt}\n--- answer\n{item.answer or '(empty)'}\n")
        while True:
            stdout.write(f"label ({'/'.join(allowed)}; ? rubric; q quit): ")
            stdout.flush()
            answer = stdin.readline()
            if not answer or answer.strip().lower() == "q":
                return 0
            if answer.strip() == "?":
                stdout.writelines(f"  {key}: {text}\n" for key, text in allowed.items())
                continue
            try:
                label = check_label(item, answer)
            except InvalidOptionError as exc:
                stdout.write(f"{exc}\n")
                continue
            append_label(args.labels, Label(item.prompt_id, item.text_sha256, label, args.rater))
            break
    stdout.write("eval audit: every item is labelled\n")
    return 0


def _report(rows: list[dict[str, Any]], labels: list[Any], args: argparse.Namespace) -> int:
    from inferenceguard.evaluation.audit_report import agreement, rates, reading, sources_for
    from inferenceguard.evaluation.report import audit_markdown

    report = {"rater": args.rater, "methods": rates(rows, reading(labels, args.rater))}
    report["agreement"] = agreement(rows, sources_for(labels))
    print(json.dumps(report) if args.json else audit_markdown(report))
    return 0
