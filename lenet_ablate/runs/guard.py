"""What keeps a finished result safe: a completed result of another configuration is never
replaced without force=true, and a job trains in one process at a time (a per-job file lock)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from filelock import FileLock, Timeout
from omegaconf import DictConfig

from lenet_ablate.runs.identity import comparable, flatten, job_id, stored_job_id
from lenet_ablate.runs.records import SUMMARY, read_json

LOCK = ".job.lock"


def changed_keys(old: Mapping[str, Any], new: DictConfig | Mapping[str, Any]) -> list[str]:
    """"key: old -> new" for every setting that differs (bookkeeping keys left out)."""
    a, b = (flatten(comparable(c)) for c in (old, new))
    missing = "(absent)"
    return [f"{k}: {a.get(k, missing)} -> {b.get(k, missing)}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]


def conflict(job_dir: Path, cfg: DictConfig, old: dict[str, Any] | None = None) -> str | None:
    """A description of the completed result of another configuration in `job_dir` (its summary
    `old`, read here if not given), or None. Failed, diverged and interrupted results may be
    replaced; completed ones only with force=true."""
    old = old if old is not None else read_json(Path(job_dir) / SUMMARY)
    if cfg.force or not old or old.get("status") != "completed" or stored_job_id(old) == job_id(cfg):
        return None
    keys = changed_keys(old.get("config") or {}, cfg)
    what = "; ".join(keys[:6]) + (f"; and {len(keys) - 6} more" if len(keys) > 6 else "")
    return f"{job_dir} ({what or 'written by lenet_ablate ' + str(old.get('version'))})"


def refuse_message(conflicts: list[str]) -> str:
    """The error for a sweep or run that would replace completed results."""
    return ("a completed result of another configuration is in the way; nothing was trained:\n  "
            + "\n  ".join(conflicts) +
            "\nTo keep it, write elsewhere: study_dir=<new folder> (experiments) or hydra.sweep.dir=<new folder> / "
            "hydra.run.dir=<new folder>. To replace it: force=true.")


def job_lock(job_dir: Path) -> FileLock:
    """The job's lock (an OS file lock: released when the process dies, so never stale)."""
    return FileLock(str(Path(job_dir) / LOCK), timeout=0)


def locked_elsewhere(job_dir: Path) -> bool:
    """True while another live process trains the job in `job_dir`."""
    if not (Path(job_dir) / LOCK).exists():
        return False
    lock = job_lock(job_dir)
    try:
        lock.acquire()
    except Timeout:
        return True
    lock.release()
    return False
