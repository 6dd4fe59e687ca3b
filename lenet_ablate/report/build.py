"""Assembling one report from a set of jobs: tables, comparisons with their family-wise control,
verdicts and figures."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from lenet_ablate.report import figures, stats, tuned
from lenet_ablate.report.claims import claims_table
from lenet_ablate.report.experiments import (FAILED, completed, configurations, experiments, factor_names,
                                             level_rows, rank)
from lenet_ablate.report.render import Report

STATUSES = ("completed", "diverged", "failed", "interrupted", "missing")
RULES = ("Rules: a configuration is one resolved config (all settings, not only the factor levels); its "
         "seeds are its replicates. Checkpoints and rankings use validation accuracy only; test accuracy is "
         "reported and compared, never used to choose. Best = highest mean validation accuracy among "
         "configurations with no diverged, failed or interrupted seed; worst = the configuration with the "
         "largest share of such seeds if any has one, else the lowest mean validation accuracy.")


TUNED_RULES = ("Tuned sweep (tune=lr): the tables below use the runs at each configuration's default lr; the "
               "sections 'Tuned learning rates' and 'At each level's own tuned lr' use the runs at the lr chosen "
               "by the screening runs' validation accuracy. Screening runs are listed in runs.csv (lr_role) only.")


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


def compare_all(pairs: list[tuple[dict[str, Any], pd.DataFrame]], min_effect: float) -> list[list[dict]]:
    """Level rows of every (experiment, runs) pair with raw and Holm-adjusted p, detectable
    difference, seeds needed and verdict; the family is every comparison of the report."""
    tables = [level_rows(exp, runs) for exp, runs in pairs]
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


def _level_table(rows: list[dict], factor: str, lrs: dict[str, float] | None = None) -> pd.DataFrame:
    cols = [factor, *(["lr"] if lrs else []), "n", "diverged/failed", "mean", "ci95_low", "ci95_high", "diff", "diff_ci95", "test", "p",
            "p_holm", "detectable_80", "seeds_needed", "verdict", "warnings"]
    table = pd.DataFrame([{c: r.get(c, "reference" if c == "verdict" else None) for c in cols} for r in rows])
    if lrs:
        table["lr"] = [lrs.get(r["_config_id"]) for r in rows]
    table["seeds_needed"] = [("" if n is None or n != n else ">1000" if n == math.inf else str(int(n)))
                             for n in table.seeds_needed]
    return table.rename(columns={"detectable_80": "detectable (80% power)", "p": "p raw", "p_holm": "p Holm"})


def build_report(runs: pd.DataFrame, title: str, baseline: dict[str, str], default: dict[str, Any],
                 min_effect: float = 0.01, records: list[dict[str, Any]] | None = None) -> Report:
    """All tables, sentences and figures for one set of jobs (`runs` annotated by tuned.annotate;
    `records`: the tuning choices of sweeps run with tune=lr)."""
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
    view = tuned.default_view(runs) if records else runs
    if records:
        rep.text(TUNED_RULES)
    configs = configurations(view, baseline, default)
    done = completed(view)
    if configs.empty or done.empty:
        rep.text("No job completed, so there is nothing to compare.")
        if records:
            _tuning_section(rep, records, {})
    else:
        best, worst = rank(configs)
        rep.heading("Best and worst model (by mean validation accuracy" + (", default lr)" if records else ")"))
        rep.table(_config_rows(pd.DataFrame([best, worst])).assign(rank=["best", "worst"]))
        for label, conf in (("best", best), ("worst", worst)):
            jobs = done[done.config_id == conf.config_id]
            if jobs.empty:
                continue
            rep.figure(f"curves_{label}.png", figures.curves_figure(jobs, f"{label}: {conf.configuration}"),
                       f"Training vs validation accuracy and loss of the {label} model (thin: seeds; bold: mean)")
            rep.figure(f"confusion_{label}.png", figures.confusion_figure(jobs, f"{label}: {conf.configuration}"),
                       f"Confusion matrix (summed over seeds) and per-class test accuracy of the {label} model")
        rep.heading("All configurations" + (" (default lr)" if records else ""))
        rep.table(_config_rows(configs.sort_values("val_acc", ascending=False)))
        tuned_runs = tuned.tuned_view(runs, records) if records else None
        tuned_configs = None
        if records:
            _tuning_section(rep, records, dict(zip(configs.config_id, configs.configuration)))
            if not tuned_runs.empty:
                tuned_configs = configurations(tuned_runs, baseline, default)
                rep.heading("All configurations at their tuned lr")
                rep.table(_config_rows(tuned_configs.sort_values("val_acc", ascending=False)))
        views = _comparisons(rep, configs, view, min_effect, tuned_configs, tuned_runs, records or [])
        if views and any(c == "fashion_mnist" for c in configs._config.map(lambda c: c.get("data", {}).get("name"))):
            for name, v in views.items():
                pool = configs if name == "default lr" else tuned_configs
                v["best"], v["worst"] = rank(pool)
            rep.heading("The published claims, checked")
            rep.text(f"The published Fashion-MNIST study (one run per setting) against this study's means with "
                     f"95% intervals; comparisons use the Holm-adjusted p of the comparisons above "
                     f"(α={stats.ALPHA:g}): 'holds' / 'contradicted' when significant, otherwise 'not resolved'.")
            rep.table(claims_table(views))
        anova = stats.anova_table(done, factor_names(view))
        if anova is not None:
            rep.heading("Factorial: main effects and two-factor interactions (type-II ANOVA on test accuracy)")
            rep.table(anova)
    problems = runs[runs.status != "completed"]
    rep.heading("Jobs that diverged, failed, were interrupted or are missing")
    rep.table(problems[["sweep", "job", "status", "error"]].fillna("")) if not problems.empty else rep.text("None.")
    return rep


def _tuning_section(rep: Report, records: list[dict[str, Any]], labels: dict[str, str]) -> None:
    labels = {**{r["config_id"]: tuned.job_name(r) for r in records}, **labels}
    rep.heading("Tuned learning rates (tune=lr)")
    rep.text("Screening: mean validation accuracy per lr multiple of each configuration's default lr; the "
             "chosen lr is the highest (test accuracy never chooses). A diverged or failed lr shows its status.")
    rep.table(tuned.lr_table(records, labels))
    rep.figure("lr_sensitivity.png", figures.lr_sensitivity_figure(records, labels),
               "Validation accuracy of the screening runs vs learning rate, one line per configuration")


def _key(exp: dict[str, Any]) -> tuple[str, str]:
    """An experiment's identity across the default-lr and tuned-lr views: factor and reference."""
    return exp["factor"], exp["reference"].config_id


