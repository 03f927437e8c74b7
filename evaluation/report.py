"""The report of an evaluation: a markdown table shaped like the paper's Table 2 plus the independent judge's
columns, and two plots (safety rate against reward and against seconds per response)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from inferenceguard.evaluation.methods import Method

SAFETY_VS_REWARD, SAFETY_VS_SECONDS = "safety_vs_reward.png", "safety_vs_seconds.png"


def markdown_table(table: Mapping[str, Mapping[str, Any]], methods: Mapping[str, Method]) -> str:
    head = (
        "| Method | Avg Reward (±std) | Avg Cost | Safety Rate (guide) | Time (s) | LM tokens "
        "| Safe by judge (harmful) | Refused (harmful) | Withheld (harmful) | Toxic continuations (judge) "
        "| Over-refusal (benign) "
        "| Benign reward vs Base |\n|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for name, m in table.items():
        reward = f"{_num(m['reward_mean'], 3)} (±{_num(m['reward_std'], 3)})"
        lines.append(
            f"| {methods[name].title} | {reward} | {_num(m['cost_mean'], 3)} | {_pct(m['safety_rate'])} "
            f"| {_num(m['seconds_per_response'], 1)} | {_num(m['tokens_sampled_per_response'], 0)} "
            f"| {_pct(m['judge_safety_rate_harmful'])} "
            f"| {_pct(m['judge_refusal_rate_harmful'])} | {_pct(m['withheld_rate_harmful'])} "
            f"| {_pct(m['judge_toxic_rate_continuations'])} | {_pct(m['over_refusal_rate_benign'])} "
            f"| {_pct(m['benign_reward_vs_base'])} |"
        )
    return "\n".join(lines) + "\n"


def paired_table(
    paired: Mapping[str, Mapping[str, Mapping[str, Any]]], methods: Mapping[str, Method], reference: str
) -> str:
    """Prompt-by-prompt comparison with `reference`: on how many prompts only one of the two was safe."""
    title = methods[reference].title
    lines = [
        f"Paired with {title} (same prompts and seeds): prompts where only {title} / only the other method was "
        "safe, and the exact McNemar p-value.\n",
        "| Method | Guide: only reference | Guide: only method | p (guide) "
        "| Judge: only reference | Judge: only method | p (judge) |\n|---|---|---|---|---|---|---|",
    ]
    for name in (name for name in methods if name in paired):
        guide, judge = paired[name]["guide_safe"], paired[name]["judge_safe"]
        lines.append(
            f"| {methods[name].title} | {guide['reference_only']} | {guide['method_only']} | {_p(guide['p_value'])} "
            f"| {judge['reference_only']} | {judge['method_only']} | {_p(judge['p_value'])} |"
        )
    return "\n".join(lines) + "\n"


def audit_markdown(report: Mapping[str, Any]) -> str:
    """The reading audit: per method, the rubric's rates with 95% intervals; then the agreement between sources."""
    lines = [
        f"Reading by {report['rater']}. Harmful: goes along = H or A, serves = H; benign: over-refused = R or W.\n",
        "| Method | harmful read / rows | labels | goes along | serves | benign read / rows | over-refused "
        "| over-refused (hard negatives) |\n|---|---|---|---|---|---|---|---|",
    ]
    for method, m in report["methods"].items():
        harmful, benign = m["harmful"], m["benign"]
        labels = " ".join(f"{k} {v}" for k, v in sorted(harmful["labels"].items())) or "—"
        lines.append(
            f"| {method} | {harmful['labelled']} / {harmful['rows']} | {labels} | {_rate(m['goes_along'])} "
            f"| {_rate(m['serves'])} | {benign['labelled']} / {benign['rows']} | {_rate(m['over_refused'])} "
            f"| {_rate(m['over_refused_hard_negative'])} |"
        )
    lines += ["", "| Kind | Sources | Rows | Agreement | Cohen's kappa |", "|---|---|---|---|---|"]
    for pair in report["agreement"]:
        lines.append(
            f"| {pair['kind']} | {' vs '.join(pair['sources'])} | {pair['rows']} | {_pct(pair['agreement'])} "
            f"| {_num(pair['kappa'], 2)} |"
        )
    return "\n".join(lines) + "\n"


def plot(table: Mapping[str, Mapping[str, Any]], methods: Mapping[str, Method], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    written = []
    palette = plt.get_cmap("tab20")
    for x_key, x_label, name in (
        ("reward_mean", "average reward (relevance)", SAFETY_VS_REWARD),
        ("seconds_per_response", "seconds per response (CPU)", SAFETY_VS_SECONDS),
    ):
        figure, axes = plt.subplots(figsize=(11, 5.5))
        for index, (method_name, m) in enumerate(table.items()):
            if m[x_key] is None or m["safety_rate"] is None:
                continue
            colour = palette(index % palette.N)
            axes.scatter([m[x_key]], [100 * m["safety_rate"]], color=colour, label=methods[method_name].title)
            if m["judge_safety_rate_harmful"] is not None:
                axes.scatter([m[x_key]], [100 * m["judge_safety_rate_harmful"]], facecolors="none", edgecolors=colour)
        if x_key == "seconds_per_response":
            axes.set_xscale("log")
            axes.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        axes.set_xlabel(x_label)
        axes.set_ylabel("% answered safely")
        axes.set_title(
            "filled: within the guiding policy's budget (harmful and toxic prompts); "
            "hollow: safe by the independent judge (harmful prompts)",
            fontsize=9,
        )
        axes.set_ylim(-3, 103)
        axes.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8)
        axes.grid(alpha=0.3)
        figure.tight_layout()
        path = out / name
        figure.savefig(path, dpi=120)
        plt.close(figure)
        written.append(path)
    return written


def _rate(rate: Mapping[str, Any] | None) -> str:
    if rate is None:
        return "—"
    low, high = rate["ci95"]
    return f"{_pct(rate['rate'])} ({rate['count']}/{rate['of']}; {100 * low:.1f}–{100 * high:.1f}%)"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _p(value: float) -> str:
    return f"{value:.2g}" if value >= 1e-4 else "<1e-4"


def _num(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f}"
