"""Command line: `python -m lenet_ablate [group=option ...] [-m]` (Hydra)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

from lenet_ablate import config_dir
from lenet_ablate.config import check_yaml_files, validate
from lenet_ablate.errors import Abort, ConfigError, DataError, Interrupted, JobFailed, LenetAblateError
from lenet_ablate.runs import stopping
from lenet_ablate.study.cluster import granted_cpus, launcher_kind, parallel_jobs, quiet_sacct
from lenet_ablate.training.portable import pin
from lenet_ablate.training.quiet import quiet_libraries
from lenet_ablate.study.sweeps import count_jobs, progress, record_invocation, validate_sweep


def _parallel_settings(hc: Any) -> tuple[int | None, Any]:
    """Threads per job (and GPU) when jobs share a machine: under Slurm the CPUs the job was
    granted; with the joblib launcher cores / parallel jobs and one GPU per job."""
    slurm = granted_cpus()
    if slurm:
        return slurm, None  # Slurm assigns the job its GPUs (CUDA_VISIBLE_DEVICES)
    if launcher_kind(hc.launcher) != "joblib":
        return None, None
    threads = max(1, (os.cpu_count() or 1) // parallel_jobs(hc.launcher))
    import torch  # a boundary: torch (and the training code) load only once a job runs, not for --help

    devices = None
    if torch.cuda.device_count() > 1:  # one GPU per job, round robin
        devices = [hc.job.num % torch.cuda.device_count()]
    return threads, devices


def exit_with(error: LenetAblateError) -> NoReturn:
    """The exit layer: a library error as one short message (no traceback) and its exit status."""
    if isinstance(error, Interrupted):
        print(f"lenet_ablate: interrupted ({error}); summary says 'interrupted', TensorBoard logs flushed.",
              file=sys.stderr)
    elif str(error):
        print(f"lenet_ablate: error: {error}", file=sys.stderr)
    sys.exit(error.exit_code)


def leave() -> NoReturn:
    """End a joblib worker whose job was stopped, so that it takes no other job: once the sweep's
    other jobs in flight are recorded (joblib kills every worker when one ends), flush, then exit
    with the stop's status (a normal exit would hand the worker back to joblib's queue; the
    launching process says why, once)."""
    stopping.wait_until_recorded([Path(HydraConfig.get().sweep.dir)])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(stopping.exit_code())


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
    """Refuse early, with a short error, when hydra.run.dir / hydra.sweep.dir cannot be created."""
    for arg in argv:
        key, _, value = arg.partition("=")
        if key.lstrip("+") not in ("hydra.run.dir", "hydra.sweep.dir") or not value:
            continue
        existing = Path(value).absolute()
        while not existing.exists():
            existing = existing.parent
        if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
            raise ConfigError(f"{key}={value}: cannot create the output folder ({existing} is "
                              f"{'not a folder' if not existing.is_dir() else 'not writable'}).")


def config_dirs(argv: list[str]) -> list[str]:
    """The folders `--config-dir DIR` / `-cd DIR` / `--config-dir=DIR` add to the config search path."""
    out = []
    for i, arg in enumerate(argv):
        if arg in ("--config-dir", "-cd") and i + 1 < len(argv):
            out.append(argv[i + 1])
        elif arg.startswith("--config-dir="):
            out.append(arg.split("=", 1)[1])
    return [d for d in out if Path(d).is_dir()]


def say(line: str) -> None:
    """One line to stdout in a single write, so that jobs running side by side (joblib workers
    sharing the terminal) never splice their lines together."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> None:
    """Entry point: `python -m lenet_ablate [overrides]` (see --help). The one exit layer: library
    errors, and those Hydra carries here as Abort (from the sweeper, the sweep's callback and the
    study keys' resolver), become a short message and an exit status."""
    os.environ["LENET_ABLATE_LAUNCHER"] = str(os.getpid())  # joblib's workers know they are workers
    try:
        with stopping.handling(launcher=True):
            check_output_dirs(sys.argv[1:])
            check_yaml_files([config_dir(), *config_dirs(sys.argv[1:])])
            _task()
    except LenetAblateError as exc:
        exit_with(exc)
    except Abort as exc:
        exit_with(exc.error)
    except KeyboardInterrupt:  # a signal in the launching process (its workers have recorded their jobs)
        exit_with(Interrupted(stopping.reason(), stopping.exit_code()))