def _comparisons(rep: Report, configs: pd.DataFrame, runs: pd.DataFrame, min_effect: float,
                 tuned_configs: pd.DataFrame | None, tuned_runs: pd.DataFrame | None,
                 records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The one-factor comparisons (at the default lr and, for tuned sweeps, at each level's tuned
    lr, side by side); returns per view the level rows of the experiments around the baseline."""
    factors = factor_names(runs)
    exps = experiments(configs, factors)
    if not exps:
        return {}
    # Per experiment (factor, reference): its (view, experiment, runs), default lr first.
    blocks = {_key(e): [("default lr", e, runs)] for e in exps}
    if tuned_configs is not None:
        for e in experiments(tuned_configs, factors):
            if _key(e) in blocks:
                blocks[_key(e)].append(("tuned lr", e, tuned_runs))
    flat = [b for group in blocks.values() for b in group]
    tables = compare_all([(e, r) for _, e, r in flat], min_effect)
    rows_of = {(view, _key(e)): rows for (view, e, _), rows in zip(flat, tables)}
    m = sum(1 for rows in tables for r in rows if "p_holm" in r and not math.isnan(r["p_holm"]))
    lrs = {r["config_id"]: r["chosen_lr"] for r in records}
    rep.heading("One-factor comparisons")
    rep.text(f"Each level is compared with its experiment's reference level on test accuracy: the difference "
             f"of means with its 95% interval (paired t by seed where both levels have the same seeds, Welch "
             f"otherwise). Family: all {m} testable comparisons of this report"
             f"{' (default and tuned lr together)' if tuned_configs is not None else ''}, Holm-Bonferroni "
             f"adjusted; verdicts use the adjusted p at {stats.ALPHA:g}. 'detectable (80% power)' is the smallest "
             f"true difference the study would detect with 80% power at α={stats.ALPHA:g}/{max(m, 1)} (Holm's "
             f"strictest step) given its n and observed seed spread; 'no difference larger than X' is said only "
             f"where X <= {min_effect:g} (the smallest effect of interest, --min-effect), otherwise the "
             f"comparison is inconclusive and 'seeds_needed' says how many seeds per level would detect the "
             f"observed difference.")
    views: dict[str, dict[str, Any]] = {}
    for exp in exps:
        factor, ref = exp["factor"], exp["reference"]
        around = "" if ref.configuration == "baseline" else f" (around {ref.configuration})"
        rep.heading(f"Experiment: {factor}{around}", 3)
        for view, _, _ in blocks[_key(exp)]:
            rows = rows_of[(view, _key(exp))]
            if tuned_configs is not None:
                rep.text(f"**At {'the shared default lr' if view == 'default lr' else 'each level’s own tuned lr'}**")
            else:
                rep.text(f"Reference: {factor}={ref[factor]} ({ref.configuration}); levels: "
                         + "; ".join(f"{r[factor]} = {r['configuration']}" for r in rows[1:]) + ".")
            rep.table(_level_table(rows, factor, lrs if view == "tuned lr" else None))
            rep.text("\n".join(f"- {factor}={r[factor]}: {r['verdict']}" + (f" [{r['warnings']}]" if r["warnings"] else "")
                               for r in rows if "verdict" in r))
            suffix = ("" if ref.configuration == "baseline" else "_" + ref.config_id[:6]) + \
                ("_tuned" if view == "tuned lr" else "")
            rep.figure(f"seeds_{factor}{suffix}.png", figures.seeds_figure(rows, factor),
                       f"{factor} ({view}): each seed's test accuracy, mean and 95% interval per level")
            if ref.configuration == "baseline":
                v = views.setdefault(view, {"levels": {}, "reference": rows[0]})
                v["levels"].update({(factor, r[factor]): r for r in rows})
    return views


def report_runs(runs: pd.DataFrame, out_dir: Any, title: str, baseline: dict[str, str], default: dict[str, Any],
                min_effect: float = 0.01, records: list[dict[str, Any]] | None = None) -> None:
    """Build and write one report (runs.csv without internal columns, with each job's lr role)."""
    runs = tuned.annotate(runs, records or [])
    rep = build_report(runs, title, baseline, default, min_effect, records)
    rep.write(out_dir, runs.drop(columns=[c for c in runs if c.startswith("_")]))
