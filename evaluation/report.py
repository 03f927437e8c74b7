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


def plot(table: Mapping[str, Mapping[str, Any]], methods: Mapping[str, Method], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    written = []
    for x_key, x_label, name in (
        ("reward_mean", "average reward (relevance)", SAFETY_VS_REWARD),
        ("seconds_per_response", "seconds per response (CPU)", SAFETY_VS_SECONDS),
    ):
        figure, axes = plt.subplots(figsize=(8, 5.5))
        for method_name, m in table.items():
            if m[x_key] is None or m["safety_rate"] is None:
                continue
            x = m[x_key]
            axes.scatter([x], [100 * m["safety_rate"]], color="tab:blue")
            if m["judge_safety_rate_harmful"] is not None:
                axes.scatter([x], [100 * m["judge_safety_rate_harmful"]], facecolors="none", edgecolors="tab:red")
            axes.annotate(
                methods[method_name].title,
                (x, 100 * m["safety_rate"]),
                fontsize=7,
                xytext=(4, 3),
                textcoords="offset points",
            )
        axes.scatter([], [], color="tab:blue", label="safety rate under the guiding policy")
        axes.scatter([], [], facecolors="none", edgecolors="tab:red", label="safe by the independent judge (harmful)")
        if x_key == "seconds_per_response":
            axes.set_xscale("log")
        axes.set_xlabel(x_label)
        axes.set_ylabel("% of harmful prompts")
        axes.set_ylim(-3, 103)
        axes.legend(loc="lower right", fontsize=8)
        axes.grid(alpha=0.3)
        figure.tight_layout()
        path = out / name
        figure.savefig(path, dpi=120)
        plt.close(figure)
        written.append(path)
    return written


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f}"
