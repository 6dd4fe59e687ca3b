"""seeds=auto as a group-sequential design: comparisons analysed look by look, each stopped once
it is settled, so seeds go only where a question is still open.

At each look of the schedule (seeds_pilot, seeds_looks..., seeds_max) every comparison still open
is analysed on its first n seeds (the pairs where both level and reference learned): paired t,
Hommel over the whole family at the look's level alpha_k, "differs" where the adjusted p < alpha_k;
"no difference larger than X" where the look's repeated confidence interval (Jennison & Turnbull
2000, ch. 9: two-sided coverage 1 - 2 beta_k) lies within +-X and X <= min_effect. The levels
alpha_k and beta_k are the increments of a Lan-DeMets spending function (spending.py) over the
information fraction n / seeds_max, so over the whole schedule the family-wise error is at most
alpha and each comparison's false "no difference" rate at most beta, at any spread. In the family
a comparison that stopped as "differs" enters with p = 0 and one that stopped otherwise with p = 1:
Hommel is monotone in the p-values, so stopping can only remove rejections (non-binding futility),
and a rejected hypothesis passes its share of the level on (closed testing). A comparison whose
seeds to settle, projected from its spread so far, exceed seeds_max stops as "cannot settle"; one
still open at seeds_max stops there. The same `run_looks` drives the simulation (thousands of
studies as arrays), the sweeper's plan and the report, so all three reach the same decisions from
the same data. No torch here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats as sps

from lenet_ablate.analysis.inference import decide
from lenet_ablate.analysis.schedule import spending
from lenet_ablate.analysis.inference import stats
from lenet_ablate import design as declared
from lenet_ablate.design import Setting, default

if TYPE_CHECKING:  # the records only: level_rows.py needs pandas, the simulation does not
    from lenet_ablate.analysis.tables.level_rows import LevelRow

OPEN, DIFFERS, EQUAL, FUTILE, EXHAUSTED = range(5)
STATES = ("open", "differs", "no difference", "cannot settle within seeds_max", "not settled at seeds_max")


def _typed(setting: Setting, value: Any) -> Any:
    """A stored setting's value as Design holds it (a list of looks as a tuple of ints)."""
    return tuple(int(n) for n in value) if setting.type is list else setting.type(value)


@dataclass(frozen=True)
class Level:
    """One look: its seeds, the level of its "differs" test (family-wise, before Hommel's
    adjustment) and the one-sided level of its repeated confidence interval."""

    n: int
    alpha: float
    beta: float

    @property
    def coverage(self) -> float:
        """Two-sided coverage of the look's repeated confidence interval."""
        return 1 - 2 * self.beta


