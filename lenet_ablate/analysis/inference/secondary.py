"""Every outcome other than the one seeds were allocated for, judged like accuracy on the seeds the
study has: per outcome, every level against its experiment's reference (on the seeds where both
learned), one family per outcome adjusted by Hommel, and a verdict of the same three kinds. No torch
here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd
from scipy import stats as sps

from lenet_ablate.analysis.inference import decide
from lenet_ablate.analysis.inference import stats

ALPHA = stats.ALPHA


class Outcome(Protocol):
    """What this module reads of an outcome (analysis.tables.outcomes.Outcome): inference imports
    no table module, so the dependency runs tables -> inference only."""

    name: str
    method: str
    min_effect: float


class Experiment(Protocol):
    """What this module reads of a one-factor experiment (analysis.tables.experiments.Experiment)."""

    factor: str
    reference: pd.Series


@dataclass
class OutcomeComparison:
    """One level against its reference on one outcome. `estimate` is a difference of means
    ("paired t"), a ratio level / reference ("ratio") or a difference of restricted mean epochs
    ("log-rank"); `reached_*` count the seeds that reached the target (censored outcomes)."""

    outcome: str
    factor: str
    level: str
    reference: str
    view: str
    n_level: int
    n_reference: int
    estimate: float
    low: float
    high: float
    p: float
    method: str
    reached_level: int | None = None
    reached_reference: int | None = None
    median_level: float = math.nan
    median_reference: float = math.nan
    mean_level: float = math.nan      # restricted mean epochs (a censored seed counts max_epochs)
    mean_reference: float = math.nan
    p_adjusted: float = math.nan
    verdict: str = ""
    note: str = ""
    spread: float = math.nan  # sd of the paired differences (of logs for a ratio): what settling costs
    seeds_needed: float = math.nan


def _sides(outcome: Outcome, learned: pd.DataFrame, config_id: str) -> pd.DataFrame:
    """A configuration's seeds that learned, with the outcome's value (and observed flag)."""
    side = learned[learned.config_id == config_id].drop_duplicates("seed").set_index("seed")
    cols = [outcome.name] + ([f"{outcome.name}_observed"] if outcome.method == "log-rank" else [])
    cols += [c for c in ("host", "threads", "cpus", "load") if c in side]
    return side[[c for c in cols if c in side]].dropna(subset=[outcome.name]) if outcome.name in side else side[[]]


def _timing_mix(level: pd.DataFrame, ref: pd.DataFrame) -> str:
    """Why timings of two sides cannot form one ratio ('' if they can)."""
    both = pd.concat([level, ref])
    if not {"host", "threads"} <= set(both) or both.empty:
        return ""
    kinds = {(h, t) for h, t in zip(both.host, both.threads)}
    return "" if len(kinds) <= 1 else f"timings from {len(kinds)} host/thread combinations are not mixed"


def shared_machine(level: pd.DataFrame, ref: pd.DataFrame, factor: str) -> str:
    """Why two sides' timings are not judged ('' if they are): the machine's load was not recorded
    (jobs before 0.8), or it exceeded the CPUs a job could use, so some task waited for a core."""
    both = pd.concat([level, ref])
    # The speed command runs a named experiment: there is one per built-in group, none for a swept key.
    clean = (f"measure speed cleanly: python -m lenet_ablate.speed experiment={factor}" if "." not in factor
             else "measure speed on an idle machine (the speed command takes named experiments only)")
    if both.empty:
        return f"not judged: no job recorded its CPU seconds and load (jobs before 0.8); {clean}"
    if not {"load", "cpus"} <= set(both):
        return f"not judged: the machine's load was not recorded; {clean}"
    loads, cpus = pd.to_numeric(both["load"], errors="coerce"), pd.to_numeric(both["cpus"], errors="coerce")
    if loads.isna().any() or cpus.isna().any():
        return f"not judged: the machine's load was not recorded for every job; {clean}"
    over = loads > cpus
    if over.any():
        return (f"not judged: the machine was shared (load up to {loads.max():g} on {int(cpus[over].min())} "
                f"CPUs in {int(over.sum())} of {len(both)} jobs); {clean}")
    return ""


def censored(durations: np.ndarray, observed: np.ndarray) -> sps.CensoredData:
    """Epochs to a target as scipy's censored data (right-censored where never observed)."""
    durations, observed = np.asarray(durations, float), np.asarray(observed, bool)
    return sps.CensoredData(uncensored=durations[observed], right=durations[~observed])


def km_median(durations: np.ndarray, observed: np.ndarray) -> float:
    """Kaplan-Meier median: the first time the survival function falls to 0.5 or below (inf: never)."""
    if not np.asarray(observed, bool).any():
        return math.inf
    sf = sps.ecdf(censored(durations, observed)).sf
    below = sf.quantiles[sf.probabilities <= 0.5]
    return float(below[0]) if len(below) else math.inf


def logrank_p(durations_a: np.ndarray, observed_a: np.ndarray, durations_b: np.ndarray,
              observed_b: np.ndarray) -> float:
    """Two-sided log-rank p (scipy.stats.logrank; ties and censoring as the test defines them)."""
    try:
        with np.errstate(invalid="ignore", divide="ignore"):  # no event on either side: nan, nothing to test
            return float(sps.logrank(censored(durations_a, observed_a), censored(durations_b, observed_b)).pvalue)
    except ValueError:
        return math.nan


