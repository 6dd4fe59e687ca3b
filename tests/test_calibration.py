"""Simulation-calibrated checks of the report's analysis (lenet_ablate.analysis.schedule.simulate drives the
report's own functions). Draws are seeded; each bound allows 3 Monte-Carlo standard errors."""

from __future__ import annotations

import math

import pytest

from dataclasses import replace

import numpy as np

from omegaconf import OmegaConf
from pathlib import Path
from scipy import stats as sps

from lenet_ablate.analysis.inference import decide
from lenet_ablate.analysis.schedule import sequential
from lenet_ablate.analysis.schedule import spending
from lenet_ablate.analysis.inference import stats
from lenet_ablate.analysis.schedule.montecarlo import (DROPOUT, MEASURED, SPREADS, FixedPlan, mc_error, scenarios,
                                                       simulate,
                                                       simulate_logrank, simulate_looks, simulate_planned_once)
from lenet_ablate.analysis.schedule.simulate import TODAY, Cell, run_cell

REPS = 4000
NULL = (0.0,) * len(SPREADS)


def bound(rate: float = stats.ALPHA) -> float:
    """The largest simulated rate consistent with a true rate of `rate` (3 MC standard errors)."""
    return rate + 3 * mc_error(rate, REPS)


@pytest.mark.parametrize("design", [dict(n=3), dict(n=6)])
def test_paired_test_keeps_the_family_wise_error_under_unequal_spreads(design):
    assert simulate(SPREADS, NULL, reps=REPS, seed=11, plan=FixedPlan(**design)).fwer <= bound()


def test_pooling_variances_naively_exceeds_the_family_wise_error():
    # The same null, analysed with one variance pooled over the 7 levels: the small-spread levels
    # borrow the large ones' degrees of freedom but not their noise, and false positives follow.
    assert simulate(SPREADS, NULL, reps=REPS, seed=11, plan=FixedPlan(n=3, pooled=True)).fwer > bound()


# The sequential seeds=auto design as configured (conf/config.yaml: spending, levels, looks, seeds_max).
DESIGN = sequential.Design.from_config(OmegaConf.load(Path(__file__).parents[1] / "conf" / "config.yaml"))
SEQ_REPS = 1000


def seq_bound(reps: int = SEQ_REPS, rate: float = stats.ALPHA) -> float:
    return rate + 3 * mc_error(rate, reps)


def test_the_configured_design_is_the_spending_design():
    assert DESIGN.spending == "pocock" and DESIGN.alpha == 0.03 and DESIGN.beta == 0.025


# Spreads x1, x2, x4 and x10 of the measured ones, normal and left-skewed: the design keeps the
# family-wise error and the worst comparison's false "no difference" rate within 5%.
@pytest.mark.parametrize("scale", [1.0, 2.0, 4.0, 10.0])
@pytest.mark.parametrize("noise", ["normal", "skewed"])
def test_sequential_design_keeps_both_error_rates_at_any_spread(scale, noise):
    rates = run_cell(DESIGN, Cell(7, scale, noise), SEQ_REPS, seed=31)
    assert rates.null.fwer <= seq_bound()
    assert rates.edge.worst_false_equivalence <= seq_bound()


def test_0_4_design_fails_the_calibration_at_four_times_the_spread():
    # 0.02 at every look with 95% intervals: the comparisons stay open through all six looks.
    rates = run_cell(TODAY, Cell(7, 4.0, "normal"), 2000, seed=31)
    assert rates.null.fwer > seq_bound(2000)


def test_intervals_spending_0_05_fail_the_calibration_under_skewed_noise():
    # seeds_beta 0.05 (the design's rate under normal noise): bad seeds absent from a sample bias
    # its mean towards the good ones; the worst comparison says "no difference" about 0.095 of the time.
    rates = run_cell(replace(DESIGN, beta=0.05), Cell(7, 2.0, "skewed"), SEQ_REPS, seed=31)
    assert rates.edge.worst_false_equivalence > seq_bound()


def test_a_sequential_design_at_too_high_a_level_fails_the_calibration():
    # Spending 0.15 instead of 0.03: the bound is spent several times over at large spreads.
    rates = run_cell(replace(DESIGN, alpha=0.15), Cell(7, 4.0, "normal"), SEQ_REPS, seed=31)
    assert rates.null.fwer > seq_bound()


# seeds_boundaries=exact with seeds_alpha 0.05, seeds_beta 0.05, seeds_max 26: the cheapest design
# that keeps both error rates under symmetric noise at any spread; left-skewed noise breaks it.
CHEAP = sequential.EXACT


