"""The report's figures as PNG bytes: learning curves, every seed per level, confusion matrices."""

from __future__ import annotations

import io
import itertools
from typing import Any

import matplotlib
import numpy as np
import pandas as pd

matplotlib.use("Agg")  # files only, no display; before pyplot is imported
import matplotlib.pyplot as plt  # noqa: E402

from lenet_ablate.analysis.inference import stats
from lenet_ablate.analysis.tables.classes import CLASS_NAMES
from lenet_ablate.analysis.tables.collect import load_curves
from lenet_ablate.analysis.tables.experiments import Experiment
from lenet_ablate.analysis.tables.level_rows import LevelRow


def _figure(*args: Any, **kwargs: Any):
    return plt.subplots(*args, **kwargs)


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def curves_figure(jobs: pd.DataFrame, title: str) -> bytes | None:
    """Train vs val accuracy and loss per epoch: every seed as a thin line, the mean bold."""
    curves = [c for c in (load_curves(d) for d in jobs.job_dir) if c is not None]
    if not curves:
        return None
    fig, axes = _figure(1, 2, figsize=(10, 3.6))
    for ax, metric in zip(axes, ("acc", "loss")):
        for split, color in (("train", "tab:blue"), ("val", "tab:orange")):
            tag = f"{split}/{metric}"
            found = [c[tag] for c in curves if tag in c]
            if not found:  # a run that never logged this tag (stopped before its first validation)
                continue
            series = pd.concat(found, axis=1)
            epochs = series.index + 1
            ax.plot(epochs, series, color=color, alpha=0.35, linewidth=0.8)
            ax.plot(epochs, series.mean(axis=1), "o-", markersize=3, color=color,
                    label=f"{split} (mean of {series.shape[1]} seeds)")
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy" if metric == "acc" else "loss")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=9)
    return _png(fig)


def seeds_figure(rows: list[LevelRow], factor: str) -> bytes:
    """Each seed's test accuracy as a dot per level, with the level's mean and 95% interval."""
    fig, ax = _figure(figsize=(1.6 + 1.2 * len(rows), 3.4))
    for i, row in enumerate(rows):
        values = row.side.values.to_numpy()
        jitter = np.linspace(-0.12, 0.12, len(values)) if len(values) > 1 else np.zeros(len(values))
        ax.plot(i + jitter, values, "o", color="tab:gray" if i == 0 else "tab:blue", alpha=0.7, markersize=5)
        if row.ci95_low == row.ci95_low:
            ax.errorbar(i + 0.28, row.mean, yerr=[[row.mean - row.ci95_low], [row.ci95_high - row.mean]],
                        fmt="s", color="black", capsize=5, markersize=5)
        elif row.mean == row.mean:
            ax.plot(i + 0.28, row.mean, "s", color="black", markersize=5)
    ax.set_xticks(range(len(rows)), [str(r.level) for r in rows])
    ax.set_xlim(-0.5, len(rows) - 0.3)
    ax.set_ylabel("test accuracy")
    ax.set_title(f"{factor}: dots = seeds (grey: reference level); square = mean with 95% interval", fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def class_labels(jobs: pd.DataFrame, classes: int) -> list[str]:
    """The class names the jobs recorded (a folder's class folders); for older summaries the data
    set's known names, else the class numbers."""
    recorded = [c for c in jobs.get("_classes", pd.Series(dtype=object)) if isinstance(c, list) and len(c) == classes]
    data = str(jobs["_config"].iloc[0].get("data", {}).get("name", ""))
    return list(recorded[0]) if recorded else CLASS_NAMES.get(data, [str(i) for i in range(classes)])


def confusion_figure(jobs: pd.DataFrame, title: str) -> bytes | None:
    """Confusion matrix (summed over seeds) and per-class test accuracy."""
    mats = [np.array(m) for m in jobs["_confusion"] if isinstance(m, list) and m]
    if not mats:
        return None
    cm = np.sum(mats, axis=0)
    names = class_labels(jobs, len(cm))
    per_class = cm.diagonal() / np.maximum(cm.sum(1), 1)
    fig, (ax1, ax2) = _figure(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1.2, 1]})
    ax1.imshow(cm, cmap="Blues")
    ax1.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=7)
    ax1.set_yticks(range(len(names)), names, fontsize=7)
    ax1.set_xlabel("predicted")
    ax1.set_ylabel("true")
    for i, j in itertools.product(range(len(cm)), repeat=2):
        ax1.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=6,
                 color="white" if cm[i, j] > cm.max() / 2 else "black")
    ax2.barh(names, per_class, color="tab:blue")
    ax2.invert_yaxis()
    ax2.set_xlim(0, 1)
    ax2.set_xlabel("per-class test accuracy")
    ax2.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=9)
    return _png(fig)


