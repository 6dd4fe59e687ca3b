"""Learning-rate tuning (`tune=lr`): each configuration's screening grid, the folder of every run,
and the choice of lr from the screening runs' validation accuracy (never test accuracy).

The sweeper that runs the two phases is hydra_plugins/lenet_ablate_tuner; this module holds what
it decides, so the decisions can be tested without Hydra. No torch here.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

from lenet_ablate.runs.layout import TUNING, run_subdir  # noqa: F401 (the tuner's names)
from lenet_ablate.runs.records import SUMMARY, read_json



def lr_value(base: float, scale: float) -> float:
    """base * scale, rounded to 6 significant digits so that equal products give equal configs."""
    return float(f"{base * scale:.6g}")


def with_overrides(job: Sequence[str], **values: Any) -> list[str]:
    """The job's override strings with `key=value` set for each of `values` (keys given with
    `__` for dots: optimizer__lr=0.1), replacing any earlier override of the same key."""
    keys = {k.replace("__", ".") for k in values}
    kept = [o for o in job if o.split("=", 1)[0].lstrip("+~") not in keys]
    return kept + [f"{k.replace('__', '.')}={_quote(v)}" for k, v in values.items()]


def _quote(value: Any) -> str:
    """A Hydra override value: strings quoted (folder names may hold '=' and ',')."""
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return repr(value) if isinstance(value, float) else str(value)


def screening_result(sweep_dir: Path, subdirs: dict[int, str]) -> list[dict[str, Any]]:
    """Per screening seed: seed, folder, status and validation accuracy of its run."""
    out = []
    for seed, sub in subdirs.items():
        s = read_json(Path(sweep_dir) / sub / SUMMARY) or {}
        val = (s.get("metrics") or {}).get("val_acc") if s.get("status") == "completed" else None
        out.append({"seed": seed, "job": sub, "status": s.get("status", "missing"), "val_acc": val})
    return out


def mean_val_acc(runs: list[dict[str, Any]]) -> float:
    """Mean validation accuracy of a grid point; NaN unless every screening run completed (a
    diverged or failed lr is a point of the grid that cannot be chosen)."""
    if not runs or any(r["status"] != "completed" or r["val_acc"] is None for r in runs):
        return math.nan
    return sum(r["val_acc"] for r in runs) / len(runs)


def choose(grid: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The grid point with the highest mean validation accuracy; ties go to the scale nearest 1
    (the configuration's own lr), then the smaller lr. None if no point is eligible."""
    eligible = [p for p in grid if not math.isnan(p["mean_val_acc"])]
    if not eligible:
        return None
    return max(eligible, key=lambda p: (round(p["mean_val_acc"], 12), -abs(math.log(p["scale"])), -p["lr"]))


def decide(base_lr: float, grid: list[dict[str, Any]], scales: Sequence[float]) -> dict[str, Any]:
    """The choice for one configuration and why: chosen lr and scale, and warnings (a choice at the
    edge of the grid means the best lr may lie outside it)."""
    for point in grid:
        point["mean_val_acc"] = mean_val_acc(point["runs"])
    best = choose(grid)
    if best is None:
        return {"chosen_lr": base_lr, "chosen_scale": 1.0,
                "reason": "no lr of the grid completed every screening run; the default lr is kept",
                "warning": "no screening run completed"}
    edge = len(scales) > 1 and best["scale"] in (min(scales), max(scales))
    return {"chosen_lr": best["lr"], "chosen_scale": best["scale"],
            "reason": f"highest mean validation accuracy ({best['mean_val_acc']:.4f}) of {len(grid)} lrs",
            "warning": "chosen lr at the edge of the grid (widen tune.lr_scales)" if edge else ""}


def merge_records(current: list[dict[str, Any]], records: list[dict[str, Any]]) -> dict[str, Any]:
    """The sweep's tuning file, compacted: one record per configuration, the latest decision.
    `current`: the file's records with their ids as of today (report.tuned.load_tuning, which
    recognises records of older identity schemes); `records`: this sweep's new decisions."""
    by_id = {r["config_id"]: {k: v for k, v in r.items() if k != "sweep"} for r in current}
    by_id.update({r["config_id"]: r for r in records})
    return {"criterion": "highest mean validation accuracy over the screening seeds (test accuracy never chooses)",
            "configurations": list(by_id.values())}

