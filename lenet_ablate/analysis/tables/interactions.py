"""Verdicts on a grid: every main effect (a level against its factor's reference, averaged over the
other factors' levels) and every two-factor interaction (the difference of differences of a level
pair of A by a level pair of B, averaged over the other factors), each a contrast computed per seed
and tested by a one-sample (paired) t over the seeds that have every cell, one Hommel family.

A seed enters only where it completed, and learned, in every cell of the grid: the contrasts are
within-seed, as the one-factor comparisons are. An interaction contrast has about twice the
standard error of a simple difference (four cells instead of two), which the seeds needed to settle
it account for through its own spread. No torch here.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lenet_ablate.analysis.inference import decide, stats
from lenet_ablate.runs.designs import LETTERS, Design, design
from lenet_ablate.runs.identity import same_level

METHOD = "paired t on per-seed contrasts, Hommel over the grid's main effects and two-factor interactions"


@dataclass(frozen=True)
class Contrast:
    """One main effect or interaction: its label, kind and value per seed."""

    kind: str  # "main effect" | "interaction"
    label: str
    values: pd.Series


def fraction_design(done: pd.DataFrame, factors: list[str]) -> tuple[list[str], Design] | None:
    """(the factors, the design) where `done` holds the runs of a `study.sweep=fractional` screen:
    4 to 8 two-level factors whose distinct cells are exactly the tabulated fraction's runs."""
    varied = [f for f in factors if f in done and done[f].nunique() > 1]
    plan = design(len(varied))
    if plan is None or any(done[f].nunique() != 2 for f in varied):
        return None
    return (varied, plan) if len(done.groupby(varied).size()) == len(plan.runs()) else None


def fraction_contrasts(done: pd.DataFrame, varied: list[str], plan: Design, reference: dict[str, str],
                       metric: str = "test_acc") -> tuple[list[Contrast], dict[str, str]]:
    """The screen's main effects and two-factor interaction chains, and for each chain that holds
    another two-factor interaction, what it is confounded with (never judged on its own)."""
    letter = dict(zip(varied, LETTERS))
    found, confounded = [], {}
    for c in contrasts(done, varied, reference, metric):
        if c.kind == "interaction":
            a, b = (part.split("=")[0] for part in c.label.split(" x "))
            others = [w for w in plan.aliases(letter[a] + letter[b]) if len(w) == 2]
            if others:
                named = {v: k for k, v in letter.items()}
                confounded[c.label] = " = ".join(f"{named[w[0]]} x {named[w[1]]}" for w in others)
        found.append(c)
    return found, confounded


def grid_factors(done: pd.DataFrame, factors: list[str]) -> list[str]:
    """The factors a full grid of `done` (completed jobs) varies, or [] where it is no grid of two
    or more factors."""
    varied = [f for f in factors if f in done and done[f].nunique() > 1]
    if len(varied) < 2 or len(done.groupby(varied).size()) != np.prod([done[f].nunique() for f in varied]):
        return []
    return varied


def _cells(done: pd.DataFrame, varied: list[str], metric: str) -> pd.DataFrame:
    """Seeds by cells: the metric of each seed in each cell, only seeds that have every cell."""
    table = done.pivot_table(index="seed", columns=varied, values=metric, aggfunc="mean")
    return table.dropna().astype(float)


def contrasts(done: pd.DataFrame, varied: list[str], reference: dict[str, str], metric: str = "test_acc") -> list[Contrast]:
    """Every main effect and two-factor interaction of the grid, per seed (see the module)."""
    cells = _cells(done, varied, metric)
    levels = {f: _ordered(done[f].unique(), reference.get(f)) for f in varied}
    out = []
    for f in varied:
        ref = levels[f][0]
        for lev in levels[f][1:]:
            out.append(Contrast("main effect", f"{f}={lev}",
                                _mean_over(cells, varied, {f: lev}) - _mean_over(cells, varied, {f: ref})))
    for a, b in itertools.combinations(varied, 2):
        for la, lb in itertools.product(levels[a][1:], levels[b][1:]):
            ra, rb = levels[a][0], levels[b][0]
            value = (_mean_over(cells, varied, {a: la, b: lb}) - _mean_over(cells, varied, {a: ra, b: lb})
                     - _mean_over(cells, varied, {a: la, b: rb}) + _mean_over(cells, varied, {a: ra, b: rb}))
            out.append(Contrast("interaction", f"{a}={la} x {b}={lb}", value))
    return out


