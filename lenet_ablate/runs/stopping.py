"""Stopping by signal: Ctrl-C (SIGINT), SIGTERM (timeout, a container stop, systemd) and SIGHUP (a
closed terminal or SSH connection) end a run, a job or a sweep the same way.

Each becomes a KeyboardInterrupt where it lands, so the one Ctrl-C path (Lightning's graceful
shutdown, the job recording 'interrupted', the exit layer) serves all three; the exit status says
which signal it was (130, 143, 129). Only the first signal counts: a second one (a process group
signalled after its launcher forwarded the first) must not cut the recording of a job short.

Under the joblib launcher the launching process, before it lets joblib tear its workers down,
passes the signal on to them (they may not have had it: `kill PID` reaches one process) and waits
until every job of the sweep has released its lock, that is recorded how it ended. A worker whose
job was stopped then leaves (cli.leave), so it never starts another queued job, but only once no
other job of the sweep is in flight: when one worker process ends, joblib's executor counts itself
broken and SIGKILLs the others, which under load were still recording their own interruption (and
left their jobs 'running').
"""

from __future__ import annotations

import os
import signal
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from lenet_ablate.errors import WorkerKilled
from lenet_ablate.runs.guard import LOCK, job_lock, locked_elsewhere
from lenet_ablate.runs.records import SUMMARY, read_json, write_json

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
REASONS = {signal.SIGINT: "stopped by the user (Ctrl-C)",
           signal.SIGTERM: "stopped by SIGTERM (timeout, a container or service stop, scancel or preemption)",
           signal.SIGHUP: "stopped by SIGHUP (the terminal or SSH connection closed)"}
# How long the launching process waits for its workers to record their jobs.
WORKER_GRACE_S = 60.0


@dataclass
class _Stop:
    """The first stopping signal this process received, and the sweep whose jobs it waits for."""

    signum: int | None = None
    launcher_pid: int | None = None
    sweeps: list[Path] = field(default_factory=list)
    deferred: bool = False  # inside training: the stop is raised at the next batch end, not by the handler


STOP = _Stop()


def reason(default: str = REASONS[signal.SIGINT]) -> str:
    """Why this process is stopping, in words (`default` where no signal was received)."""
    return REASONS.get(STOP.signum, default) if STOP.signum is not None else default


def requested() -> bool:
    """True once this process received a stopping signal."""
    return STOP.signum is not None


def check() -> None:
    """Raise KeyboardInterrupt if a stop was requested: at every batch end and epoch start while
    Lightning trains or tests (where the handler defers to it), and between a job's phases and
    before a job or a batch of jobs starts, so a stopped process never starts new work. It also
    catches a handler's KeyboardInterrupt that was lost (one raised in a finalizer is printed as
    "Exception ignored" and dropped, and only the first signal raises)."""
    if STOP.signum is not None:
        raise KeyboardInterrupt


def exit_code() -> int:
    """The exit status of a stop: 128 + the signal (130 for Ctrl-C, 143 SIGTERM, 129 SIGHUP)."""
    return 128 + int(STOP.signum or signal.SIGINT)


def _children() -> list[int]:
    """This process's child processes (Linux /proc; none where that cannot be read)."""
    out: list[int] = []
    for path in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        try:
            out += [int(pid) for pid in path.read_text().split()]
        except OSError:
            pass
    return out


def _jobs_in_flight(sweeps: list[Path]) -> list[Path]:
    """Job folders of `sweeps` that another live process holds."""
    return [lock.parent for sweep in sweeps for lock in Path(sweep).glob(f"**/{LOCK}")
            if locked_elsewhere(lock.parent)]


def wait_until_recorded(sweeps: list[Path], seconds: float = WORKER_GRACE_S) -> None:
    """Wait (at most `seconds`) until no other process holds a job of `sweeps`: every job in
    flight has recorded how it ended. Polls the job locks; there is no event to wait on."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and _jobs_in_flight(sweeps):
        time.sleep(0.05)


def _stop_workers(signum: int) -> None:
    """Pass the signal to the worker processes and wait until the sweep's jobs are recorded."""
    workers = _children()
    for pid in workers:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass
    if workers:
        wait_until_recorded(STOP.sweeps)


def _handler(signum: int, frame: object) -> None:
    if STOP.signum is not None:
        return
    STOP.signum = signum
    if os.getpid() == STOP.launcher_pid:
        _stop_workers(signum)
    if not STOP.deferred:
        raise KeyboardInterrupt


