"""Assembling one report from a set of jobs: tables, comparisons with their family-wise control,
verdicts and figures."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from lenet_ablate.analysis.schedule import sequential
from lenet_ablate.analysis.tables import tuned
from lenet_ablate.report import figures
from lenet_ablate.report.claims import claims_table
from lenet_ablate.report.effects import effects_figure, secondary_effects_figure
from lenet_ablate.report.published import Evidence
from lenet_ablate.report.comparisons import Analysis, ComparisonRecord, answer_table, csv_table, one_factor_section
from lenet_ablate.analysis.tables.experiments import (FAILED, completed, configurations, factor_names, learned_seeds, rank,
                                                      swept_references)
from lenet_ablate.analysis.tables.collect import RUNNING_NOW
from lenet_ablate.analysis.tables.level_rows import View
from lenet_ablate.analysis.tables.outcomes import outcome
from lenet_ablate.analysis.schedule.seed_noise import MIN_POOLED, MIN_SEEDS, Shape, seed_shape
from lenet_ablate.report.clean_speed import speed_section
from lenet_ablate.report.factorial import factorial_section
from lenet_ablate.report.render import Report
from lenet_ablate.analysis.tables.classes import class_names
from lenet_ablate.report.classes import class_section
from lenet_ablate.report.training import training_section

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
    return "" if math.isnan(mean) else f"{mean:.4f}" + (f" ± {std:.4f}" if not math.isnan(std) else "")


def _config_rows(configs: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({"configuration": configs.configuration, "n": configs.completed,
                        "diverged/failed": configs[list(FAILED)].sum(axis=1)})
    for split in ("train", "val", "test"):
        out[f"{split} acc"] = [_fmt(m, s) for m, s in zip(configs[f"{split}_acc"], configs[f"{split}_acc_std"])]
    out["warnings"] = configs["warnings"]
    return out.reset_index(drop=True)


def _networks_line(runs: pd.DataFrame) -> str:
    """Which networks and data the jobs trained: name, own keys, trainable parameters, the factor
    groups each takes (a factor it does not take is never varied on it), and the data."""
    runs = runs[runs.status == "completed"] if "status" in runs else runs  # what trained to its end
    if "model" not in runs or runs.model.isna().all():
        return "Network: not recorded."
    nets = runs.dropna(subset=["model"]).fillna({"model_keys": "", "model_takes": "", "parameters": -1})
    parts = []
    for (name, keys, takes), group in nets.groupby(["model", "model_keys", "model_takes"], sort=False):
        params = sorted({int(p) for p in group.parameters if p >= 0})
        parts.append(f"{name}{f' ({keys})' if keys else ''}: " +
                     (f"{', '.join(f'{p:,}' for p in params)} trainable parameters, " if params else "") +
                     (f"takes {', '.join(takes.split())}" if takes else "factor groups taken not recorded") +
                     f" ({len(group)} jobs)")
    data = nets.groupby(["data", "data_root"], dropna=False, sort=False).size()
    shown = "; ".join(f"{d}{f' ({r})' if isinstance(r, str) else ''}: {n} jobs" for (d, r), n in data.items())
    return f"Network: {'; '.join(parts)}. Data: {shown}." + _environments(runs)


def _environments(runs: pd.DataFrame) -> str:
    """Where the jobs' numbers come from; a study of several numeric environments says what that means."""
    if "numeric_env" not in runs:
        return ""
    envs = runs.dropna(subset=["numeric_env"]).groupby("numeric_env", sort=False).size()
    if list(envs.index) == ["not recorded"]:
        return " Numbers: the jobs' numeric environment was not recorded (summaries written before 0.7)."
    shown = "; ".join(f"{n} jobs on {env}" for env, n in envs.items())
    if len(envs) > 1:
        return (f" Numbers: {shown}: the verdicts are valid, but the numbers reproduce bit for bit only on the same "
                f"kind of CPU and kernels (docs/performance.md).")
    return f" Numbers: {shown}."


