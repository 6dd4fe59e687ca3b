"""The one-factor comparisons of a report: every level against its experiment's reference, adjusted
over the report's family, with verdicts, the answer-first summary and comparisons.csv."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import pandas as pd

from lenet_ablate.analysis.inference import decide
from lenet_ablate.analysis.tables import failures
from lenet_ablate.analysis.schedule import sequential
from lenet_ablate.analysis.inference import stats
from lenet_ablate.report import figures
from lenet_ablate.analysis.tables.experiments import Experiment, experiments, factor_names
from lenet_ablate.analysis.tables.level_rows import Judgement, LevelRow, View, interval_text, level_rows
from lenet_ablate.analysis.tables.outcomes import outcome
from lenet_ablate.report.render import Report


@dataclass
class Analysis:
    """How a report compares levels: the family-wise adjustment (stats.METHODS), the level the
    adjusted p must be under, the smallest effect of interest; for seeds=auto sweeps the sequential
    design (each comparison judged at the look it stopped at) and the study's pace (median job
    seconds, parallel jobs) that prices what an open comparison would still cost."""

    method: str = "hommel"
    alpha: float = stats.ALPHA
    min_effect: float = 0.01
    design: sequential.Design | None = None
    pace: tuple[float, int] | None = None
    pooled: bool = False  # the report of several sweeps: every seed at fixed n, whatever each sweep's design
    outcome: str = "test_acc"  # the primary outcome (seeds_outcome): the one the verdicts above are on
    target: float = 0.85       # convergence_target, for the outcomes "epochs to target"


def _at_look(row: LevelRow, n: int) -> stats.Difference:
    """The row's difference on its first n seeds (those that learned)."""
    level, ref = row.side.values, row.reference.values
    return stats.difference(level[level.index.astype(int) < n], ref[ref.index.astype(int) < n])


def _sequential(compared: list[LevelRow], analysis: Analysis) -> None:
    """seeds=auto: each comparison at the look it stopped at (sequential.replay), its p adjusted
    there as the design adjusted it, and the seeds it would need projected from that look."""
    design = replace(analysis.design, method=analysis.method)
    looks = sequential.replay(compared, design)
    for i, row in enumerate(compared):
        judged = Judgement(p_adj=float(looks.p_adj[0, i]), alpha=analysis.alpha, seeds_needed=float(looks.need[0, i]),
                           state=sequential.STATES[looks.state[0, i]])
        if looks.n[0, i]:
            # the look's repeated confidence interval, and the level its "differs" was tested at
            row.diff = replace(_at_look(row, int(looks.n[0, i])), low=float(looks.low[0, i]),
                               high=float(looks.high[0, i]))
            judged.alpha, judged.coverage = float(looks.alpha[0, i]), 1 - 2 * float(looks.beta[0, i])
        else:  # the first look waits for seeds still missing (a study in progress, or stopped)
            judged.awaiting = design.schedule()[0]
        row.judged = judged


def compare_all(pairs: list[tuple[Experiment, pd.DataFrame]], analysis: Analysis) -> list[list[LevelRow]]:
    """Level rows of every (experiment, runs) pair with raw and adjusted p, detectable difference,
    seeds needed and verdict; the family is every comparison of the report. One verdict rule
    (decide.verdict) whatever the adjustment; a seeds=auto sweep is judged look by look."""
    tables = [level_rows(exp, runs, analysis.outcome) for exp, runs in pairs]
    compared = [row for rows in tables for row in rows if row.diff is not None]
    family = max(1, sum(not math.isnan(row.diff.p) for row in compared))
    if analysis.design is not None:
        _sequential(compared, analysis)
    else:
        for row, p_adj in zip(compared, stats.adjust([row.diff.p for row in compared], analysis.method)):
            row.judged = Judgement(p_adj=p_adj, alpha=analysis.alpha, seeds_needed=decide.projected_seeds(
                row.diff.diff, row.diff.spread, family, analysis.min_effect, analysis.alpha))
    seeds_max = analysis.design.seeds_max if analysis.design else None
    for row in compared:
        d, j = row.diff, row.judged
        j.detectable_80 = stats.detectable_difference(d, j.alpha / family)
        verdict = decide.verdict(d, j.p_adj, analysis.min_effect, j.seeds_needed, seeds_max, j.alpha,
                                 awaiting=j.awaiting)
        j.verdict = verdict + _notes(row, analysis, settled=verdict.startswith(("differs", "no difference")))
    return tables


