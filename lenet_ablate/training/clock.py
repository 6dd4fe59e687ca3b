"""What the clock saw in each epoch of a job: wall seconds, the job's own CPU seconds, and the
machine's load, so that a timing is judged only where the machine was not shared (docs/speed.md).

- wall seconds: `time.perf_counter` around the epoch (validation included);
- CPU seconds: user + system time of the job's process (all its threads) over the epoch;
- load: the median number of runnable tasks on the whole machine while the epoch ran, this job's
  training thread included (Linux's `procs_running`, read by the training thread itself at batch
  ends, at most ten times a second): the load average without its one-minute lag. Above the CPUs
  the process may use, some task waited for a core. No thread of its own: a signal that stops the
  job finds nothing to wait for.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback

STAT = Path("/proc/stat")
INTERVAL_S = 0.1


def median_epoch(times: list[float]) -> float:
    """Seconds per epoch: the median after the first (warm-up) epoch (`make bench`, the speed command)."""
    return statistics.median(times[1:] or times)


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity; the CPU count where there is none)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def runnable_tasks() -> int | None:
    """Tasks runnable on the machine now, the caller included (None where /proc/stat is absent)."""
    try:
        for line in STAT.read_text().splitlines():
            if line.startswith("procs_running"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


class EpochClock(Callback):
    """Per training epoch (validation included): wall seconds (`times`), the process's CPU seconds
    (`cpu_times`) and the machine's load (`loads`: the median of its samples, None without any)."""

    def __init__(self, interval_s: float = INTERVAL_S) -> None:
        self.times: list[float] = []
        self.cpu_times: list[float] = []
        self.loads: list[float | None] = []
        self.interval_s = interval_s
        self._wall = self._cpu = self._sampled = 0.0
        self._samples: list[int] = []

    def sample(self) -> None:
        """Read the load now, unless the last sample is less than `interval_s` old."""
        now = time.perf_counter()
        if now - self._sampled >= self.interval_s:
            self._sampled = now
            count = runnable_tasks()
            if count is not None:
                self._samples.append(count)

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._samples, self._sampled = [], 0.0
        self.sample()
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        self.sample()

    def on_validation_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        self.sample()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.times.append(round(time.perf_counter() - self._wall, 3))
        self.cpu_times.append(round(time.process_time() - self._cpu, 3))
        self._sampled = 0.0
        self.sample()
        self.loads.append(float(statistics.median(self._samples)) if self._samples else None)
