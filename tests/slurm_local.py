"""A single-node Slurm on localhost for `make test-slurm`: munge, slurmctld and slurmd started as
root with a private slurm.conf (SLURM_CONF), stopped again by whoever started them."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = ["slurm-wlm", "munge"]
DAEMONS = ["munged", "slurmctld", "slurmd"]


@dataclass
class LocalSlurm:
    """A running single-node Slurm: the environment its clients need and the daemons we started."""

    env: dict[str, str] = field(repr=False)
    started: list[tuple[str, int]] = field(default_factory=list)  # (daemon, pid) of what we started

    def stop(self) -> None:
        """Stop the daemons this object started (newest first), by their pids; nothing else. A
        cluster started here runs only this suite's jobs: they are cancelled and drained first, so
        no job step is left behind without its controller."""
        if any(name == "slurmctld" for name, _ in self.started):
            _drain(self.env)
        for _, pid in reversed(self.started):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass  # it has already gone


def _drain(env: dict[str, str], timeout: float = 60.0) -> None:
    """Cancel every job of the cluster and wait until the queue is empty (or `timeout`)."""
    jobs = _run("squeue", "-h", "-o", "%i", env=env).stdout.split()
    if jobs:
        _run("scancel", *jobs, env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _run("squeue", "-h", "-o", "%i", env=env).stdout.strip():
        time.sleep(0.5)  # polling the queue's state; Slurm offers no event to wait on


def _daemon_pid(pid_file: Path, timeout: float = 30.0) -> int | None:
    """The pid a daemon wrote to its pid file once it forked into the background (None: none came)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            time.sleep(0.2)  # polling a file the daemon writes; there is no event to wait on
    return None


def _run(*cmd: str, env: dict[str, str] | None = None, timeout: int = 60) -> subprocess.CompletedProcess:
    return subprocess.run(list(cmd), capture_output=True, text=True, env=env, timeout=timeout)


def _memory_mb() -> int:
    """Most of this machine's memory, in MB (Slurm refuses jobs asking more than RealMemory)."""
    kb = int(Path("/proc/meminfo").read_text().split()[1])
    return kb // 1024 * 8 // 10


def _conf(folder: Path, cpus: int) -> str:
    return f"""ClusterName=lenet
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
KillWait=5
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={_memory_mb()} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""


def start(folder: Path) -> LocalSlurm | str:
    """A usable Slurm, started here if needed; or a one-line reason why there is none."""
    env = dict(os.environ)
    if shutil.which("sinfo") and _run("sinfo", "-h", "-o", "%T", env=env).stdout.strip() in ("idle", "mixed"):
        return LocalSlurm(env)  # the user's own Slurm: use it, never stop it
    if os.geteuid() != 0:
        return "Slurm is not running and starting it needs root"
    if not all(shutil.which(d) or Path(f"/usr/sbin/{d}").exists() for d in DAEMONS):
        if not shutil.which("apt-get"):
            return "no slurmctld/slurmd/munged and no apt-get to install them"
        proc = _run("apt-get", "install", "-y", "-q", *PACKAGES,
                    env={**env, "DEBIAN_FRONTEND": "noninteractive"}, timeout=600)
        if proc.returncode:
            return f"apt-get install {' '.join(PACKAGES)} failed: {proc.stderr.strip().splitlines()[-1:]}"
    folder.mkdir(parents=True, exist_ok=True)
    for sub in ("state", "spool"):
        (folder / sub).mkdir(exist_ok=True)
    conf = folder / "slurm.conf"
    conf.write_text(_conf(folder, os.cpu_count() or 1))
    env["SLURM_CONF"] = str(conf)
    slurm = LocalSlurm(env)
    if _run("munge", "-n").returncode != 0:
        run_dir = Path("/run/munge")
        run_dir.mkdir(exist_ok=True)
        shutil.chown(run_dir, "munge", "munge")
        proc = _run("runuser", "-u", "munge", "--", "/usr/sbin/munged")
        if proc.returncode:
            return f"munged did not start: {proc.stderr.strip()}"
        pid = _daemon_pid(run_dir / "munged.pid")
        if pid is None:
            return "munged wrote no pid file"
        slurm.started.append(("munged", pid))
    for daemon, args in (("slurmctld", ["-c"]), ("slurmd", ["-N", "localhost"])):
        proc = _run(f"/usr/sbin/{daemon}", *args, env=env)
        pid = _daemon_pid(folder / f"{daemon}.pid") if not proc.returncode else None
        if pid is None:
            slurm.stop()
            return f"{daemon} did not start: {proc.stderr.strip() or proc.stdout.strip() or 'no pid file'}"
        slurm.started.append((daemon, pid))
    for _ in range(60):
        if _run("sinfo", "-h", "-o", "%T", env=env).stdout.strip() == "idle":
            return slurm
        time.sleep(1)
    slurm.stop()
    return f"the Slurm node did not become idle (see {folder}/slurmctld.log)"