def _notes(row: LevelRow, analysis: Analysis, settled: bool) -> str:
    """What the verdict must also say: seeds that never learned, and what settling would cost."""
    notes = failures.note(row.side.never_learned, len(row.side.run), row.reference.never_learned,
                          len(row.reference.run))
    if not settled:
        notes += cost(row.judged.seeds_needed, row.diff.n, analysis.pace)
    return "".join(f"; {n}" for n in notes)


def cost(need: float, n: int, pace: tuple[float, int] | None) -> list[str]:
    """What bringing both sides of an open comparison from n to `need` seeds would cost at the
    study's pace (median job seconds, parallel jobs); nothing where that is unknown or infinite."""
    if not pace or not math.isfinite(need) or need <= n:
        return []
    seconds, parallel = pace
    more = int(need) - n
    minutes = math.ceil(2 * more * seconds / parallel / 60)
    return [f"about {more} more seed{'s' if more > 1 else ''} per side, about {minutes} min at this study's pace"]


def _seeds_text(n: float | None) -> str:
    return "" if n is None or math.isnan(n) else ">1000" if n == math.inf else str(int(n))


def _level_table(rows: list[LevelRow], factor: str, method: str, lrs: dict[str, float] | None = None) -> pd.DataFrame:
    cols = [factor, *(["lr"] if lrs else []), "n", "diverged/failed", "mean", "ci95_low", "ci95_high", "diff",
            "diff_ci95", "test", "p", "p_adj", "detectable_80", "seeds_needed", "verdict", "warnings"]
    table = pd.DataFrame([{c: r.display().get(c) for c in cols} for r in rows])
    if lrs:
        table["lr"] = [lrs.get(r.config_id) for r in rows]
    table["seeds_needed"] = [_seeds_text(n) for n in table.seeds_needed]
    return table.rename(columns={"detectable_80": "detectable (80% power)", "p": "p (unadjusted)", "diff": "difference",
                                 "diff_ci95": "difference, 95% interval", "test": "method",
                                 "p_adj": f"p {method.capitalize()}", "ci95_low": "95% low",
                                 "ci95_high": "95% high", "seeds_needed": "seeds to settle"})


@dataclass
class ComparisonRecord:
    """One row of comparisons.csv: one comparison on one outcome."""

    outcome: str
    experiment: str
    level: Any
    reference: str
    lr_view: str
    n_level: int
    n_reference: int
    difference: float
    ci95_low: float
    ci95_high: float
    interval: str        # what the interval columns hold: "95%", a look's repeated interval, ...
    p_raw: float
    p_adjusted: float
    alpha: float
    method: str
    detectable_difference: float
    seeds_needed: str
    verdict: str


CSV_COLUMNS = [f.name for f in fields(ComparisonRecord)]


def csv_table(records: list[ComparisonRecord]) -> pd.DataFrame:
    """comparisons.csv."""
    return pd.DataFrame([asdict(r) for r in records], columns=CSV_COLUMNS)


def _interval_name(row: LevelRow) -> str:
    """What the interval columns hold: a fixed-n 95% interval or a look's repeated interval."""
    if row.judged.coverage is None:
        return "95%"
    return f"repeated {100 * row.judged.coverage:.1f}% at n={row.diff.n}"


def comparison_record(row: LevelRow, reference: str, view: str, analysis: Analysis) -> ComparisonRecord:
    """One row of comparisons.csv."""
    d, j = row.diff, row.judged
    design = analysis.design
    method = f"paired t, {analysis.method}" + (f", {design.name()}" if design is not None and not analysis.pooled
                                               else "")
    return ComparisonRecord(analysis.outcome, row.factor, row.level, reference, view.split()[0], d.n_level,
                            d.n_reference, d.diff, d.low, d.high, _interval_name(row), d.p, j.p_adj, j.alpha,
                            method, j.detectable_80, _seeds_text(j.seeds_needed), j.verdict)