def test_exact_boundaries_are_the_group_sequential_boundaries_of_one_comparison():
    # "differs" at look k: two-sided p below twice the one-sided nominal level of the exact
    # boundary; the intervals are the same as bonferroni's. Over the looks the exact levels sum to
    # more than seeds_alpha (they use the looks' correlation), the increments to exactly it.
    fractions = tuple(n / 26 for n in CHEAP.schedule())
    exact, plain = CHEAP.levels(), replace(CHEAP, boundaries="bonferroni").levels()
    assert [lv.alpha for lv in exact] == pytest.approx([2 * b for b in spending.boundaries("pocock", 0.05, fractions)])
    assert [lv.beta for lv in exact] == [lv.beta for lv in plain]
    assert sum(lv.alpha for lv in plain) == pytest.approx(0.05)
    assert sum(lv.alpha for lv in exact) > 0.06
    assert "exact group-sequential boundaries" in CHEAP.name() and "exact" not in DESIGN.name()
    assert CHEAP == replace(DESIGN, boundaries="exact", alpha=0.05, beta=0.05, seeds_max=26)


def test_the_report_quotes_the_simulation_only_for_the_designs_it_covers():
    assert "0.058 and 0.060" in DESIGN.simulated() and "not under left-skewed" in CHEAP.simulated()
    assert "0.096 and 0.100" in replace(CHEAP, outcome="mean_val_acc").simulated()
    assert replace(DESIGN, alpha=0.05).simulated() is None
    assert replace(DESIGN, alpha=0.05).simulate_command() == (
        "python -m lenet_ablate.analysis.schedule.simulate --spending pocock --boundaries bonferroni --alpha 0.05 "
        "--beta 0.025 --pilot 3 --looks 5 8 12 18 --seeds-max 30")


@pytest.mark.parametrize("scale", [1.0, 10.0])
def test_exact_boundaries_keep_both_error_rates_under_normal_noise(scale):
    rates = run_cell(CHEAP, Cell(7, scale, "normal"), SEQ_REPS, seed=31)
    assert rates.null.fwer <= seq_bound() and rates.edge.worst_false_equivalence <= seq_bound()


def test_exact_boundaries_settle_the_measured_study_in_fewer_jobs():
    # The cost the default design pays for skewed noise: about 87 jobs against about 70 (2000
    # studies: 86.7 and 69.9), P(all 7) >= 0.90 both (0.92 and 0.94).
    cheap, default = (simulate_looks(SPREADS, MEASURED, d, 1000, seed=33) for d in (CHEAP, DESIGN))
    assert cheap.mean_jobs < 72 < 84 < default.mean_jobs
    assert cheap.all_settled >= 0.9 - 2 * mc_error(0.9, 1000)


def test_exact_boundaries_fail_the_calibration_under_skewed_noise():
    rates = run_cell(CHEAP, Cell(7, 2.0, "skewed"), SEQ_REPS, seed=31)
    assert rates.edge.worst_false_equivalence > seq_bound()


def test_sequential_design_settles_the_measured_study():
    rates = simulate_looks(SPREADS, MEASURED, DESIGN, 1000, seed=33)
    old = simulate_planned_once(SPREADS, MEASURED, 1000, seed=33)
    # the target P(all 7) >= 0.90, within 2 Monte Carlo se (2000 studies: 0.92 +- 0.006)
    assert rates.all_settled >= 0.9 - 2 * mc_error(0.9, 1000) and old.all_settled < 0.5


def test_dropout_settles_when_a_tenth_of_its_seeds_never_learn():
    # Collapsed seeds are left out of the test (and counted): dropout settles; counted in, it does not.
    effects, nz = SCENARIOS["measured, collapse"]
    rates = simulate_looks(SPREADS, effects, DESIGN, 1000, seed=34, noise=nz)
    old = simulate_planned_once(SPREADS, effects, 1000, seed=34, noise=nz)
    assert rates.settled[DROPOUT] >= 0.9 > 0.5 > old.settled[DROPOUT]


SCENARIOS = scenarios(DESIGN.min_effect)


