"""Jobs under Slurm (hydra/launcher=slurm or submitit_slurm): the CPUs a job was granted, and
submitit's status polling made quiet on clusters without accounting."""

from __future__ import annotations

import logging
import os
import re
import sys
from typing import Any

SUBMITIT_LOG_LEVEL = "SUBMITIT_LOG_LEVEL"  # submitit's environment switch for its logging setup


def granted_cpus(env: dict[str, str] | None = None) -> int | None:
    """CPUs Slurm granted this job (None outside Slurm): --cpus-per-task if given, else the CPUs
    the job may run on (its affinity, where Slurm's task plugin binds it), else the CPUs of the
    job's node allocation. Slurm's default without --cpus-per-task is one CPU per task."""
    env = os.environ if env is None else env
    if "SLURM_JOB_ID" not in env:
        return None
    if env.get("SLURM_CPUS_PER_TASK"):
        return int(env["SLURM_CPUS_PER_TASK"])
    try:
        affinity = len(os.sched_getaffinity(0))
        if affinity < (os.cpu_count() or affinity):
            return affinity
    except AttributeError:  # no sched_getaffinity (macOS)
        pass
    per_node = env.get("SLURM_JOB_CPUS_PER_NODE", "")  # e.g. "4" or "4(x2)"
    return int(per_node.split("(")[0].split(",")[0]) if per_node[:1].isdigit() else 1


class _OnceSacctWarning(logging.Filter):
    """submitit polls `sacct` for job states and, where Slurm keeps no accounting, warns at every
    poll. Each distinct sacct error is shown once, as one line; its repeats are dropped. Every
    other message passes."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "Bypassing sacct error" not in message:
            return True
        error = re.sub(r"'-j', '[^']*'(, )?", "", message.split("Bypassing sacct error ", 1)[-1])
        if error in self.seen:
            return False
        self.seen.add(error)
        record.msg = (f"sacct failed: {error.replace(', status may be inaccurate.', '')}. Job states come from "
                      "the jobs' result files (Slurm without accounting); this error is not repeated.")
        record.args = ()
        return True


def quiet_sacct() -> None:
    """submitit's messages once, through the application's (Hydra's) logging, and one line per
    distinct sacct error instead of a warning per poll. submitit configures its own stdout and
    stderr handlers when first imported, so each warning would show three times beside Hydra's;
    its documented switch SUBMITIT_LOG_LEVEL=NOCONFIG leaves logging to the application. It is set
    only around that first import, so the jobs submitted later (which inherit the environment) log
    as usual. sacct's own stderr, which submitit does not capture, still reaches the terminal on
    clusters without accounting."""
    if "submitit" not in sys.modules:
        previous = os.environ.get(SUBMITIT_LOG_LEVEL)
        os.environ[SUBMITIT_LOG_LEVEL] = "NOCONFIG"
        try:
            import submitit  # noqa: F401  (reads the switch once, at import)
        finally:
            if previous is None:
                del os.environ[SUBMITIT_LOG_LEVEL]
            else:
                os.environ[SUBMITIT_LOG_LEVEL] = previous
    logger = logging.getLogger("submitit")
    if not any(isinstance(f, _OnceSacctWarning) for f in logger.filters):
        logger.addFilter(_OnceSacctWarning())


def launcher_kind(launcher: Any) -> str:
    """The kind of a Hydra launcher config node: "joblib", "slurm" (submitit's Slurm launcher),
    "submitit_local" or "basic" (one job after another in this process)."""
    target = str((launcher or {}).get("_target_", ""))
    if "JoblibLauncher" in target:
        return "joblib"
    if "submitit" in target:
        return "slurm" if "Slurm" in target else "submitit_local"
    return "basic"


def parallel_jobs(launcher: Any) -> int:
    """Jobs a launcher runs side by side on this machine: joblib's n_jobs (-1 or 0: every core),
    1 otherwise (a cluster's jobs run on their own nodes)."""
    if launcher_kind(launcher) != "joblib":
        return 1
    n_jobs = int(launcher.get("n_jobs", -1) or 1)
    return (os.cpu_count() or 1) if n_jobs < 0 else n_jobs