def _key(exp: Experiment) -> tuple[str, str]:
    """An experiment's identity across the default-lr and tuned-lr views: factor and reference."""
    return exp.factor, exp.reference.config_id


def _simulated(design: sequential.Design) -> str:
    """What the simulation says of the design's error rates, or that it has not covered it."""
    found = design.simulated()
    if found is not None:
        return f"Over the whole schedule the simulation (docs/statistics.md) {found}."
    return ("The simulation's figures (docs/statistics.md) are for the default design and seeds_boundaries=exact, "
            f"not for this one; its error rates: {design.simulate_command()}.")


def _method_text(analysis: Analysis, m: int, tuned: bool) -> str:
    name = {"hommel": "Hommel's step-up procedure", "holm": "Holm-Bonferroni"}[analysis.method]
    why = ("Hommel keeps the family-wise error at or below 5% for the positively correlated comparisons of a "
           "shared reference and resolves more than Holm; pooled or moderated variances were rejected because "
           "the seed spread differs between levels and they then exceed 5% (docs/statistics.md, "
           "python -m lenet_ablate.analysis.schedule.simulate)." if analysis.method == "hommel" else
           "Holm is the adjustment of earlier reports (--method holm); the verdict rule is the same.")
    design = analysis.design
    auto = ""
    if design is not None:
        levels = "; ".join(f"{lv.n}: α {lv.alpha:.2g}, interval {100 * lv.coverage:.1f}%" for lv in design.levels())
        auto = (f" The sweep ran seeds=auto, {design.name()}. Looks and levels: {levels}. At each look every "
                f"comparison still open was tested ({name} over the family at the look's α; one settled earlier "
                f"enters with p = 0 if it differs, 1 otherwise) and stopped once settled, or once the seeds it would "
                f"need exceeded seeds_max={design.seeds_max}. Each comparison is shown at the look it stopped at, "
                f"with that look's repeated confidence interval. " + _simulated(design))
    level, interval = ("the look's α", "look's repeated interval") if design and not analysis.pooled else \
        (f"{analysis.alpha:g}", "95% interval")
    if analysis.pooled:
        auto = (" This report pools several sweeps and analyses every seed at fixed n; a seeds=auto sweep chose "
                "its seeds look by look, so its own report, which judges it at its looks, is the one to quote.")
    return (f"Method: each level against its experiment's reference on {outcome(analysis.outcome).label}, paired t on the seeds both "
            f"have (Welch where fewer than 2 are shared), difference of means with its 95% interval. Family: all "
            f"{m} testable comparisons of this report{' (default and tuned lr together)' if tuned else ''}, "
            f"{name}; 'differs' where the adjusted p < {level}. {why}{auto} 'no difference larger "
            f"than X': the {interval} lies within ±X and X <= {analysis.min_effect:g} (the smallest effect of "
            f"interest, --min-effect). 'seeds to settle': the seeds per level at which the comparison would settle "
            f"if its observed difference and spread held. Seeds whose validation accuracy stayed near chance (or that "
            f"diverged) never learned: they are counted, with a 95% interval for the rate, and left out of the test. 'detectable (80% power)': the smallest true difference "
            f"detected with 80% power at α/{max(m, 1)}.")


def _around(exp: Experiment) -> str:
    ref = exp.reference
    return "" if ref.configuration == "baseline" else f" (around {ref.configuration})"


