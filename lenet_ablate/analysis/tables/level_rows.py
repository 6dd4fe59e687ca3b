"""The typed records of a one-factor comparison: one experiment's levels, each with its seeds and
(for a level other than the reference) its difference from the reference and the verdict the report
reaches on it. No torch here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from lenet_ablate.analysis.inference import stats
from lenet_ablate.analysis.tables.experiments import FAILED, Experiment, completed, learned_seeds


@dataclass
class Side:
    """One configuration's seeds in a comparison: the outcome of each seed that learned (by seed),
    and every seed run (completed or diverged)."""

    config_id: str
    values: pd.Series
    run: set[int]

    @property
    def never_learned(self) -> int:
        """Seeds run that are not among those that learned."""
        return len(self.run) - len(self.values)


@dataclass
class Judgement:
    """What the report says of one comparison: its family-adjusted p, the level it was tested at,
    the seeds that would settle it, the smallest difference detectable with 80% power, the verdict;
    for a seeds=auto sweep the design's state, the look's interval coverage, or the look it awaits."""

    p_adj: float
    alpha: float
    seeds_needed: float
    detectable_80: float = float("nan")
    verdict: str = ""
    state: str | None = None
    coverage: float | None = None
    awaiting: int | None = None


@dataclass
class LevelRow:
    """One level of an experiment: its seeds and the mean of the outcome with its 95% interval;
    against the reference (None for the reference level itself) the difference and its judgement."""

    factor: str
    level: Any
    configuration: str
    side: Side
    failed: int          # seeds diverged, failed or interrupted
    mean: float
    std: float
    ci95_low: float
    ci95_high: float
    warnings: str
    reference: Side | None = None
    diff: stats.Difference | None = None
    judged: Judgement | None = None

    @property
    def n(self) -> int:
        """Seeds that learned."""
        return len(self.side.values)

    @property
    def config_id(self) -> str:
        return self.side.config_id

    def display(self) -> dict[str, Any]:
        """The row of the report's level table (before renaming), with the judgement where there is one."""
        out = {self.factor: self.level, "n": self.n, "diverged/failed": self.failed, "mean": self.mean,
               "ci95_low": self.ci95_low, "ci95_high": self.ci95_high, "warnings": self.warnings,
               "verdict": "reference"}
        if self.diff is not None and self.judged is not None:
            d, j = self.diff, self.judged
            out.update(diff=d.diff, diff_ci95=interval_text(d.low, d.high), test=d.test, p=d.p, p_adj=j.p_adj,
                       detectable_80=j.detectable_80, seeds_needed=j.seeds_needed, verdict=j.verdict)
        return out


@dataclass
class View:
    """The experiments around the baseline at one lr view: the baseline's level row, every level's
    row by (factor, level), and the best and worst configurations (ranked by validation accuracy)."""

    reference: LevelRow
    levels: dict[tuple[str, Any], LevelRow] = field(default_factory=dict)
    best: pd.Series | None = None
    worst: pd.Series | None = None


def interval_text(low: float, high: float) -> str:
    """An interval of differences as the report prints it ("" without one)."""
    return "" if low != low else f"[{low:+.4f}, {high:+.4f}]"


def level_rows(exp: Experiment, runs: pd.DataFrame, metric: str = "test_acc") -> list[LevelRow]:
    """Per level of one experiment (the reference first): n (seeds that learned), mean and 95%
    interval of `metric` over them, the seeds run, and the difference from the reference level on
    the seeds that learned (raw p only; the report adjusts over its whole family)."""
    factor, ref = exp.factor, exp.reference
    done = completed(runs)
    learned = learned_seeds(done)
    diverged = runs[runs.status == "diverged"].drop_duplicates(subset=["config_id", "seed"])
    series = {cid: learned[learned.config_id == cid].set_index("seed")[metric].astype(float)
              for cid in exp.members.config_id}
    members = exp.members.assign(_ref=exp.members.config_id != ref.config_id)
    rows = []
    for _, level in members.sort_values(["_ref", factor]).iterrows():
        run = {int(x) for frame in (done, diverged) for x in frame.seed[frame.config_id == level.config_id].dropna()}
        values = series[level.config_id]
        mean, std, lo, hi = stats.mean_ci(values.to_numpy())
        rows.append(LevelRow(factor, level[factor], level.configuration, Side(level.config_id, values, run),
                             int(level[list(FAILED)].sum()), mean, std, lo, hi, level["warnings"]))
    for row in rows[1:]:  # the reference sorts first
        row.reference = rows[0].side
        row.diff = stats.difference(row.side.values, row.reference.values)
    return rows