def test_spending_functions_by_hand():
    # Pocock type, 0.05 over looks at 3, 5 and 8 of 8 seeds: 0.05 ln(1 + (e - 1) t) at t = 0.375,
    # 0.625, 1 is 0.05 ln 1.644356 = 0.0248674, 0.05 ln 2.073926 = 0.0364715, 0.05; the looks get
    # the increments.
    got = spending.increments("pocock", 0.05, (0.375, 0.625, 1.0))
    assert got == pytest.approx((0.0248674, 0.0364715 - 0.0248674, 0.05 - 0.0364715), abs=1e-6)
    # O'Brien-Fleming type: 2 - 2 Phi(1.959964 / sqrt(t)); at t = 0.25, z = 3.919928 and the tail
    # 2 * 4.4295e-5 (math.erfc(3.919928 / sqrt 2)).
    assert spending.spent("obrien_fleming", 0.05, 0.25) == pytest.approx(math.erfc(3.919928 / math.sqrt(2)), rel=1e-5)
    assert spending.spent("obrien_fleming", 0.05, 1.0) == pytest.approx(0.05, rel=1e-9)
    assert spending.increments("none", 0.02, (0.1, 1.0)) == (0.02, 0.02)


def test_repeated_interval_boundaries_cover_at_every_look_at_once():
    # One look: the usual interval (0.05 per side at total 0.10). Three looks: z statistics of a
    # random walk (the canonical joint distribution); the boundaries are crossed at some look with
    # probability 0.10, within 3 Monte Carlo standard errors.
    assert spending.boundaries("pocock", 0.10, (1.0,)) == pytest.approx((0.05,), abs=1e-6)
    fractions = (0.375, 0.625, 1.0)
    one_sided = spending.boundaries("pocock", 0.10, fractions)
    c = -sps.norm.ppf(np.array(one_sided))
    rng = np.random.default_rng(7)
    steps = rng.normal(size=(200_000, 3)) * np.sqrt(np.diff((0.0,) + fractions))
    z = np.cumsum(steps, axis=1) / np.sqrt(fractions)
    crossed = (np.abs(z) >= c).any(axis=1).mean()
    assert crossed == pytest.approx(0.10, abs=3 * mc_error(0.10, 200_000))
    assert one_sided[0] == pytest.approx(spending.increments("pocock", 0.10, fractions)[0] / 2, rel=1e-6)


def test_looks_by_hand():
    # 0.4's design (no spending: 0.02 at every look, 95% intervals), so the levels are round.
    # Two comparisons, seeds 0..7, looks at 3, 5 and 8 (seeds_max), alpha 0.02, min_effect 0.01.
    # A: differences 0.05 +- 0.001 -> paired t on 3 seeds: mean 0.05, sd 0.001, t = 86.6, p = 1.3e-4;
    #    Hommel over (1.3e-4, p_B) keeps it below 0.02: "differs" at the first look.
    # B: differences 0.000, 0.002, -0.002, ... -> mean 0, sd 0.002, 95% interval +-0.0050 at n = 3
    #    (t(0.975, 2) = 4.303 x 0.002 / sqrt(3)): within +-0.01, "no difference" at the first look too.
    design = sequential.Design(pilot=3, looks=(5,), seeds_max=8, alpha=0.02, beta=0.025, spending="none",
                               min_effect=0.01)
    d = np.array([[[0.051, 0.050, 0.049] + [0.05] * 5, [0.0, 0.002, -0.002] + [0.0] * 5]])
    looks = sequential.run_looks(d, np.ones_like(d, bool), design)
    assert list(looks.state[0]) == [sequential.DIFFERS, sequential.EQUAL] and list(looks.n[0]) == [3, 3]
    assert looks.high[0, 1] == pytest.approx(4.302653 * 0.002 / math.sqrt(3), rel=1e-5)
    # B noisier, +-0.01: open at 3 (half-width 4.303 x 0.01 / sqrt(3) = 0.0248) and 5 (2.776 x 0.01 /
    # sqrt(5) = 0.0124); at 8, sd = sqrt(6e-4 / 7) = 0.00926, half-width 2.365 x 0.00926 / sqrt(8) =
    # 0.0077: "no difference larger than 0.0078". A stays at the look it stopped at.
    d[0, 1] = [0.01, -0.01, 0.0, 0.01, -0.01, 0.0, 0.01, -0.01]
    looks = sequential.run_looks(d, np.ones_like(d, bool), design)
    assert looks.state[0, 0] == sequential.DIFFERS and looks.n[0, 0] == 3
    assert looks.state[0, 1] == sequential.EQUAL and looks.n[0, 1] == 8 and looks.done == 3
    assert [h[0, 1] for h in looks.history] == [sequential.OPEN, sequential.OPEN, sequential.EQUAL]
    assert looks.high[0, 1] == pytest.approx(2.364624 * math.sqrt(6e-4 / 7) / math.sqrt(8), rel=1e-5)
    # Three times as noisy: still open at 8 seeds, and the seeds it would need exceed seeds_max.
    d[0, 1] *= 3
    looks = sequential.run_looks(d, np.ones_like(d, bool), design)
    assert looks.state[0, 1] == sequential.FUTILE and looks.need[0, 1] > 8
    # Seeds not yet run stop the looks where they are: only 5 seeds of B exist, the third look waits.
    looks = sequential.run_looks(d, np.ones_like(d, bool), design, available=np.array([[8, 5]]))
    assert looks.done == 2 and sequential.next_look(looks, design) == 8