def _header(rep: Report, runs: pd.DataFrame, baseline: dict[str, str], tuned_sweep: bool) -> None:
    counts = runs.status.value_counts().to_dict()
    running = int((runs.error == RUNNING_NOW).sum()) if "error" in runs else 0
    swept = swept_references(runs["_config"].dropna()) if "_config" in runs else {}
    levels = ", ".join(f"{k}={v}" for k, v in {**baseline, **swept}.items())  # a swept key's reference too
    rep.text(f"{len(runs)} jobs: " + ", ".join(f"{counts.get(s, 0)} {s}" for s in STATUSES) +
             (f" ({running} of them running now)" if running else "") +
             f". Baseline levels: {levels}. ± is the standard deviation over seeds.")
    if "git_commit" in runs and runs.git_commit.notna().any():
        prov = runs.dropna(subset=["git_commit"]).groupby(["version", "git_commit", "git_dirty"], dropna=False)
        rep.text("Code: " + "; ".join(f"lenet_ablate {v}, commit {str(c)[:10]}{' (dirty tree)' if d else ''}: "
                                      f"{n} jobs" for (v, c, d), n in prov.size().items()))
    rep.text(_networks_line(runs))
    rep.text(RULES)
    if tuned_sweep:
        rep.text(TUNED_RULES)


def _best_and_worst(rep: Report, configs: pd.DataFrame, done: pd.DataFrame, tuned_sweep: bool) -> None:
    best, worst = rank(configs)
    rep.heading("Best and worst model (by mean validation accuracy" + (", default lr)" if tuned_sweep else ")"))
    rep.table(_config_rows(pd.DataFrame([best, worst])).assign(rank=["best", "worst"]))
    for label, conf in (("best", best), ("worst", worst)):
        jobs = done[done.config_id == conf.config_id]
        if jobs.empty:
            continue
        rep.figure(f"curves_{label}.png", figures.curves_figure(jobs, f"{label}: {conf.configuration}"),
                   f"Training vs validation accuracy and loss of the {label} model (thin: seeds; bold: mean)")
        rep.figure(f"confusion_{label}.png", figures.confusion_figure(jobs, f"{label}: {conf.configuration}"),
                   f"Confusion matrix (summed over seeds) and per-class test accuracy of the {label} model")
    rep.heading("All configurations" + (" (default lr)" if tuned_sweep else ""))
    rep.table(_config_rows(configs.sort_values("val_acc", ascending=False)))


_EFFECTS = ("Each level's difference from its reference in {label}, with the interval its verdict used and n "
            "seeds per side; shaded: ±{band:g}, effects too small to matter. Red circle: differs; blue square: no "
            "difference larger than the bound; grey diamond: not resolved yet.")


_SECONDARY = ("The other outcomes with intervals, as the figure above: each level against its reference, the "
              "band of the outcome's smallest effect of interest shaded (ratios around 1).")


def _answer_first(rep: Report, csv: list[ComparisonRecord], analysis: Analysis, blocks: list,
                  runs: pd.DataFrame) -> dict[str, list]:
    """comparisons.csv, "Which choices matter" at the top of the report, then "How each choice trains"."""
    first = Report(rep.title)
    hosts = "; ".join(f"{h}, {int(t)} thread(s): {n} jobs" for (h, t), n in
                      completed(runs).groupby(["host", "threads"]).size().items()) if {"host", "threads"} <= set(runs) \
        else "host not recorded"
    more, results = training_section(first, blocks, analysis.outcome,
                                     analysis.design is not None and not analysis.pooled, analysis.target, hosts,
                                     analysis.pace)
    secondary = secondary_effects_figure(more, analysis.target)
    if secondary is not None:  # under the "How each choice trains" table
        at = next(i for i, (kind, _) in enumerate(first.blocks) if kind == "table") + 1
        first.figures["effects_secondary.png"] = secondary
        first.blocks.insert(at, ("img", ("effects_secondary.png", _SECONDARY)))
    rep.csv["comparisons.csv"] = csv_table(csv + more)
    label = outcome(analysis.outcome).label
    effects = effects_figure(csv, analysis.outcome, analysis.min_effect, label)
    if effects is not None:  # the answer at a glance, right under the title
        rep.figures["effects.png"] = effects
    rep.blocks[0:0] = ([("img", ("effects.png", _EFFECTS.format(label=label, band=analysis.min_effect)))]
                       if effects is not None else []) + [("h", (2, "Which choices matter")),
                       ("p", f"Each level against the baseline on {label} ({analysis.method.capitalize()}"
                             f"-adjusted over the report's family; details below and in comparisons.csv)."),
                       ("table", answer_table(csv))] + first.blocks
    rep.figures.update(first.figures)
    return results