@dataclass(frozen=True)
class Design:
    """The sequential design: pilot, the looks after it, cap; the family-wise error `alpha` and each
    comparison's false "no difference" rate `beta` over the schedule, spent by `spending`; the
    effect of interest. Futility (seeds projected beyond seeds_max) is judged from the look with
    `futility_from` seeds."""

    # The settings' defaults, their allowed values and meanings are declared once, in lenet_ablate.design.
    pilot: int = default("pilot")
    looks: tuple[int, ...] = default("looks")
    seeds_max: int = default("seeds_max")
    alpha: float = default("alpha")
    beta: float = default("beta")  # not 0.05: left-skewed seed noise doubles the rate (docs/statistics.md)
    spending: str = default("spending")
    min_effect: float = default("min_effect")
    futility_from: int = 8
    method: str = "hommel"  # the family-wise adjustment per look (stats.METHODS)
    outcome: str = default("outcome")  # a paired outcome
    boundaries: str = default("boundaries")

    @classmethod
    def from_config(cls, cfg: Any) -> "Design":
        """The design a run config or multirun.yaml asks for (its design settings, lenet_ablate.design;
        the declared default for each it lacks). A sweep without seeds_spending ran 0.4's design (its
        alpha, 0.02 by default, at every look, 95% intervals, beta 0.025) and is replayed as it ran."""
        given = {s.field: _typed(s, cfg.get(s.key)) for s in declared.SETTINGS if cfg.get(s.key, None) is not None}
        if "spending" not in given:
            kept = {k: v for k, v in given.items() if k not in ("alpha", "beta", "boundaries")}
            return cls(**kept, alpha=given.get("alpha", 0.02), beta=0.025, spending="none")
        return cls(**given)

    def schedule(self) -> tuple[int, ...]:
        """Seeds at each look: the pilot, the looks between it and seeds_max, then seeds_max."""
        inner = sorted({int(n) for n in self.looks if self.pilot < n < self.seeds_max})
        return tuple([self.pilot, *inner] + ([self.seeds_max] if self.seeds_max > self.pilot else []))

    def levels(self) -> tuple[Level, ...]:
        """Each look's seeds and levels at information n / seeds_max: for "differs" the spending
        function's increments (Bonferroni over the looks: the family's Hommel tests correlate in ways
        no formula covers) or, with boundaries "exact", the two-sided level of the exact
        group-sequential boundary of one comparison; for the intervals the exact
        repeated-confidence-interval boundaries of one comparison (spending.boundaries)."""
        schedule = self.schedule()
        fractions = tuple(n / schedule[-1] for n in schedule)
        if self.boundaries == "exact" and self.spending != "none":
            alphas = tuple(2 * a for a in spending.boundaries(self.spending, self.alpha, fractions))
        else:
            alphas = spending.increments(self.spending, self.alpha, fractions)
        betas = spending.boundaries(self.spending, 2 * self.beta, fractions)
        return tuple(Level(n, a, b) for n, a, b in zip(schedule, alphas, betas))

    def name(self) -> str:
        """The design in words, for the report's method text and seeds.json."""
        if self.spending == "none":
            return (f"0.4's design: every look at alpha {self.alpha:g} and a 95% interval (no error spending; "
                    f"its error rates hold only at the spreads it was tuned on)")
        kind = {"obrien_fleming": "O'Brien-Fleming", "pocock": "Pocock"}[self.spending]
        exact = (" at exact group-sequential boundaries (the looks' normal correlation; not valid under "
                 "left-skewed seed noise)" if self.boundaries == "exact" else "")
        return (f"group-sequential, Lan-DeMets {kind}-type spending of the family-wise error {self.alpha:g} "
                f"('differs'{exact}) and of each comparison's false 'no difference' rate {self.beta:g} (repeated "
                f"confidence intervals) over information n / {self.seeds_max}")

    def simulated(self) -> str | None:
        """What the simulation's grid (docs/statistics.md) found for this design's error rates, for
        the report's method text; None for a design the grid does not cover."""
        return SIMULATED.get(replace(self, outcome=Design.outcome))

    def simulate_command(self) -> str:
        """The command that runs the simulation's grid for this design."""
        return (f"python -m lenet_ablate.analysis.schedule.simulate --spending {self.spending} --boundaries {self.boundaries} "
                f"--alpha {self.alpha:g} --beta {self.beta:g} --pilot {self.pilot} --looks "
                f"{' '.join(str(n) for n in self.looks)} --seeds-max {self.seeds_max}")


# The designs the simulation's grid covers, and what it found (python -m lenet_ablate.analysis.schedule.simulate;
# docs/statistics.md): the report quotes these, and no other design's.
EXACT = Design(alpha=0.05, beta=0.05, seeds_max=26, boundaries="exact")
_KEEPS = ("keeps the family-wise error and the worst comparison's false 'no difference' rate at or below 5% "
          "(within 2 Monte Carlo standard errors)")
SIMULATED = {
    Design(): (f"{_KEEPS} at every spread, noise and family size it covers; its worst cells are left-skewed seed "
               f"noise (occasional bad seeds), with 0.058 and 0.060"),
    EXACT: (f"{_KEEPS} under normal, heavy-tailed, contaminated and collapse noise at every spread and family size "
            f"it covers, but not under left-skewed seed noise (occasional bad seeds): there they reach 0.096 and "
            f"0.100 (the default design: 0.058 and 0.060)"),
}


@dataclass
class Looks:
    """Per study and comparison (arrays of shape (reps, m)): its state and the statistics of the look
    it stopped at (the latest look while open); `done` counts the looks analysed."""

    state: np.ndarray
    n: np.ndarray          # seeds of the look (per side), not only the learned pairs
    pairs: np.ndarray      # pairs analysed (both sides learned)
    mean: np.ndarray
    low: np.ndarray        # the look's repeated confidence interval
    high: np.ndarray
    spread: np.ndarray
    p: np.ndarray
    p_adj: np.ndarray
    need: np.ndarray       # seeds projected to settle it (nan: no spread yet)
    alpha: np.ndarray      # the look's level for "differs"
    beta: np.ndarray       # the look's one-sided level of the interval
    done: int = 0
    history: list[np.ndarray] = field(default_factory=list)  # the state after each look

    @classmethod
    def start(cls, reps: int, m: int) -> "Looks":
        nan = np.full((reps, m), np.nan)
        return cls(np.full((reps, m), OPEN), np.zeros((reps, m), int), np.zeros((reps, m), int),
                   *(nan.copy() for _ in range(9)))


def family_p(looks: Looks) -> np.ndarray:
    """The p-values Hommel adjusts at a look: the open comparisons' own, 0 for those that stopped as
    "differs", 1 for those that stopped otherwise."""
    return np.where(looks.state == DIFFERS, 0.0, np.where(looks.state == OPEN, looks.p, 1.0))


