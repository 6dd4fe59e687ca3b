"""Configurations in TensorBoard: per sweep, one aggregate run per configuration under
<sweep>/_configurations/<name>/ with the mean over its seeds of train/acc, val/acc, train/loss and
val/loss per epoch, the 95% interval across seeds (a configuration of one seed: the mean, as a band of no
width, so that every margin chart finds its tags at any n), HParams (the configuration's factors against
its mean test and validation accuracy and n) and a custom-scalars layout of margin charts, one per
metric and experiment (mean with the interval as the band).

    python -m lenet_ablate.tensorboard [SWEEP_DIR ...]      (make report runs it)

Each run is one event file, written elsewhere and moved into place in one rename under a name that
sorts after the previous one, which is then removed: a kill leaves the old file or the new one (at
worst both, the next run removes the old), and a running TensorBoard moves on to the newer file by
itself, so it shows the new values without a restart (docs/report.md).
"""

from __future__ import annotations

import argparse
import math
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams as hparams_summary

from lenet_ablate.analysis.tables import outcomes
from lenet_ablate.analysis.inference import stats
from lenet_ablate.analysis.inference.secondary import km_median
from lenet_ablate.analysis.tables.experiments import baseline
from lenet_ablate.analysis.tables.collect import STUDY, find_sweeps, load_curves, load_jobs, sweep_names
from lenet_ablate.analysis.tables.tuned import annotate, load_tuning
from lenet_ablate.analysis.tables.experiments import Experiment, completed, configurations, experiments, factor_names
from lenet_ablate.runs.identity import hparams as run_hparams

FOLDER = "_configurations"
EVENTS = "events.out.tfevents.{stamp:020d}.configurations"  # one file per run, its name newer each time
METRICS = ("val/acc", "train/acc", "val/loss", "train/loss")


def folder_name(label: str) -> str:
    """A configuration's label as a folder name ("activation=tanh, optimizer.lr=0.1" -> ...)."""
    return re.sub(r"[^A-Za-z0-9=._-]+", "_", label).strip("_") or "configuration"


def epoch_bands(job_dirs: list[str]) -> pd.DataFrame:
    """Per epoch and metric: mean, 95% interval low/high and n over the jobs' TensorBoard curves."""
    curves = [c for c in map(load_curves, job_dirs) if c is not None]
    if not curves:
        return pd.DataFrame()
    rows = []
    for metric in METRICS:
        table = pd.concat([c[metric] for c in curves if metric in c], axis=1)
        for step, values in table.iterrows():
            mean, _, low, high = stats.mean_ci(values.dropna().to_numpy())
            if math.isnan(low):  # one seed: no interval; the band collapses onto the mean so every chart has its tags
                low = high = mean
            rows.append({"metric": metric, "step": int(step), "mean": mean, "low": low, "high": high,
                         "n": int(values.notna().sum())})
    return pd.DataFrame(rows)


def _layout(exps: list[Experiment]) -> dict[str, dict[str, list]]:
    """The custom-scalars layout: per experiment a category with one margin chart per metric."""
    return {f"experiment: {e.factor}": {
        m: ["Margin", [f"{e.factor}/{m}", f"{e.factor}/{m}/low", f"{e.factor}/{m}/high"]] for m in METRICS}
        for e in exps}