def _evidence(views: dict[str, View], learned: pd.DataFrame, results: dict[str, list],
              names: list[str]) -> Evidence:
    """The seeds that learned (`learned`) of the baseline and of each level around it (default lr)."""
    v = views.get("default lr")
    jobs = {}
    if v is not None:
        jobs[("", "")] = learned[learned.config_id == v.reference.config_id]
        for key, row in v.levels.items():
            jobs[key] = learned[learned.config_id == row.config_id]
    return Evidence(results, jobs, names)


def _claims(rep: Report, views: dict[str, View], pools: dict[str, pd.DataFrame], alpha: float,
            evidence: Evidence) -> None:
    for name, v in views.items():
        v.best, v.worst = rank(pools[name])
    rep.heading("The published claims, checked")
    rep.text(f"The published Fashion-MNIST study (one run per setting), the blog post it comes from and "
             f"Krizhevsky et al. 2012 against this study's means with their intervals; a comparison's claim uses "
             f"its verdict above (adjusted p against its α, {alpha:g} or its look's level) and, where the source "
             f"gives one, the published size: 'holds' / 'contradicted' when significant, 'contradicted in size' "
             f"when our interval excludes the published difference, otherwise 'not resolved'; training speed from "
             f"'How each choice trains' (log-rank), classes from 'Per-class test accuracy'.")
    rep.table(claims_table(views, evidence))


def build_report(runs: pd.DataFrame, title: str, baseline: dict[str, str], default: dict[str, Any],
                 analysis: Analysis | None = None, records: list[dict[str, Any]] | None = None) -> Report:
    """All tables, sentences and figures for one set of jobs (`runs` annotated by tuned.annotate;
    `records`: the tuning choices of sweeps run with tune=lr)."""
    analysis, records = analysis or Analysis(), records or []
    rep = Report(title)
    _header(rep, runs, baseline, bool(records))
    view = tuned.default_view(runs) if records else runs
    configs, done = configurations(view, baseline, default), completed(view)
    if configs.empty or done.empty:
        rep.text("No job completed, so there is nothing to compare.")
        if records:
            _tuning_section(rep, records, {})
    else:
        _best_and_worst(rep, configs, done, bool(records))
        tuned_runs = tuned.tuned_view(runs, records) if records else None
        tuned_configs = None
        if records:
            _tuning_section(rep, records, dict(zip(configs.config_id, configs.configuration)))
            if not tuned_runs.empty:
                tuned_configs = configurations(tuned_runs, baseline, default)
                rep.heading("All configurations at their tuned lr")
                rep.table(_config_rows(tuned_configs.sort_values("val_acc", ascending=False)))
        views, csv, blocks = one_factor_section(rep, configs, view, analysis, tuned_configs, tuned_runs, records)
        results = _answer_first(rep, csv, analysis, blocks, view) if csv else {}
        speed_section(rep, runs)
        _noise_section(rep, runs, analysis, csv)
        # as the comparisons: seeds that never learned are left out (classes, claims, ANOVA)
        learned = learned_seeds(done)
        class_section(rep, configs, learned, class_names(configs, runs), blocks, csv)
        if views and any(c == "fashion_mnist" for c in configs._config.map(lambda c: c.get("data", {}).get("name"))):
            _claims(rep, views, {"default lr": configs, "tuned lr": tuned_configs}, analysis.alpha,
                    _evidence(views, learned, results, class_names(configs, runs)))
        factorial_section(rep, learned, factor_names(view), {**baseline, **swept_references(configs._config)},
                          analysis.outcome, analysis.min_effect, analysis.alpha)
    _problems(rep, runs)
    rep.blocks[0:0] = [("p", f"**{note}**") for note in _notes(runs)]  # above everything, the answer too
    return rep


