"""Error spending over the looks of a group-sequential design (Lan & DeMets 1983).

A spending function f(t) says how much of a total error rate may have been spent once a share t of
the largest study (seeds / seeds_max) has been seen: f(0) = 0, f(1) = the total. Each look is
tested at the increment f(t_k) - f(t_(k-1)). By Bonferroni's inequality over the looks, the error
over the whole schedule is at most the sum of the increments, f(1), whatever the spread of the
seeds, how the looks' statistics correlate, or which comparisons stop early: stopping a
comparison only removes chances to err (non-binding futility). The exact boundaries of Jennison &
Turnbull (2000, ch. 7) would be a little less strict but rest on the normal correlation between
looks, which few-seed t statistics do not have.

- "obrien_fleming": f(t) = 2 - 2 Phi(z_(1-a/2) / sqrt(t)) (Lan & DeMets' O'Brien-Fleming type):
  almost nothing at the first looks, where a t test on 2-4 degrees of freedom is fragile.
- "pocock": f(t) = a ln(1 + (e - 1) t) (Lan & DeMets' Pocock type): about even per look.
- "none": 0.4's design, every look at the full level (kept to compare designs and to replay
  sweeps that ran it); not a spending function and not valid at large spreads.
No torch here.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import stats as sps
from scipy.optimize import brentq

from lenet_ablate.errors import ConfigError

SPENDING = ("obrien_fleming", "pocock", "none")


def spent(kind: str, total: float, t: float) -> float:
    """Error spent by information fraction `t` in [0, 1] under spending function `kind`."""
    t = min(max(float(t), 0.0), 1.0)
    if t == 0.0:
        return 0.0
    if kind == "obrien_fleming":
        return float(2 * sps.norm.sf(sps.norm.isf(total / 2) / math.sqrt(t)))
    if kind == "pocock":
        return total * math.log(1 + (math.e - 1) * t)
    raise ConfigError(f"spending function {kind!r} is not allowed; allowed: {', '.join(SPENDING)}")


def increments(kind: str, total: float, fractions: tuple[float, ...]) -> tuple[float, ...]:
    """The level of each look: what the spending function spends between the previous look's
    information fraction and this one's ("none": `total` at every look)."""
    if kind == "none":
        return tuple(total for _ in fractions)
    out, before = [], 0.0
    for t in fractions:
        now = spent(kind, total, t)
        out.append(now - before)
        before = now
    return tuple(out)


def _inside(c: list[float], fractions: tuple[float, ...]) -> float:
    """P(|Z_j| < c_j at every look j) for the canonical joint distribution of the looks' z
    statistics: correlation sqrt(t_i / t_j) between looks i < j (Jennison & Turnbull 2000, ch. 3)."""
    t = np.asarray(fractions[:len(c)], float)
    cov = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))
    c = np.asarray(c, float)
    if len(c) == 1:
        return float(1 - 2 * sps.norm.sf(c[0]))
    mvn = sps.multivariate_normal(np.zeros(len(c)), cov, seed=0)
    return float(mvn.cdf(c, lower_limit=-c))


@lru_cache(maxsize=32)
def boundaries(kind: str, total: float, fractions: tuple[float, ...]) -> tuple[float, ...]:
    """Two-sided group-sequential critical values c_k of z: each look rejects |Z_k| >= c_k with the
    chance, in the canonical joint distribution, that the spending function spends there. The
    repeated confidence intervals mean +- c_k se then cover the true difference at every look at
    once with probability 1 - total (Jennison & Turnbull 2000, ch. 9). Returned as each look's
    nominal one-sided level Phi(-c_k), to be applied on the t scale (their significance-level
    approach for an unknown variance)."""
    if kind == "none":
        return tuple(total / 2 for _ in fractions)
    levels, c = [], []
    stay = 1.0
    for k, spent_k in enumerate(increments(kind, total, fractions)):
        def excess(x: float) -> float:
            return (stay - _inside(c + [x], fractions)) - spent_k
        x = brentq(excess, 0.1, 12.0, xtol=1e-6) if spent_k > 1e-12 else 12.0
        c.append(x)
        stay = _inside(c, fractions)
        levels.append(float(sps.norm.sf(x)))
    return tuple(levels)
