"""The report's statistics against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sp

from lenet_ablate.analysis.inference import decide
from lenet_ablate.analysis.inference import stats


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
    text = decide.verdict(d, math.nan, 0.01, math.nan)
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
    d = stats.Difference("paired t", 0.01, -0.0049, 0.0249, 0.2, spread=0.006, n=3)
    mdd = stats.detectable_difference(d, 0.05)
    assert mdd == pytest.approx(0.0196, abs=5e-4)  # about 3.26 sd at n=3
    crit, nc = sp.t.ppf(0.975, 2), mdd / 0.006 * math.sqrt(3)  # power of the paired t at that difference
    power = sp.nct.sf(crit, 2, nc) + sp.nct.cdf(-crit, 2, nc)
    assert power == pytest.approx(0.8, abs=1e-3)
    # One verdict rule (decide.verdict), whatever the adjustment: the 95% interval decides "no difference".
    assert decide.verdict(d, 0.4, 0.01, 6) == "inconclusive at n=3 seeds (about 6 would settle it)"
    small = stats.Difference("paired t", 0.005, -0.002, 0.008, 0.4, spread=0.006, n=3)
    assert decide.verdict(small, 0.4, 0.01, 6) == "no difference larger than 0.0080"
    assert decide.verdict(d, 0.01, 0.01, 6) == "differs (+0.0100)"
    assert decide.verdict(d, 0.4, 0.01, 40, seeds_max=30) == ("inconclusive at n=3 seeds (cannot settle within "
                                                             "seeds_max=30: about 40 needed)")
    # Where the spread says the seeds it has would do, it never asks for those seeds again.
    assert decide.verdict(d, 0.4, 0.01, 3) == ("inconclusive at n=3 seeds (its spread needs no more than 3, but the "
                                               "difference +0.0100 lies too close to ±0.01 to tell: more seeds "
                                               "narrow its interval)")


def test_projected_seeds_by_hand():
    # mean 0.004, sd 0.01, 7 comparisons at alpha 0.02: Bonferroni's t(1 - 0.02/14, n-1) must be below
    # 0.4 sqrt(n) (n >= 60 or so), while the 95% interval fits in +-0.01 once
    # t(0.975, n-1) / sqrt(n) <= 0.6: n = 14 (t(0.975, 13) = 2.160, / 3.742 = 0.577; n = 13: 2.179 / 3.606 = 0.604).
    assert decide.projected_seeds(0.004, 0.01, 7, 0.01, 0.02) == 14
    # A large difference, 0.02 with sd 0.005 (4 sd): the test rejects once t(1 - 0.02/14, n-1) < 4 sqrt(n):
    # n = 4: 9.04 > 8.00; n = 5: 6.0 < 8.94 (the interval never fits: |0.02| > 0.01).
    assert decide.projected_seeds(0.02, 0.005, 7, 0.01, 0.02) == 5
    assert math.isnan(decide.projected_seeds(0.01, 0.0, 7, 0.01, 0.02))
    assert decide.projected_seeds(0.0099, 1.0, 7, 0.01, 0.02) == math.inf  # beyond decide.CAP either way


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
    d = stats.Difference("paired t", 0.01, -0.044, 0.064, 0.2, spread=0.006, n=2)
    assert stats.detectable_difference(d, 0.05 / 7) == math.inf
    assert decide.verdict(d, 0.5, 0.01, 9).startswith("inconclusive at n=2 seeds")


def test_vectorised_adjustment_matches_statsmodels():
    # stats.adjust_rows (the looks' and the simulation's) against statsmodels' multipletests, row by row.
    import numpy as np

    rng = np.random.default_rng(3)
    p = rng.uniform(0, 0.1, (50, 7))
    p[rng.uniform(size=p.shape) < 0.2] = rng.uniform(0, 1e-4)  # ties and very small values
    for method in ("hommel", "holm"):
        got = stats.adjust_rows(p, method)
        want = np.array([stats.adjust(list(row), method) for row in p])
        assert np.allclose(got, want, atol=1e-12), method
    # A nan counts as p = 1 (never more lenient) and stays nan: (0.01, 0.02, nan) -> Hommel over
    # (0.01, 0.02, 1): 0.03, 0.04.
    assert np.allclose(stats.adjust_rows([[0.01, 0.02, np.nan]])[0, :2], [0.03, 0.04])
    assert np.isnan(stats.adjust_rows([[0.01, 0.02, np.nan]])[0, 2])