def _notes(runs: pd.DataFrame) -> list[str]:
    """The sweeps' `study.note` lines (make demo's: that it is a demo), each once."""
    configs = runs["_config"] if "_config" in runs else pd.Series(dtype=object)
    notes = (((c or {}).get("study") or {}).get("note") for c in configs if isinstance(c, dict))
    return [n for n in dict.fromkeys(notes) if n]


def _problems(rep: Report, runs: pd.DataFrame) -> None:
    problems = runs[runs.status != "completed"]
    rep.heading("Jobs that diverged, failed, were interrupted or are missing")
    rep.table(problems[["sweep", "job", "status", "error"]].fillna("")) if not problems.empty else rep.text("None.")


def _noise_section(rep: Report, runs: pd.DataFrame, analysis: Analysis, csv: list[ComparisonRecord]) -> None:
    """Whether the study's own seeds look left-skewed, and whether its design copes with that: every
    configuration's seeds that learned, tuned lrs included (a screening run's one seed is too few)."""
    if not csv:
        return
    learned = learned_seeds(completed(runs))
    groups = [g[analysis.outcome].dropna().to_numpy() for _, g in learned.groupby("config_id")]
    rep.heading("Seed noise: occasional bad seeds?")
    rep.text(_noise_text(seed_shape(groups), analysis))


def _noise_text(shape: Shape | None, analysis: Analysis) -> str:
    exact = analysis.design is not None and analysis.design.boundaries == "exact"
    why = ("Left-skewed seed noise (occasional bad seeds) is the hard case for the t-based verdicts above: the "
           "default seeds=auto design keeps its error rates under the simulation's version of it, "
           "seeds_boundaries=exact does not (docs/statistics.md). ")
    if shape is None:
        return why + (f"Too few seeds to tell: fewer than {MIN_POOLED} from configurations with {MIN_SEEDS} or more "
                      f"seeds that learned.")
    found = (f"This study's {outcome(analysis.outcome).label}, standardised within each of {shape.configurations} "
             f"configurations with {MIN_SEEDS} or more seeds that learned and pooled ({shape.seeds} seeds): skewness "
             f"{shape.skewness:+.2f}; D'Agostino's test of a left tail p = {shape.p_left:.3f} (its power against the "
             f"simulation's left-skewed noise at these seed counts: {shape.power:.2f}). ")
    if shape.left_skewed:
        default = analysis.design is not None and analysis.design.simulated() == sequential.Design().simulated()
        return why + found + "**Left-skewed.** " + (
            "This sweep ran seeds_boundaries=exact, whose error rates do not hold under such noise: run it again with "
            "seeds_boundaries=bonferroni (its completed jobs are reused)." if exact else
            "This sweep's design keeps its error rates under the simulation's left-skewed noise." if default else
            "These verdicts were not simulated under such noise (only the default seeds=auto design was): read "
            "them with care.")
    return why + found + ("No left tail found." if shape.power >= 0.8 else
                          "No left tail found, but too few seeds to be sure (power below 0.8).")


def _tuning_section(rep: Report, records: list[dict[str, Any]], labels: dict[str, str]) -> None:
    labels = {**{r["config_id"]: tuned.job_name(r) for r in records}, **labels}
    rep.heading("Tuned learning rates (tune=lr)")
    rep.text("Screening: mean validation accuracy per lr multiple of each configuration's default lr; the "
             "chosen lr is the highest (test accuracy never chooses). A diverged or failed lr shows its status.")
    rep.table(tuned.lr_table(records, labels))
    rep.figure("lr_sensitivity.png", figures.lr_sensitivity_figure(records, labels),
               "Validation accuracy of the screening runs vs learning rate, one line per configuration")


def report_runs(runs: pd.DataFrame, out_dir: Any, title: str, baseline: dict[str, str], default: dict[str, Any],
                analysis: Analysis | None = None, records: list[dict[str, Any]] | None = None) -> None:
    """Build and write one report (runs.csv without internal columns, with each job's lr role, and
    comparisons.csv)."""
    runs = tuned.annotate(runs, records or [])
    rep = build_report(runs, title, baseline, default, analysis, records)
    rep.write(out_dir, runs.drop(columns=[c for c in runs if c.startswith("_")]))
