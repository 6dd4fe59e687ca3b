"""Statistics of a study as pure functions over arrays and DataFrames (no I/O, no plotting).

Every comparison is a level against its experiment's reference level on test accuracy: the
difference of means with its 95% interval (paired by seed where both have the same seeds, Welch
otherwise), a p-value, Holm-Bonferroni over the report's family of comparisons, the smallest
difference the study could detect with 80% power, and a verdict in one of three kinds.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

ALPHA = 0.05
POWER = 0.8


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


def difference(level: pd.Series, reference: pd.Series) -> Difference:
    """Compare two Series of a metric indexed by seed. Paired t where the seed sets are equal
    (pairs matched by seed, whatever the order), Welch's t otherwise. Zero variance gives p = nan:
    a t statistic needs a spread, and a constant difference over 2-3 seeds is not evidence of one."""
    a, b = level.astype(float), reference.astype(float)
    diff = float(a.mean() - b.mean()) if len(a) and len(b) else math.nan
    if len(a) < 2 or len(b) < 2:
        return Difference("n<2", diff, math.nan, math.nan, math.nan, math.nan, min(len(a), len(b)))
    if set(a.index) == set(b.index) and a.index.is_unique and b.index.is_unique:
        d = (a - b.loc[a.index]).to_numpy()
        n, sd = len(d), float(d.std(ddof=1))
        half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
        p = float(stats.ttest_rel(a.to_numpy(), b.loc[a.index].to_numpy()).pvalue) if sd > 0 else math.nan
        return Difference("paired t", diff, diff - half if sd > 0 else math.nan, diff + half if sd > 0 else math.nan,
                          p, sd, n)
    va, vb, na, nb = a.var(ddof=1), b.var(ddof=1), len(a), len(b)
    se = math.sqrt(va / na + vb / nb)
    if se == 0:
        return Difference("Welch t", diff, math.nan, math.nan, math.nan, 0.0, min(na, nb), nb / na)
    df = se ** 4 / ((va / na) ** 2 / (na - 1) + (vb / nb) ** 2 / (nb - 1))
    half = stats.t.ppf(0.975, df) * se
    p = float(stats.ttest_ind(a.to_numpy(), b.to_numpy(), equal_var=False).pvalue)
    pooled = math.sqrt(((na - 1) * va + (nb - 1) * vb) / (na + nb - 2))
    return Difference("Welch t", diff, diff - half, diff + half, p, pooled, na, nb / na)


def holm(pvalues: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (statsmodels); nan entries stay nan and are not counted."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        out[ok] = multipletests(p[ok], alpha=ALPHA, method="holm")[1]
    return out.tolist()


def _off(power: float, at_least: bool = False) -> bool:
    """True where a power the solver's answer achieves is a number and misses 80% (or, with
    `at_least`, falls below it). scipy's noncentral t gives nan at large effects and tiny n: then
    the solver's own convergence check is all there is."""
    power = float(np.ravel(power)[0])
    if power != power:
        return False
    return power < POWER - 1e-3 if at_least else abs(power - POWER) > 1e-3


def detectable_difference(d: Difference, alpha: float) -> float:
    """The smallest true difference a two-sided t-test at `alpha` detects with 80% power, given the
    comparison's n and observed spread (statsmodels.stats.power); nan where it cannot be computed."""
    from statsmodels.stats.power import TTestIndPower, TTestPower

    if d.test == "n<2" or not d.spread > 0:
        return math.nan
    with warnings.catch_warnings():  # statsmodels warns where it finds no root; checked below
        warnings.simplefilter("ignore")
        if d.test == "paired t":
            solver, sizes = TTestPower(), {"nobs": d.n}
        else:
            solver, sizes = TTestIndPower(), {"nobs1": d.n, "ratio": d.ratio}
        effect = float(np.ravel(solver.solve_power(alpha=alpha, power=POWER, **sizes))[0])
        # The solver can stop at its search bound (effect 10) without a solution: keep only a
        # real one; none means no difference of a plausible size is detectable.
        if effect != effect or _off(solver.power(effect_size=effect, alpha=alpha, **sizes)):
            return math.inf
    return effect * d.spread


def seeds_needed(d: Difference, alpha: float, cap: int = 1000) -> float:
    """Seeds per level that would detect the observed difference with 80% power at `alpha`
    (inf beyond `cap` or for a zero difference; nan where the spread is unknown)."""
    from statsmodels.stats.power import TTestIndPower, TTestPower

    if d.test == "n<2" or not d.spread > 0 or not math.isfinite(d.diff):
        return math.nan
    effect = abs(d.diff) / d.spread
    if effect == 0:
        return math.inf
    solver = TTestPower() if d.test == "paired t" else TTestIndPower()
    try:
        with warnings.catch_warnings():  # statsmodels warns where it finds no root; inf says that
            warnings.simplefilter("ignore")
            n = solver.solve_power(effect_size=effect, alpha=alpha, power=POWER)
    except Exception:  # no solution in statsmodels' search range
        return math.inf
    n = float(np.ravel(n)[0])
    if not (math.isfinite(n) and n <= cap):
        return math.inf
    n = math.ceil(max(n, 2))
    size = {"nobs": n} if d.test == "paired t" else {"nobs1": n}  # Welch: n per level, equal groups
    return math.inf if _off(solver.power(effect_size=effect, alpha=alpha, **size), at_least=True) else n


def verdict(d: Difference, p_adjusted: float, detectable: float, needed: float, min_effect: float,
            n: int) -> str:
    """One of: "differs" (Holm-adjusted p < alpha); "no difference larger than X" (not significant,
    the study could detect X <= min_effect, and the observed difference is below X); "inconclusive at
    n seeds (about N would tell)"."""
    if p_adjusted == p_adjusted and p_adjusted < ALPHA:
        return f"differs ({d.diff:+.4f})"
    if detectable == detectable and abs(d.diff) < detectable <= min_effect:
        return f"no difference larger than {detectable:.4f}"
    if d.test == "n<2":
        return f"inconclusive at n={n} (at least 2 seeds per level are needed for a test)"
    if not d.spread > 0:
        return f"inconclusive at n={n} (no seed-to-seed spread: not testable)"
    tell = "more than 1000 would be needed" if needed == math.inf else f"about {int(needed)} would tell"
    return f"inconclusive at n={n} seeds ({tell})"


def anova_table(done: pd.DataFrame, factors: list[str], metric: str = "test_acc") -> pd.DataFrame | None:
    """Type-II ANOVA of `metric` with the main effects of the varied `factors` and their two-factor
    interactions, when the jobs form a full grid over at least two of them with replicates."""
    varied = [f for f in factors if f in done and done[f].nunique() > 1]
    if len(varied) < 2:
        return None
    cells = done.groupby(varied).size()
    if len(cells) != np.prod([done[f].nunique() for f in varied]) or len(done) <= len(cells):
        return None
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    terms = [f"C({f})" for f in varied]
    formula = f"{metric} ~ " + " + ".join(terms + [f"{a}:{b}" for a, b in itertools.combinations(terms, 2)])
    model = smf.ols(formula, data=done.assign(**{metric: done[metric].astype(float)})).fit()
    table = anova_lm(model, typ=2).reset_index().rename(columns={"index": "term", "PR(>F)": "p_value"})
    table["term"] = table["term"].str.replace(r"C\((\w+)\)", r"\1", regex=True)
    return table
