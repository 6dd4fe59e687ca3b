"""Command line: `python -m lenet_ablate [group=option ...] [-m]` (Hydra)."""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from lenet_ablate import config_dir
from lenet_ablate.study.cluster import granted_cpus, quiet_sacct
from lenet_ablate.config import validate
from lenet_ablate.errors import ConfigError, DataError, Interrupted, LenetAblateError, ResultExists
from lenet_ablate.study.sweeps import count_jobs, progress, validate_sweep


def _quiet_libraries() -> None:
    # Lightning's start-up banners and hints are noise in a sweep of dozens of jobs.
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*GPU available but not used.*")
    warnings.filterwarnings("ignore", ".*isinstance.treespec.*")
    # Lightning's advice to wrap a job in `srun` on any machine that has Slurm installed.
    warnings.filterwarnings("ignore", ".*The `srun` command is available on your system.*")


def _parallel_settings(hc: Any) -> tuple[int | None, Any]:
    """Threads per job (and GPU) when jobs share a machine: under Slurm the CPUs the job was
    granted; with the joblib launcher cores / n_jobs and one GPU per job."""
    slurm = granted_cpus()
    if slurm:
        return slurm, None  # Slurm assigns the job its GPUs (CUDA_VISIBLE_DEVICES)
    launcher = str(hc.launcher.get("_target_", ""))
    if "Joblib" not in launcher:
        return None, None
    n_jobs = hc.launcher.get("n_jobs", -1) or 1
    cores = os.cpu_count() or 1
    n_jobs = cores if n_jobs < 0 else n_jobs
    threads = max(1, cores // max(1, n_jobs))
    devices = None
    try:
        import torch

        if torch.cuda.device_count() > 1:  # one GPU per job, round robin
            devices = [hc.job.num % torch.cuda.device_count()]
    except Exception:
        pass
    return threads, devices


def fail(message: str, code: int = 2) -> None:
    """Print a user error in one short block and exit without a traceback."""
    print(f"lenet_ablate: error: {message}", file=sys.stderr)
    sys.exit(code)


def format_line(s: dict[str, Any]) -> str:
    """The one-line summary printed after each job."""
    m = s.get("metrics") or {}
    acc = " ".join(f"{k} {m[k + '_acc']:.4f}" for k in ("train", "val", "test") if k + "_acc" in m)
    extra = f" ({s['error']})" if s.get("error") else ""
    if s["status"] == "running elsewhere":
        return f"[running elsewhere] another process trains this job now | logs: {s['job_dir']}"
    return (f"[{s['status']}{', skipped' if s.get('action') == 'skipped' else ''}] {acc} | "
            f"epochs {s.get('epochs', '-')} | {s.get('wall_time_s', 0):.1f}s | logs: {s['job_dir']}{extra}")


def check_output_dirs(argv: list[str]) -> None:
    """Stop early, with a short error, when hydra.run.dir / hydra.sweep.dir cannot be created."""
    for arg in argv:
        key, _, value = arg.partition("=")
        if key.lstrip("+") not in ("hydra.run.dir", "hydra.sweep.dir") or not value:
            continue
        existing = Path(value).absolute()
        while not existing.exists():
            existing = existing.parent
        if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
            fail(f"{key}={value}: cannot create the output folder ({existing} is "
                 f"{'not a folder' if not existing.is_dir() else 'not writable'}).")


def say(line: str) -> None:
    """One line to stdout in a single write, so that jobs running side by side (joblib workers
    sharing the terminal) never splice their lines together."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> None:
    """Entry point: `python -m lenet_ablate [overrides]` (see --help). Errors raised inside Hydra's
    sweep (the sweeper, the sweep checks) are let through Hydra's own reporting (HYDRA_FULL_ERROR,
    for this call only) so that they get the same short message and exit status as a job's."""
    check_output_dirs(sys.argv[1:])
    saved = os.environ.get("HYDRA_FULL_ERROR")
    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        _task()
    except LenetAblateError as exc:
        fail(str(exc), exc.exit_code)
    except (HydraException, OmegaConfBaseException) as exc:
        if saved == "1":
            raise
        print(str(exc), file=sys.stderr)  # as Hydra reports its own errors: message, cause, exit 1
        if isinstance(exc.__cause__, OmegaConfBaseException):
            print(str(exc.__cause__), file=sys.stderr)
        sys.exit(1)
    finally:
        if saved is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = saved


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="config")
def _task(cfg: DictConfig) -> None:
    """Train one configuration (one Hydra job) and print its one-line summary."""
    from lenet_ablate.training.job import run_job  # heavy: after Hydra parsed the command line

    hc = HydraConfig.get()
    try:
        cfg = validate(cfg, hc.runtime.choices)  # typed: equal trainings get equal ids (0 and 0.0 alike)
    except ConfigError as exc:
        fail(str(exc), exc.exit_code)
    _quiet_libraries()
    multirun = hc.mode == RunMode.MULTIRUN
    threads, devices = _parallel_settings(hc) if multirun else (None, None)
    job_dir = Path(hc.runtime.output_dir)
    if multirun:
        say(progress.line(Path(hc.sweep.dir), hc.job.num + 1, job_dir, "started"))
    try:
        summary = run_job(cfg, job_dir, quiet=multirun, threads=threads, devices=devices)
    except (DataError, ResultExists) as exc:
        fail(str(exc), exc.exit_code)
    except OSError as exc:  # disk full, folder removed or made read-only under us
        fail(f"cannot write the run's files under {hc.runtime.output_dir}: {exc}")
    except Interrupted as exc:
        print(f"lenet_ablate: interrupted ({exc}); summary says 'interrupted', TensorBoard logs flushed.",
              file=sys.stderr)
        if granted_cpus() is not None:
            return  # one cancelled Slurm job: recorded; the sweep collects the others and reruns it next time
        sys.exit(130)
    say(format_line(summary))
    if multirun:
        trained = summary.get("action") == "trained"
        say(progress.line(Path(hc.sweep.dir), hc.job.num + 1, job_dir, summary["status"] if trained else "skipped",
                          summary.get("wall_time_s") if trained else None))
    if not multirun and summary["status"] == "failed":
        sys.exit(1)


class SweepSummary(Callback):
    """At the end of a multirun: one line counting completed / diverged / failed / skipped jobs;
    exit status 1 if any job failed."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.started = time.time()
        if "submitit" in str(config.hydra.launcher.get("_target_", "")):
            quiet_sacct()
        launcher = config.hydra.launcher
        parallel = int(launcher.get("n_jobs", 1) or 1) if "Joblib" in str(launcher.get("_target_", "")) else 1
        try:  # Hydra logs and ignores a callback's exceptions: the sweep must stop here
            total = validate_sweep(config)
        except LenetAblateError as exc:
            fail(str(exc), exc.exit_code)
        progress.start(Path(config.hydra.sweep.dir), total, parallel if parallel > 0 else (os.cpu_count() or 1))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        counts = count_jobs(Path(config.hydra.sweep.dir), since=self.started)
        print("sweep: " + ", ".join(f"{v} {k}" for k, v in counts.items()) + f" | {config.hydra.sweep.dir}",
              flush=True)
        if counts["failed"]:
            sys.exit(1)
