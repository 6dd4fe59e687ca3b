"""`make stress`: every signal case 20 times while another process keeps every CPU busy (80 cases).
Not part of `make test` (about half an hour on 2 cores); its result is in docs/performance.md."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from signal_cases import JOBLIB_CASES, JOBLIB_IDS, ctrl_c_single_run, signal_joblib_sweep

pytestmark = pytest.mark.stress
ROUNDS = 20
BURN = "while True: pass"


@pytest.fixture(scope="module")
def busy_cpus():
    """One busy-looping process per CPU for the module's tests; stopped by their pids."""
    procs = [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(os.cpu_count() or 1)]
    yield
    for p in procs:
        p.kill()
        p.wait()


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_ctrl_c_under_load(busy_cpus, tmp_path, tiny_data, round_):
    ctrl_c_single_run(tmp_path, tiny_data)


@pytest.mark.parametrize("round_", range(ROUNDS))
@pytest.mark.parametrize("signum, code, words, group", JOBLIB_CASES[:3], ids=JOBLIB_IDS[:3])
def test_a_signal_to_a_joblib_sweep_under_load(busy_cpus, tmp_path, tiny_data, signum, code, words, group, round_):
    signal_joblib_sweep(tmp_path, tiny_data, signum, code, words, group)