def compare(outcome: Outcome, exp: Experiment, learned: pd.DataFrame, view: str, level_id: str,
            level_name: str) -> OutcomeComparison:
    """One level of `exp` against its reference on `outcome`, on the seeds that learned (`learned`:
    experiments.learned_seeds of the runs); raw p, `adjust` adjusts the family."""
    ref = exp.reference
    a, b = _sides(outcome, learned, level_id), _sides(outcome, learned, ref.config_id)
    base = dict(outcome=outcome.name, factor=exp.factor, level=level_name,
                reference=f"{exp.factor}={ref[exp.factor]}", view=view, n_level=len(a), n_reference=len(b),
                method=outcome.method)
    if outcome.method == "log-rank":
        return _logrank(outcome, a, b, base)
    mix = (_timing_mix(a, b) or shared_machine(a, b, exp.factor)) if outcome.method == "ratio" else ""
    if mix or a.empty or b.empty:
        return OutcomeComparison(**base, estimate=math.nan, low=math.nan, high=math.nan, p=math.nan,
                                 note=mix or "no seeds with this outcome recorded")
    values_a, values_b = a[outcome.name].astype(float), b[outcome.name].astype(float)
    if outcome.method == "ratio":  # a paired t on logs: the ratio and its interval (exp of nan stays nan)
        d = stats.difference(np.log(values_a), np.log(values_b))
        return OutcomeComparison(**base, estimate=math.exp(d.diff), low=math.exp(d.low), high=math.exp(d.high), p=d.p,
                                 spread=d.spread)
    d = stats.difference(values_a, values_b)
    return OutcomeComparison(**base, estimate=d.diff, low=d.low, high=d.high, p=d.p, spread=d.spread)


def _logrank(outcome: Outcome, a: pd.DataFrame, b: pd.DataFrame, base: dict) -> OutcomeComparison:
    seen = f"{outcome.name}_observed"
    if a.empty or b.empty:
        return OutcomeComparison(**base, estimate=math.nan, low=math.nan, high=math.nan, p=math.nan,
                                 note="no seeds with a recorded history")
    p = logrank_p(a[outcome.name], a[seen], b[outcome.name], b[seen])
    med_a, med_b = km_median(a[outcome.name], a[seen]), km_median(b[outcome.name], b[seen])
    p = p if np.isfinite(p) else math.nan
    # Censoring happens only at max_epochs, so the mean of the epochs with a censored seed at
    # max_epochs is the Kaplan-Meier restricted mean up to max_epochs: which side is faster.
    mean_a, mean_b = float(a[outcome.name].astype(float).mean()), float(b[outcome.name].astype(float).mean())
    return OutcomeComparison(**base, estimate=mean_a - mean_b, low=math.nan, high=math.nan, p=p,
                             reached_level=int(a[seen].sum()), reached_reference=int(b[seen].sum()),
                             median_level=med_a, median_reference=med_b, mean_level=mean_a, mean_reference=mean_b)


def adjust(family: list[OutcomeComparison], outcome: Outcome) -> None:
    """Hommel over the outcome's family, then each verdict (in place), and for a paired or ratio
    outcome the seeds per side that would settle it if its difference and spread held."""
    for c, p in zip(family, stats.adjust([c.p for c in family], "hommel")):
        c.p_adjusted = p
        if outcome.method in ("paired t", "ratio") and not math.isnan(c.estimate):
            # a ratio is compared on logs: its band x1/(1+e)..x(1+e) is +-log(1+e) there
            mean, effect = ((math.log(c.estimate), math.log1p(outcome.min_effect)) if outcome.method == "ratio"
                            else (c.estimate, outcome.min_effect))
            c.seeds_needed = float(decide.projected_seeds(mean, c.spread, len(family), effect, ALPHA))
        c.verdict = verdict(c, outcome)


def verdict(c: OutcomeComparison, outcome: Outcome) -> str:
    """differs / no difference larger than X / not resolved, in the outcome's own terms."""
    if c.note:
        return c.note if c.note.startswith("not judged") else f"not compared ({c.note})"
    if not math.isnan(c.p_adjusted) and c.p_adjusted < ALPHA:
        if outcome.method == "ratio":
            return f"differs (x{c.estimate:.2f})"
        if outcome.method == "log-rank":
            return (f"differs ({'faster' if c.mean_level < c.mean_reference else 'slower'}: restricted mean "
                    f"{c.mean_level:.1f} vs {c.mean_reference:.1f} epochs)")
        return f"differs ({c.estimate:+.4f})"
    if outcome.method == "ratio":
        top = 1 + outcome.min_effect
        if not math.isnan(c.low) and c.low >= 1 / top and c.high <= top:
            return f"no ratio beyond x{1 / top:.2f}-x{top:.2f} (95% interval x{c.low:.2f}-x{c.high:.2f})"
    elif outcome.method == "paired t" and not math.isnan(c.low):
        bound = math.ceil(max(abs(c.low), abs(c.high)) * 1e4 - 1e-9) / 1e4
        if bound <= outcome.min_effect:
            return f"no difference larger than {bound:.4f}"
    n = min(c.n_level, c.n_reference)
    if outcome.method == "log-rank":
        return f"not resolved at n={n} seeds (log-rank: no interval)"
    if math.isfinite(c.seeds_needed) and c.seeds_needed > n:
        return f"not resolved at n={n} seeds (about {int(c.seeds_needed)} would settle it)"
    return f"not resolved at n={n} seeds" + (" (more than 1000 would be needed)" if c.seeds_needed == math.inf else "")


def epochs_text(x: float) -> str:
    """A Kaplan-Meier median in epochs as the report prints it ("never": not reached; "": none)."""
    return "never" if math.isinf(x) else "" if math.isnan(x) else f"{x:g}"
