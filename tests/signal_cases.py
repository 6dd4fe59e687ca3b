"""The signal cases, shared by the suite (each once) and the stress run (`make stress`: each 20 times
beside a process that keeps every CPU busy): Ctrl-C to a single run, and SIGINT, SIGTERM or SIGHUP to
a joblib sweep's process group (or its launcher alone). Each waits on files and process states
(polled), never on a fixed sleep."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import ROOT, data_overrides, default_sigint

JOBLIB_CASES = [(signal.SIGINT, 130, "stopped by the user (Ctrl-C)", True),
                (signal.SIGTERM, 143, "stopped by SIGTERM", True), (signal.SIGHUP, 129, "stopped by SIGHUP", True),
                (signal.SIGTERM, 143, "stopped by SIGTERM", False)]
JOBLIB_IDS = ["SIGINT", "SIGTERM", "SIGHUP", "SIGTERM-launcher-only"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)  # polling a file or process state: there is no event to wait on
    return condition()


def ctrl_c_single_run(tmp_path: Path, tiny_data) -> None:
    """Ctrl-C after the first validated epoch: exit 130 (a run still alive 60 s later fails),
    'interrupted', logs flushed, and the run stopped long before its 500 epochs."""
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "lenet_ablate", *data_overrides(*tiny_data),
                             "trainer.max_epochs=500", f"hydra.run.dir={out}"], cwd=tmp_path, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint)
    assert _wait_for(lambda: list(out.glob("checkpoints/best.ckpt")), 180)  # an epoch validated
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "interrupted"
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(out / "tb"), size_guidance={"scalars": 0})
    acc.Reload()
    assert 1 <= len(acc.Scalars("val/acc")) < 500  # what was logged before the interrupt is on disk


def joblib_sweep_args(sweep: Path, tiny_data) -> list[str]:
    return [sys.executable, "-m", "lenet_ablate", "-m", "seed=0,1,2", *data_overrides(*tiny_data),
            "trainer.max_epochs=20", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={sweep}"]


def signal_joblib_sweep(tmp_path: Path, tiny_data, signum: int, code: int, words: str, group: bool) -> list[str]:
    """The signal reaches the whole process group (as a terminal, `timeout` or a container stop
    sends it) or, with group=False, the launching process alone. Three jobs on two workers: two in
    flight and one queued, which no worker may start. Returns the sweep's command."""
    sweep = tmp_path / "sweep"
    args = joblib_sweep_args(sweep, tiny_data)
    proc = subprocess.Popen(args, cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint, start_new_session=True)
    assert _wait_for(lambda: len(list(sweep.glob("*/checkpoints/best.ckpt"))) >= 2, 180)  # both validated
    if group:
        os.killpg(proc.pid, signum)
    else:  # `kill PID`: only the launching process gets it, and passes it on to its workers
        os.kill(proc.pid, signum)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, stderr[-2000:]
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr and len(lines) == 1 and words in lines[0], stderr[-2000:]
    assert lines[0].startswith("lenet_ablate: interrupted")

    def alive() -> bool:  # the launcher waited for its workers: its session should be empty now
        return subprocess.run(["pgrep", "-s", str(proc.pid)], capture_output=True).returncode == 0

    assert _wait_for(lambda: not alive(), 60)  # no worker outlives the sweep
    summaries = {p.parent.name: json.loads(p.read_text()) for p in sorted(sweep.glob("*/summary.json"))}
    assert len(summaries) == 2, sorted(summaries)  # the queued job never started
    assert {s["status"] for s in summaries.values()} == {"interrupted"}, summaries
    assert all(words in s["error"] for s in summaries.values())
    return args
