"""The outcomes a study judges, as data: one table (OUTCOMES) of typed records, each with its unit,
which direction is better, how it is computed from one job's record, its smallest effect of
interest and how two levels are compared. Adding an outcome is one entry here; the report, its
comparisons.csv and TensorBoard's HParams pick it up. No torch here.

How each is compared (docs/statistics.md):
- "paired t": the difference of means, paired by seed, as test accuracy;
- "ratio": the paired t on log values, reported as the ratio level / reference with its 95%
  interval (timings: only among jobs of one host and thread count);
- "log-rank": epochs to a target, where a seed that never reaches it within max_epochs is censored
  (not dropped, not given a value): the log-rank test (scipy.stats.logrank), valid with censoring
  and ties;
  it gives no interval, so it never says "no difference".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

# The default target of "epochs to target": validation accuracy the Fashion-MNIST baseline reaches
# within a few epochs (config key convergence_target).
TARGET = 0.85
# The AlexNet criterion (Krizhevsky et al. 2012, Fig. 1): 25% training error.
TRAIN_TARGET = 0.75


@dataclass(frozen=True)
class History:
    """A job's per-epoch curve (epochs 1..E): accuracy and loss on training and validation data,
    wall and CPU seconds per epoch and the machine's load during each (empty where not recorded:
    CPU seconds and load since 0.8)."""

    epoch: tuple[int, ...]
    train_acc: tuple[float, ...]
    val_acc: tuple[float, ...]
    seconds: tuple[float, ...] = ()
    cpu_seconds: tuple[float, ...] = ()
    load: tuple[float, ...] = ()

    @classmethod
    def from_summary(cls, summary: dict[str, Any]) -> "History | None":
        """The history a 0.5 summary holds (None for older summaries)."""
        h = summary.get("history")
        if not h or not h.get("epoch"):
            return None
        return cls(tuple(int(e) for e in h["epoch"]), tuple(map(float, h["train_acc"])),
                   tuple(map(float, h["val_acc"])), tuple(map(float, h.get("seconds") or ())),
                   tuple(map(float, h.get("cpu_seconds") or ())),
                   tuple(math.nan if x is None else float(x) for x in h.get("load") or ()))

    def median_load(self) -> float:
        """The job's load: the median of its epochs' (nan where none was recorded)."""
        loads = [x for x in self.load if not math.isnan(x)]
        return float(np.median(loads)) if loads else math.nan

    @classmethod
    def from_curves(cls, curves: Any, seconds: list[float] | None) -> "History | None":
        """The history of an older summary, from its TensorBoard curves (step 0 = epoch 1)."""
        if curves is None or "val/acc" not in curves or "train/acc" not in curves:
            return None
        both = curves[["train/acc", "val/acc"]].dropna()
        return cls(tuple(int(s) + 1 for s in both.index), tuple(both["train/acc"].astype(float)),
                   tuple(both["val/acc"].astype(float)), tuple(map(float, seconds or ())))


@dataclass(frozen=True)
class JobRecord:
    """What the outcomes are computed from: one completed job's summary and history."""

    metrics: dict[str, float]
    history: History | None
    max_epochs: int
    wall_time_s: float | None = None


@dataclass(frozen=True)
class Measure:
    """One job's value of an outcome; `observed` False: censored at `value` (the target was never
    reached within max_epochs)."""

    value: float
    observed: bool = True


NOT_RECORDED = Measure(math.nan)


@dataclass(frozen=True)
class Outcome:
    """One outcome: its name (comparisons.csv's `outcome`), words, unit, display name (a table's
    column), which direction is better,
    how a job's record gives its value (with the convergence target), its smallest effect of
    interest (a difference, or for "ratio" the relative change), and how it is compared."""

    name: str
    label: str
    unit: str
    better: str            # "higher" | "lower"
    compute: Callable[[JobRecord, float], Measure]
    min_effect: float
    method: str            # "paired t" | "ratio" | "log-rank"
    header: str = ""       # a table's column: short display name and unit ({target}: convergence_target)

    def column(self, target: float = TARGET) -> str:
        """The outcome's column header in the report's tables (its label where it has no header)."""
        return (self.header or self.label).format(target=target)