def test_power_at_a_true_difference_of_0_01_matches_the_analytic_power():
    # One comparison (no adjustment), spread 0.006, 6 seeds: simulated power of the paired t vs the
    # report's own power function (noncentral t by quadrature).
    rates = simulate((0.006,), (0.01,), reps=REPS, seed=13, plan=FixedPlan(n=6))
    expected = stats.t_power(0.01 / 0.006, 6, stats.ALPHA, paired=True)
    assert rates.power == pytest.approx(expected, abs=3 * mc_error(expected, REPS))


def test_hommel_rejects_whatever_holm_rejects_and_more():
    # Hommel's adjusted p never exceeds Holm's (so its family-wise error bound covers Holm's too);
    # 10 random families, plus a hand-checked one: p = (0.01, 0.02, 0.03) Holm (0.03, 0.04, 0.04),
    # Hommel (0.03, 0.03, 0.03).
    rng = np.random.default_rng(14)
    for p in rng.uniform(0, 0.2, (10, 7)):
        assert all(a <= b + 1e-12 for a, b in zip(stats.adjust(list(p), "hommel"), stats.adjust(list(p), "holm")))
    assert stats.adjust([0.01, 0.02, 0.03], "holm") == pytest.approx([0.03, 0.04, 0.04])
    assert stats.adjust([0.01, 0.02, 0.03], "hommel") == pytest.approx([0.03, 0.03, 0.03])


@pytest.mark.parametrize("design", [dict(n=3), dict(n=6)])
def test_no_difference_larger_than_x_is_rarely_said_when_the_true_difference_is_x(design):
    # Every level truly 0.01 from the baseline: "no difference larger than X <= 0.01" would be wrong.
    effects = tuple(0.01 * (-1) ** i for i in range(len(SPREADS)))
    rates = simulate(SPREADS, effects, reps=REPS, seed=15, plan=FixedPlan(**design))
    assert rates.false_equivalence <= bound()


def test_seeds_to_settle_by_hand():
    # spread 0.002, 7 comparisons: t(0.99643, n-1) * 0.002 / sqrt(n) <= 0.005 first at n = 5
    # (n=4: 6.580 * 0.001 = 0.0066; n=5: 5.068 * 0.000894 = 0.0045).
    assert decide.seeds_to_settle(0.002, 7, 0.01) == 5
    assert math.isnan(decide.seeds_to_settle(0.0, 7, 0.01))
    assert decide.seeds_to_settle(1.0, 7, 0.01) == math.inf
    # A family of 2 testable comparisons (the nan spread is untestable): 0.002 then needs only 4.
    assert decide.targets([0.002, 0.05, math.nan], [3, 3, 1], 0.01, 10) == [4, 10, 1]


# Epochs to a target: integer epochs (heavy ties), 30% of seeds never reaching the target
# (censored), log-rank per comparison, Hommel over 7; a level of 0.2 must fail the same check.
@pytest.mark.parametrize("n", [5, 8])
def test_logrank_keeps_the_family_wise_error_with_censoring_and_ties(n):
    assert simulate_logrank(1000, n=n, censored=0.3, seed=40 + n) <= bound_at(1000)


def test_logrank_at_too_high_a_level_fails_the_calibration():
    assert simulate_logrank(1000, n=8, censored=0.3, alpha=0.2, seed=48) > bound_at(1000)


