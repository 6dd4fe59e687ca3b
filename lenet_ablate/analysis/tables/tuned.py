"""Sweeps run with `tune=lr`: which job is a screening run, a default-lr run or a tuned-lr run,
and the two views the report compares (every configuration at its default lr, and at its tuned lr).

The choices come from the sweep's tuning.json (written by the tuning sweeper before the final
runs); the report never re-chooses, so what it shows is what was trained.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pandas as pd

from lenet_ablate.runs.identity import config_id
from lenet_ablate.runs.records import SUMMARY, read_json
from lenet_ablate.runs.layout import TUNING, run_subdir


def _current_id(sweep: Path, job: str, stored: str) -> str:
    """A configuration's id under the current identity scheme, from the config its job stores
    (tuning.json keeps the id of the scheme it was written under)."""
    summary = read_json(Path(sweep) / job / SUMMARY) or {}
    return config_id(summary["config"]) if summary.get("config") else stored


def load_tuning(sweep: Path) -> list[dict[str, Any]]:
    """The tuning records of a sweep folder (none for sweeps run without tune=lr), their ids
    recomputed from the jobs' stored configs (so records of older identity schemes still match).
    One record per configuration: where a sweep was tuned again after an identity-scheme change,
    the file holds its record under both ids, and the latest decision counts."""
    data = read_json(Path(sweep) / TUNING) or {}
    out: dict[str, dict[str, Any]] = {}
    for r in sorted(data.get("configurations", []), key=lambda r: r.get("decided_at", "")):
        example = r.get("example_job", "")
        tuned_job = run_subdir(example, r["chosen_lr"]) if r["chosen_lr"] != r["base_lr"] else example
        config = _current_id(sweep, example, r["config_id"])
        out[config] = {**r, "sweep": Path(sweep).name, "config_id": config,
                       "tuned_config_id": _current_id(sweep, tuned_job, r["tuned_config_id"])}
    return list(out.values())


def annotate(runs: pd.DataFrame, records: list[dict[str, Any]]) -> pd.DataFrame:
    """`runs` with `lr_role` (default, tuned, "default, tuned" where the tuned lr is the default one,
    screening; empty outside tuned sweeps) and the configuration's `selected_lr`."""
    runs = runs.assign(lr_role="", selected_lr=math.nan)
    if not records or "config_id" not in runs:
        return runs
    for r in records:
        in_sweep = runs.sweep == r["sweep"]
        screening = {run["job"] for point in r["grid"] for run in point["runs"]}
        is_default = in_sweep & (runs.config_id == r["config_id"])
        is_tuned = in_sweep & (runs.config_id == r["tuned_config_id"])
        is_screen = in_sweep & runs.job.isin(screening) & ~is_default & ~is_tuned
        runs.loc[is_default | is_tuned | is_screen, "selected_lr"] = r["chosen_lr"]
        runs.loc[is_screen, "lr_role"] = "screening"
        runs.loc[is_default, "lr_role"] = "default"
        runs.loc[is_tuned, "lr_role"] = "tuned"
        runs.loc[is_default & is_tuned, "lr_role"] = "default, tuned"
    return runs


def default_view(runs: pd.DataFrame) -> pd.DataFrame:
    """Every job trained at its configuration's own lr and full budget (screening and tuned-only
    runs left out)."""
    return runs[~runs.lr_role.isin(["screening", "tuned"])]


def tuned_view(runs: pd.DataFrame, records: list[dict[str, Any]]) -> pd.DataFrame:
    """The tuned-lr runs of each tuned configuration, named as that configuration (its default lr
    in the config), so that experiments and labels are those of the default view."""
    by_tuned = {(r["sweep"], r["tuned_config_id"]): r for r in records}
    rows = []
    for _, row in runs[runs.lr_role.str.contains("tuned")].iterrows():
        r = by_tuned[(row.sweep, row.config_id)]
        row = row.copy()
        row["config_id"] = r["config_id"]
        row["_config"], row["_raw"] = (_with_lr(c, r["base_lr"]) for c in (row["_config"], row["_raw"]))
        rows.append(row)
    return pd.DataFrame(rows, columns=runs.columns)


def _with_lr(config: dict[str, Any], lr: float) -> dict[str, Any]:
    config = copy.deepcopy(config)
    config.setdefault("optimizer", {})["lr"] = lr
    return config


def job_name(record: dict[str, Any]) -> str:
    """The folder name of a tuned configuration's first job (its label where no default run exists)."""
    if "example_job" in record:
        return record["example_job"]
    point = record["grid"][0]
    suffix = run_subdir("", point["lr"] if point["lr"] != record["base_lr"] else None,
                        record["screening"]["epochs"] if record["screening"]["epochs"] != record["full_epochs"] else None)
    job = point["runs"][0]["job"]
    return job[: len(job) - len(suffix)] if suffix and job.endswith(suffix) else job


def lr_table(records: list[dict[str, Any]], labels: dict[str, str]) -> pd.DataFrame:
    """Per configuration: default lr, the screening grid's mean validation accuracies, chosen lr."""
    rows = []
    for r in records:
        row = {"configuration": labels.get(r["config_id"], r["config_id"][:8]), "default lr": r["base_lr"]}
        for p in r["grid"]:
            row[f"×{p['scale']:g}"] = (f"{p['mean_val_acc']:.4f}" if p["mean_val_acc"] == p["mean_val_acc"]
                                      else "/".join(run["status"] for run in p["runs"]))
        row.update({"chosen lr": r["chosen_lr"],
                    "screening": f"{r['screening']['epochs']} epochs, seeds {r['screening']['seeds']}",
                    "warning": r.get("warning", "")})
        rows.append(row)
    return pd.DataFrame(rows)
