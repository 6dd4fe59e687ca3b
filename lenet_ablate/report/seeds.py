"""seeds=auto: how many seeds each configuration of a sweep needs, planned from the pilot seeds.

The sweep's comparisons (as the report finds them, at the default lr and, for tune=lr, at the tuned
lr) are taken on their first `pilot` seeds only; each gets decide.targets' seeds from its pilot
spread, and its level and its reference the most any of their comparisons needs. Planning from the
pilot alone makes the plan the same on every rerun, and independent of any observed difference.
No torch here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lenet_ablate.report import decide, tuned
from lenet_ablate.report.collect import load_jobs
from lenet_ablate.report.experiments import configurations, experiments, factor_names, level_rows

SEEDS = "seeds.json"


def _pilot_comparisons(runs: Any, baseline: dict[str, str], default: dict[str, Any]) -> list[tuple]:
    """(level config_id, reference config_id, Difference, level name) of every comparison in `runs`."""
    if runs.empty or "config_id" not in runs:
        return []
    configs = configurations(runs, baseline, default)
    if configs.empty:
        return []
    out = []
    for exp in experiments(configs, factor_names(runs)):
        for row in level_rows(exp, runs):
            if "_diff" in row:
                out.append((row["_config_id"], exp["reference"].config_id, row["_diff"], row["configuration"]))
    return out


def seed_targets(sweep: Path, baseline: dict[str, str], default: dict[str, Any], pilot: int, min_effect: float,
                 seeds_max: int, records: list[dict[str, Any]] | None = None,
                 alpha: float = decide.AUTO_ALPHA) -> dict[str, Any]:
    """{"targets": config_id -> seeds wanted, "record": the plan for seeds.json}."""
    runs = tuned.annotate(load_jobs(Path(sweep)), records or [])
    runs = runs[runs.seed.notna() & (runs.seed.astype(float) < pilot)] if "seed" in runs else runs
    views = [("default", tuned.default_view(runs))] + ([("tuned", tuned.tuned_view(runs, records))] if records else [])
    # The tuned view names its runs by their default-lr configuration; their seeds go to the tuned one.
    to_tuned = {r["config_id"]: r["tuned_config_id"] for r in records or []}
    comparisons = []
    for name, view in views:
        rename = to_tuned if name == "tuned" else {}
        comparisons += [(rename.get(level, level), rename.get(ref, ref), d, label, name)
                        for level, ref, d, label in _pilot_comparisons(view, baseline, default)]
    spreads = np.array([c[2].spread for c in comparisons], dtype=float)
    needs = np.atleast_1d(decide.seeds_to_settle(spreads, int(np.sum(spreads > 0)), min_effect, alpha))
    wanted = decide.planned(needs, [c[2].n for c in comparisons], seeds_max)
    targets: dict[str, int] = {}
    rows = []
    for (level, reference, d, name, view), n, need in zip(comparisons, wanted, needs):
        targets[level] = max(targets.get(level, 0), n)
        targets[reference] = max(targets.get(reference, 0), n)
        rows.append({"comparison": name, "lr_view": view, "pilot_seeds": d.n, "pilot_spread": d.spread,
                     "seeds_to_settle": float(need), "seeds_planned": n})
    added = sum(r["seeds_planned"] - r["pilot_seeds"] for r in rows)
    record = {"design": "internal pilot: seeds from the pilot's spread only", "pilot_seeds": pilot,
              "min_effect": min_effect, "seeds_max": seeds_max, "alpha": alpha, "comparisons": rows,
              "summary": f"{len(rows)} comparison(s), {sum(r['seeds_planned'] > r['pilot_seeds'] for r in rows)} "
                         f"with more seeds ({added} seeds added over their levels)"}
    return {"targets": targets, "record": record}