def _experiment_view(rep: Report, exp: Experiment, view: str, rows: list[LevelRow], analysis: Analysis,
                     lrs: dict[str, float], tuned: bool) -> list[ComparisonRecord]:
    """One experiment at one lr view: its table, verdicts and seeds figure; returns its csv rows."""
    factor, ref = exp.factor, exp.reference
    if tuned:
        rep.text(f"**At {'the shared default lr' if view == 'default lr' else 'each level’s own tuned lr'}**")
    else:
        rep.text(f"Reference: {factor}={ref[factor]} ({ref.configuration}); levels: "
                 + "; ".join(f"{r.level} = {r.configuration}" for r in rows[1:]) + ".")
    rep.table(_level_table(rows, factor, analysis.method, lrs if view == "tuned lr" else None))
    rep.text("\n".join(f"- {factor}={r.level}: {r.judged.verdict}" + (f" [{r.warnings}]" if r.warnings else "")
                       for r in rows if r.judged is not None))
    suffix = ("" if ref.configuration == "baseline" else "_" + ref.config_id[:6]) + \
        ("_tuned" if view == "tuned lr" else "")
    rep.figure(f"seeds_{factor}{suffix}.png", figures.seeds_figure(rows, factor),
               f"{factor} ({view}): each seed's test accuracy, mean and 95% interval per level")
    return [comparison_record(r, f"{factor}={ref[factor]}" + _around(exp), view, analysis)
            for r in rows if r.judged is not None]


def one_factor_section(rep: Report, configs: pd.DataFrame, runs: pd.DataFrame, analysis: Analysis,
                       tuned_configs: pd.DataFrame | None, tuned_runs: pd.DataFrame | None,
                       records: list[dict[str, Any]]) -> tuple[dict[str, View], list[ComparisonRecord], list]:
    """The one-factor comparisons (at the default lr and, for tuned sweeps, at each level's tuned
    lr, side by side). Returns per view the level rows of the experiments around the baseline, the
    rows of comparisons.csv, and the (view, experiment, runs) blocks compared."""
    factors = factor_names(runs)
    exps = experiments(configs, factors)
    if not exps:
        return {}, [], []
    # Per experiment (factor, reference): its (view, experiment, runs), default lr first.
    blocks = {_key(e): [("default lr", e, runs)] for e in exps}
    if tuned_configs is not None:
        for e in experiments(tuned_configs, factors):
            if _key(e) in blocks:
                blocks[_key(e)].append(("tuned lr", e, tuned_runs))
    flat = [b for group in blocks.values() for b in group]
    tables = compare_all([(e, r) for _, e, r in flat], analysis)
    rows_of = {(view, _key(e)): rows for (view, e, _), rows in zip(flat, tables)}
    m = sum(1 for rows in tables for r in rows if r.judged is not None and not math.isnan(r.judged.p_adj))
    lrs = {r["config_id"]: r["chosen_lr"] for r in records}
    rep.heading("One-factor comparisons")
    rep.text(_method_text(analysis, m, tuned_configs is not None))
    views: dict[str, View] = {}
    csv: list[ComparisonRecord] = []
    for exp in exps:
        rep.heading(f"Experiment: {exp.factor}{_around(exp)}", 3)
        for view, _, _ in blocks[_key(exp)]:
            rows = rows_of[(view, _key(exp))]
            csv += _experiment_view(rep, exp, view, rows, analysis, lrs, tuned_configs is not None)
            if exp.reference.configuration == "baseline":
                v = views.setdefault(view, View(rows[0]))
                v.levels.update({(exp.factor, r.level): r for r in rows})
    return views, csv, flat


def answer_table(csv: list[ComparisonRecord]) -> pd.DataFrame:
    """"Which choices matter": one row per factor level (and lr view) compared with the baseline."""
    rows = [r for r in csv if "(around" not in r.reference and r.outcome == csv[0].outcome]
    table = pd.DataFrame([{"factor": r.experiment, "level": r.level, "vs": r.reference, "lr": r.lr_view,
                           "n": r.n_level, "difference": "" if math.isnan(r.difference) else f"{r.difference:+.4f}",
                           "interval": interval_text(r.ci95_low, r.ci95_high) + ("" if r.interval == "95%" else
                                                                                  " (repeated)"),
                           "verdict": r.verdict}
                          for r in rows])
    if not table.empty and table.lr.nunique() == 1:
        table = table.drop(columns="lr")
    return table
