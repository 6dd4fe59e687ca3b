"""Is a study's seed noise left-skewed (occasional bad seeds)? The one noise of the simulation under
which `seeds_boundaries=exact` loses its error rates (docs/statistics.md), so the report says what
the study's own seeds show, and how well it could tell.

Each configuration's values are standardised by its own mean and sd (configurations differ in
level and spread, not in shape) and pooled; D'Agostino's test of skewness (scipy.stats.skewtest),
one-sided for a left tail. Standardising within small groups shrinks the tails, so the test is
conservative, and its power is computed for the same seed counts against the simulation's
left-skewed noise (noise.unit). No torch here.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from lenet_ablate.analysis.schedule.noise_models import unit
from lenet_ablate.analysis.inference.stats import ALPHA

MIN_SEEDS = 5    # per configuration: fewer standardised values carry almost no shape
MIN_POOLED = 20  # skewtest needs 8; fewer than 20 pooled values tell nothing


@dataclass(frozen=True)
class Shape:
    """The pooled standardised seeds: how many, from how many configurations, their skewness, the
    one-sided p of a left tail, and that test's power against left-skewed noise at these counts."""

    seeds: int
    configurations: int
    skewness: float
    p_left: float
    power: float

    @property
    def left_skewed(self) -> bool:
        return self.p_left < ALPHA


def _standardised(values: np.ndarray) -> np.ndarray:
    """`values` minus their mean over their sd, along the last axis."""
    return (values - values.mean(axis=-1, keepdims=True)) / values.std(axis=-1, ddof=1, keepdims=True)


def detection_rate(sizes: list[int], kind: str = "skewed", reps: int = 1000, seed: int = 0) -> float:
    """Share of `reps` studies with seed noise `kind` (noise.KINDS; "skewed": the simulation's
    left-skewed noise, so the test's power) and these seed counts per configuration in which the
    test finds a left tail at ALPHA."""
    rng = np.random.default_rng(seed)
    draws = [unit(rng, kind, (reps, k, n)) for n, k in Counter(sizes).items()]
    z = np.concatenate([_standardised(d).reshape(reps, -1) for d in draws], axis=1)
    return float((sps.skewtest(z, axis=1, alternative="less").pvalue < ALPHA).mean())


def seed_shape(groups: list[np.ndarray]) -> Shape | None:
    """The shape of the seeds of `groups` (one array of values per configuration); None when fewer
    than MIN_POOLED values come from configurations with MIN_SEEDS or more seeds and some spread."""
    kept = [np.asarray(g, float) for g in groups if len(g) >= MIN_SEEDS and np.std(g) > 0]
    if sum(len(g) for g in kept) < MIN_POOLED:
        return None
    z = np.concatenate([_standardised(g) for g in kept])
    p = float(sps.skewtest(z, alternative="less").pvalue)
    return Shape(len(z), len(kept), float(sps.skew(z)), p, detection_rate([len(g) for g in kept]))