def pair_means(done: pd.DataFrame, varied: list[str], reference: dict[str, str], a: str, b: str,
               metric: str = "test_acc") -> pd.DataFrame:
    """For the interaction plot of `a` by `b`: per level pair, the mean over seeds of the cell means
    (averaged over the other factors), its 95% t-interval and n, on the seeds that have every cell."""
    cells = _cells(done, varied, metric)
    rows = []
    for la in _ordered(done[a].unique(), reference.get(a)):
        for lb in _ordered(done[b].unique(), reference.get(b)):
            mean, _, low, high = stats.mean_ci(_mean_over(cells, varied, {a: la, b: lb}).to_numpy())
            rows.append({a: la, b: lb, "mean": mean, "low": low, "high": high, "n": len(cells)})
    return pd.DataFrame(rows)


def _ordered(values: np.ndarray, reference: str | None) -> list[str]:
    """A factor's levels, its reference first (the first level where no reference is known)."""
    levels = sorted(map(str, values))
    first = next((v for v in levels if reference is not None and same_level(v, reference)), levels[0])
    return [first, *[v for v in levels if v != first]]


def _mean_over(cells: pd.DataFrame, varied: list[str], fixed: dict[str, str]) -> pd.Series:
    """Per seed, the mean over the cells with the `fixed` levels (averaged over the other factors)."""
    keep = [c for c in cells.columns
            if all(str(c[varied.index(f)] if len(varied) > 1 else c) == v for f, v in fixed.items())]
    return cells[keep].mean(axis=1)


def judged(found: list[Contrast], min_effect: float, alpha: float = stats.ALPHA,
           confounded: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per contrast: n, estimate, 95% interval, raw and Hommel-adjusted p, the seeds that
    would settle it, and its verdict (interacts / differs, no ... larger than, cannot tell yet). A
    contrast in `confounded` (label -> what it is aliased with) is shown but neither tested nor
    counted in the family."""
    confounded = confounded or {}
    diffs = [stats.difference(c.values, pd.Series(0.0, index=c.values.index)) for c in found]
    raw = [math.nan if c.label in confounded else d.p for c, d in zip(found, diffs)]
    adjusted = stats.adjust(raw)
    family = sum(1 for p in raw if not math.isnan(p))
    rows = []
    for c, d, p, p_adj in zip(found, diffs, raw, adjusted):
        needed = float(decide.seeds_to_settle(d.spread, max(family, 1), min_effect, alpha))
        verdict = (f"confounded with {confounded[c.label]}: not judged alone" if c.label in confounded
                   else _verdict(c.kind, d, p_adj, min_effect, needed, alpha))
        rows.append({"kind": c.kind, "contrast": c.label, "n": d.n, "estimate": d.diff,
                     "ci95_low": d.low, "ci95_high": d.high, "p_raw": p, "p_adjusted": p_adj,
                     "seeds_needed": needed, "verdict": verdict})
    return pd.DataFrame(rows)


def _verdict(kind: str, d: stats.Difference, p_adj: float, min_effect: float, needed: float, alpha: float) -> str:
    """The verdict in an interaction's words (a main effect keeps the one-factor words)."""
    text = decide.verdict(d, p_adj, min_effect, needed, alpha=alpha)
    if kind == "main effect":
        return text
    if text.startswith("differs"):
        return f"interacts ({d.diff:+.4f})"
    if text.startswith("no difference larger than"):
        return text.replace("no difference", "no interaction")
    return text.replace("inconclusive", "cannot tell yet")
