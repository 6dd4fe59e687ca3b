"""Statistics of a study as pure functions over arrays and DataFrames (no I/O, no plotting).

Every comparison is a level against its experiment's reference level on test accuracy: the
difference of means with its 95% interval (paired by seed on the seeds both have, Welch where
fewer than two are shared), a p-value, an adjustment over the report's family of comparisons
(Hommel by default, Holm for the earlier reports), the smallest difference the study could detect
with 80% power, the seeds that would settle it, and a verdict in one of three kinds.

Why the paired test with Hommel (docs/statistics.md, `python -m lenet_ablate.analysis.schedule.simulate`):
the seed-to-seed spread differs between levels, so analyses that pool or shrink variances across
levels exceed the family-wise error rate; the per-comparison paired test keeps it, and Hommel's
step-up procedure (valid for the positively correlated tests of a shared reference) resolves more
than Holm's step-down.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats
from scipy.integrate import quad
from scipy.optimize import brentq
from statsmodels.stats.anova import anova_lm
from statsmodels.stats.multitest import multipletests

ALPHA = 0.05
POWER = 0.8
# --method: the family-wise adjustment (statsmodels multipletests names); hommel is the default.
METHODS = ("hommel", "holm")


def mean_ci(values: np.ndarray) -> tuple[float, float, float, float]:
    """Mean, sample std, and the 95% t-interval of the mean (nan for n < 2)."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n == 0:
        return (math.nan,) * 4
    mean = float(values.mean())
    if n < 2:
        return mean, math.nan, math.nan, math.nan
    std = float(values.std(ddof=1))
    half = stats.t.ppf(0.975, n - 1) * std / math.sqrt(n)
    return mean, std, mean - half, mean + half


@dataclass
class Difference:
    """A level minus the reference: estimate, 95% interval, test and the spread the power uses."""

    test: str          # "paired t" | "Welch t" | "n<2"
    diff: float
    low: float
    high: float
    p: float           # nan where no test is possible (n < 2, or zero variance)
    spread: float      # sd of the paired differences, or the pooled sd (Welch)
    n: int             # pairs (paired) or the smaller group (Welch)
    ratio: float = 1.0  # n_reference / n_level (Welch)
    n_level: int = 0   # seeds of each side that enter the test
    n_reference: int = 0