def _statistics(d: np.ndarray, learned: np.ndarray, level: Level) -> dict[str, np.ndarray]:
    """Each comparison's statistics on the look's first n seeds (pairs where both sides learned)."""
    use = learned & (np.arange(d.shape[-1]) < level.n)
    mean, sd, _, p = stats.paired_t(d, use=use)
    pairs = use.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        half = sps.t.ppf(1 - level.beta, pairs - 1) * sd / np.sqrt(pairs)
    return dict(mean=mean, low=mean - half, high=mean + half, spread=sd, p=p, pairs=pairs,
                alpha=np.full(mean.shape, level.alpha), beta=np.full(mean.shape, level.beta))


def step(looks: Looks, d: np.ndarray, learned: np.ndarray, k: int, design: Design) -> None:
    """Analyse the open comparisons at look `k` of the schedule. d: (reps, m, N) paired differences
    by seed; learned: (reps, m, N) True where both sides of that seed learned."""
    levels = design.levels()
    level, final = levels[k], levels[-1]
    is_open = looks.state == OPEN
    for name, value in _statistics(d, learned, level).items():
        getattr(looks, name)[is_open] = value[is_open]
    looks.n[is_open] = level.n
    looks.p_adj[is_open] = stats.adjust_rows(family_p(looks), design.method)[is_open]
    with np.errstate(divide="ignore", invalid="ignore"):
        need = decide.projected_seeds(looks.mean, looks.spread, d.shape[1], design.min_effect, final.alpha,
                                      final.beta)
        # seeds, not pairs: a share of seeds that never learn needs more seeds for as many pairs
        need = np.ceil(need * level.n / np.maximum(looks.pairs, 1))
    looks.need[is_open] = need[is_open]
    differs = is_open & (looks.p_adj < level.alpha)
    equal = is_open & ~differs & (decide.equivalence_bound(looks.low, looks.high) <= design.min_effect)
    futile = is_open & ~differs & ~equal & (level.n >= design.futility_from) & (looks.need > design.seeds_max)
    looks.state[differs], looks.state[equal], looks.state[futile] = DIFFERS, EQUAL, FUTILE
    if k == len(levels) - 1:
        looks.state[looks.state == OPEN] = EXHAUSTED
    looks.done += 1
    looks.history.append(looks.state.copy())


def run_looks(d: np.ndarray, learned: np.ndarray, design: Design, available: np.ndarray | None = None) -> Looks:
    """Every look of the schedule in turn, until each comparison is stopped or a look needs seeds
    that `available` (reps, m: seeds present per comparison; default all) does not have yet."""
    d, learned = np.asarray(d, float), np.asarray(learned, bool)
    looks = Looks.start(d.shape[0], d.shape[1])
    schedule = design.schedule()
    have = np.full(d.shape[:2], d.shape[-1]) if available is None else np.asarray(available)
    for k, n in enumerate(schedule):
        is_open = looks.state == OPEN
        if not is_open.any() or (have[is_open] < n).any():
            break
        step(looks, d, learned, k, design)
    return looks


def next_look(looks: Looks, design: Design) -> int | None:
    """Seeds the next look needs for the comparisons still open (None: every comparison stopped)."""
    schedule = design.schedule()
    if not (looks.state == OPEN).any() or looks.done >= len(schedule):
        return None
    return schedule[looks.done]


def _by_seed(values, seeds_max: int) -> np.ndarray:
    """A Series of one side's accuracies by seed as an array over seeds 0..seeds_max-1 (nan: none)."""
    out = np.full(seeds_max, np.nan)
    for seed, value in values.items():
        if 0 <= int(seed) < seeds_max:
            out[int(seed)] = value
    return out


def _prefix(seeds: set[int], seeds_max: int) -> int:
    """How many of the seeds 0, 1, 2, ... are in `seeds` without a gap."""
    k = 0
    while k < seeds_max and k in seeds:
        k += 1
    return k


def replay(rows: list[LevelRow], design: Design, tried: dict[str, set[int]] | None = None) -> Looks:
    """The design's looks on one study's comparisons (level rows: the seeds that learned per side and
    the seeds run). A look runs once each open comparison has its seeds run (or, with `tried`,
    launched in this sweep), so the sweeper, a rerun and the report reach the same decisions from
    the same results."""
    tried = tried or {}
    cap = design.seeds_max
    level = np.array([_by_seed(r.side.values, cap) for r in rows]).reshape(len(rows), cap)
    reference = np.array([_by_seed(r.reference.values, cap) for r in rows]).reshape(len(rows), cap)
    d = level - reference
    available = [min(_prefix(r.side.run | tried.get(r.side.config_id, set()), cap),
                     _prefix(r.reference.run | tried.get(r.reference.config_id, set()), cap))
                 for r in rows]
    return run_looks(np.nan_to_num(d)[None], ~np.isnan(d)[None], design, np.array(available)[None])