def lr_sensitivity_figure(records: list[dict[str, Any]], labels: dict[str, str]) -> bytes | None:
    """Screening validation accuracy vs lr (log x): one line per configuration through the mean of
    its screening seeds, every seed a dot, the chosen lr ringed."""
    if not records:
        return None
    fig, ax = _figure(figsize=(8, 4.2))
    for r, color in zip(records, itertools.cycle([f"C{i}" for i in range(10)])):
        lrs = [p["lr"] for p in r["grid"]]
        ax.plot(lrs, [p["mean_val_acc"] for p in r["grid"]], "-", color=color,
                label=labels.get(r["config_id"], r["config_id"][:8]))
        for p in r["grid"]:
            vals = [run["val_acc"] for run in p["runs"] if run["val_acc"] is not None]
            ax.plot([p["lr"]] * len(vals), vals, "o", color=color, markersize=4, alpha=0.7)
        chosen = [p for p in r["grid"] if p["lr"] == r["chosen_lr"]]
        if chosen and chosen[0]["mean_val_acc"] == chosen[0]["mean_val_acc"]:
            ax.plot(r["chosen_lr"], chosen[0]["mean_val_acc"], "o", markersize=11, markerfacecolor="none",
                    color=color)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("validation accuracy (screening)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    epochs = sorted({r["screening"]["epochs"] for r in records})
    ax.set_title(f"lr sensitivity: screening runs of {', '.join(map(str, epochs))} epochs; dots = seeds, "
                 "ring = chosen lr", fontsize=8)
    return _png(fig)


def _band(curves: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and 95% t-band over equal-length curves (the band collapses with one curve)."""
    mean, _, half, _ = stats.paired_t(np.vstack(curves).T)  # per epoch, over the curves
    half = np.nan_to_num(half)
    return mean, mean - half, mean + half


def training_figure(exp: Experiment, runs: pd.DataFrame) -> bytes | None:
    """Validation accuracy against epochs and against seconds, one band (mean, 95%) per level of
    the experiment, from the jobs' histories."""
    factor = exp.factor
    done = runs[(runs.status == "completed") & runs.get("_history", pd.Series(dtype=object)).notna()] \
        if "_history" in runs else runs.iloc[0:0]
    fig, axes = _figure(1, 2, figsize=(10, 3.6))
    drawn = False
    for _, level in exp.members.iterrows():
        histories = [h for h in done[done.config_id == level.config_id]._history if h is not None]
        if not histories:
            continue
        epochs = min(len(h.val_acc) for h in histories)
        mean, low, high = _band([np.asarray(h.val_acc[:epochs]) for h in histories])
        x_epoch = np.arange(1, epochs + 1)
        timed = [h for h in histories if len(h.seconds) >= epochs]
        label = f"{factor}={level[factor]} (n={len(histories)})"
        line = axes[0].plot(x_epoch, mean, label=label)[0]
        axes[0].fill_between(x_epoch, low, high, alpha=0.2, color=line.get_color())
        if timed:
            seconds = np.mean([np.cumsum(h.seconds[:epochs]) for h in timed], axis=0)
            axes[1].plot(seconds, mean, color=line.get_color(), label=label)
            axes[1].fill_between(seconds, low, high, alpha=0.2, color=line.get_color())
        drawn = True
    if not drawn:
        plt.close(fig)
        return None
    for ax, xlabel in zip(axes, ("epoch", "seconds (mean cumulative training time)")):
        ax.set_xlabel(xlabel)
        ax.set_ylabel("validation accuracy")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return _png(fig)


def interaction_figure(table: pd.DataFrame, a: str, b: str, label: str) -> bytes:
    """One line per level of `b` across the levels of `a`: the mean with its 95% interval. Parallel
    lines: no interaction; lines that converge, diverge or cross: the effect of one depends on the other."""
    fig, ax = _figure(figsize=(5.2, 3.4))
    levels_a = list(dict.fromkeys(table[a]))
    for k, (lb, rows) in enumerate(table.groupby(b, sort=False)):
        x = np.array([levels_a.index(v) for v in rows[a]]) + (k - 0.5) * 0.06
        err = [rows["mean"] - rows["low"], rows["high"] - rows["mean"]]
        ax.errorbar(x, rows["mean"], yerr=err, fmt="o-", capsize=4, markersize=4, label=f"{b}={lb}")
    ax.set_xticks(range(len(levels_a)), [f"{a}={v}" for v in levels_a])
    ax.set_ylabel(label)
    ax.set_title(f"{b} across {a}: mean and 95% interval over seeds (n={int(table.n.max())})", fontsize=8)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _png(fig)

