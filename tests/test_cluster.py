"""Slurm support that needs no Slurm: CPUs granted to a job, the sacct warning shown once, and the
test cluster's skip reason (the real cluster tests are in test_slurm.py, make test-slurm)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

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


def test_submitit_logs_once_through_the_applications_logging_and_jobs_keep_its_setup():
    # A fresh interpreter (submitit configures its handlers at first import, once per process).
    # This fails if submitit stops honouring its documented SUBMITIT_LOG_LEVEL=NOCONFIG switch.
    code = ("import logging, os; from lenet_ablate.study.cluster import quiet_sacct; quiet_sacct(); "
            "print(len(logging.getLogger('submitit').handlers), os.environ.get('SUBMITIT_LOG_LEVEL'))")
    env = {k: v for k, v in os.environ.items() if k != "SUBMITIT_LOG_LEVEL"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["0", "None"]  # no own handlers; the environment jobs inherit unchanged
    plain = subprocess.run([sys.executable, "-c", "import logging, submitit; "
                            "print(len(logging.getLogger('submitit').handlers))"],
                           capture_output=True, text=True, env=env, check=True)
    assert plain.stdout.split() == ["2"]  # what the switch avoids: submitit's stdout and stderr handlers
