"""Seeds that never learned: a completed seed at chance accuracy (or a diverged one) is a failed
training, not a low score. Comparisons test accuracy among the seeds that learned; this module words
the failure counts, their 95% interval (Clopper-Pearson) and, where level and reference differ in
failure rate, that finding (Fisher's exact test). No torch here."""

from __future__ import annotations

import math

from scipy import stats as sps

ALPHA = 0.05


def rate_interval(failed: int, run: int) -> tuple[float, float]:
    """Clopper-Pearson 95% interval of a failure rate (nan, nan without seeds)."""
    if run <= 0:
        return float("nan"), float("nan")
    ci = sps.binomtest(failed, run).proportion_ci(0.95, method="exact")
    return float(ci.low), float(ci.high)


def count_text(failed: int, run: int) -> str:
    """'1 of 10 seeds never learned (rate 95% interval 0.003-0.445)'."""
    low, high = rate_interval(failed, run)
    return f"{failed} of {run} seeds never learned (rate 95% interval {low:.3f}-{high:.3f})"


def differ_p(failed: int, run: int, ref_failed: int, ref_run: int) -> float:
    """Fisher's exact two-sided p for equal failure rates of level and reference."""
    if run <= 0 or ref_run <= 0:
        return float("nan")
    return float(sps.fisher_exact([[failed, run - failed], [ref_failed, ref_run - ref_failed]]).pvalue)


def note(failed: int, run: int, ref_failed: int, ref_run: int) -> list[str]:
    """What a verdict says about failed seeds (nothing when none failed on either side)."""
    if not failed and not ref_failed:
        return []
    out = [f"level: {count_text(failed, run)}" if failed else "",
           f"reference: {count_text(ref_failed, ref_run)}" if ref_failed else "",
           "accuracy compared on the seeds that learned"]
    p = differ_p(failed, run, ref_failed, ref_run)
    if not math.isnan(p) and p < ALPHA:
        side = "level" if failed / run > ref_failed / ref_run else "reference"
        out.append(f"the {side} fails more often ({failed}/{run} vs {ref_failed}/{ref_run}, Fisher's exact p={p:.3g}, "
                   "unadjusted)")
    return [x for x in out if x]
