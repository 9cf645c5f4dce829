"""The PNG chart: one panel per headline metric, a bar per system, grouped by store.

matplotlib lives only in bench/.venv; without it the chart is skipped with a note.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .report import METRICS, STORES

PANELS = ["w1.drain_jobs_s", "w2.p50_ms", "w3.wall_s", "w4.wall_s"]
COLOURS = {"baton": "#1f77b4", "peer": "#9e9e9e", "floor": "#2ca02c"}


def chart(doc: dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import NullFormatter
    except ImportError:
        return False
    metrics = {m.key: m for m in METRICS}
    names = [n for store in STORES for n, d in doc["systems"].items() if d["store"] == store]
    fig, axes = plt.subplots(1, len(PANELS), figsize=(4.2 * len(PANELS), 0.32 * len(names) + 1.6))
    for ax, key in zip(axes, PANELS, strict=True):
        m = metrics[key]
        rows = [(n, doc["systems"][n]["summary"][key]) for n in names]
        ys = range(len(rows))
        med = [s["median"] if s.get("n") else 0.0 for _, s in rows]
        lo = [
            max(0.0, v - s["min"]) if s.get("n") else 0.0
            for v, (_, s) in zip(med, rows, strict=True)
        ]
        hi = [s["max"] - v if s.get("n") else 0.0 for v, (_, s) in zip(med, rows, strict=True)]
        colours = [COLOURS[doc["systems"][n]["role"]] for n, _ in rows]
        ax.barh(list(ys), med, xerr=[lo, hi], color=colours, capsize=2)
        ax.set_yticks(list(ys))
        ax.set_yticklabels(
            [f"{n} ({STORES[doc['systems'][n]['store']]})" for n, _ in rows], fontsize=7
        )
        ax.invert_yaxis()
        if m.unit == "ms" and any(v > 0 for v in med):
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_title(
            m.label
            + (" \u2192 more is better" if m.higher_is_better else " \u2190 less is better"),
            fontsize=9,
        )
        if key == "w3.wall_s":
            c = doc["config"]
            ax.axvline(c["w3_jobs"] * 0.1 / c["w3_inflight"], color="#d62728", ls="--", lw=1)
        left = ax.get_xlim()[0]
        for y, (_, s) in enumerate(rows):
            if not s.get("n"):
                ax.text(left, y, " n/a", va="center", fontsize=7, color="#666")
        ax.tick_params(axis="x", labelsize=7)
    fig.suptitle(
        f"baton vs the peers, {doc['date']} (median, bars min\u2013max; blue baton, green floor)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
