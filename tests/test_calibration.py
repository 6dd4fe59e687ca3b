"""Simulation-calibrated checks of the report's analysis (lenet_ablate.report.simulate drives the
report's own functions). Draws are seeded; each bound allows 3 Monte-Carlo standard errors."""

from __future__ import annotations

import math

import pytest

from lenet_ablate.report import decide, stats
from lenet_ablate.report.simulate import MEASURED, SPREADS, mc_error, simulate

REPS = 4000
NULL = (0.0,) * len(SPREADS)


def bound(rate: float = stats.ALPHA) -> float:
    """The largest simulated rate consistent with a true rate of `rate` (3 MC standard errors)."""
    return rate + 3 * mc_error(rate, REPS)


@pytest.mark.parametrize("design", [dict(n=3), dict(n=6)])
def test_paired_test_keeps_the_family_wise_error_under_unequal_spreads(design):
    assert simulate(SPREADS, NULL, reps=REPS, seed=11, **design).fwer <= bound()


def test_pooling_variances_naively_exceeds_the_family_wise_error():
    # The same null, analysed with one variance pooled over the 7 levels: the small-spread levels
    # borrow the large ones' degrees of freedom but not their noise, and false positives follow.
    assert simulate(SPREADS, NULL, n=3, reps=REPS, seed=11, pooled=True).fwer > bound()


def test_seeds_auto_at_its_level_keeps_the_family_wise_error():
    for spreads in (SPREADS, (0.004,) * 7, (0.006,) * 7):
        rates = simulate(spreads, NULL, n=3, reps=REPS, seed=12, seeds_max=10, alpha=decide.AUTO_ALPHA)
        assert rates.fwer <= bound(), spreads


def test_seeds_auto_at_the_nominal_level_would_not():
    # Why seeds=auto tests at AUTO_ALPHA: the seeds depend on the pilot's 2-df variance estimate.
    rates = simulate((0.006,) * 7, NULL, n=3, reps=REPS, seed=12, seeds_max=10, alpha=stats.ALPHA)
    assert rates.fwer > bound()


def test_power_at_a_true_difference_of_0_01_matches_the_analytic_power():
    # One comparison (no adjustment), spread 0.006, 6 seeds: simulated power of the paired t vs the
    # report's own power function (noncentral t by quadrature).
    rates = simulate((0.006,), (0.01,), n=6, reps=REPS, seed=13)
    expected = stats.t_power(0.01 / 0.006, 6, stats.ALPHA, paired=True)
    assert rates.power == pytest.approx(expected, abs=3 * mc_error(expected, REPS))


def test_hommel_rejects_whatever_holm_rejects_and_more():
    # Hommel's adjusted p never exceeds Holm's (so its family-wise error bound covers Holm's too);
    # 10 random families, plus a hand-checked one: p = (0.01, 0.02, 0.03) Holm (0.03, 0.04, 0.04),
    # Hommel (0.03, 0.03, 0.03).
    import numpy as np

    rng = np.random.default_rng(14)
    for p in rng.uniform(0, 0.2, (10, 7)):
        assert all(a <= b + 1e-12 for a, b in zip(stats.adjust(list(p), "hommel"), stats.adjust(list(p), "holm")))
    assert stats.adjust([0.01, 0.02, 0.03], "holm") == pytest.approx([0.03, 0.04, 0.04])
    assert stats.adjust([0.01, 0.02, 0.03], "hommel") == pytest.approx([0.03, 0.03, 0.03])


@pytest.mark.parametrize("design", [dict(n=3), dict(n=6), dict(n=3, seeds_max=10, alpha=decide.AUTO_ALPHA)])
def test_no_difference_larger_than_x_is_rarely_said_when_the_true_difference_is_x(design):
    # Every level truly 0.01 from the baseline: "no difference larger than X <= 0.01" would be wrong.
    effects = tuple(0.01 * (-1) ** i for i in range(len(SPREADS)))
    rates = simulate(SPREADS, effects, reps=REPS, seed=15, **design)
    assert rates.false_equivalence <= bound()


def test_seeds_auto_settles_the_measured_study():
    rates = simulate(SPREADS, MEASURED, n=3, reps=1000, seed=16, seeds_max=10, alpha=decide.AUTO_ALPHA)
    fixed = simulate(SPREADS, MEASURED, n=3, reps=1000, seed=16)
    assert rates.resolved > 0.95 > 0.7 > fixed.resolved
    assert 3 < rates.mean_seeds <= 10


def test_seeds_to_settle_by_hand():
    # spread 0.002, 7 comparisons: t(0.99643, n-1) * 0.002 / sqrt(n) <= 0.005 first at n = 5
    # (n=4: 6.580 * 0.001 = 0.0066; n=5: 5.068 * 0.000894 = 0.0045).
    assert decide.seeds_to_settle(0.002, 7, 0.01) == 5
    assert math.isnan(decide.seeds_to_settle(0.0, 7, 0.01))
    assert decide.seeds_to_settle(1.0, 7, 0.01) == math.inf
    # A family of 2 testable comparisons (the nan spread is untestable): 0.002 then needs only 4.
    assert decide.targets([0.002, 0.05, math.nan], [3, 3, 1], 0.01, 10) == [4, 10, 1]
