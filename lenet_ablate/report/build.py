"""Assembling one report from a set of jobs: tables, comparisons with their family-wise control,
verdicts and figures."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from lenet_ablate.report import figures, stats
from lenet_ablate.report.experiments import (FAILED, completed, configurations, experiments, factor_names,
                                             level_rows, rank)
from lenet_ablate.report.render import Report

STATUSES = ("completed", "diverged", "failed", "interrupted", "missing")
RULES = ("Rules: a configuration is one resolved config (all settings, not only the factor levels); its "
         "seeds are its replicates. Checkpoints and rankings use validation accuracy only; test accuracy is "
         "reported and compared, never used to choose. Best = highest mean validation accuracy among "
         "configurations with no diverged, failed or interrupted seed; worst = the configuration with the "
         "largest share of such seeds if any has one, else the lowest mean validation accuracy.")


def _fmt(mean: float, std: float) -> str:
    return "" if mean != mean else f"{mean:.4f}" + (f" ± {std:.4f}" if std == std else "")


def _config_rows(configs: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({"configuration": configs.configuration, "n": configs.completed,
                        "diverged/failed": configs[list(FAILED)].sum(axis=1)})
    for split in ("train", "val", "test"):
        out[f"{split} acc"] = [_fmt(m, s) for m, s in zip(configs[f"{split}_acc"], configs[f"{split}_acc_std"])]
    out["warnings"] = configs["warnings"]
    return out.reset_index(drop=True)


def _interval(low: float, high: float) -> str:
    return "" if low != low else f"[{low:+.4f}, {high:+.4f}]"


def compare_all(exps: list[dict[str, Any]], runs: pd.DataFrame, min_effect: float) -> list[list[dict]]:
    """Level rows of every experiment with raw and Holm-adjusted p, detectable difference, seeds
    needed and verdict; the family is every comparison of the report."""
    tables = [level_rows(exp, runs) for exp in exps]
    compared = [row for rows in tables for row in rows if "_diff" in row]
    adjusted = stats.holm([row["_diff"].p for row in compared])
    family = max(1, sum(p == p for p in adjusted))
    alpha = stats.ALPHA / family  # Holm's first step; power figures at this level are conservative
    for row, p_adj in zip(compared, adjusted):
        d = row["_diff"]
        row.update(diff=d.diff, diff_ci95=_interval(d.low, d.high), test=d.test, p=d.p, p_holm=p_adj,
                   detectable_80=stats.detectable_difference(d, alpha), seeds_needed=stats.seeds_needed(d, alpha))
        row["verdict"] = stats.verdict(d, p_adj, row["detectable_80"], row["seeds_needed"], min_effect, row["n"])
    return tables


def _level_table(rows: list[dict], factor: str) -> pd.DataFrame:
    cols = [factor, "n", "diverged/failed", "mean", "ci95_low", "ci95_high", "diff", "diff_ci95", "test", "p",
            "p_holm", "detectable_80", "seeds_needed", "verdict", "warnings"]
    table = pd.DataFrame([{c: r.get(c, "reference" if c == "verdict" else None) for c in cols} for r in rows])
    table["seeds_needed"] = [("" if n is None or n != n else ">1000" if n == math.inf else str(int(n)))
                             for n in table.seeds_needed]
    return table.rename(columns={"detectable_80": "detectable (80% power)", "p": "p raw", "p_holm": "p Holm"})


def build_report(runs: pd.DataFrame, title: str, baseline: dict[str, str], default: dict[str, Any],
                 min_effect: float = 0.01) -> Report:
    """All tables, sentences and figures for one set of jobs."""
    rep = Report(title)
    counts = runs.status.value_counts().to_dict()
    rep.text(f"{len(runs)} jobs: " + ", ".join(f"{counts.get(s, 0)} {s}" for s in STATUSES) +
             f". Baseline levels: {', '.join(f'{k}={v}' for k, v in baseline.items())}. ± is the standard "
             "deviation over seeds.")
    if "git_commit" in runs and runs.git_commit.notna().any():
        prov = runs.dropna(subset=["git_commit"]).groupby(["version", "git_commit", "git_dirty"], dropna=False)
        rep.text("Code: " + "; ".join(f"lenet_ablate {v}, commit {str(c)[:10]}{' (dirty tree)' if d else ''}: "
                                      f"{n} jobs" for (v, c, d), n in prov.size().items()))
    rep.text(RULES)
    configs = configurations(runs, baseline, default)
    done = completed(runs)
    if configs.empty or done.empty:
        rep.text("No job completed, so there is nothing to compare.")
    else:
        best, worst = rank(configs)
        rep.heading("Best and worst model (by mean validation accuracy)")
        rep.table(_config_rows(pd.DataFrame([best, worst])).assign(rank=["best", "worst"]))
        for label, conf in (("best", best), ("worst", worst)):
            jobs = done[done.config_id == conf.config_id]
            if jobs.empty:
                continue
            rep.figure(f"curves_{label}.png", figures.curves_figure(jobs, f"{label}: {conf.configuration}"),
                       f"Training vs validation accuracy and loss of the {label} model (thin: seeds; bold: mean)")
            rep.figure(f"confusion_{label}.png", figures.confusion_figure(jobs, f"{label}: {conf.configuration}"),
                       f"Confusion matrix (summed over seeds) and per-class test accuracy of the {label} model")
        rep.heading("All configurations")
        rep.table(_config_rows(configs.sort_values("val_acc", ascending=False)))
        _comparisons(rep, configs, runs, min_effect)
        anova = stats.anova_table(done, factor_names(runs))
        if anova is not None:
            rep.heading("Factorial: main effects and two-factor interactions (type-II ANOVA on test accuracy)")
            rep.table(anova)
    problems = runs[runs.status != "completed"]
    rep.heading("Jobs that diverged, failed, were interrupted or are missing")
    rep.table(problems[["sweep", "job", "status", "error"]].fillna("")) if not problems.empty else rep.text("None.")
    return rep


def _comparisons(rep: Report, configs: pd.DataFrame, runs: pd.DataFrame, min_effect: float) -> None:
    exps = experiments(configs, factor_names(runs))
    if not exps:
        return
    tables = compare_all(exps, runs, min_effect)
    m = sum(1 for rows in tables for r in rows if "p_holm" in r and not math.isnan(r["p_holm"]))
    rep.heading("One-factor comparisons")
    rep.text(f"Each level is compared with its experiment's reference level on test accuracy: the difference "
             f"of means with its 95% interval (paired t by seed where both levels have the same seeds, Welch "
             f"otherwise). Family: all {m} testable comparisons of this report, Holm-Bonferroni adjusted; "
             f"verdicts use the adjusted p at {stats.ALPHA:g}. 'detectable (80% power)' is the smallest true "
             f"difference the study would detect with 80% power at α={stats.ALPHA:g}/{max(m, 1)} (Holm's "
             f"strictest step) given its n and observed seed spread; 'no difference larger than X' is said only "
             f"where X <= {min_effect:g} (the smallest effect of interest, --min-effect), otherwise the "
             f"comparison is inconclusive and 'seeds_needed' says how many seeds per level would detect the "
             f"observed difference.")
    for exp, rows in zip(exps, tables):
        factor, ref = exp["factor"], exp["reference"]
        around = "" if ref.configuration == "baseline" else f" (around {ref.configuration})"
        rep.heading(f"Experiment: {factor}{around}", 3)
        rep.text(f"Reference: {factor}={ref[factor]} ({ref.configuration}); levels: "
                 + "; ".join(f"{r[factor]} = {r['configuration']}" for r in rows[1:]) + ".")
        rep.table(_level_table(rows, factor))
        rep.text("\n".join(f"- {factor}={r[factor]}: {r['verdict']}" + (f" [{r['warnings']}]" if r["warnings"] else "")
                           for r in rows if "verdict" in r))
        suffix = "" if ref.configuration == "baseline" else "_" + ref.config_id[:6]
        rep.figure(f"seeds_{factor}{suffix}.png", figures.seeds_figure(rows, factor),
                   f"{factor}: each seed's test accuracy, mean and 95% interval per level")


def report_runs(runs: pd.DataFrame, out_dir: Any, title: str, baseline: dict[str, str], default: dict[str, Any],
                min_effect: float = 0.01) -> None:
    """Build and write one report (runs.csv without internal columns)."""
    rep = build_report(runs, title, baseline, default, min_effect)
    rep.write(out_dir, runs.drop(columns=[c for c in runs if c.startswith("_")]))
