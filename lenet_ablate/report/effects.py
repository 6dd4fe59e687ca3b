"""The answer at a glance: forest plots of every comparison (effects.png for the primary outcome,
effects_secondary.png for the other outcomes with intervals), each level's effect with the interval
its verdict used, grouped by experiment, against the band of effects too small to matter."""

from __future__ import annotations

import io
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")  # files only, no display; before pyplot is imported
import matplotlib.pyplot as plt  # noqa: E402

from lenet_ablate.analysis.tables.outcomes import OUTCOMES, TARGET  # noqa: E402

# Marker and colour per kind of verdict.
VERDICT_STYLE = {"differs": ("tab:red", "o"), "no difference": ("tab:blue", "s"), "not resolved": ("0.45", "D")}


def verdict_kind(verdict: str) -> str:
    """'differs', 'no difference' (no difference larger than X) or 'not resolved' (anything else)."""
    return next((k for k in ("differs", "no difference") if str(verdict).startswith(k)), "not resolved")


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _draw(ax: Any, rows: list[Any], centre: float, band: tuple[float, float], labels: bool) -> list[str]:
    """One forest plot on `ax`: a row per level (lr views side by side), its interval, the band."""
    keys = list(dict.fromkeys((r.experiment, str(r.level)) for r in rows))
    views = list(dict.fromkeys(r.lr_view for r in rows))
    ax.axvspan(*band, color="0.88", zorder=0)
    ax.axvline(centre, color="0.4", lw=0.8, zorder=1)
    n_of: dict[tuple[str, str], list[str]] = {}
    for r in rows:
        y = -(keys.index((r.experiment, str(r.level))) + 0.22 * (views.index(r.lr_view) - (len(views) - 1) / 2))
        colour, marker = VERDICT_STYLE[verdict_kind(r.verdict)]
        low, high = (r.ci95_low, r.ci95_high) if np.isfinite(r.ci95_low) else (r.difference, r.difference)
        ax.errorbar(r.difference, y, xerr=[[r.difference - low], [high - r.difference]], fmt=marker, color=colour,
                    mfc=colour if views.index(r.lr_view) == 0 else "white", capsize=3, zorder=2)
        n_of.setdefault((r.experiment, str(r.level)), []).append(f"{r.n_level}")
    ax.set_yticks([-i for i in range(len(keys))],
                  [f"{e}: {lvl}  (n={'/'.join(n_of[(e, lvl)])})" for e, lvl in keys] if labels else [])
    ax.set_ylim(-len(keys) + 0.5, 0.5)
    for i in range(1, len(keys)):  # a rule between experiments
        if keys[i][0] != keys[i - 1][0]:
            ax.axhline(-i + 0.5, color="0.8", lw=0.6)
    return views


def _legend(ax: Any, band_text: str, views: list[str]) -> None:
    handles = [plt.Line2D([], [], color=c, marker=m, ls="", label=k) for k, (c, m) in VERDICT_STYLE.items()]
    handles.append(matplotlib.patches.Patch(color="0.88", label=band_text))
    if len(views) > 1:
        handles += [plt.Line2D([], [], color="k", marker="o", ls="", mfc=f, label=f"{v} lr")
                    for v, f in zip(views, ("k", "white"))]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)


def effects_figure(records: list[Any], outcome: str, min_effect: float, label: str) -> bytes | None:
    """The primary outcome's forest plot: each level's difference from its reference on `outcome`,
    with the interval its verdict used, against the shaded ±min_effect band; marker and colour by
    verdict, n in the label; a tune=lr study shows the default-lr (filled) and tuned-lr (open)
    effect of each level side by side. `records`: comparisons.csv's rows."""
    rows = [r for r in records if r.outcome == outcome and np.isfinite(r.difference)]
    if not rows:
        return None
    keys = {(r.experiment, str(r.level)) for r in rows}
    views = {r.lr_view for r in rows}
    fig, ax = plt.subplots(figsize=(7.5, 1.2 + 0.42 * len(keys) * max(1.0, len(views) * 0.7)))
    drawn = _draw(ax, rows, 0.0, (-min_effect, min_effect), labels=True)
    _legend(ax, f"±{min_effect:g}: too small to matter", drawn)
    ax.set_xlabel(f"difference from the reference in {label} (interval the verdict used)")
    ax.set_title(f"Which choices matter: {label}", fontsize=10)
    return _png(fig)


def secondary_effects_figure(records: list[Any], target: float = TARGET) -> bytes | None:
    """Small multiples, one per secondary outcome with intervals (differences and ratios; the
    log-rank outcomes have none): each level against its reference, the band of its smallest effect
    of interest (a difference, or for a ratio the relative change around 1)."""
    panels = []
    for o in OUTCOMES[1:]:
        rows = [r for r in records if r.outcome == o.name and np.isfinite(r.difference)]
        if rows and o.method in ("paired t", "ratio"):
            panels.append((o, rows))
    if not panels:
        return None
    n = max(len({(r.experiment, str(r.level)) for r in rows}) for _, rows in panels)
    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels) + 2.5, 1.0 + 0.42 * n), squeeze=False)
    for i, (ax, (o, rows)) in enumerate(zip(axes[0], panels)):
        centre = 1.0 if o.method == "ratio" else 0.0
        views = _draw(ax, rows, centre, (centre - o.min_effect, centre + o.min_effect), labels=i == 0)
        ax.set_title(o.column(target), fontsize=9)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(3))
    _legend(axes[0][-1], "band: too small to matter", views)
    return _png(fig)
