"""Monte-Carlo studies analysed with the report's own functions (stats.paired_t, stats.adjust,
decide.equivalence_bound, decide.targets, sequential.run_looks): simulated studies of m
comparisons with a shared reference, unequal seed spreads and chosen true differences. The grid
of conditions and the command line are in simulate.py; the calibration tests call these with
fewer replicates. No torch here.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from lenet_ablate.analysis.inference import decide
from lenet_ablate.analysis.schedule import sequential
from lenet_ablate.analysis.inference import stats
from lenet_ablate.analysis.schedule.noise_models import Noise, draw_study

# The 10-seed Fashion-MNIST study of 2026-11-29 (make ablate, docs/results.md): per level (tanh,
# sigmoid, avg pooling, RMSprop, Adam, dropout 0.5, no augmentation) the sd of the paired differences
# from the baseline and the mean difference (dropout: among the nine seeds that learned).
SPREADS = (0.0078, 0.0072, 0.0020, 0.0054, 0.0072, 0.0080, 0.0035)
MEASURED = (0.0061, -0.0642, 0.0063, -0.0023, 0.0034, -0.0350, 0.0063)
# Dropout 0.5 (index 5) never learned in 1 of its 10 seeds: the collapse scenario gives it 10% per seed.
DROPOUT, COLLAPSE = 5, 0.10


@dataclass
class Rates:
    """Rates over simulated studies."""

    fwer: float               # P(some comparison with no true difference is called "differs")
    resolved: float           # mean share of comparisons settled
    all_resolved: float       # P(every comparison settled)
    power: float              # share of comparisons with a true difference called "differs"
    false_equivalence: float  # share of |true difference| >= min_effect called "no difference larger than X <= it"
    mean_seeds: float         # mean seeds per comparison
    worst_false_equivalence: float = float("nan")  # the same for the worst such comparison


def pooled_p(d: np.ndarray) -> np.ndarray:
    """The rejected alternative: each comparison's paired t with the variance pooled over the
    family (m(n-1) degrees of freedom). Not valid when spreads differ; the tests show it."""
    n = d.shape[-1]
    mean, var = d.mean(axis=-1), d.var(axis=-1, ddof=1).mean(axis=-1, keepdims=True)
    t = mean / np.sqrt(var / n)
    return 2 * sps.t.sf(np.abs(t), d.shape[-2] * (n - 1))


def _analyse(d: np.ndarray, counts: np.ndarray, method: str, min_effect: float, pooled: bool,
             alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """(differs, equal) flags (reps, m): each comparison analysed on its first `counts` seeds."""
    mean, _, half, p = stats.paired_t(d, counts)
    if pooled:
        p = pooled_p(d)
    differs = np.array([stats.adjust(list(row), method) for row in p]) < alpha
    equal = ~differs & (decide.equivalence_bound(mean - half, mean + half) <= min_effect)
    return differs, equal


def _auto_counts(d: np.ndarray, n: int, min_effect: float, seeds_max: int, alpha: float) -> np.ndarray:
    """seeds=auto: from `n` pilot seeds, the seeds each comparison gets (reps, m) by decide.targets
    on the pilot's spreads (one re-estimation, as the sweeper does)."""
    spread = d[..., :n].std(axis=-1, ddof=1)
    return np.array([decide.targets(row, [n] * len(row), min_effect, seeds_max, alpha) for row in spread])


@dataclass(frozen=True)
class FixedPlan:
    """How a simulated study is analysed: `n` seeds per comparison (or, with `seeds_max`, `n` pilot
    seeds and then the seeds decide.targets asks for), the family's adjustment `method`, pooled
    variances or not, the seeds' shared noise share, the level and the smallest effect of interest."""

    n: int = 3
    method: str = "hommel"
    min_effect: float = 0.01
    seeds_max: int | None = None
    pooled: bool = False
    shared: float = 0.5
    alpha: float = stats.ALPHA


