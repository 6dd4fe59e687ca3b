"""The report's section on a grid: every main effect and two-factor interaction with its n,
interval, method, family-wise correction and verdict (analysis.tables.interactions), an
interaction plot per factor pair, then the type-II ANOVA table it complements."""

from __future__ import annotations

import itertools

import pandas as pd

from lenet_ablate.analysis.inference import stats
from lenet_ablate.analysis.tables.interactions import (METHOD, contrasts, fraction_contrasts, fraction_design,
                                                        grid_factors, judged, pair_means)
from lenet_ablate.analysis.tables.outcomes import outcome
from lenet_ablate.report.figures import interaction_figure
from lenet_ablate.runs.designs import LETTERS, Design
from lenet_ablate.report.render import Report


def factorial_section(rep: Report, learned: pd.DataFrame, factors: list[str], reference: dict[str, str],
                      metric: str, min_effect: float, alpha: float) -> None:
    """Verdicts on the grid that `learned` (completed jobs whose seed learned) forms, if any, and the
    ANOVA table; interactions.csv holds every row in full."""
    label = outcome(metric).label
    varied = grid_factors(learned, factors)
    fraction = None if varied else fraction_design(learned, factors)
    if fraction is not None:
        _fraction_section(rep, learned, *fraction, reference, metric, min_effect, alpha)
    if varied:
        table = judged(contrasts(learned, varied, reference, metric), min_effect, alpha)
        rep.heading(f"Factorial verdicts: main effects and two-factor interactions ({label})")
        refs = ", ".join(f"{f}={reference[f]}" for f in varied if f in reference) or "the first level of each"
        n = int(table.p_raw.notna().sum())
        rep.text(f"The grid of {' x '.join(varied)}; references: {refs}. A main effect is a level against its "
                 f"factor's reference, averaged over the other factors' levels; an interaction is the "
                 f"difference of differences of a level pair of one factor by a level pair of another, "
                 f"averaged over the rest. Method: {METHOD} (the family: these {n} testable contrasts, "
                 f"α={alpha:g}); n: the seeds that completed and learned in every cell. 'no interaction larger "
                 f"than' needs the interval within ±{min_effect:g} (min_effect); an interaction has about twice "
                 f"a simple difference's standard error, so it needs more seeds.")
        _contrast_table(rep, table)
        for a, b in itertools.combinations(varied, 2):
            means = pair_means(learned, varied, reference, a, b, metric)
            rep.figure(f"interaction_{a}_{b}.png", interaction_figure(means, a, b, label),
                       f"{a} x {b}: the mean {label} of each {b} level across the {a} levels (averaged over the "
                       f"other factors), with 95% intervals; lines that are not parallel show an interaction")
    anova = stats.anova_table(learned, factors, metric)
    if anova is not None:
        rep.heading(f"Factorial: main effects and two-factor interactions (type-II ANOVA on {label}, "
                    f"seeds that learned)")
        rep.table(anova)


def _fraction_section(rep: Report, learned: pd.DataFrame, varied: list[str], plan: Design,
                      reference: dict[str, str], metric: str, min_effect: float, alpha: float) -> None:
    """A fractional screen: its design, resolution and alias chains, the main effects judged (its
    resolution is IV or more: a main effect is aliased with three-factor interactions only), and
    each two-factor interaction chain judged only where it holds one interaction."""
    found, confounded = fraction_contrasts(learned, varied, plan, reference, metric)
    table = judged(found, min_effect, alpha, confounded)
    letters = ", ".join(f"{c}={f}" for c, f in zip(LETTERS, varied))
    words = ", ".join("".join(sorted(w)) for w in plan.words())
    rep.heading(f"Fractional screen: 2^({plan.k}-{plan.p}) design, resolution {plan.resolution} "
                f"({outcome(metric).label})")
    rep.text(f"{len(plan.runs())} configurations instead of the grid's {2 ** plan.k}: generators "
             f"{', '.join(plan.generators)} (NIST/SEMATECH e-Handbook 5.3.3.4.7; Montgomery, Table 8.14), "
             f"letters {letters}; defining relation I = {words}. At resolution {plan.resolution} a main effect "
             f"is aliased with interactions of three or more factors only, and is judged as on a grid; a "
             f"two-factor interaction aliased with another is shown with its chain and never judged on its "
             f"own. Method: {METHOD} (the family: the {int(table.p_raw.notna().sum())} contrasts judged, "
             f"α={alpha:g}).")
    _contrast_table(rep, table)


def _contrast_table(rep: Report, table: pd.DataFrame) -> None:
    """The contrasts as the report prints them, and in full as interactions.csv."""
    rep.table(_shown(table))
    rep.csv["interactions.csv"] = table


def _shown(table: pd.DataFrame) -> pd.DataFrame:
    """The contrasts as the report prints them."""
    interval = [f"[{lo:+.4f}, {hi:+.4f}]" if lo == lo else "" for lo, hi in zip(table.ci95_low, table.ci95_high)]
    return pd.DataFrame({"kind": table.kind, "contrast": table.contrast, "n": table.n,
                         "estimate": table.estimate.map(lambda x: f"{x:+.4f}"), "interval": interval,
                         "p (Hommel)": table.p_adjusted.map(lambda p: f"{p:.3g}" if p == p else ""),
                         "verdict": table.verdict})
