"""Configurations and one-factor experiments, found from the jobs' own configs.

A configuration is a config_id (the resolved config minus seed and bookkeeping). A one-factor
experiment around a baseline configuration B and factor F is every configuration equal to B in
everything but F's config node (lr, epochs, data, model and head included): so runs of other
settings never enter its statistics, however they are named.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from lenet_ablate import compose
from lenet_ablate.runs.identity import comparable, config_hash, factors, flatten, plain, references, same_level

FAILED = ("diverged", "failed", "interrupted")
# A completed seed whose validation accuracy is below 1.5x chance (0.15 for 10 classes) never learned:
# it finished without a NaN, but its numbers say nothing about the design choice.
CHANCE = 0.15


@dataclass(frozen=True)
class Experiment:
    """One-factor experiment: the factor, the reference configuration (a row of the configurations
    table) and every configuration of it, the reference's included."""

    factor: str
    reference: pd.Series
    members: pd.DataFrame


def _classes(done: pd.DataFrame) -> int:
    """Classes of the data set, from a job's confusion matrix (10 where none is stored)."""
    matrices = [m for m in done.get("_confusion", pd.Series(dtype=object)) if isinstance(m, list) and m]
    return len(matrices[0]) if matrices else 10


def completed(runs: pd.DataFrame) -> pd.DataFrame:
    """Completed jobs, each (configuration, seed) once: the same training found in two sweep
    folders (a shared baseline) is one replicate, not two."""
    return runs[runs.status == "completed"].drop_duplicates(subset=["config_id", "seed"])


def factor_names(runs: pd.DataFrame) -> list[str]:
    """The study factors the summaries name, in their order."""
    names: dict[str, None] = {}
    for factors in runs.get("_factors", pd.Series(dtype=object)).dropna():
        names.update(dict.fromkeys(factors))
    return list(names)


def configurations(runs: pd.DataFrame, baseline: dict[str, str], default: dict[str, Any]) -> pd.DataFrame:
    """One row per configuration: its label, levels, config, job counts by status and the
    completed seeds' mean accuracies. The label names what differs from the reference baseline:
    among configurations with the baseline's levels, the one closest to `default` (the config
    conf/config.yaml composes), then the one with most jobs."""
    jobs = runs[runs.config_id.notna()] if "config_id" in runs else runs.iloc[0:0]
    factors = factor_names(runs)
    rows = []
    for cid, g in jobs.groupby("config_id", sort=False):
        done = completed(g)
        row = {"config_id": cid, "_config": g["_config"].iloc[0], "_raw": g["_raw"].iloc[0], "jobs": len(g),
               **{f: g[f].iloc[0] for f in factors if f in g},
               **{s: int((g.status == s).sum()) for s in ("completed", *FAILED)},
               "seeds": sorted(int(x) for x in done.seed.dropna())}
        for split in ("train", "val", "test"):
            row[f"{split}_acc"] = done[f"{split}_acc"].astype(float).mean() if len(done) else math.nan
            row[f"{split}_acc_std"] = done[f"{split}_acc"].astype(float).std(ddof=1) if len(done) > 1 else math.nan
        improving = done.best_epoch.notna() & (done.best_epoch == done.epochs) & (done.epochs == done.max_epochs)
        row["still_improving"] = bool(len(done) and improving.sum() * 2 > len(done))
        row["at_chance"] = int((done.val_acc.astype(float) < CHANCE * 10 / _classes(done)).sum())
        row["max_epochs"] = done.max_epochs.max() if len(done) else math.nan
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    baseline = {**baseline, **swept_references(table._config)}
    # Baseline candidates: the configurations closest to the baseline's levels (all of them, where
    # some configuration has them; a sweep of a user's own option has none that do).
    matches = table.apply(lambda r: sum(r.get(f) is None or same_level(r.get(f), v) for f, v in baseline.items()),
                          axis=1)
    is_base = matches == matches.max()
    table["is_baseline"] = is_base
    table["_distance"] = [len(_differences(c, default, [])) for c in table._config]
    candidates = table[is_base] if is_base.any() else table
    reference = candidates.sort_values(["_distance", "jobs"], ascending=[True, False]).iloc[0]
    # Name factors outside the baseline's (a user's own) only where they vary: summaries of older
    # versions list data and model as factors too.
    named = [f for f in factors if f in baseline or (f in table and table[f].nunique() > 1)]
    table["configuration"] = _distinct([_label(r, reference, named, baseline) for _, r in table.iterrows()],
                                       list(table._config), list(table.config_id))
    table["warnings"] = table.apply(warnings, axis=1)
    return table


def swept_references(configs: pd.Series) -> dict[str, str]:
    """The reference level of each key a sweep made a factor (`model.width`), as its jobs record it."""
    out: dict[str, str] = {}
    for config in configs:
        out.update(references(config or {}))
    return out


