"""The report's statistics against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sp

from lenet_ablate.report import stats


def test_paired_difference_matches_seeds_not_order():
    # Differences by seed: 0.02, 0.03, 0.03 -> mean 0.02667, sd 0.0057735, se 0.0033333, t = 8 (df 2).
    level = pd.Series({2: 0.83, 0: 0.80, 1: 0.82})
    reference = pd.Series({0: 0.78, 1: 0.79, 2: 0.80})
    d = stats.difference(level, reference)
    assert d.test == "paired t" and d.n == 3
    assert d.diff == pytest.approx(0.026667, abs=1e-6)
    assert d.spread == pytest.approx(math.sqrt(1 / 30000), rel=1e-6)
    assert d.p == pytest.approx(1 - 8 / math.sqrt(66), rel=1e-6)  # two-sided t-test p for df=2
    half = 4.302653 * 0.0033333  # t(0.975, 2) x se
    assert (d.low, d.high) == pytest.approx((0.026667 - half, 0.026667 + half), abs=1e-5)


def test_welch_difference_by_hand():
    a = pd.Series({5: 0.80, 6: 0.82})
    b = pd.Series({0: 0.90, 1: 0.91, 2: 0.93})
    d = stats.difference(a, b)
    va, vb = 0.0002, ((0.9 - 0.91333) ** 2 + (0.91 - 0.91333) ** 2 + (0.93 - 0.91333) ** 2) / 2
    se = math.sqrt(va / 2 + vb / 3)
    df = se ** 4 / ((va / 2) ** 2 / 1 + (vb / 3) ** 2 / 2)
    assert d.test == "Welch t" and d.diff == pytest.approx(0.81 - 0.913333, abs=1e-6)
    assert d.p == pytest.approx(2 * sp.t.sf(abs(d.diff) / se, df), rel=1e-3)
    assert d.high - d.diff == pytest.approx(sp.t.ppf(0.975, df) * se, rel=1e-3)


def test_zero_variance_is_not_significant():
    d = stats.difference(pd.Series({0: 0.9, 1: 0.9}), pd.Series({0: 0.8, 1: 0.8}))
    assert math.isnan(d.p) and d.diff == pytest.approx(0.1)
    text = stats.verdict(d, math.nan, stats.detectable_difference(d, 0.05), stats.seeds_needed(d, 0.05), 0.01, 2)
    assert text.startswith("inconclusive") and "not testable" in text
    assert stats.holm([math.nan, 0.01]) == [pytest.approx(math.nan, nan_ok=True), pytest.approx(0.01)]


def test_mean_ci_by_hand():
    mean, std, lo, hi = stats.mean_ci(np.array([0.90, 0.91, 0.92, 0.905]))
    assert mean == pytest.approx(0.90875) and std == pytest.approx(0.0085391, rel=1e-4)
    assert hi - mean == pytest.approx(3.182446 * 0.0085391 / 2, rel=1e-4)


def test_holm_on_a_known_vector():
    # Sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04 -> monotone: 0.06 for the last.
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_detectable_difference_has_80_percent_power():
    d = stats.Difference("paired t", 0.01, 0, 0, 0.2, spread=0.006, n=3)
    mdd = stats.detectable_difference(d, 0.05)
    assert mdd == pytest.approx(0.0196, abs=5e-4)  # about 3.26 sd at n=3
    crit, nc = sp.t.ppf(0.975, 2), mdd / 0.006 * math.sqrt(3)  # power of the paired t at that difference
    power = sp.nct.sf(crit, 2, nc) + sp.nct.cdf(-crit, 2, nc)
    assert power == pytest.approx(0.8, abs=1e-3)
    n = stats.seeds_needed(d, 0.05)  # effect 0.01 / 0.006 = 1.67 sd

    def paired_power(k: int) -> float:
        crit, nc = sp.t.ppf(0.975, k - 1), 0.01 / 0.006 * math.sqrt(k)
        return sp.nct.sf(crit, k - 1, nc) + sp.nct.cdf(-crit, k - 1, nc)

    assert paired_power(n - 1) < 0.8 <= paired_power(n) and n == 6
    assert stats.verdict(d, 0.4, mdd, n, 0.01, 3) == "inconclusive at n=3 seeds (about 6 would tell)"
    small = stats.Difference("paired t", 0.005, 0, 0, 0.4, spread=0.006, n=3)
    assert stats.verdict(small, 0.4, 0.008, n, 0.01, 3) == "no difference larger than 0.0080"
    assert stats.verdict(d, 0.4, 0.008, n, 0.01, 3).startswith("inconclusive")  # observed 0.01 > 0.008
    assert stats.verdict(d, 0.01, mdd, n, 0.01, 3) == "differs (+0.0100)"


def test_anova_on_a_2x2_grid_with_known_effects():
    # Cell means 0.80 / 0.85 / 0.82 / 0.88 (A +0.05, B +0.02, interaction +0.01), replicates mean +- 0.001.
    cells = {("a1", "b1"): 0.80, ("a2", "b1"): 0.85, ("a1", "b2"): 0.82, ("a2", "b2"): 0.88}
    rows = [{"A": a, "B": b, "test_acc": m + e} for (a, b), m in cells.items() for e in (0.001, -0.001)]
    table = stats.anova_table(pd.DataFrame(rows), ["A", "B"]).set_index("term")
    # Balanced 2x2, N = 8: SS = N x (half the contrast)^2.
    assert table.loc["A", "sum_sq"] == pytest.approx(8 * 0.0275 ** 2, rel=1e-6)
    assert table.loc["B", "sum_sq"] == pytest.approx(8 * 0.0125 ** 2, rel=1e-6)
    assert table.loc["A:B", "sum_sq"] == pytest.approx(8 * 0.0025 ** 2, rel=1e-6)
    assert table.loc["Residual", "sum_sq"] == pytest.approx(8 * 0.001 ** 2, rel=1e-6)
    assert table.loc["Residual", "df"] == 4


def test_no_detectable_difference_where_the_solver_only_reaches_its_bound():
    # 2 seeds at alpha 0.05/7: no effect size up to statsmodels' search bound reaches 80% power.
    d = stats.Difference("paired t", 0.01, 0, 0, 0.2, spread=0.006, n=2)
    assert stats.detectable_difference(d, 0.05 / 7) == math.inf
    assert stats.verdict(d, 0.5, math.inf, 9, 0.01, 2).startswith("inconclusive at n=2 seeds")


def test_seeds_needed_for_a_welch_comparison():
    # Unequal seed sets (a level with a missing seed): two-sample t, n per level with equal groups.
    d = stats.Difference("Welch t", 0.01, 0, 0, 0.3, spread=0.006, n=2, ratio=1.5)
    n = stats.seeds_needed(d, 0.05)

    def two_sample_power(k: int) -> float:  # equal groups of k, effect 0.01 / 0.006 sd
        df, nc = 2 * k - 2, 0.01 / 0.006 * math.sqrt(k / 2)
        crit = sp.t.ppf(0.975, df)
        return sp.nct.sf(crit, df, nc) + sp.nct.cdf(-crit, df, nc)

    assert two_sample_power(n - 1) < 0.8 <= two_sample_power(n) and n == 7
