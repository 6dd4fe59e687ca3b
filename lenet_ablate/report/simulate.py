"""Monte-Carlo check of the report's analysis: simulated studies of m comparisons with a shared
reference, unequal seed spreads and chosen true differences, analysed with the report's own
functions (stats.paired_t, stats.adjust, decide.targets, decide.equivalence_bound).

    python -m lenet_ablate.report.simulate [--reps 4000]

prints, per design, the family-wise false-positive rate under the global null, the share of
comparisons resolved and the probability that all are. The calibration tests run the same
functions with fewer replicates. No torch here.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from lenet_ablate.report import decide, stats

# The 3-seed Fashion-MNIST study of commit 75297d7 (make ablate; its report in that commit's README):
# per level (tanh, sigmoid, avg pooling, RMSprop, Adam, dropout 0.5, no augmentation) the sd of the
# paired differences from the baseline (from the 95% interval: half-width / 2.484) and the mean
# difference.
SPREADS = (0.0020, 0.0060, 0.0023, 0.0021, 0.0029, 0.0081, 0.0028)
MEASURED = (0.0001, -0.0693, 0.0055, -0.0073, -0.0046, -0.0339, 0.0023)


@dataclass
class Rates:
    """Rates over simulated studies."""

    fwer: float               # P(some comparison with no true difference is called "differs")
    resolved: float           # mean share of comparisons settled
    all_resolved: float       # P(every comparison settled)
    power: float              # share of comparisons with a true difference called "differs"
    false_equivalence: float  # share of |true difference| >= min_effect called "no difference larger than X <= it"
    mean_seeds: float         # mean seeds per comparison


def _draw(rng: np.random.Generator, spreads: np.ndarray, effects: np.ndarray, reps: int, n: int,
          shared: float) -> np.ndarray:
    """Paired differences (reps, m, n): level i minus the shared reference on seed j. The
    reference's own seed noise (a share `shared` of the smallest variance) is common to all i."""
    tau = np.sqrt(shared) * spreads.min()
    own = np.sqrt(spreads ** 2 - tau ** 2)
    reference = rng.normal(0.0, tau, (reps, 1, n))
    return effects[None, :, None] + rng.normal(0.0, 1.0, (reps, len(spreads), n)) * own[None, :, None] - reference


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


def simulate(spreads: tuple[float, ...], effects: tuple[float, ...], n: int, reps: int, seed: int = 0,
             method: str = "hommel", min_effect: float = 0.01, seeds_max: int | None = None,
             pooled: bool = False, shared: float = 0.5, alpha: float = stats.ALPHA) -> Rates:
    """Rates of `reps` simulated studies with `n` seeds per comparison, or, with `seeds_max`, the
    seeds=auto design: `n` pilot seeds, then the seeds decide.targets asks for."""
    rng = np.random.default_rng(seed)
    sd, eff = np.asarray(spreads, float), np.asarray(effects, float)
    d = _draw(rng, sd, eff, reps, seeds_max or n, shared)
    counts = _auto_counts(d, n, min_effect, seeds_max, alpha) if seeds_max else np.full((reps, len(sd)), n)
    differs, equal = _analyse(d, counts, method, min_effect, pooled, alpha)
    settled = differs | equal
    real, big = eff != 0, np.abs(eff) >= min_effect
    return Rates(fwer=float((differs[:, eff == 0]).any(axis=1).mean()), resolved=float(settled.mean()),
                 all_resolved=float(settled.all(axis=1).mean()),
                 power=float(differs[:, real].mean()) if real.any() else float("nan"),
                 false_equivalence=float(equal[:, big].mean()) if big.any() else float("nan"),
                 mean_seeds=float(counts.mean()))


def mc_error(rate: float, reps: int) -> float:
    """Standard error of a simulated rate."""
    return float(np.sqrt(rate * (1 - rate) / reps))


def main(argv: list[str] | None = None) -> int:
    """Print the rates of the designs the report chooses between."""
    parser = argparse.ArgumentParser(prog="python -m lenet_ablate.report.simulate", description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=4000)
    args = parser.parse_args(argv)
    null = (0.0,) * len(SPREADS)
    # (statsmodels' Holm runs a full gc.collect() per call: its line uses at most 500 replicates.)
    designs = [("paired t, Holm, 3 seeds", dict(n=3, method="holm")),
               ("paired t, Hommel, 3 seeds", dict(n=3)),
               ("pooled variance, Hommel, 3 seeds", dict(n=3, pooled=True)),
               ("paired t, Hommel, 6 seeds", dict(n=6)),
               ("paired t, Hommel, seeds=auto (3..10), alpha 0.05", dict(n=3, seeds_max=10)),
               (f"paired t, Hommel, seeds=auto (3..10), alpha {decide.AUTO_ALPHA}",
                dict(n=3, seeds_max=10, alpha=decide.AUTO_ALPHA))]
    print(f"{'design':52s} {'FWER (null)':>11s} {'resolved':>9s} {'all 7':>6s} {'mean seeds':>10s}")
    for name, kw in designs:
        reps = min(args.reps, 500) if kw.get("method") == "holm" else args.reps
        under_null = simulate(SPREADS, null, reps=reps, **kw)
        measured = simulate(SPREADS, MEASURED, reps=reps, seed=1, **kw)
        print(f"{name:52s} {under_null.fwer:11.3f} {measured.resolved:9.2f} {measured.all_resolved:6.2f} "
              f"{measured.mean_seeds:10.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