def _differences(config: dict[str, Any], other: dict[str, Any], skip: list[str]) -> list[str]:
    """"key=value" for each setting of `config` that `other` has with another value (settings only
    one of them has, from another code version, are not differences); `skip`: nodes left out."""
    mine, theirs = (flatten(comparable(c, ("seed", *skip))) for c in (config, other))
    return [f"{k}={mine[k]}" for k in sorted(set(mine) & set(theirs)) if mine[k] != theirs[k]]


def _distinct(labels: list[str], configs: list[dict], ids: list[str]) -> list[str]:
    """Labels that several configurations share get the settings in which each differs from the
    others (Adam at its default and at its tuned lr: `optimizer.lr=0.002` / `0.004`); a short config
    id where even that leaves two alike."""
    out = list(labels)
    for i, label in enumerate(labels):
        twins = [j for j, other in enumerate(labels) if other == label and j != i]
        diffs = sorted({d for j in twins for d in _differences(configs[i], configs[j], [])})
        if twins and label != "baseline":  # the reference keeps its name
            out[i] = ", ".join([label, *diffs])
    return [f"{label} [{ids[i][:6]}]" if out.count(label) > 1 else label for i, label in enumerate(out)]


def _label(row: pd.Series, reference: pd.Series, factors: list[str], baseline: dict[str, str]) -> str:
    """Factor levels other than the baseline's, then other settings that differ from the reference."""
    levels = [f"{f}={row[f]}" for f in factors if isinstance(row.get(f), str) and not same_level(row[f], baseline.get(f))]
    changed = [f for f in factors if row.get(f) != reference.get(f)]
    return ", ".join(levels + _differences(row["_config"], reference["_config"], changed)) or "baseline"


def warnings(row: pd.Series) -> str:
    """Warnings a reader must see beside a configuration's numbers."""
    out = [f"{row[s]} {s}" for s in FAILED if row.get(s)]
    if row.get("at_chance"):
        out.append(f"{row['at_chance']} seed(s) never learned (validation accuracy near chance)")
    if row.get("still_improving"):
        out.append(f"still improving at {int(row['max_epochs'])} epochs")
    return "; ".join(out)


def rank(configs: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(best, worst) configuration. Best: highest mean validation accuracy among configurations with
    no diverged, failed or interrupted seed. Worst: a configuration with the largest share of such
    seeds if any has one, else the lowest mean validation accuracy. Test accuracy never ranks."""
    clean = configs[configs[list(FAILED)].sum(axis=1) == 0]
    pool = clean if not clean.empty else configs
    best = pool.sort_values("val_acc", ascending=False, na_position="last").iloc[0]
    share = configs[list(FAILED)].sum(axis=1) / configs.jobs
    if (share > 0).any():
        worst = configs.assign(_share=share).sort_values(["_share", "val_acc"], ascending=[False, True]).iloc[0]
    else:
        worst = configs.sort_values("val_acc").iloc[0]
    return best, worst


def experiments(configs: pd.DataFrame, factors: list[str]) -> list[Experiment]:
    """One-factor experiments: for each baseline configuration B and factor F, the configurations
    equal to B except in F's node, when they hold two or more levels of F. Configs are compared
    unresolved where the summaries have that, so a setting an option sets by interpolation
    (`data.batch_size: ${batching.size}`) belongs to its factor."""
    found, seen = [], set()
    # Each configuration's identity without one factor's node, hashed once per factor.
    without = {f: pd.Series([config_hash(c, ignore=("seed", f)) for c in configs._raw], index=configs.index)
               for f in factors}
    bases = configs[configs.is_baseline].sort_values(["_distance", "jobs"], ascending=[True, False])
    for i, base in bases.iterrows():
        for factor in factors:
            same = without[factor] == without[factor][i]
            # Other settings inside the factor's own node (e.g. another sgd lr) are not levels.
            members = configs[same & ((configs[factor] != base[factor]) | (configs.config_id == base.config_id))]
            ids = frozenset(members.config_id)
            if members[factor].nunique() < 2 or (factor, ids) in seen:
                continue
            seen.add((factor, ids))
            found.append(Experiment(factor, base, members))
    return found


def learned_threshold(done: pd.DataFrame) -> float:
    """Validation accuracy below which a completed seed never learned (1.5x chance)."""
    return CHANCE * 10 / _classes(done)


def learned_seeds(done: pd.DataFrame) -> pd.DataFrame:
    """The completed jobs whose seed learned (validation accuracy at least 1.5x chance)."""
    return done[done.val_acc.astype(float) >= learned_threshold(done)]


def baseline() -> tuple[dict[str, str], dict]:
    """The study baseline's factor levels and resolved config, from conf/config.yaml's defaults."""
    cfg = compose()
    return factors(cfg), plain(cfg)