def simulate(spreads: tuple[float, ...], effects: tuple[float, ...], reps: int, seed: int = 0,
             plan: FixedPlan = FixedPlan()) -> Rates:
    """Rates of `reps` simulated studies analysed as `plan` says."""
    n, method, min_effect, seeds_max = plan.n, plan.method, plan.min_effect, plan.seeds_max
    pooled, shared, alpha = plan.pooled, plan.shared, plan.alpha
    rng = np.random.default_rng(seed)
    sd, eff = np.asarray(spreads, float), np.asarray(effects, float)
    d, _ = draw_study(rng, sd, eff, reps, seeds_max or n, Noise(), shared)
    counts = _auto_counts(d, n, min_effect, seeds_max, alpha) if seeds_max else np.full((reps, len(sd)), n)
    differs, equal = _analyse(d, counts, method, min_effect, pooled, alpha)
    settled = differs | equal
    real, big = eff != 0, np.abs(eff) >= min_effect
    return Rates(fwer=float((differs[:, eff == 0]).any(axis=1).mean()), resolved=float(settled.mean()),
                 all_resolved=float(settled.all(axis=1).mean()),
                 power=float(differs[:, real].mean()) if real.any() else float("nan"),
                 false_equivalence=float(equal[:, big].mean()) if big.any() else float("nan"),
                 mean_seeds=float(counts.mean()),
                 worst_false_equivalence=float(equal[:, big].mean(axis=0).max()) if big.any() else float("nan"))


def mc_error(rate: float, reps: int) -> float:
    """Standard error of a simulated rate."""
    return float(np.sqrt(rate * (1 - rate) / reps))




@dataclass
class LookRates:
    """Rates of a design over simulated studies: errors, settled share and jobs (baseline + levels),
    each rate with its Monte Carlo standard error."""

    reps: int
    fwer: float
    false_equivalence: float        # mean over the comparisons at |difference| = min_effect
    worst_false_equivalence: float  # the worst such comparison
    all_settled: float
    settled: tuple[float, ...]      # per comparison
    mean_jobs: float
    p90_jobs: float
    jobs_se: float
    p90_se: float

    def se(self, rate: float) -> float:
        """Monte Carlo standard error of one of these rates."""
        return mc_error(rate, self.reps)


def _jobs(n: np.ndarray) -> np.ndarray:
    """Jobs per study from the seeds per comparison (reps, m): the shared reference gets the most."""
    return n.max(axis=1) + n.sum(axis=1)


def _p90_se(jobs: np.ndarray, rng: np.random.Generator, boot: int = 200) -> float:
    """Bootstrap standard error of the 90th percentile of jobs."""
    picks = rng.integers(0, len(jobs), (boot, len(jobs)))
    return float(np.percentile(jobs[picks], 90, axis=1).std(ddof=1))


def _rates(differs: np.ndarray, equal: np.ndarray, n: np.ndarray, effects: np.ndarray,
           min_effect: float) -> LookRates:
    settled = differs | equal
    null, edge = effects == 0, np.isclose(np.abs(effects), min_effect)
    jobs = _jobs(n).astype(float)
    nan = float("nan")
    per_edge = equal[:, edge].mean(axis=0) if edge.any() else np.array([nan])
    return LookRates(reps=len(jobs), fwer=float(differs[:, null].any(axis=1).mean()) if null.any() else nan,
                     false_equivalence=float(per_edge.mean()), worst_false_equivalence=float(per_edge.max()),
                     all_settled=float(settled.all(axis=1).mean()),
                     settled=tuple(float(x) for x in settled.mean(axis=0)),
                     mean_jobs=float(jobs.mean()), p90_jobs=float(np.percentile(jobs, 90)),
                     jobs_se=float(jobs.std(ddof=1) / np.sqrt(len(jobs))),
                     p90_se=_p90_se(jobs, np.random.default_rng(0)))