@hydra.main(version_base="1.3", config_path=config_dir(), config_name="config")
def _task(cfg: DictConfig) -> None:
    """One Hydra job. In a multirun a job may run in a worker process (joblib, Slurm) with no main()
    above it, so a job's own errors end there, through the same exit layer."""
    multirun = HydraConfig.get().mode == RunMode.MULTIRUN
    try:
        with stopping.handling():
            _train(cfg, multirun)
        if stopping.requested() and stopping.is_worker():
            leave()  # stopped after its job ended: the worker takes no queued job
    except LenetAblateError as exc:
        if isinstance(exc, Interrupted) and granted_cpus() is not None:
            return  # one cancelled Slurm job: recorded; the sweep collects the others and reruns it next time
        if isinstance(exc, Interrupted) and stopping.is_worker():
            leave()
        if not multirun:
            raise Abort(exc) from None
        exit_with(exc)
    except KeyboardInterrupt:
        if stopping.is_worker():
            leave()
        raise


def _train(cfg: DictConfig, multirun: bool) -> None:
    """Train one configuration and print its one-line summary; raises LenetAblateError."""
    from lenet_ablate.training.job import run_job  # the torch boundary (see _parallel_settings)

    hc = HydraConfig.get()
    cfg = validate(cfg, hc.runtime.choices)  # typed: equal trainings get equal ids (0 and 0.0 alike)
    quiet_libraries()
    threads, devices = _parallel_settings(hc) if multirun else (None, None)
    job_dir = Path(hc.runtime.output_dir)
    if multirun:
        say(progress.line(Path(hc.sweep.dir), hc.job.num + 1, job_dir, "started"))
    try:
        summary = run_job(cfg, job_dir, quiet=multirun, threads=threads, devices=devices)
    except OSError as exc:  # disk full, folder removed or made read-only under us
        raise DataError(f"cannot write the run's files under {hc.runtime.output_dir}: {exc}") from None
    say(format_line(summary))
    if multirun:
        trained = summary.get("action") == "trained"
        say(progress.line(Path(hc.sweep.dir), hc.job.num + 1, job_dir, summary["status"] if trained else "skipped",
                          summary.get("wall_time_s") if trained else None))
    elif summary["status"] == "failed":
        raise JobFailed("")


class SweepSummary(Callback):
    """At the start of a multirun: every job checked before the first trains; at its end one line
    counting completed / diverged / failed / skipped jobs, and exit status 1 if any failed. Errors
    travel to main() as Abort (Hydra turns a callback's Exception into a warning)."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.started = time.time()
        if launcher_kind(config.hydra.launcher) in ("slurm", "submitit_local"):
            quiet_sacct()
        try:
            pin(bool(config.trainer.portable))  # before this process's first kernel; its workers inherit the pins
            total = validate_sweep(config)
        except LenetAblateError as exc:
            raise Abort(exc) from None
        record_invocation(config)
        stopping.watch(Path(config.hydra.sweep.dir))
        if launcher_kind(config.hydra.launcher) == "joblib":
            stopping.start_joblib_helpers()
        progress.start(Path(config.hydra.sweep.dir), total, parallel_jobs(config.hydra.launcher))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        counts = count_jobs(Path(config.hydra.sweep.dir), since=self.started)
        print("sweep: " + ", ".join(f"{v} {k}" for k, v in counts.items()) + f" | {config.hydra.sweep.dir}",
              flush=True)
        if counts["failed"]:
            raise Abort(JobFailed(""))
