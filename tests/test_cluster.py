"""Slurm support that needs no Slurm: CPUs granted to a job, the sacct warning shown once, and the
test cluster's skip reason (the real cluster tests are in test_slurm.py, make test-slurm)."""

from __future__ import annotations

import logging

import slurm_local
from lenet_ablate.study.cluster import _OnceSacctWarning, granted_cpus


def test_threads_follow_the_cpus_slurm_granted(monkeypatch):
    import lenet_ablate.study.cluster as cluster

    monkeypatch.setattr(cluster.os, "cpu_count", lambda: 8)
    monkeypatch.setattr(cluster.os, "sched_getaffinity", lambda pid: set(range(8)))
    assert granted_cpus({}) is None  # not a Slurm job
    assert granted_cpus({"SLURM_JOB_ID": "7", "SLURM_CPUS_PER_TASK": "4"}) == 4
    # No binding (TaskPlugin=task/none): the node allocation decides, else Slurm's default of 1.
    assert granted_cpus({"SLURM_JOB_ID": "7", "SLURM_JOB_CPUS_PER_NODE": "3(x2)"}) == 3
    assert granted_cpus({"SLURM_JOB_ID": "7"}) == 1
    monkeypatch.setattr(cluster.os, "sched_getaffinity", lambda pid: {2, 5})  # bound to 2 of 8 CPUs
    assert granted_cpus({"SLURM_JOB_ID": "7", "SLURM_JOB_CPUS_PER_NODE": "8"}) == 2


def _record(message: str) -> logging.LogRecord:
    return logging.LogRecord("submitit", logging.WARNING, __file__, 1, message, (), None)


def test_each_distinct_sacct_error_is_shown_once_and_other_warnings_pass():
    f = _OnceSacctWarning()
    err = "Call #{} - Bypassing sacct error sacct exited with 1: Slurm accounting storage is disabled, status may be inaccurate."
    first, second = _record(err.format(1)), _record(err.format(2))
    assert f.filter(first) and "Slurm accounting storage is disabled" in first.getMessage()
    assert "Call #" not in first.getMessage() and "not repeated" in first.getMessage()
    assert not f.filter(second)  # the same error at the next poll
    assert f.filter(_record("Call #3 - Bypassing sacct error sacct exited with 1: connection refused"))
    assert f.filter(_record("Bypassing state error: something else"))


def test_the_test_cluster_says_why_it_cannot_start(monkeypatch, tmp_path):
    monkeypatch.setattr(slurm_local.shutil, "which", lambda name: None)
    monkeypatch.setattr(slurm_local.os, "geteuid", lambda: 1000)
    assert slurm_local.start(tmp_path) == "Slurm is not running and starting it needs root"
