""""How each choice trains": every outcome other than the primary one (analysis.tables.outcomes), judged on
the seeds the study has, one Hommel family per outcome; its table, its rows of comparisons.csv and
a figure per experiment of validation accuracy against epochs and seconds."""

from __future__ import annotations

import math

import pandas as pd

from lenet_ablate.analysis.inference import secondary
from lenet_ablate.analysis.tables import outcomes
from lenet_ablate.analysis.tables.experiments import Experiment, completed, learned_seeds
from lenet_ablate.analysis.tables.outcomes import Outcome
from lenet_ablate.analysis.inference.secondary import OutcomeComparison, epochs_text
from lenet_ablate.report import figures
from lenet_ablate.report.comparisons import ComparisonRecord, cost
from lenet_ablate.report.render import Report

Block = tuple[str, Experiment, pd.DataFrame]  # (lr view, experiment, its runs)


def compare_outcomes(blocks: list[Block], primary: str, allocated: bool,
                     pace: tuple[float, int] | None = None) -> dict[str, list[OutcomeComparison]]:
    """Per secondary outcome, every level of every block against its reference, adjusted over the
    outcome's own family. `allocated`: seeds=auto chose the seeds (for `primary`), which the
    verdicts say; an open verdict is priced at the study's `pace` as the primary's are."""
    note = f"secondary: seeds were allocated for {primary}" if allocated else ""
    learned = [learned_seeds(completed(runs)) for _, _, runs in blocks]  # once per block, not per outcome
    out = {}
    for o in outcomes.OUTCOMES:
        if o.name == primary:
            continue
        family = []
        for (view, exp, _), seeds in zip(blocks, learned):
            factor, ref = exp.factor, exp.reference
            for _, level in exp.members.iterrows():
                if level.config_id != ref.config_id:
                    family.append(secondary.compare(o, exp, seeds, view, level.config_id, str(level[factor])))
        secondary.adjust(family, o)
        for c in family:
            extra = cost(c.seeds_needed, min(c.n_level, c.n_reference), pace) if c.verdict.startswith("not resolved") \
                else []
            c.verdict += "".join(f"; {x}" for x in extra + ([note] if note else []))
        out[o.name] = family
    return out


def _interval(c: OutcomeComparison, o: Outcome) -> str:
    if o.method == "log-rank":
        reached = f"{c.reached_level}/{c.n_level} vs {c.reached_reference}/{c.n_reference} reached"
        return (f"median {epochs_text(c.median_level)} vs {epochs_text(c.median_reference)}, mean {c.mean_level:.1f} vs "
                f"{c.mean_reference:.1f} ({reached})")
    if math.isnan(c.estimate):
        return ""
    if o.method == "ratio":
        return f"x{c.estimate:.2f} [x{c.low:.2f}, x{c.high:.2f}]" if not math.isnan(c.low) else f"x{c.estimate:.2f}"
    return f"{c.estimate:+.4f} [{c.low:+.4f}, {c.high:+.4f}]" if not math.isnan(c.low) else f"{c.estimate:+.4f}"


def _seeds(n: float) -> str:
    return "" if math.isnan(n) else ">1000" if math.isinf(n) else str(int(n))


# A verdict's mark in a table cell; the legend under the table says what each means.
MARKS = {"differs": "≠", "no difference": "≈", "not resolved": "?", "not judged": "—"}
LEGEND = ("≠ differs (family-adjusted p below α); ≈N: no difference larger than N (the interval lies within "
          "±N); ? not resolved; — not judged (a timing taken while the machine was shared, or without its load "
          "recorded). Differences and ratios are level against its reference; epochs are Kaplan-Meier "
          "medians of level vs reference ('never': not reached within max_epochs). Intervals, p-values and "
          "every verdict in full: comparisons.csv.")


def cell(c: OutcomeComparison, o: Outcome) -> str:
    """One short cell: the estimate (a difference, a ratio, or median epochs) and its verdict's mark."""
    if o.method == "log-rank":
        value = f"{epochs_text(c.median_level)} vs {epochs_text(c.median_reference)}"
    elif c.verdict.startswith("not judged"):
        return MARKS["not judged"]
    elif math.isnan(c.estimate):
        return ""
    else:
        value = f"x{c.estimate:.2f}" if o.method == "ratio" else f"{c.estimate:+.4f}"
    kind = next((k for k in ("differs", "no difference") if c.verdict.startswith(k)), "not resolved")
    bound = c.verdict.split("no difference larger than ")[-1].split()[0].rstrip(";,") if kind == "no difference" else ""
    return f"{value} {MARKS[kind]}{bound}"


def training_table(results: dict[str, list[OutcomeComparison]], target: float = outcomes.TARGET) -> pd.DataFrame:
    """One row per level (and lr view), one short cell per secondary outcome (estimate and verdict
    mark), headed by the outcome's display name."""
    rows: dict[tuple[str, str, str], dict[str, str]] = {}
    for o in outcomes.OUTCOMES:
        for c in results.get(o.name, []):
            row = rows.setdefault((c.view, c.factor, c.level), {"factor": c.factor, "level": c.level, "lr": c.view})
            row[o.column(target)] = cell(c, o)
    table = pd.DataFrame(list(rows.values()))
    if not table.empty and table.lr.nunique() == 1:
        table = table.drop(columns="lr")
    return table