def simulate_looks(spreads: tuple[float, ...], effects: tuple[float, ...], design: sequential.Design, reps: int,
                   seed: int = 0, noise: Noise | None = None) -> LookRates:
    """The sequential seeds=auto design (sequential.run_looks, as the sweeper runs it) on `reps`
    simulated studies."""
    rng = np.random.default_rng(seed)
    eff = np.asarray(effects, float)
    d, learned = draw_study(rng, np.asarray(spreads, float), eff, reps, design.seeds_max, noise or Noise())
    looks = sequential.run_looks(d, learned, design)
    return _rates(looks.state == sequential.DIFFERS, looks.state == sequential.EQUAL, looks.n, eff,
                  design.min_effect)


def simulate_planned_once(spreads: tuple[float, ...], effects: tuple[float, ...], reps: int, seed: int = 0,
                          noise: Noise | None = None, plan: FixedPlan = FixedPlan(seeds_max=10, alpha=0.02)
                          ) -> LookRates:
    """The 0.4 seeds=auto design, for comparison: seeds planned once from the pilot's spread
    (decide.targets; `plan.n` pilot seeds, at most `plan.seeds_max`), every seed analysed,
    collapsed seeds included."""
    pilot, seeds_max, alpha, min_effect = plan.n, plan.seeds_max or 10, plan.alpha, plan.min_effect
    rng = np.random.default_rng(seed)
    eff = np.asarray(effects, float)
    d, _ = draw_study(rng, np.asarray(spreads, float), eff, reps, seeds_max, noise or Noise())
    counts = _auto_counts(d, pilot, min_effect, seeds_max, alpha)
    differs, equal = _analyse(d, counts, "hommel", min_effect, False, alpha)
    return _rates(differs, equal, counts, eff, min_effect)


def scenarios(min_effect: float = 0.01) -> dict[str, tuple[tuple[float, ...], Noise]]:
    """Name -> (true differences, noise) of the scenarios every design is judged on."""
    edge = tuple(min_effect * (-1) ** i for i in range(len(SPREADS)))
    drop = tuple(COLLAPSE if i == DROPOUT else 0.0 for i in range(len(SPREADS)))
    return {"null, normal": ((0.0,) * len(SPREADS), Noise()), "null, t(3)": ((0.0,) * len(SPREADS), Noise("t3")),
            "null, collapse": ((0.0,) * len(SPREADS), Noise(collapse=drop)),
            "edge, normal": (edge, Noise()), "edge, t(3)": (edge, Noise("t3")),
            "edge, collapse": (edge, Noise(collapse=drop)),
            "measured, normal": (MEASURED, Noise()), "measured, t(3)": (MEASURED, Noise("t3")),
            "measured, collapse": (MEASURED, Noise(collapse=drop))}


def simulate_logrank(reps: int, n: int = 8, m: int = 7, censored: float = 0.3, max_epochs: int = 20,
                     alpha: float = 0.05, seed: int = 0) -> float:
    """Family-wise error of the secondary "epochs to target" comparisons under the null: m levels
    and their shared reference draw integer epochs from one distribution (heavy ties), a share
    `censored` of seeds never reaching the target within max_epochs; each level against the
    reference by the report's own log-rank test (secondary.logrank_p), Hommel over the family."""
    from lenet_ablate.analysis.inference.secondary import logrank_p  # the report's own test

    rng = np.random.default_rng(seed)
    errors = 0
    for _ in range(reps):
        def side() -> tuple[np.ndarray, np.ndarray]:
            epochs = np.minimum(rng.geometric(0.25, n), max_epochs).astype(float)
            never = rng.uniform(size=n) < censored
            return np.where(never, max_epochs, epochs), ~never
        ref_t, ref_e = side()
        p = [logrank_p(t, e, ref_t, ref_e) for t, e in (side() for _ in range(m))]
        errors += bool((np.asarray(stats.adjust(p, "hommel")) < alpha).any())
    return errors / reps