def _metric(key: str) -> Callable[[JobRecord, float], Measure]:
    return lambda r, _t: Measure(float(r.metrics[key])) if r.metrics.get(key) is not None else NOT_RECORDED


def _mean_val_acc(r: JobRecord, _target: float) -> Measure:
    return Measure(float(np.mean(r.history.val_acc))) if r.history else NOT_RECORDED


def _epochs_to(curve: str) -> Callable[[JobRecord, float], Measure]:
    """The first epoch whose `curve` accuracy reaches the target; censored at max_epochs if none."""
    def compute(r: JobRecord, target: float) -> Measure:
        if r.history is None:
            return NOT_RECORDED
        values = getattr(r.history, curve)
        reached = [e for e, v in zip(r.history.epoch, values) if v >= target]
        return Measure(float(reached[0])) if reached else Measure(float(r.max_epochs), observed=False)
    return compute


def _train_75(r: JobRecord, _target: float) -> Measure:
    return _epochs_to("train_acc")(r, TRAIN_TARGET)


def _seconds(summary: Callable[[tuple[float, ...]], Any], clock: str) -> Callable[[JobRecord, float], Measure]:
    """`summary` (median, sum) of each epoch's seconds on `clock` (History.seconds: wall;
    History.cpu_seconds: the job's CPU)."""
    def compute(r: JobRecord, _target: float) -> Measure:
        seconds = getattr(r.history, clock) if r.history else ()
        return Measure(float(summary(seconds))) if seconds else NOT_RECORDED
    return compute


# How long a job's epochs took: judged on the job's CPU seconds, which the machine's load moves
# least (docs/speed.md), and only where the load stayed within the CPUs (inference.secondary).
wall_sec_per_epoch = _seconds(np.median, "seconds")


def _gap(r: JobRecord, _target: float) -> Measure:
    train, val = r.metrics.get("train_acc"), r.metrics.get("val_acc")
    return Measure(float(train) - float(val)) if train is not None and val is not None else NOT_RECORDED


OUTCOMES: tuple[Outcome, ...] = (
    Outcome("test_acc", "test accuracy", "accuracy", "higher", _metric("test_acc"), 0.01, "paired t",
            header="test acc. (diff.)"),
    Outcome("epochs_to_target", "epochs to the target validation accuracy", "epochs", "lower",
            _epochs_to("val_acc"), 1.0, "log-rank", header="epochs to {target:.0%} val. acc. (median)"),
    Outcome("mean_val_acc", "mean validation accuracy over the epochs", "accuracy", "higher", _mean_val_acc, 0.01,
            "paired t", header="mean val. acc. over epochs (diff.)"),
    Outcome("epochs_to_train_75", "epochs to 75% training accuracy (25% training error)", "epochs", "lower",
            _train_75, 1.0, "log-rank", header="epochs to 75% train acc. (median)"),
    Outcome("cpu_sec_per_epoch", "median CPU seconds per epoch", "seconds", "lower",
            _seconds(np.median, "cpu_seconds"), 0.10, "ratio", header="CPU time per epoch (ratio)"),
    Outcome("cpu_train_time_s", "CPU seconds of training (all epochs)", "seconds", "lower",
            _seconds(np.sum, "cpu_seconds"), 0.10, "ratio", header="CPU training time (ratio)"),
    Outcome("gap", "generalisation gap (training minus validation accuracy at the checkpoint)", "accuracy",
            "lower", _gap, 0.01, "paired t", header="train − val gap (diff.)"),
)
# Outcomes that a paired t can drive seeds=auto on (seeds_outcome): no censoring, a difference scale.
SEQUENTIAL = tuple(o.name for o in OUTCOMES if o.method == "paired t")


def outcome(name: str) -> Outcome:
    """The outcome called `name` (KeyError names the ones there are)."""
    for o in OUTCOMES:
        if o.name == name:
            return o
    raise KeyError(f"outcome {name!r}: one of {', '.join(o.name for o in OUTCOMES)}")


def measure_all(record: JobRecord, target: float) -> dict[str, Any]:
    """Every outcome of one job as columns: <name> and, for censored ones, <name>_observed."""
    out: dict[str, Any] = {}
    for o in OUTCOMES:
        m = o.compute(record, target)
        out[o.name] = m.value
        if o.method == "log-rank":
            out[f"{o.name}_observed"] = m.observed
    return out
