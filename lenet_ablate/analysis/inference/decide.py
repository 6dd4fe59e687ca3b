"""Settling a comparison: the one verdict rule (whatever the family-wise adjustment), and the
seeds that would settle a comparison.

A comparison is settled when it "differs" (family-adjusted p < alpha) or when its 95% interval
lies inside (-min_effect, +min_effect) ("no difference larger than X", X the interval's larger
bound). `projected_seeds` says at how many seeds it would settle if its difference and spread held
(the report's seeds_needed, and the sequential design's futility rule). `seeds_to_settle` is the
worst case from the spread alone: with n seeds and spread s, the interval at the family's strictest
level alpha/m has half-width h = t(1 - alpha/2m, n-1) * s / sqrt(n); once h <= min_effect / 2 every
outcome settles (that interval excludes 0, so Bonferroni and Hommel reject, or |difference| <= h
and the 95% interval lies within +-2h). It drives 0.4's plan-once design (`targets`), which the
simulation keeps for comparison. No torch here.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Iterable

import numpy as np
from scipy import stats as sps

from lenet_ablate.analysis.inference.stats import ALPHA, Difference

CAP = 1000


@lru_cache(maxsize=64)
def _half_widths(family: int, alpha: float = ALPHA, cap: int = CAP) -> np.ndarray:
    """t(1 - alpha/2m, n-1) / sqrt(n) for n = 0..cap (inf for n < 2): the strictest interval's
    half-width per unit of spread."""
    with np.errstate(divide="ignore"):
        return _criticals(family, alpha, cap)[0] / np.sqrt(np.arange(cap + 1, dtype=float))


def seeds_to_settle(spread: float | np.ndarray, family: int, min_effect: float,
                    alpha: float = ALPHA) -> float | np.ndarray:
    """Smallest number of paired seeds that settles a comparison with seed spread `spread` in a
    family of `family` comparisons at `min_effect` (inf beyond CAP seeds, nan if the spread is
    unknown or zero). Works elementwise on arrays."""
    spread = np.asarray(spread, dtype=float)
    widths = _half_widths(family, alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        limit = (min_effect / 2) / spread
    first = np.argmax(widths[None, :] <= limit.reshape(-1, 1), axis=1).astype(float)
    first[~(widths[-1] <= limit.reshape(-1))] = np.inf
    first[~(spread.reshape(-1) > 0)] = np.nan
    return float(first[0]) if spread.ndim == 0 else first.reshape(spread.shape)


@lru_cache(maxsize=64)
def _criticals(family: int, alpha: float, cap: int = CAP, beta: float = 0.025) -> tuple[np.ndarray, np.ndarray]:
    """Per n = 0..cap: t(1 - alpha/2m, n-1) (Bonferroni's test) and t(1 - beta, n-1) (the interval
    of two-sided coverage 1 - 2 beta; 95% by default)."""
    n = np.arange(cap + 1, dtype=float)
    test, interval = np.full(cap + 1, np.inf), np.full(cap + 1, np.inf)
    test[2:] = sps.t.ppf(1 - alpha / (2 * max(1, family)), n[2:] - 1)
    interval[2:] = sps.t.ppf(1 - beta, n[2:] - 1)
    return test, interval


def projected_seeds(mean: float | np.ndarray, spread: float | np.ndarray, family: int, min_effect: float,
                    alpha: float = ALPHA, beta: float = 0.025) -> float | np.ndarray:
    """Seeds at which a comparison would settle if its observed difference and spread held: the
    first n where Bonferroni's test at alpha/m rejects (Hommel rejects then too) or the interval of
    coverage 1 - 2 beta (95% by default; a sequential design's last look otherwise) lies within
    +-min_effect. inf beyond CAP, nan without a spread. Elementwise on arrays. Used to
    stop comparisons that cannot settle within seeds_max (stopping never adds a verdict, so it keeps
    both error rates) and to say what an open comparison would cost."""
    mean, spread = np.broadcast_arrays(np.asarray(mean, float), np.asarray(spread, float))
    test, interval = _criticals(family, alpha, CAP, beta)
    root = np.sqrt(np.arange(CAP + 1, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (np.abs(mean) / spread).reshape(-1, 1)
        room = ((min_effect - np.abs(mean)) / spread).reshape(-1, 1)
        ok = (z * root[None, :] > test[None, :]) | (interval[None, :] / root[None, :] <= room)
    first = np.argmax(ok, axis=1).astype(float)
    first[~ok.any(axis=1)] = np.inf
    first[~(spread.reshape(-1) > 0) | np.isnan(mean.reshape(-1))] = np.nan
    return float(first[0]) if mean.ndim == 0 else first.reshape(mean.shape)


def equivalence_bound(low: float | np.ndarray, high: float | np.ndarray) -> float | np.ndarray:
    """The larger absolute bound of a 95% interval, rounded up to 4 decimals (nan without one)."""
    return np.ceil(np.maximum(np.abs(low), np.abs(high)) * 1e4 - 1e-9) / 1e4


def verdict(d: Difference, p_adjusted: float, min_effect: float, needed: float, seeds_max: int | None = None,
            alpha: float = ALPHA, awaiting: int | None = None) -> str:
    """One of: "differs (+0.0123)" (adjusted p < alpha); "no difference larger than X" (the 95%
    interval lies within +-X and X <= min_effect); "inconclusive at n=k seeds (...)" saying how many
    seeds would settle it, or that they exceed `seeds_max`, or (`awaiting`: a sequential design's
    first look, at that many seeds, still waits for seeds) that it has not been analysed yet."""
    if awaiting is not None:
        return (f"inconclusive at n={d.n} seeds (not analysed yet: the study's first look waits until every "
                f"comparison has {awaiting} seeds)")
    if not math.isnan(p_adjusted) and p_adjusted < alpha:
        return f"differs ({d.diff:+.4f})"
    bound = float(equivalence_bound(d.low, d.high))
    if not math.isnan(bound) and bound <= min_effect:
        return f"no difference larger than {bound:.4f}"
    if d.test == "n<2":
        return f"inconclusive at n={d.n} (at least 2 seeds per level are needed for a test)"
    if not d.spread > 0:
        return f"inconclusive at n={d.n} (no seed-to-seed spread: not testable)"
    if needed == math.inf:
        tell = f"more than {CAP} would be needed"
    elif seeds_max is not None and needed > seeds_max:
        tell = f"cannot settle within seeds_max={seeds_max}: about {int(needed)} needed"
    elif needed > d.n:
        tell = f"about {int(needed)} would settle it"
    else:  # the spread alone says n is enough: it is the difference that sits between the verdicts
        tell = (f"its spread needs no more than {d.n}, but the difference {d.diff:+.4f} lies too close to "
                f"±{min_effect:g} to tell: more seeds narrow its interval")
    return f"inconclusive at n={d.n} seeds ({tell})"


def targets(spreads: Iterable[float], current: Iterable[int], min_effect: float, seeds_max: int,
            alpha: float = ALPHA) -> list[int]:
    """0.4's seeds=auto plan, kept for the simulation's comparison of designs. Seeds each
    comparison of one family should have: those that settle it at `min_effect`,
    never fewer than it has, never more than `seeds_max`. The family is the comparisons with a
    known spread; one without (n < 2, or zero spread) gets no more seeds."""
    spreads = np.asarray(list(spreads), dtype=float)
    return planned(seeds_to_settle(spreads, int(np.sum(spreads > 0)), min_effect, alpha), current, seeds_max)


def planned(need: Iterable[float], current: Iterable[int], seeds_max: int) -> list[int]:
    """Seeds to have, from the seeds that settle each comparison (nan: none would): at least the
    current ones, at most `seeds_max`."""
    return [n if math.isnan(k) else int(max(n, min(k, seeds_max))) for k, n in zip(np.atleast_1d(need), current)]