def open_comparisons(results: dict[str, list[OutcomeComparison]], target: float = outcomes.TARGET) -> pd.DataFrame:
    """Each comparison that is not resolved, one a row: the level, the outcome, and what would
    settle it (and at what cost)."""
    rows = []
    for o in outcomes.OUTCOMES:
        for c in results.get(o.name, []):
            if not c.verdict.startswith(("differs", "no difference", "not judged")):
                view = f" ({c.view})" if c.view != "default lr" else ""
                rows.append({"comparison": f"{c.factor}={c.level}{view}", "outcome": o.column(target),
                             "what would settle it": c.verdict.split("; secondary")[0]})
    return pd.DataFrame(rows)


def unjudged(results: dict[str, list[OutcomeComparison]]) -> pd.DataFrame:
    """Why timings were not judged, each reason once with the experiments it holds for."""
    reasons: dict[str, dict[str, None]] = {}
    for o in outcomes.OUTCOMES:
        for c in results.get(o.name, []):
            if c.verdict.startswith("not judged"):
                why = c.verdict.split("; secondary")[0].removeprefix("not judged: ")
                reasons.setdefault(why, {})[c.factor] = None
    return pd.DataFrame([{"timings not judged because": why, "experiments": ", ".join(factors)}
                         for why, factors in reasons.items()])


def csv_rows(results: dict[str, list[OutcomeComparison]]) -> list[ComparisonRecord]:
    """The rows of comparisons.csv for the secondary outcomes."""
    out = []
    for o in outcomes.OUTCOMES:
        for c in results.get(o.name, []):
            interval = {"paired t": "95%", "ratio": "95% (ratio)", "log-rank": "none (log-rank)"}[o.method]
            out.append(ComparisonRecord(
                outcome=o.name, experiment=c.factor, level=c.level, reference=c.reference,
                lr_view=c.view.split()[0], n_level=c.n_level, n_reference=c.n_reference, difference=c.estimate,
                ci95_low=c.low, ci95_high=c.high, interval=interval, p_raw=c.p, p_adjusted=c.p_adjusted,
                alpha=secondary.ALPHA, method=f"{o.method}, hommel over the {o.name} family",
                detectable_difference=math.nan, seeds_needed=_seeds(c.seeds_needed), verdict=c.verdict))
    return out


def training_section(rep: Report, blocks: list[Block], primary: str, allocated: bool, target: float,
                     hosts: str, pace: tuple[float, int] | None = None
                     ) -> tuple[list[ComparisonRecord], dict[str, list[OutcomeComparison]]]:
    """The "How each choice trains" section; returns its rows of comparisons.csv, and the comparisons."""
    results = compare_outcomes(blocks, primary, allocated, pace)
    if not any(results.values()):
        return [], results
    rep.heading("How each choice trains")
    name = outcomes.outcome(primary).label
    rep.text(f"Each level against its reference on the outcomes other than {name}, on the seeds that learned, "
             f"one Hommel family per outcome (α={secondary.ALPHA:g}). Epochs to target: the first epoch whose "
             f"validation accuracy reaches {target:g} (convergence_target); a seed that never does is censored "
             f"at max_epochs, not dropped; compared by the log-rank test (scipy.stats.logrank), shown as Kaplan-Meier median "
             f"epochs, the restricted mean (a seed that never reached it counts max_epochs) and the seeds that reached "
             f"it; the log-rank test gives no interval, so this outcome never says 'no difference'. Mean validation accuracy over the epochs: convergence without "
             f"a threshold. CPU time per epoch and CPU training time: the job's own CPU seconds (which the "
             f"machine's load moves least; wall seconds are in runs.csv as sec_per_epoch), ratios level / reference "
             f"(paired t on logs), judged only where the machine's load (runnable tasks, sampled through each "
             f"epoch) stayed within the CPUs a job could use ({hosts}); jobs of other hosts or thread counts are "
             f"not mixed into one ratio. Gap: training minus validation accuracy at the chosen checkpoint."
             + (f" Secondary: seeds were allocated for {name}." if allocated else ""))
    rep.table(training_table(results, target))
    rep.text(LEGEND)
    still_open = open_comparisons(results, target)
    if not still_open.empty:
        rep.text("Not resolved, and what would settle each:")
        rep.table(still_open)
    timings = unjudged(results)
    if not timings.empty:
        rep.table(timings)
    for view, exp, runs in blocks:
        if view == "default lr" and exp.reference.configuration == "baseline":
            factor = exp.factor
            rep.figure(f"training_{factor}.png", figures.training_figure(exp, runs),
                       f"{factor}: validation accuracy against epochs and against seconds, mean and 95% band per level")
    return csv_rows(results), results
