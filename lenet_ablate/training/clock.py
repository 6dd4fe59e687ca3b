"""What the clock saw in each epoch of a job: wall seconds, the job's own CPU seconds, and the
machine's load, so that a timing is judged only where the machine was not shared (docs/speed.md).

- wall seconds: `time.perf_counter` around the epoch (validation included);
- CPU seconds: user + system time of the job's process (all its threads) over the epoch;
- load: the median number of runnable tasks on the whole machine while the epoch ran (Linux's
  `procs_running`, sampled ten times a second, the sampler itself not counted): the load average
  without its one-minute lag. Above the CPUs the process may use, some task waited for a core.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import Callback

STAT = Path("/proc/stat")
INTERVAL_S = 0.1


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity; the CPU count where there is none)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def runnable_tasks() -> int | None:
    """Tasks runnable on the machine now, the caller excluded (None where /proc/stat is absent)."""
    try:
        for line in STAT.read_text().splitlines():
            if line.startswith("procs_running"):
                return int(line.split()[1]) - 1
    except (OSError, ValueError, IndexError):
        return None
    return None


class LoadSampler:
    """Samples runnable_tasks() on a daemon thread between start() and stop()."""

    def __init__(self, interval_s: float = INTERVAL_S) -> None:
        self.interval_s = interval_s
        self._samples: list[int] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Begin a new series of samples."""
        self._samples, self._stop = [], threading.Event()
        self._thread = threading.Thread(target=self._run, name="lenet_ablate-load", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            count = runnable_tasks()
            if count is not None:
                self._samples.append(count)
            if self._stop.wait(self.interval_s):
                return

    def stop(self) -> float | None:
        """End the series; its median (None where nothing could be read)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return float(statistics.median(self._samples)) if self._samples else None


class EpochClock(Callback):
    """Per training epoch (validation included): wall seconds (`times`), the process's CPU seconds
    (`cpu_times`) and the machine's load (`loads`)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.cpu_times: list[float] = []
        self.loads: list[float | None] = []
        self._wall = self._cpu = 0.0
        self._sampler = LoadSampler()

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._sampler.start()
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.times.append(round(time.perf_counter() - self._wall, 3))
        self.cpu_times.append(round(time.process_time() - self._cpu, 3))
        self.loads.append(self._sampler.stop())

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        self._sampler.stop()
