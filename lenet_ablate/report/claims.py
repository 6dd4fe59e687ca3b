"""The published Fashion-MNIST ablation this project reproduces (one run per setting), claim by
claim, against this study: at the default lr and, where the study was tuned, at each level's own lr.

Published: best model ReLU + max pooling + SGD + augmentation at 0.909 test accuracy; worst model
tanh (+ max pooling, SGD, augmentation) at 0.775. The other claims are the published best model's
choices read as comparisons (max over average pooling, SGD over RMSprop and Adam, no dropout over
dropout 0.5, augmentation over none).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from lenet_ablate.analysis.tables.level_rows import LevelRow, View, interval_text
from lenet_ablate.report.published import Evidence, published_rows, where_in

PUBLISHED_BEST, PUBLISHED_WORST = 0.909, 0.775

# (claim, factor, level compared with the baseline's level, the published number or reading,
#  the sign the difference level - baseline must have for the claim to hold)
# The published difference where there is one (tanh: 0.775 - 0.909).
MAGNITUDE = {("activation", "tanh"): -0.134}
COMPARISONS = [
    ("tanh is worse than ReLU", "activation", "tanh", "tanh 0.775 vs ReLU 0.909 (-0.134)", -1, "tanh − ReLU"),
    ("max pooling beats average pooling", "pooling", "avg", "best model uses max pooling", -1, "avg − max"),
    ("SGD beats Adam", "optimizer", "adam", "best model uses SGD", -1, "Adam − SGD"),
    ("SGD beats RMSprop", "optimizer", "rmsprop", "best model uses SGD", -1, "RMSprop − SGD"),
    ("no dropout beats dropout 0.5", "dropout", "p0.5", "best model has no dropout", -1, "dropout 0.5 − none"),
    ("augmentation helps", "augmentation", "none", "best model uses augmentation", -1, "no augmentation − augmentation"),
]


def _interval(row: LevelRow) -> str:
    return f"{row.mean:.4f} [{row.ci95_low:.4f}, {row.ci95_high:.4f}], n={row.n}"


def _number_claim(claim: str, published: float, level: LevelRow | None, rank_text: str, view: str) -> dict[str, Any]:
    if level is None or level.mean != level.mean:
        return {"claim": claim, "published": f"{published:.3f}", "lr": view, "this study": "not in this study",
                "p adjusted": "", "verdict": "not tested"}
    where = where_in(published, level.ci95_low, level.ci95_high)
    return {"claim": claim, "published": f"{published:.3f}", "lr": view, "this study": _interval(level),
            "p adjusted": "",
            "verdict": f"{published:.3f} is {where} our 95% interval; {rank_text}"}


def _comparison_claim(claim: str, published: str, row: LevelRow | None, sign: int, what: str,
                      view: str, magnitude: float | None = None) -> dict[str, Any]:
    if row is None or row.judged is None:
        return {"claim": claim, "published": published, "lr": view, "this study": "not in this study",
                "p adjusted": "", "verdict": "not tested"}
    j, d = row.judged, row.diff
    significant = j.p_adj == j.p_adj and j.p_adj < j.alpha
    outside = magnitude is not None and d.low == d.low and not d.low <= magnitude <= d.high
    size = (f"; the published {magnitude:+.3f} is outside our interval [{d.low:+.4f}, {d.high:+.4f}]"
            if outside else "")
    if significant and d.diff * sign > 0:
        verdict = "holds in direction" + size if outside else "holds"
    elif significant:
        verdict = "contradicted" + size
    elif j.verdict.startswith("no difference larger than"):
        settled = j.verdict.split(";")[0]
        verdict = (f"contradicted: {settled}{size}" if outside else
                   f"not supported: {settled} (a smaller difference is not ruled out)")
    elif outside:  # not resolved in direction, but the published size is ruled out
        verdict = f"contradicted in size{size}; the direction is not resolved"
    else:
        mdd = j.detectable_80
        verdict = ("not resolved: " + (f"only differences over {mdd:.3f} had 80% power" if not math.isnan(mdd)
                                       and mdd < 1 else "too few seeds to detect any difference at 80% power"))
    return {"claim": claim, "published": published, "lr": view,
            "this study": f"{what}: {d.diff:+.4f} {interval_text(d.low, d.high)}, n={row.n}",
            "p adjusted": f"{j.p_adj:.4f}" if j.p_adj == j.p_adj else "", "verdict": verdict}


def claims_table(views: dict[str, View], evidence: Evidence | None = None) -> pd.DataFrame:
    """One row per claim and lr view (the experiments around the baseline, with the best and worst
    configurations by validation accuracy); `evidence`: what the claims about training speed,
    classes and the published numbers need (published.py)."""
    rows = []
    for view, v in views.items():
        levels = v.levels
        best, worst = v.best.configuration, v.worst.configuration
        rows.append(_number_claim("best model: ReLU + max pooling + SGD + augmentation", PUBLISHED_BEST,
                                  v.reference, "it is our best by validation accuracy" if best == "baseline"
                                  else f"our best by validation accuracy is {best}", view))
        rows.append(_number_claim("worst model: tanh", PUBLISHED_WORST, levels.get(("activation", "tanh")),
                                  "it is our worst by validation accuracy" if worst == "activation=tanh"
                                  else f"our worst by validation accuracy is {worst}", view))
        for claim, factor, level, published, sign, what in COMPARISONS:
            rows.append(_comparison_claim(claim, published, levels.get((factor, level)), sign, what, view,
                                          MAGNITUDE.get((factor, level))))
    if evidence is not None:
        rows += published_rows(evidence)
    order = {claim: i for i, claim in enumerate(dict.fromkeys(r["claim"] for r in rows))}
    return pd.DataFrame(sorted(rows, key=lambda r: order[r["claim"]]))
