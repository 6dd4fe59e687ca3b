"""Multirun sweeps: the jobs a sweep asks for, checking them all before the first trains, progress
lines while it runs, and counting their outcomes."""

from __future__ import annotations

import time
from pathlib import Path

from hydra import compose
from omegaconf import DictConfig, OmegaConf

from lenet_ablate.errors import ConfigError, SweepError
from lenet_ablate.runs.expansion import expand_config
from lenet_ablate.runs.layout import HISTORY
from lenet_ablate.study.networks import check_networks
from lenet_ablate.runs.guard import conflict, locked_elsewhere, refuse_message
from lenet_ablate.runs.records import SUMMARY, atomic_write_text, read_json, write_json

def validate_sweep(config: DictConfig) -> int:
    """Compose and validate every job of a multirun before the first one trains, and refuse to
    start if any job folder holds a completed result of another configuration, or if a network
    cannot be built or would not take a factor the sweep varies. Returns the number of jobs; raises
    SweepError (or DataError for data that cannot be read)."""
    from lenet_ablate.config import validate  # the torch boundary: this layer imports torch only here

    combos, conflicts, typed_jobs = expand_config(config).jobs(), [], []
    for combo in combos:
        try:
            job = compose(config_name=config.hydra.job.config_name, overrides=combo, return_hydra_config=True)
            typed = validate(job)
        except ConfigError as exc:
            raise SweepError(f"{exc} (job {' '.join(combo)})") from None
        except Exception as exc:  # Hydra's own: a key or option that does not exist
            raise SweepError(composition_error(exc)) from None
        typed_jobs.append(typed)
        blocked = conflict(Path(config.hydra.sweep.dir) / job.hydra.sweep.subdir, typed)
        if blocked:
            conflicts.append(blocked)
    if conflicts:
        raise SweepError(refuse_message(conflicts))
    if len({bool(job.trainer.portable) for job in typed_jobs}) > 1:
        # The kernel pins are set once for the sweep's processes; a job cannot undo them.
        raise SweepError("trainer.portable cannot differ between the jobs of one sweep: run one sweep each.")
    check_networks(typed_jobs)
    return len(combos)


class Progress:
    """`[job k/N] <folder> <event> | elapsed, ETA` lines. The sweep's size, start and parallelism
    live in <sweep dir>/.progress.json (written atomically by the sweep's process, read by every
    job), so jobs in other processes (joblib, Slurm) always print the current total. The ETA is the
    mean wall time of the jobs trained since the sweep started, by any process (read from their
    summaries), times the jobs left, over the parallel jobs."""

    FILE = ".progress.json"

    def start(self, sweep_dir: Path, total: int, parallel: int = 1) -> None:
        write_json(Path(sweep_dir) / self.FILE, {"total": total, "started": time.time(), "parallel": parallel})

    def resize(self, sweep_dir: Path, total: int) -> None:
        """A new job count for the running sweep (tune=lr and seeds=auto know it phase by phase)."""
        state = read_json(Path(sweep_dir) / self.FILE) or {"started": time.time(), "parallel": 1}
        write_json(Path(sweep_dir) / self.FILE, {**state, "total": total})

    def line(self, sweep_dir: Path, k: int, folder: Path, event: str, duration: float | None = None) -> str:
        state = read_json(Path(sweep_dir) / self.FILE) or {"total": 0, "started": time.time(), "parallel": 1}
        total, started, parallel = int(state["total"]), float(state["started"]), max(1, int(state["parallel"]))
        times = trained_times(Path(sweep_dir), started)
        left = max(0, total - k) + (event == "started")
        eta = _clock(sum(times) / len(times) * left / parallel) if times else "after the first job"
        took = f" in {_clock(duration)}" if duration is not None else ""
        return (f"[job {k}/{total}] {folder} {event}{took} | elapsed {_clock(time.time() - started)}, "
                f"ETA {eta if left else 'done'}")


def trained_times(sweep_dir: Path, since: float) -> list[float]:
    """Wall times of the sweep's jobs trained (not skipped) since `since` (epoch seconds)."""
    times = []
    for path in Path(sweep_dir).glob(f"*/{SUMMARY}"):
        if path.stat().st_mtime < since:
            continue
        s = read_json(path) or {}
        if s.get("action") == "trained" and s.get("wall_time_s") is not None:
            times.append(float(s["wall_time_s"]))
    return times


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m{secs:02d}s"


progress = Progress()


def count_jobs(sweep_dir: Path, since: float = 0.0) -> dict[str, int]:
    """Count the jobs of a sweep folder visited since `since` (epoch seconds) by outcome."""
    counts = {"completed": 0, "diverged": 0, "failed": 0, "skipped": 0, "interrupted": 0, "running elsewhere": 0}
    # File times, not the summaries' second-resolution timestamps: a rerun that starts within the
    # second the last one ended (in-process, or a fast machine) still tells skipped from trained.
    for hydra_dir in sweep_dir.glob("**/.hydra"):
        job = hydra_dir.parent
        if (hydra_dir / "config.yaml").stat().st_mtime < since:
            continue  # an older job of the same folder, not part of this sweep
        s = read_json(job / SUMMARY)
        if locked_elsewhere(job):
            status = "running elsewhere"
        elif s is None:
            status = "failed"
        elif s["status"] == "completed" and (job / SUMMARY).stat().st_mtime < since:
            status = "skipped"  # completed before this sweep started: its summary was not rewritten
        else:
            status = s["status"]
        counts[status if status in counts else "failed"] += 1
    return counts


def record_invocation(config: DictConfig) -> Path:
    """Keep this invocation's multirun config as <sweep>/.sweeps/<time>.yaml (atomically), beside
    Hydra's multirun.yaml, which the next invocation into the same folder overwrites: the report
    judges "never started" against every invocation's jobs."""
    folder = Path(config.hydra.sweep.dir) / HISTORY
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (time.strftime("%Y-%m-%d_%H-%M-%S") + f"_{time.time_ns() % 10**9:09d}.yaml")
    atomic_write_text(path, OmegaConf.to_yaml(config))
    return path


def composition_error(exc: BaseException) -> str:
    """Hydra's error for a key or option that does not exist, in two lines at most (its message
    and the cause OmegaConf gives, without the full-key and type lines)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    cause = exc.__cause__ or exc.__context__
    if cause is not None and str(cause).strip():
        lines.append(str(cause).strip().splitlines()[0])
    lines = [line for line in dict.fromkeys(lines) if not line.startswith(("full_key:", "object_type=", "reference_type="))]
    return " ".join(lines[:2]) + ". Nothing was trained."
