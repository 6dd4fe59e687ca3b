"""Collecting a report's input: sweep folders, one row per job from its summary.json, and the
per-epoch curves from its TensorBoard event file."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from omegaconf import OmegaConf
from tbparse import SummaryReader

from lenet_ablate.runs.guard import locked_elsewhere
from lenet_ablate.runs.identity import config_id, network_keys
from lenet_ablate.analysis.tables.outcomes import TARGET, History, JobRecord, measure_all, wall_sec_per_epoch
from lenet_ablate.runs.expansion import expand_config
from lenet_ablate.runs.layout import HISTORY
from lenet_ablate.runs.records import SUMMARY, read_json

SPLITS = ["train", "val", "test"]
STUDY = Path("multirun")  # make report's default folder (the study_dir default)
RUNNING_NOW = "running now (another process holds its lock)"
KILLED = "interrupted: killed while running (its summary still says 'running'; no process holds its lock)"


def find_sweeps(paths: list[Path]) -> list[Path]:
    """Sweep folders (holding Hydra's multirun.yaml) at or under each of `paths`."""
    return list(sweep_names(paths))


def sweep_names(paths: list[Path], study: Path = STUDY) -> dict[Path, str]:
    """Each sweep folder at or under `paths` and its report's name: its path under the folder it
    was found in, "/" as "_" (multirun/2026-12-01/21-47-08 -> 2026-12-01_21-47-08); a sweep given
    itself: its path under `study` (make report's default folder) where it lies there, else its own
    name. The name depends on the sweep alone, never on which other sweeps exist."""
    names: dict[Path, str] = {}
    for path in paths:
        if (path / "multirun.yaml").is_file():
            names.setdefault(path, _own_name(Path(path).resolve(), Path(study).resolve()))
        elif path.is_dir():
            for found in sorted(p.parent for p in path.rglob("multirun.yaml") if HISTORY not in p.parts):
                names.setdefault(found, "_".join(found.relative_to(path).parts))
    return names


def _own_name(sweep: Path, study: Path) -> str:
    """A sweep given itself: named as make report names it when it lies under `study`."""
    if sweep.is_relative_to(study) and sweep != study:
        return "_".join(sweep.relative_to(study).parts)
    return sweep.name


def _asked(sweep: Path) -> tuple[set[str], set[frozenset[str]]]:
    """The swept "key=value" items and the jobs (sets of them) asked for by every invocation of the
    sweep: each recorded in <sweep>/.sweeps/, and the last one's multirun.yaml."""
    items: set[str] = set()
    jobs: set[frozenset[str]] = set()
    for path in [*sorted((sweep / HISTORY).glob("*.yaml")), sweep / "multirun.yaml"]:
        try:
            expansion = expand_config(OmegaConf.load(path))
            swept = {item for axis in expansion.axes if len(axis.items) > 1 for item in axis.items}
            asked = [frozenset(o for o in job if o in swept) for job in expansion.jobs()]
        except Exception:  # an old or hand-edited file: no "never started" rows from it
            continue
        items.update(swept)
        jobs.update(asked)
    return items, jobs


def job_row(job: Path, sweep_name: str) -> dict[str, Any]:
    """One job's row: status, factor levels, identities, metrics; `_config` and `_confusion` are
    internal columns (the resolved config and the confusion matrix)."""
    s = read_json(job / SUMMARY)
    row: dict[str, Any] = {"sweep": sweep_name, "job": job.name, "job_dir": str(job)}
    if s is None:
        return {**row, "status": "missing", "error": "no summary.json (the job never finished)"}
    status = s.get("status", "missing")
    config = s.get("config") or {}
    git = s.get("git") or {}
    unfinite = non_finite(s.get("metrics") or {}) if status == "completed" else ""
    if unfinite:  # written before jobs checked their losses: diverged, as a job records it today
        status, s = "diverged", {**s, "error": f"non-finite {unfinite} (recorded 'completed' by an older version)"}
    running_now = status == "running" and locked_elsewhere(job)
    # A 'running' summary whose lock is free: its process died mid-job (killed), so it was interrupted.
    row.update(status="missing" if running_now else "interrupted" if status == "running" else status,
               **(s.get("factors") or {}),
               seed=s.get("seed"), epochs=s.get("epochs"), best_epoch=s.get("best_epoch"),
               max_epochs=(config.get("trainer") or {}).get("max_epochs"),
               lr=(config.get("optimizer") or {}).get("lr"), wall_time_s=s.get("wall_time_s"),
               job_id=s.get("job_id", s.get("config_hash")),
               config_id=config_id(config) if config else s.get("config_id"),
               version=s.get("version"), git_commit=git.get("commit"), git_dirty=git.get("dirty"),
               error=s.get("error"), _config=config, _raw=s.get("config_unresolved") or config,
               _factors=list((s.get("factors") or {}).keys()))
    if status == "running":
        row["error"] = RUNNING_NOW if running_now else KILLED
    for split in SPLITS:
        for metric in ("acc", "loss"):
            row[f"{split}_{metric}"] = (s.get("metrics") or {}).get(f"{split}_{metric}")
    row["_confusion"] = s.get("confusion_matrix")
    row.update(_network_columns(s, config))
    if status == "completed":
        row.update(_outcomes(job, s, config))
    return row


def non_finite(metrics: dict[str, Any]) -> str:
    """The metrics of a summary that are not finite numbers ('' where all are)."""
    bad = []
    for key, value in metrics.items():
        try:
            if not math.isfinite(float(value)):
                bad.append(f"{key}={value}")
        except (TypeError, ValueError):
            bad.append(f"{key}={value!r}")
    return ", ".join(bad)


def environment_label(env: dict[str, Any] | None) -> str:
    """One line naming a job's numeric environment (training.numerics: 'AMD EPYC (AVX2), 1
    thread(s)'); 'not recorded' for summaries written before 0.7."""
    if not env:
        return "not recorded"
    pins = ", ".join(f"{k}={v}" for k, v in sorted((env.get("pins") or {}).items()))
    kernels = ", portable mode" if env.get("portable") else f", pinned {pins}" if pins else ""
    return f"{env.get('cpu_model')} ({env.get('cpu_capability')}), {env.get('threads')} thread(s){kernels}"


def _network_columns(summary: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """The network (`model`: its name and own keys), its trainable parameters and what it took, and
    the data (name, root, MD5 of the images as decoded): summaries before 0.7 were LeNet-5 on idx files."""
    keys = network_keys(config) if config else {}
    net = summary.get("network") or {}
    data = summary.get("data_set") or {}
    own = ", ".join(f"{k.split('.', 1)[1]}={v}" for k, v in keys.items() if k != "model")
    return {"model": keys.get("model"), "model_keys": own,
            "parameters": net.get("parameters", (summary.get("parameters") or {}).get("total")),
            "model_takes": " ".join(net["takes"]) if "takes" in net else None,
            "data": (config.get("data") or {}).get("name"), "data_root": (config.get("data") or {}).get("root"),
            "data_md5": data.get("md5"), "_classes": data.get("classes"),
            "numeric_env": environment_label(summary.get("numeric_env"))}


def _outcomes(job: Path, summary: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """Every outcome of a completed job (outcomes.OUTCOMES), from the history its summary holds or,
    for a summary written before histories were recorded, from its TensorBoard curves; plus where
    its timings come from: the host, threads, usable CPUs and the machine's load (the median of its
    epochs'), and its median wall seconds per epoch (described, not judged)."""
    history = History.from_summary(summary) or History.from_curves(load_curves(str(job)),
                                                                   summary.get("epoch_times_s"))
    record = JobRecord(summary.get("metrics") or {}, history,
                       int((config.get("trainer") or {}).get("max_epochs") or 0), summary.get("wall_time_s"))
    target = float(config.get("convergence_target", TARGET))
    return {**measure_all(record, target), "sec_per_epoch": wall_sec_per_epoch(record, target).value,
            "host": summary.get("host", "not recorded"), "threads": summary.get("threads"),
            "cpus": summary.get("cpus"), "load": history.median_load() if history else None, "_history": history}


def load_jobs(sweep: Path) -> pd.DataFrame:
    """One row per job of a sweep, including jobs that any invocation of the sweep asked for but that
    never started (missing)."""
    swept, asked = _asked(sweep)
    rows, seen = [], set()
    for hydra_dir in sorted(sweep.glob("*/.hydra")):
        rows.append(job_row(hydra_dir.parent, sweep.name))
        try:
            overrides = yaml.safe_load((hydra_dir / "overrides.yaml").read_text()) or []
        except (OSError, yaml.YAMLError):
            continue
        seen.add(frozenset(o for o in overrides if o in swept))
    for combo in sorted(asked, key=sorted):
        if combo not in seen:
            rows.append({"sweep": sweep.name, "job": ",".join(sorted(combo)), "job_dir": str(sweep),
                         "status": "missing", "error": "never started"})
    for row in rows:
        for events in sorted(Path(row["job_dir"]).glob("tb/events.out.tfevents*")):
            if not event_file_complete(events):
                print(f"report: warning: {events} is truncated (partial last record); its curves may end early")
                row["error"] = (row.get("error") or "") + f" truncated event file {events.name}"
    return pd.DataFrame(rows)


def event_file_complete(path: Path) -> bool:
    """True if a TensorBoard event file ends on a whole record (TFRecord framing: 8-byte length,
    4-byte CRC, payload, 4-byte CRC); a killed writer leaves a partial last record."""
    size, pos = path.stat().st_size, 0
    with open(path, "rb") as f:
        while pos < size:
            header = f.read(8)
            if len(header) < 8:
                return False
            pos += 16 + int.from_bytes(header, "little")
            f.seek(pos)
    return pos == size


def load_curves(job_dir: str) -> pd.DataFrame | None:
    """Per-epoch train/val accuracy and loss of one job from its TensorBoard run (None if unreadable)."""
    tb = Path(job_dir) / "tb"
    if not tb.is_dir():
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scalars = SummaryReader(str(tb)).scalars
    except Exception:
        return None
    if scalars.empty:
        return None
    keep = scalars[scalars.tag.isin(["train/acc", "train/loss", "val/acc", "val/loss"])]
    return keep.pivot_table(index="step", columns="tag", values="value", aggfunc="last")
