"""Monte-Carlo check of the report's analysis: simulated studies of m comparisons with a shared
reference, unequal seed spreads and chosen true differences, analysed with the report's own
functions (stats.paired_t, stats.adjust, decide.equivalence_bound, decide.targets, sequential.run_looks).

    python -m lenet_ablate.report.simulate [--reps 4000]

prints, for 0.4's plan-once seeds=auto and for the sequential design, under normal, t(3) and
collapse noise: the family-wise error, the false "no difference" rate at |difference| = min_effect,
P(all settled), P(dropout settled) and the mean and 90th percentile of jobs; then the fixed-n
analyses. The calibration tests run the same functions with fewer replicates. No torch here.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from lenet_ablate.report import decide, sequential, stats

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
    d, _ = draw_study(rng, sd, eff, reps, seeds_max or n, Noise(), shared)
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


@dataclass
class Noise:
    """How seeds scatter: normal or t with 3 degrees of freedom (heavy tails, the same sd), and per
    comparison the chance that a seed of its level never learns (its accuracy at chance)."""

    kind: str = "normal"
    collapse: tuple[float, ...] = ()


def _noise(rng: np.random.Generator, kind: str, shape: tuple[int, ...]) -> np.ndarray:
    """Unit-variance draws of `kind` (normal, or t(3) scaled to variance 1)."""
    if kind == "t3":
        return rng.standard_t(3, shape) / np.sqrt(3.0)
    return rng.normal(0.0, 1.0, shape)


def draw_study(rng: np.random.Generator, spreads: np.ndarray, effects: np.ndarray, reps: int, n: int,
               noise: Noise, shared: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """(d, learned), both (reps, m, n): paired differences level minus shared reference by seed, and
    True where the level's seed learned (a collapsed seed's difference is that of chance accuracy,
    about -0.8, as a never-learned net scores 0.1 against about 0.9)."""
    tau = np.sqrt(shared) * spreads.min()
    own = np.sqrt(spreads ** 2 - tau ** 2)
    m = len(spreads)
    reference = _noise(rng, noise.kind, (reps, 1, n)) * tau
    d = effects[None, :, None] + _noise(rng, noise.kind, (reps, m, n)) * own[None, :, None] - reference
    rate = np.zeros(m) if not noise.collapse else np.asarray(noise.collapse, float)
    collapsed = rng.uniform(size=(reps, m, n)) < rate[None, :, None]
    return np.where(collapsed, COLLAPSED_DIFF, d), ~collapsed


COLLAPSED_DIFF = -0.8


@dataclass
class LookRates:
    """Rates of a design over simulated studies: errors, settled share and jobs (baseline + levels)."""

    fwer: float
    false_equivalence: float
    all_settled: float
    settled: tuple[float, ...]   # per comparison
    mean_jobs: float
    p90_jobs: float


def _jobs(n: np.ndarray) -> np.ndarray:
    """Jobs per study from the seeds per comparison (reps, m): the shared reference gets the most."""
    return n.max(axis=1) + n.sum(axis=1)


def _rates(differs: np.ndarray, equal: np.ndarray, n: np.ndarray, effects: np.ndarray,
           min_effect: float) -> LookRates:
    settled = differs | equal
    null, edge = effects == 0, np.isclose(np.abs(effects), min_effect)
    jobs = _jobs(n)
    return LookRates(fwer=float(differs[:, null].any(axis=1).mean()) if null.any() else float("nan"),
                     false_equivalence=float(equal[:, edge].mean()) if edge.any() else float("nan"),
                     all_settled=float(settled.all(axis=1).mean()),
                     settled=tuple(float(x) for x in settled.mean(axis=0)),
                     mean_jobs=float(jobs.mean()), p90_jobs=float(np.percentile(jobs, 90)))


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
                          noise: Noise | None = None, pilot: int = 3, seeds_max: int = 10,
                          alpha: float = 0.02, min_effect: float = 0.01) -> LookRates:
    """The 0.4 seeds=auto design, for comparison: seeds planned once from the pilot's spread
    (decide.targets), every seed analysed, collapsed seeds included."""
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


def design_table(design: sequential.Design, reps: int) -> list[tuple[str, str, LookRates, LookRates, LookRates]]:
    """Per design (0.4's and `design`) and noise: the rates under the null, at |difference| =
    min_effect and at the measured differences."""
    runs = {"0.4: pilot 3, planned once, seeds_max 10, alpha 0.02": lambda e, nz, s: simulate_planned_once(
                SPREADS, e, reps, s, nz),
            f"looks {design.schedule()}, alpha {design.alpha:g}": lambda e, nz, s: simulate_looks(
                SPREADS, e, design, reps, s, nz)}
    out = []
    for name, run in runs.items():
        cases = scenarios(design.min_effect)
        for kind in ("normal", "t(3)", "collapse"):
            rates = [run(*cases[f"{what}, {kind}"], seed) for seed, what in enumerate(("null", "edge", "measured"))]
            out.append((name, kind, *rates))
    return out


def _fixed_n(reps: int) -> None:
    """The fixed-n analyses the report chooses between (one family of 7 at 3 or 6 seeds)."""
    null = (0.0,) * len(SPREADS)
    # (statsmodels' Holm runs a full gc.collect() per call: its line uses at most 500 replicates.)
    designs = [("paired t, Holm, 3 seeds", dict(n=3, method="holm")), ("paired t, Hommel, 3 seeds", dict(n=3)),
               ("pooled variance, Hommel, 3 seeds", dict(n=3, pooled=True)), ("paired t, Hommel, 6 seeds", dict(n=6))]
    print(f"{'fixed-n analysis':40s} {'FWER (null)':>11s} {'resolved':>9s} {'all 7':>6s}")
    for name, kw in designs:
        r = min(reps, 500) if kw.get("method") == "holm" else reps
        under_null, measured = simulate(SPREADS, null, reps=r, **kw), simulate(SPREADS, MEASURED, reps=r, seed=1, **kw)
        print(f"{name:40s} {under_null.fwer:11.3f} {measured.resolved:9.2f} {measured.all_resolved:6.2f}")


def main(argv: list[str] | None = None) -> int:
    """Print the rates of the fixed-n analyses and of the seeds=auto designs (0.4's and the
    sequential one at the given schedule and level) under normal, t(3) and collapse noise."""
    parser = argparse.ArgumentParser(prog="python -m lenet_ablate.report.simulate",
                                     description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--reps", type=int, default=4000)
    parser.add_argument("--alpha", type=float, default=sequential.Design.alpha, help="level per look")
    parser.add_argument("--looks", type=int, nargs="*", default=list(sequential.Design.looks))
    parser.add_argument("--seeds-max", type=int, default=sequential.Design.seeds_max)
    args = parser.parse_args(argv)
    _fixed_n(args.reps)
    design = sequential.Design(looks=tuple(args.looks), seeds_max=args.seeds_max, alpha=args.alpha)
    print(f"\nseeds=auto designs, {args.reps} studies per cell; the spreads and differences of the 10-seed study; "
          f"collapse: dropout's seeds never learn with probability {COLLAPSE:g}")
    print(f"{'design':58s} {'noise':8s} {'FWER':>6s} {'false eq.':>9s} {'all 7':>6s} {'dropout':>7s} "
          f"{'mean jobs':>9s} {'p90 jobs':>8s}")
    for name, kind, null, edge, measured in design_table(design, args.reps):
        print(f"{name:58s} {kind:8s} {null.fwer:6.3f} {edge.false_equivalence:9.3f} {measured.all_settled:6.2f} "
              f"{measured.settled[DROPOUT]:7.2f} {measured.mean_jobs:9.1f} {measured.p90_jobs:8.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