@contextmanager
def deferred() -> Iterator[None]:
    """Within (Lightning's fit and test): a stopping signal only records the stop, and
    training.stop_check raises it at the next batch end. An exception raised by the handler lands
    between any two bytecodes, inside library code too: one that landed in queue.Queue.put, between
    adding TensorBoard's event and waking its writer thread, left the writer asleep until its
    120-second flush, and the interrupted run's final flush waited for it (a Ctrl-C that took two
    minutes under load)."""
    STOP.deferred = True
    try:
        yield
    finally:
        STOP.deferred = False


@contextmanager
def handling(launcher: bool = False) -> Iterator[None]:
    """Within: SIGINT, SIGTERM and SIGHUP raise KeyboardInterrupt (the first one only). `launcher`:
    this is the launching process, which stops its workers first. Outside the main thread (where
    Python cannot set handlers) nothing changes."""
    if launcher:
        STOP.launcher_pid = os.getpid()
    try:
        previous = {s: signal.signal(s, _handler) for s in SIGNALS}
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        if not launcher:  # the launching process keeps them to the end: a late second signal is ignored
            for s, h in previous.items():
                signal.signal(s, h)


def watch(sweep_dir: Path) -> None:
    """A sweep whose in-flight jobs the launching process waits for when it is stopped."""
    STOP.sweeps.append(Path(sweep_dir))


def is_worker() -> bool:
    """True in a process that runs jobs for a launching process elsewhere (a joblib worker)."""
    return STOP.launcher_pid is None and os.environ.get("LENET_ABLATE_LAUNCHER") not in (None, str(os.getpid()))


def start_joblib_helpers() -> None:
    """Start joblib's resource tracker (loky's public `ensure_running`) with SIGHUP ignored, which
    it inherits: it ignores SIGINT and SIGTERM itself but would die of a SIGHUP sent to the process
    group, and the tracker loky then starts in its place prints a traceback per shared resource."""
    from joblib.externals.loky.backend import resource_tracker

    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        resource_tracker.ensure_running()
    finally:
        signal.signal(signal.SIGHUP, previous)


KILLED = ("its process was killed from outside (SIGKILL) while the sweep ran: by the out-of-memory killer, "
          "or by the launcher after another worker was killed")


def record_killed() -> list[Path]:
    """After a worker process was killed (joblib's TerminatedWorkerError): every job of the watched
    sweeps whose summary still says 'running' though no live process holds its lock is recorded
    'interrupted' (atomically, under its lock), so the next run of the command redoes it; completed
    jobs are not touched. Returns those jobs' folders."""
    found = []
    for sweep in STOP.sweeps:
        for path in sorted(Path(sweep).glob(f"**/{SUMMARY}")):
            summary = read_json(path) or {}
            if summary.get("status") != "running" or locked_elsewhere(path.parent):
                continue
            lock = job_lock(path.parent)
            with lock:
                write_json(path, {**summary, "status": "interrupted", "error": KILLED})
            found.append(path.parent)
    return found


def killed_error(jobs: list[Path], slurm: bool = False) -> WorkerKilled:
    """The error a sweep ends with when a worker (or a Slurm job) was killed: which jobs, that a
    process was killed (likely memory), and how to continue."""
    named = "\n".join(f"  {job}" for job in jobs) or "  (no job was in flight)"
    what, fewer = (("a Slurm job ended without its result: its process was killed from outside (SIGKILL, by its node "
                    "or Slurm; a likely cause: memory, hydra.launcher.mem_gb)", "more memory per job")
                   if slurm else ("a worker process was killed from outside (SIGKILL; a likely cause: the "
                                  "out-of-memory killer)", "fewer parallel jobs if memory is short: hydra.launcher.n_jobs"))
    return WorkerKilled(f"{what}. The job(s) in flight are recorded 'interrupted':\n{named}\nCompleted jobs are kept; "
                        f"run the same command again to continue (with {fewer}).")


def worker_killed(exc: BaseException) -> str:
    """'joblib' for joblib's error when one of its worker processes died of a signal (SIGKILL),
    'slurm' for submitit's when a Slurm job ended without a result (killed), '' otherwise."""
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    if isinstance(exc, TerminatedWorkerError):
        return "joblib"
    try:
        from submitit.core.utils import UncompletedJobError
    except ImportError:  # no cluster launcher installed
        return ""
    return "slurm" if isinstance(exc, UncompletedJobError) else ""
