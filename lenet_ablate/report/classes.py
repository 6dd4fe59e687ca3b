"""The report's per-class section: each configuration's per-class test accuracy with its hardest
class, and for each comparison that differs the classes that move most (descriptive)."""

from __future__ import annotations

import pandas as pd

from lenet_ablate.analysis.tables import classes
from lenet_ablate.report.comparisons import ComparisonRecord
from lenet_ablate.report.render import Report


def _cell(mean: float, low: float, high: float) -> str:
    return f"{mean:.3f}" + ("" if low != low else f" ± {(high - low) / 2:.3f}")


def class_section(rep: Report, configs: pd.DataFrame, learned: pd.DataFrame, names: list[str], blocks: list,
                  csv: list[ComparisonRecord]) -> None:
    """Per configuration: mean ± 95% half-width per class and its hardest class, over its seeds that
    learned (`learned`); per comparison that differs on the primary outcome: the three classes whose
    accuracy moves most."""
    acc = {cid: classes.per_class(learned[learned.config_id == cid]) for cid in configs.config_id}
    rows = []
    for _, conf in configs.sort_values("val_acc", ascending=False).iterrows():
        table = acc[conf.config_id]
        if table.empty:
            continue
        per = classes.class_table(table, names).set_index("class")
        row = {"configuration": conf.configuration, "n": len(table), "hardest": per.index[0]}
        row.update({name: _cell(*per.loc[name, ["mean", "ci95_low", "ci95_high"]]) for name in names if name in per.index})
        rows.append(row)
    if not rows:
        return
    rep.heading("Per-class test accuracy")
    rep.text("Mean ± 95% half-width over the seeds that learned, per class (true class by row of the confusion "
             "matrix); 'hardest': the class with the lowest mean. Descriptive: no family-wise control over classes.")
    rep.table(pd.DataFrame(rows))
    differs = {(r.experiment, str(r.level)) for r in csv if r.lr_view == "default"
               and r.outcome == csv[0].outcome and r.verdict.startswith("differs")}
    lines = []
    for view, exp, _ in blocks:
        factor, ref = exp.factor, exp.reference
        for _, level in exp.members.iterrows():
            if view == "default lr" and (factor, str(level[factor])) in differs:
                text = classes.moves(acc.get(level.config_id, pd.DataFrame()), acc.get(ref.config_id, pd.DataFrame()),
                                     names)
                lines.append(f"- {factor}={level[factor]} vs {ref[factor]}: {text}")
    if lines:
        rep.text("Comparisons that differ: the classes that move most (level − reference, paired by seed; "
                 "descriptive):\n" + "\n".join(lines))
