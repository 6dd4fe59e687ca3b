"""Simulated seeds: how a study's paired differences scatter, for the simulation and the
calibration tests. Each kind of noise has mean 0 and variance 1 before it is scaled by a
comparison's spread, so only its shape differs. No torch here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# A seed that never learned scores about 0.1 against about 0.9: its difference is about -0.8.
COLLAPSED_DIFF = -0.8
# "skewed": occasional bad seeds, a tenth of them BAD_SHIFT sd below the rest.
BAD_SHARE, BAD_SHIFT = 0.10, 4.0
# "contaminated": a tenth of the seeds with three times the spread.
WILD_SHARE, WILD_SCALE = 0.10, 3.0
KINDS = ("normal", "t3", "t2.5", "skewed", "contaminated")


@dataclass(frozen=True)
class Noise:
    """How seeds scatter: the shape (KINDS), per comparison the chance that a seed of its level never
    learns, and the sd of the shared reference's own noise (None: half the smallest variance)."""

    kind: str = "normal"
    collapse: tuple[float, ...] = ()
    baseline: float | None = None


def unit(rng: np.random.Generator, kind: str, shape: tuple[int, ...]) -> np.ndarray:
    """Draws of `kind` with mean 0 and variance 1."""
    if kind in ("t3", "t2.5"):
        df = 3.0 if kind == "t3" else 2.5
        return rng.standard_t(df, shape) / np.sqrt(df / (df - 2))
    z = rng.normal(0.0, 1.0, shape)
    if kind == "skewed":
        x = z - BAD_SHIFT * (rng.uniform(size=shape) < BAD_SHARE)
        mean, var = -BAD_SHIFT * BAD_SHARE, 1 + BAD_SHIFT ** 2 * BAD_SHARE * (1 - BAD_SHARE)
        return (x - mean) / np.sqrt(var)
    if kind == "contaminated":
        x = z * np.where(rng.uniform(size=shape) < WILD_SHARE, WILD_SCALE, 1.0)
        return x / np.sqrt(1 - WILD_SHARE + WILD_SHARE * WILD_SCALE ** 2)
    if kind != "normal":
        raise ValueError(f"noise {kind!r}: one of {KINDS}")
    return z


def draw_study(rng: np.random.Generator, spreads: np.ndarray, effects: np.ndarray, reps: int, n: int,
               noise: Noise, shared: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """(d, learned), both (reps, m, n): paired differences level minus shared reference by seed, and
    True where the level's seed learned. The reference's noise (sd tau) is shared by every
    comparison; by default tau^2 is `shared` times the smallest variance and each level adds the
    rest of its spread; with noise.baseline, tau is that and each level adds its whole spread."""
    if noise.baseline is None:
        tau = np.sqrt(shared) * spreads.min()
        own = np.sqrt(spreads ** 2 - tau ** 2)
    else:
        tau, own = noise.baseline, spreads
    m = len(spreads)
    reference = unit(rng, noise.kind, (reps, 1, n)) * tau
    d = effects[None, :, None] + unit(rng, noise.kind, (reps, m, n)) * own[None, :, None] - reference
    rate = np.zeros(m) if not noise.collapse else np.asarray(noise.collapse, float)
    collapsed = rng.uniform(size=(reps, m, n)) < rate[None, :, None]
    return np.where(collapsed, COLLAPSED_DIFF, d), ~collapsed