def paired_t(d: np.ndarray, counts: np.ndarray | None = None, use: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Mean, sd, 95% half-width and two-sided p of paired differences along the last axis; with
    `counts`, only the first counts[...] of each row; with `use` (a boolean mask like `d`), only the
    marked entries (vectorised: the simulation analyses thousands of studies at once)."""
    d = np.asarray(d, dtype=float)
    if use is None:
        n = np.full(d.shape[:-1], d.shape[-1]) if counts is None else np.asarray(counts)
        use = np.arange(d.shape[-1]) < n[..., None]
    n = use.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(use, d, 0.0).sum(axis=-1) / n
        sd = np.sqrt(np.where(use, (d - mean[..., None]) ** 2, 0.0).sum(axis=-1) / (n - 1))
        se = sd / np.sqrt(n)
        p = np.where(sd > 0, 2 * stats.t.sf(np.abs(mean / se), n - 1), np.nan)
    return mean, sd, stats.t.ppf(0.975, n - 1) * se, p


def difference(level: pd.Series, reference: pd.Series) -> Difference:
    """Compare two Series of a metric indexed by seed. Paired t on the seeds both have (pairs
    matched by seed, whatever the order; the reference may have more seeds, added for other
    comparisons), Welch's t where fewer than two seeds are shared. Zero variance gives p = nan: a
    t statistic needs a spread, and a constant difference over 2-3 seeds is not evidence of one."""
    a, b = level.astype(float), reference.astype(float)
    diff = float(a.mean() - b.mean()) if len(a) and len(b) else math.nan
    if len(a) < 2 or len(b) < 2:
        return Difference("n<2", diff, math.nan, math.nan, math.nan, math.nan, min(len(a), len(b)), 1.0,
                          len(a), len(b))
    common = a.index.intersection(b.index) if a.index.is_unique and b.index.is_unique else a.index[:0]
    if len(common) >= 2:
        d = (a.loc[common] - b.loc[common]).to_numpy()
        mean, sd, half, p = (float(x) for x in paired_t(d))
        n = len(d)
        ok = sd > 0
        return Difference("paired t", mean, mean - half if ok else math.nan, mean + half if ok else math.nan,
                          p, sd, n, 1.0, n, n)
    va, vb, na, nb = a.var(ddof=1), b.var(ddof=1), len(a), len(b)
    se = math.sqrt(va / na + vb / nb)
    if se == 0:
        return Difference("Welch t", diff, math.nan, math.nan, math.nan, 0.0, min(na, nb), nb / na, na, nb)
    df = se ** 4 / ((va / na) ** 2 / (na - 1) + (vb / nb) ** 2 / (nb - 1))
    half = stats.t.ppf(0.975, df) * se
    p = float(stats.ttest_ind(a.to_numpy(), b.to_numpy(), equal_var=False).pvalue)
    pooled = math.sqrt(((na - 1) * va + (nb - 1) * vb) / (na + nb - 2))
    return Difference("Welch t", diff, diff - half, diff + half, p, pooled, na, nb / na, na, nb)


def adjust(pvalues: list[float], method: str = "hommel") -> list[float]:
    """Family-wise adjusted p-values (statsmodels multipletests, `method` one of METHODS); nan
    entries stay nan and are not counted in the family."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = multipletests(p[ok], alpha=ALPHA, method=method)[1]
    return out.tolist()


def adjust_rows(p: np.ndarray, method: str = "hommel") -> np.ndarray:
    """Family-wise adjusted p-values of many families at once, one per row of `p` (the
    simulation's thousands of studies). The algorithm of statsmodels' multipletests, vectorised
    over rows (tests/test_stats.py checks it against statsmodels); a nan p counts as 1, which can
    only make the procedure stricter, and stays nan."""
    p = np.atleast_2d(np.asarray(p, dtype=float))
    missing = np.isnan(p)
    order = np.argsort(np.where(missing, 1.0, p), axis=1)
    s = np.take_along_axis(np.where(missing, 1.0, p), order, axis=1)
    m = s.shape[1]
    if method == "holm":
        a = np.maximum.accumulate((m - np.arange(m)) * s, axis=1)
    elif method == "hommel":
        a = s.copy()
        for k in range(m, 1, -1):
            cim = np.min(k * s[:, -k:] / np.arange(1, k + 1), axis=1, keepdims=True)
            a[:, -k:] = np.maximum(a[:, -k:], cim)
            a[:, :-k] = np.maximum(a[:, :-k], np.minimum(k * s[:, :-k], cim))
    else:
        raise ValueError(f"method {method!r}: one of {METHODS}")
    out = np.empty_like(a)
    np.put_along_axis(out, order, np.minimum(a, 1.0), axis=1)
    return np.where(missing, np.nan, out)


def holm(pvalues: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (the adjustment of reports before Hommel)."""
    return adjust(pvalues, "holm")


def t_power(effect: float, n: float, alpha: float, paired: bool, ratio: float = 1.0) -> float:
    """Power of the two-sided t-test at `alpha` against a true difference of `effect` standard
    deviations: paired (n pairs) or two-sample (n and n * ratio per group).

    P(|T| > crit) for the noncentral t, integrated over the chi-square of the variance estimate
    (scipy.integrate.quad). scipy's noncentral t, and with it statsmodels' power classes, returns
    nan or wrong values at few degrees of freedom and large noncentrality: measured here, df 2 at
    alpha 0.05/6 gives nan at 6.85 sd and 0.80 at 8 sd, while statsmodels solved 6.85 sd for 80%.
    """
    if paired:
        df, nc = n - 1, effect * math.sqrt(n)
    else:
        n2 = n * ratio
        df, nc = n + n2 - 2, effect * math.sqrt(n * n2 / (n + n2))
    if df < 1:
        return math.nan
    crit = stats.t.ppf(1 - alpha / 2, df)

    def integrand(v: float) -> float:
        c = crit * math.sqrt(v / df)
        return stats.chi2.pdf(v, df) * (stats.norm.sf(c - nc) + stats.norm.cdf(-c - nc))

    return float(min(1.0, quad(integrand, 0, np.inf, limit=200)[0]))


# A true difference above this many seed-to-seed standard deviations is not a plausible effect.
MAX_EFFECT_SD = 10.0


def detectable_difference(d: Difference, alpha: float) -> float:
    """The smallest true difference a two-sided t-test at `alpha` detects with 80% power, given the
    comparison's n and observed spread; inf where no plausible difference (<= 10 sd) is detectable,
    nan where it cannot be computed."""
    if d.test == "n<2" or not d.spread > 0:
        return math.nan
    paired = d.test == "paired t"

    def gap(effect: float) -> float:
        return t_power(effect, d.n, alpha, paired, d.ratio) - POWER

    if not gap(MAX_EFFECT_SD) >= 0:
        return math.inf
    return brentq(gap, 1e-9, MAX_EFFECT_SD, xtol=1e-6) * d.spread


def anova_table(done: pd.DataFrame, factors: list[str], metric: str = "test_acc") -> pd.DataFrame | None:
    """Type-II ANOVA of `metric` with the main effects of the varied `factors` and their two-factor
    interactions, when the jobs form a full grid over at least two of them with replicates."""
    varied = [f for f in factors if f in done and done[f].nunique() > 1]
    if len(varied) < 2:
        return None
    cells = done.groupby(varied).size()
    if len(cells) != np.prod([done[f].nunique() for f in varied]) or len(done) <= len(cells):
        return None
    terms = [f"C({f})" for f in varied]
    formula = f"{metric} ~ " + " + ".join(terms + [f"{a}:{b}" for a, b in itertools.combinations(terms, 2)])
    model = smf.ols(formula, data=done.assign(**{metric: done[metric].astype(float)})).fit()
    table = anova_lm(model, typ=2).reset_index().rename(columns={"index": "term", "PR(>F)": "p_value"})
    table["term"] = table["term"].str.replace(r"C\((\w+)\)", r"\1", regex=True)
    return table