def test_kaplan_meier_median_and_logrank_by_hand():
    from lenet_ablate.analysis.inference.secondary import km_median, logrank_p

    # Epochs 1, 2, 2, 3 reached, one seed censored at 20: S(1) = 4/5, S(2) = 4/5 * 2/4 = 0.4 <= 0.5.
    assert km_median([1, 2, 2, 3, 20], [True, True, True, True, False]) == 2
    assert km_median([20, 20], [False, False]) == math.inf  # never reached: no median
    same = ([1, 2, 3, 20], [True, True, True, False])
    assert logrank_p(*same, *same) == pytest.approx(1.0)
    # Every level seed reaches the target at epoch 1, every reference seed at epoch 5 (4 + 4 seeds).
    # At t = 1: 8 at risk, 4 events, all the level's: E_level = 4 * 4/8 = 2, V = 4 * 1/2 * 1/2 * 4/7
    # = 0.571; at t = 5 only reference seeds are at risk (E = O, V = 0). chi2 = (4 - 2)^2 / 0.571 = 7.0,
    # p = 0.00815.
    assert logrank_p([1] * 4, [True] * 4, [5] * 4, [True] * 4) == pytest.approx(0.00815, abs=2e-4)


def bound_at(reps: int, rate: float = stats.ALPHA) -> float:
    return rate + 3 * mc_error(rate, reps)


def test_an_open_secondary_verdict_says_what_would_settle_it():
    # Paired: difference 0.004, spread 0.006, a family of one, min_effect 0.01. The 95% interval
    # t(0.975, n-1) * 0.006 / sqrt(n) fits in the 0.006 left below 0.01 first at n = 7 (n=6: 2.571 >
    # sqrt(6) = 2.449; n=7: 2.447 < 2.646); the test would reject only at 12. Ratio x1.02 with an sd
    # of logs 0.03, band x1.1: log 1.1 - log 1.02 = 0.0755 = 2.517 sd, t(0.975, 2) / sqrt(3) = 2.484.
    from lenet_ablate.analysis.tables import outcomes
    from lenet_ablate.analysis.inference import secondary

    def comparison(estimate: float, spread: float) -> secondary.OutcomeComparison:
        return secondary.OutcomeComparison("x", "f", "l", "r", "default lr", 2, 2, estimate, math.nan, math.nan, 0.2,
                                           "paired t", spread=spread)

    paired = outcomes.Outcome("x", "x", "", "higher", lambda r, _t: None, 0.01, "paired t")
    ratio = outcomes.Outcome("y", "y", "", "lower", lambda r, _t: None, 0.1, "ratio")
    a, b = comparison(0.004, 0.006), comparison(1.02, 0.03)
    secondary.adjust([a], paired)
    secondary.adjust([b], ratio)
    assert (a.seeds_needed, b.seeds_needed) == (7, 3)
    assert a.verdict == "not resolved at n=2 seeds (about 7 would settle it)"
    assert b.verdict == "not resolved at n=2 seeds (about 3 would settle it)"


def test_the_seed_shape_by_hand():
    from lenet_ablate.analysis.schedule.seed_noise import seed_shape

    # Four configurations of 5 seeds, one bad seed each (0, 0, 0, 0, -4): standardised, 16 values at
    # 0.4472 and 4 at -1.7889, the skewness of a mirrored Bernoulli(0.2): -(1 - 0.4) / sqrt(0.16) = -1.5.
    bad = [np.array([0.0, 0.0, 0.0, 0.0, -4.0]) + k for k in range(4)]
    shape = seed_shape(bad)
    assert (shape.seeds, shape.configurations) == (20, 4) and shape.skewness == pytest.approx(-1.5)
    assert shape.p_left == pytest.approx(sps.skewtest(np.tile([0.4472136] * 4 + [-1.7888544], 4),
                                                      alternative="less").pvalue, rel=1e-5)
    assert shape.left_skewed
    # The mirror image, a long right tail: skewness +1.5, no left tail. Four seeds per configuration,
    # or 19 values in all: too few to tell.
    good = seed_shape([-b for b in bad])
    assert good.skewness == pytest.approx(1.5) and good.p_left > 0.99 and not good.left_skewed
    assert seed_shape([np.arange(4.0)] * 10) is None and seed_shape([np.arange(5.0)] * 3 + [np.arange(4.0)]) is None


def test_the_seed_shape_test_keeps_its_level_and_finds_bad_seeds_given_enough_seeds():
    from lenet_ablate.analysis.schedule.seed_noise import detection_rate

    # Normal seeds: at most 5% false alarms (standardising within configurations makes it
    # conservative: 0.02). Heavy symmetric tails (t(3): 0.12) also set it off now and then; it then
    # only advises the design that holds under every noise.
    study = [12] * 14  # the fair study: 14 configurations of about 12 seeds
    assert detection_rate(study, "normal", reps=2000) <= 0.05 + 3 * mc_error(0.05, 2000)
    assert detection_rate(study, "skewed", reps=2000) >= 0.9 > detection_rate([5] * 8, "skewed", reps=2000)
