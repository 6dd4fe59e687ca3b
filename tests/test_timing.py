"""Timing verdicts that the machine's load cannot fake: each epoch's wall and CPU seconds and the
machine's load (training.clock), and a study whose load follows the job order (a busy process per
CPU during the second half of its jobs, started here and stopped by pid)."""

from __future__ import annotations

import math
import re
import statistics
import subprocess
import sys

import numpy as np
import pandas as pd

from lenet_ablate.analysis.inference import secondary, stats
from lenet_ablate.analysis.tables.experiments import Experiment
from lenet_ablate.analysis.tables.outcomes import outcome
from lenet_ablate.training.clock import EpochClock, usable_cpus


def spin(seconds: float) -> None:
    """A fixed amount of CPU work: the same in every job (the true ratio is 1)."""
    end = __import__("time").process_time() + seconds
    while __import__("time").process_time() < end:
        sum(i * i for i in range(1000))


def job(config_id: str, seed: int, epochs: int = 3) -> dict:
    """One synthetic job: `epochs` epochs of the same CPU work, timed by the training's own clock."""
    clock = EpochClock()
    for _ in range(epochs):
        clock.on_train_epoch_start(None, None)
        for _ in range(4):  # four "batches"
            spin(0.03)
            clock.on_train_batch_end(None, None)
        clock.on_train_epoch_end(None, None)
    return {"config_id": config_id, "seed": seed, "sec_per_epoch": statistics.median(clock.times),
            "cpu_sec_per_epoch": statistics.median(clock.cpu_times), "host": "here", "threads": 1,
            "cpus": usable_cpus(), "load": statistics.median(clock.loads)}


def busy_processes(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def test_a_load_that_follows_the_job_order_gets_no_timing_verdict():
    seeds = range(5)
    quiet = [job("A", s) for s in seeds]  # the fixed order: the reference's seeds first...
    busy = busy_processes(usable_cpus())
    try:
        loaded = [job("B", s) for s in seeds]  # ...then the level's, while the machine is shared
    finally:
        for p in busy:
            p.kill()
            p.wait()
    runs = pd.DataFrame(quiet + loaded)
    a, b = (runs[runs.config_id == c].set_index("seed") for c in ("B", "A"))
    # Today's design (wall seconds, no look at the load): a ratio far from 1, and "differs".
    wall = stats.difference(np.log(a.sec_per_epoch), np.log(b.sec_per_epoch))
    assert math.exp(wall.diff) > 1.1 and wall.p < 0.05
    # The new one: the load exceeded the CPUs in the level's jobs, so no verdict at all.
    exp = Experiment("activation", pd.Series({"config_id": "A", "activation": "relu"}), pd.DataFrame())
    for name in ("cpu_sec_per_epoch",):
        c = secondary.compare(outcome(name), exp, runs, "default lr", "B", "tanh")
        secondary.adjust([c], outcome(name))
        assert c.verdict.startswith("not judged: the machine was shared (load up to ")
        shared = int(re.search(rf"on {usable_cpus()} CPUs in (\d+) of 10 jobs\)", c.verdict).group(1))
        assert shared >= 5  # the level's five at least (the reference's too where the machine was busy already)
        assert c.verdict.endswith("measure speed cleanly: python -m lenet_ablate.speed experiment=activation")


def test_the_clock_records_cpu_seconds_and_the_load_of_each_epoch():
    record = job("A", 0, epochs=2)
    assert 0.1 <= record["cpu_sec_per_epoch"] <= record["sec_per_epoch"] + 0.05
    assert record["load"] >= 1  # this job itself
    busy = busy_processes(usable_cpus() + 1)
    try:
        loaded = job("A", 0, epochs=2)
    finally:
        for p in busy:
            p.kill()
            p.wait()
    assert loaded["load"] >= usable_cpus() + 2  # the busy processes and this job, each runnable


def test_timings_without_a_recorded_load_are_not_judged():
    runs = pd.DataFrame([{"config_id": c, "seed": s, "cpu_sec_per_epoch": 1.0 + 0.01 * s, "host": "h", "threads": 1}
                         for c in "AB" for s in range(4)])
    exp = Experiment("pooling", pd.Series({"config_id": "A", "pooling": "max"}), pd.DataFrame())
    c = secondary.compare(outcome("cpu_sec_per_epoch"), exp, runs, "default lr", "B", "avg")
    secondary.adjust([c], outcome("cpu_sec_per_epoch"))
    assert c.verdict == ("not judged: the machine's load was not recorded; measure speed cleanly: "
                         "python -m lenet_ablate.speed experiment=pooling")


def test_jobs_from_before_the_clock_get_no_timing_verdict():
    runs = pd.DataFrame([{"config_id": c, "seed": s, "cpu_sec_per_epoch": math.nan, "host": "h", "threads": 1}
                         for c in "AB" for s in range(4)])
    exp = Experiment("pooling", pd.Series({"config_id": "A", "pooling": "max"}), pd.DataFrame())
    c = secondary.compare(outcome("cpu_sec_per_epoch"), exp, runs, "default lr", "B", "avg")
    secondary.adjust([c], outcome("cpu_sec_per_epoch"))
    assert c.verdict.startswith("not judged: no job recorded its CPU seconds and load (jobs before 0.8)")