def _write_run(folder: Path, bands: pd.DataFrame, member_of: list[str], hparams: dict[str, Any],
               metrics: dict[str, float], layout: dict | None) -> None:
    """Write one configuration's event file in a scratch folder, then move it into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".write.", dir=folder))
    try:
        writer = SummaryWriter(str(scratch))
        for row in bands.itertuples():
            writer.add_scalar(row.metric, row.mean, row.step)
            for factor in member_of:  # the experiment charts' tags: mean and band
                writer.add_scalar(f"{factor}/{row.metric}", row.mean, row.step)
                writer.add_scalar(f"{factor}/{row.metric}/low", row.low, row.step)
                writer.add_scalar(f"{factor}/{row.metric}/high", row.high, row.step)
        for summary in hparams_summary(hparams, metrics):
            writer.file_writer.add_summary(summary)
        for key, value in metrics.items():
            writer.add_scalar(key, value, 0)
        if layout:
            writer.add_custom_scalars(layout)
        writer.close()
        written = next(scratch.glob("events.out.tfevents*"))
        new = folder / EVENTS.format(stamp=time.time_ns())
        written.replace(new)
        for old in folder.glob("events.out.tfevents*"):  # the previous generation, once the new one is in place
            if old != new:
                old.unlink()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def outcome_means(jobs: pd.DataFrame) -> dict[str, float]:
    """HParams metrics of a configuration for every outcome (analysis.tables.outcomes): the mean over its
    seeds, or for epochs to a target the Kaplan-Meier median (left out while no median is reached)."""
    out = {}
    for o in outcomes.OUTCOMES:
        if o.name not in jobs or o.name == "test_acc" or jobs[o.name].isna().all():
            continue
        if o.method == "log-rank":
            value = km_median(jobs[o.name].astype(float), jobs[f"{o.name}_observed"].astype(bool))
        else:
            value = float(jobs[o.name].astype(float).mean())
        if math.isfinite(value):
            out[f"hparams/{o.name}"] = value
    return out


def write_configurations(sweep: Path, baseline: dict[str, str], default: dict[str, Any]) -> list[Path]:
    """The aggregate runs of one sweep; returns their folders. Folders of configurations no longer
    in the sweep are removed (they are derived data, rebuilt from the jobs)."""
    runs = load_jobs(sweep)
    if runs.empty or "config_id" not in runs:
        return []
    # tune=lr's short screening runs choose an lr; they are not configurations anyone compares.
    runs = runs[annotate(runs, load_tuning(sweep)).lr_role != "screening"]
    configs = configurations(runs, baseline, default)
    done = completed(runs)
    if configs.empty or done.empty:
        return []
    factors = factor_names(runs)
    exps = experiments(configs, factors)
    membership = {cid: [e.factor for e in exps if cid in set(e.members.config_id)] for cid in configs.config_id}
    written, layout_done = [], False
    for _, conf in configs.sort_values("is_baseline", ascending=False).iterrows():
        jobs = done[done.config_id == conf.config_id]
        bands = epoch_bands(list(jobs.job_dir))
        if bands.empty:
            continue
        hparams = {**run_hparams(conf._config, seed=False), "configuration": conf.configuration}
        metrics = {"hparams/test_acc": float(conf.test_acc), "hparams/val_acc": float(conf.val_acc),
                   "hparams/train_acc": float(conf.train_acc),
                   "hparams/n": float(len(jobs)), **outcome_means(jobs)}
        folder = sweep / FOLDER / folder_name(conf.configuration)
        _write_run(folder, bands, membership[conf.config_id], hparams, metrics, None if layout_done else _layout(exps))
        layout_done, written = True, written + [folder]
    for old in (sweep / FOLDER).glob("*"):
        if old.is_dir() and old not in written:
            shutil.rmtree(old, ignore_errors=True)
    return written


def logdir_spec(root: Path = STUDY) -> str:
    """TensorBoard's --logdir_spec for the first view: each sweep's configuration runs, named by the
    sweep ("all:multirun/all/_configurations,..."), so that the margin charts find all their runs
    selected (TensorBoard leaves runs unselected beyond a few dozen, and a study has a run per job);
    `root` itself where no sweep has configurations yet."""
    names = sweep_names([Path(root)])
    spec = [f"{name}:{sweep / FOLDER}" for sweep, name in names.items() if any((sweep / FOLDER).glob("*/events.*"))]
    return ",".join(spec) or str(root)


def main(argv: list[str] | None = None) -> int:
    """Command line; returns the exit status."""
    description = ("Configurations in TensorBoard: one run per configuration under <sweep>/_configurations/ "
                   "(the mean over its seeds, the 95% interval as a band), and a margin-chart layout.")
    parser = argparse.ArgumentParser(prog="python -m lenet_ablate.tensorboard", description=description)
    parser.add_argument("sweeps", nargs="*", type=Path, help="sweep folders (default: every sweep under multirun/)")
    parser.add_argument("--logdir-spec", action="store_true",
                        help="print the --logdir_spec of the configuration runs under multirun/ (make tensorboard)")
    args = parser.parse_args(argv)
    if args.logdir_spec:
        print(logdir_spec(args.sweeps[0] if args.sweeps else STUDY))
        return 0
    sweeps = find_sweeps(args.sweeps or [STUDY])
    if not sweeps:
        print("tensorboard: error: no sweeps found (no Hydra multirun.yaml); run a sweep first", file=sys.stderr)
        return 1
    levels, default = baseline()
    for sweep in sweeps:
        folders = write_configurations(sweep, levels, default)
        print(f"tensorboard: {sweep}: {len(folders)} configurations -> {sweep / FOLDER}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
