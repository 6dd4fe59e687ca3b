"""Per-class test accuracy: per configuration the mean over its seeds with a 95% interval for each
class and its hardest class; per comparison the classes whose accuracy moves most (descriptive: no
family-wise control over classes). No torch here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lenet_ablate.analysis.inference import stats

CLASS_NAMES = {
    "fashion_mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                      "Ankle boot"],
    "mnist": [str(d) for d in range(10)],
}


def class_names(configs: pd.DataFrame, runs: pd.DataFrame | None = None) -> list[str]:
    """The class names of the configurations' data set: as the jobs recorded them (a folder's class
    folders, a torchvision set's classes) where they all agree, else by data set name (digits for
    MNIST and unknown sets)."""
    if runs is not None and "_classes" in runs:
        recorded = {tuple(c) for c in runs._classes if isinstance(c, list)}
        if len(recorded) == 1:
            return list(recorded.pop())
    names = {str((c.get("data") or {}).get("name", "")) for c in configs._config}
    return CLASS_NAMES.get(names.pop(), [str(i) for i in range(10)]) if len(names) == 1 else [str(i) for i in range(10)]


def per_class(jobs: pd.DataFrame) -> pd.DataFrame:
    """Per-class test accuracy of each job (rows: seeds, columns: class index), from the confusion
    matrices (true class by row); jobs without one are left out."""
    rows = {}
    for _, job in jobs.iterrows():
        matrix = job.get("_confusion")
        if isinstance(matrix, list) and matrix:
            m = np.asarray(matrix, float)
            rows[int(job.seed)] = np.diag(m) / np.maximum(m.sum(axis=1), 1)
    return pd.DataFrame.from_dict(rows, orient="index").sort_index()


def class_table(accuracy: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Per class: mean, 95% interval and n over the seeds, sorted from the hardest class."""
    out = []
    for c in accuracy.columns:
        mean, _, low, high = stats.mean_ci(accuracy[c].to_numpy())
        out.append({"class": names[c] if c < len(names) else str(c), "mean": mean, "ci95_low": low,
                    "ci95_high": high, "n": len(accuracy)})
    return pd.DataFrame(out).sort_values("mean").reset_index(drop=True)


def hardest_is_hardest(accuracy: pd.DataFrame) -> tuple[int, int, stats.Difference]:
    """The hardest class (lowest mean), the next hardest, and their paired difference by seed (is
    the hardest class really below the next one, or only by the noise of a few seeds?)."""
    order = accuracy.mean().sort_values().index
    first, second = int(order[0]), int(order[1])
    return first, second, stats.difference(accuracy[first], accuracy[second])


def moves(level: pd.DataFrame, reference: pd.DataFrame, names: list[str], top: int = 3) -> str:
    """The classes whose mean accuracy changes most between a level and its reference (paired by
    seed where both have the seed), as text: "Shirt -0.041, Coat +0.030, ..."."""
    common = level.index.intersection(reference.index)
    if len(common) == 0:
        return ""
    change = (level.loc[common] - reference.loc[common]).mean()
    biggest = change.abs().sort_values(ascending=False).index[:top]
    return ", ".join(f"{names[c] if c < len(names) else c} {change[c]:+.3f}" for c in biggest)
