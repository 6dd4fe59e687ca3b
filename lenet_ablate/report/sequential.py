"""seeds=auto as a group-sequential design: comparisons analysed look by look, each stopped once
it is settled, so seeds go only where a question is still open.

At each look of the schedule (seeds_pilot, seeds_looks..., seeds_max) every comparison still open
is analysed on its first n seeds (the pairs where both level and reference learned): paired t,
Hommel over the whole family (a comparison settled earlier enters with the p of its stopping
look), "differs" where the adjusted p < alpha, "no difference larger than X" where the 95%
interval lies within +-X and X <= min_effect. A comparison whose seeds to settle, projected from
its spread so far, exceed seeds_max stops as "cannot settle"; one still open at seeds_max stops
there. The level `alpha` per look is the one the simulation (lenet_ablate.report.simulate) shows
to keep the family-wise error and the false "no difference" rate at or below 0.05 over the whole
schedule. The same `run_looks` drives the simulation (thousands of studies as arrays), the
sweeper's plan and the report, so all three reach the same decisions from the same data.
No torch here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lenet_ablate.report import decide, stats

OPEN, DIFFERS, EQUAL, FUTILE, EXHAUSTED = range(5)
STATES = ("open", "differs", "no difference", "cannot settle within seeds_max", "not settled at seeds_max")


@dataclass(frozen=True)
class Design:
    """The sequential design: pilot, the looks after it, cap, level per look, effect of interest;
    futility (seeds projected beyond seeds_max) is judged from the look with `futility_from` seeds."""

    pilot: int = 3
    looks: tuple[int, ...] = (5, 8, 12, 18)
    seeds_max: int = 30
    alpha: float = 0.02
    min_effect: float = 0.01
    futility_from: int = 8
    method: str = "hommel"  # the family-wise adjustment per look (stats.METHODS)

    @classmethod
    def from_config(cls, cfg: Any) -> "Design":
        """The design a run config or multirun.yaml asks for; keys it lacks (older sweeps) keep the
        defaults."""
        get = cfg.get
        return cls(pilot=int(get("seeds_pilot", cls.pilot)), looks=tuple(int(n) for n in get("seeds_looks", cls.looks)),
                   seeds_max=int(get("seeds_max", cls.seeds_max)), alpha=float(get("seeds_alpha", cls.alpha)),
                   min_effect=float(get("min_effect", cls.min_effect)))

    def schedule(self) -> tuple[int, ...]:
        """Seeds at each look: the pilot, the looks between it and seeds_max, then seeds_max."""
        inner = sorted({int(n) for n in self.looks if self.pilot < n < self.seeds_max})
        return tuple([self.pilot, *inner] + ([self.seeds_max] if self.seeds_max > self.pilot else []))


@dataclass
class Looks:
    """Per study and comparison (arrays of shape (reps, m)): its state and the statistics of the look
    it stopped at (the latest look while open); `done` counts the looks analysed."""

    state: np.ndarray
    n: np.ndarray          # seeds of the look (per side), not only the learned pairs
    pairs: np.ndarray      # pairs analysed (both sides learned)
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    spread: np.ndarray
    p: np.ndarray
    p_adj: np.ndarray
    need: np.ndarray       # seeds projected to settle it (nan: no spread yet)
    done: int = 0
    history: list[np.ndarray] = field(default_factory=list)  # the state after each look

    @classmethod
    def start(cls, reps: int, m: int) -> "Looks":
        nan = np.full((reps, m), np.nan)
        return cls(np.full((reps, m), OPEN), np.zeros((reps, m), int), np.zeros((reps, m), int),
                   *(nan.copy() for _ in range(7)))


def _adjusted(p: np.ndarray, rows: np.ndarray, method: str) -> np.ndarray:
    """Adjusted p per study (row) of `p`; only the rows marked in `rows` are computed."""
    out = np.full_like(p, np.nan)
    for i in np.flatnonzero(rows):
        out[i] = stats.adjust(list(p[i]), method)
    return out


def step(looks: Looks, d: np.ndarray, learned: np.ndarray, n: int, design: Design, last: bool) -> None:
    """Analyse the open comparisons at the look with `n` seeds. d: (reps, m, N) paired differences
    by seed; learned: (reps, m, N) True where both sides of that seed learned."""
    is_open = looks.state == OPEN
    use = learned & (np.arange(d.shape[-1]) < n)
    mean, sd, half, p = stats.paired_t(d, use=use)
    pairs = use.sum(axis=-1)
    for name, value in (("mean", mean), ("low", mean - half), ("high", mean + half), ("spread", sd), ("p", p),
                        ("pairs", pairs)):
        getattr(looks, name)[is_open] = value[is_open]
    looks.n[is_open] = n
    adjusted = _adjusted(looks.p, is_open.any(axis=1), design.method)
    looks.p_adj[is_open] = adjusted[is_open]
    m = d.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        need = decide.projected_seeds(looks.mean, looks.spread, m, design.min_effect, design.alpha)
        # seeds, not pairs: a share of seeds that never learn needs more seeds for as many pairs
        need = np.ceil(need * n / np.maximum(looks.pairs, 1))
    looks.need[is_open] = need[is_open]
    differs = is_open & (looks.p_adj < design.alpha)
    equal = is_open & ~differs & (decide.equivalence_bound(looks.low, looks.high) <= design.min_effect)
    futile = is_open & ~differs & ~equal & (n >= design.futility_from) & (looks.need > design.seeds_max)
    looks.state[differs], looks.state[equal], looks.state[futile] = DIFFERS, EQUAL, FUTILE
    if last:
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
        step(looks, d, learned, n, design, last=k == len(schedule) - 1)
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


def replay(rows: list[dict], design: Design, tried: dict[str, set[int]] | None = None) -> Looks:
    """The design's looks on one study's comparisons (level rows of experiments.level_rows: the
    seeds that learned per side and the seeds run). A look runs once each open comparison has its
    seeds run (or, with `tried`, launched in this sweep), so the sweeper, a rerun and the report
    reach the same decisions from the same results."""
    tried = tried or {}
    cap = design.seeds_max
    level = np.array([_by_seed(r["_values"], cap) for r in rows]).reshape(len(rows), cap)
    reference = np.array([_by_seed(r["_reference"]["values"], cap) for r in rows]).reshape(len(rows), cap)
    d = level - reference
    available = [min(_prefix(r["_run"] | tried.get(r["_config_id"], set()), cap),
                     _prefix(r["_reference"]["run"] | tried.get(r["_reference"]["config_id"], set()), cap))
                 for r in rows]
    return run_looks(np.nan_to_num(d)[None], ~np.isnan(d)[None], design, np.array(available)[None])
