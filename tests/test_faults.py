"""Two faults a laptop meets end in a few lines, not a traceback: a worker killed from outside
(SIGKILL, as the out-of-memory killer does) and a config file that does not parse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from conftest import ROOT, data_overrides, run_cli
from lenet_ablate.config import check_yaml_files
from lenet_ablate.errors import ConfigError


def test_a_config_file_that_does_not_parse_is_one_line(tmp_path):
    conf = tmp_path / "myconf"
    (conf / "activation").mkdir(parents=True)
    (conf / "activation" / "gelu.yaml").write_text("name: gelu\n_target_: [torch.nn.GELU\nfoo: 1\n")
    proc = run_cli(["--config-dir", str(conf), "activation=gelu"], tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [f"lenet_ablate: error: {conf / 'activation' / 'gelu.yaml'}:3: the config file does not parse "
                     "(while parsing a flow sequence expected ',' or ']', but got ':')"]
    (tmp_path / "pkgconf").mkdir()  # the package's own conf/ is read the same way
    (tmp_path / "pkgconf" / "config.yaml").write_text("seed: 0\n  bad: indent\n")
    with pytest.raises(ConfigError, match=r"pkgconf/config\.yaml:2: the config file does not parse"):
        check_yaml_files([ROOT / "conf", tmp_path / "pkgconf"])


@pytest.mark.processes
def test_a_worker_killed_from_outside_ends_the_sweep_in_a_few_lines(tmp_path, tiny_data):
    sweep = tmp_path / "sweep"
    args = [sys.executable, "-m", "lenet_ablate", "-m", "seed=0,1,2", *data_overrides(*tiny_data),
            "trainer.max_epochs=100", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={sweep}"]
    proc = subprocess.Popen(args, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline, running = time.time() + 180, []
    while time.time() < deadline and len(running) < 2:  # both workers have started a job (their summaries)
        running = [s for p in sweep.glob("*/summary.json") for s in [json.loads(p.read_text() or "{}")]
                   if s.get("status") == "running"]
        time.sleep(0.1)
    assert len(running) == 2
    os.kill(running[0]["pid"], 9)  # one worker, as the out-of-memory killer would
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 137 and "Traceback" not in stderr, stderr[-3000:]
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) <= 5 and "killed from outside (SIGKILL; a likely cause: the out-of-memory killer)" in lines[0]
    assert running[0]["job_dir"] in stderr and "run the same command again to continue" in stderr
    statuses = [json.loads(p.read_text())["status"] for p in sweep.glob("*/summary.json")]
    assert sorted(statuses) == ["interrupted", "interrupted"]  # the killed job and the other in flight


def test_verify_retrains_a_recorded_job_and_compares_bit_for_bit(tmp_path, tiny_data, capsys):
    from lenet_ablate.verify import main as verify_main

    job = tmp_path / "job"
    proc = run_cli([*data_overrides(*tiny_data), "trainer.max_epochs=1", f"hydra.run.dir={job}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert verify_main([str(job)]) == 0
    assert capsys.readouterr().out == "identical\n"
    summary = json.loads((job / "summary.json").read_text())
    recorded = summary["metrics"]["test_acc"]
    summary["metrics"]["test_acc"] = recorded + 2 ** -30  # as another CPU's kernels would leave it
    summary["numeric_env"]["cpu_model"] = "Another CPU"
    (job / "summary.json").write_text(json.dumps(summary))
    assert verify_main([str(job)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "different: 1 value(s)"
    assert out[1] == f"  metrics.test_acc: recorded {recorded + 2 ** -30!r}, now {recorded!r}"
    assert "Another CPU" in out[2] and out[3].startswith("this machine: {'cpu_vendor'")
    assert verify_main([str(tmp_path)]) == 2  # no job there


def test_a_slurm_job_that_ended_without_its_result_is_named_in_a_few_lines(tmp_path, monkeypatch):
    """What submitit raises when Slurm reports a job ended without a result (killed by its node or
    the out-of-memory killer): the job still 'running' is recorded 'interrupted', the rest kept."""
    from submitit.core.utils import UncompletedJobError

    from lenet_ablate.runs import stopping

    killed, done = tmp_path / "max-seed0", tmp_path / "avg-seed0"
    for job, status in ((killed, "running"), (done, "completed")):
        job.mkdir()
        (job / "summary.json").write_text(json.dumps({"status": status}))
    monkeypatch.setattr(stopping.STOP, "sweeps", [])  # this test's sweep only
    stopping.watch(tmp_path)
    kind = stopping.worker_killed(UncompletedJobError("Job 11 (task: 0) has not produced any output (state: OUT_OF_MEMORY)"))
    assert kind == "slurm" and stopping.worker_killed(ValueError("x")) == ""
    error = stopping.killed_error(stopping.record_killed(), slurm=True)
    lines = str(error).splitlines()
    assert len(lines) == 3 and lines[0].startswith("a Slurm job ended without its result: its process was killed")
    assert lines[1:] == ["  " + str(killed), "Completed jobs are kept; run the same command again to continue (with "
                         "more memory per job)."]
    assert error.exit_code == 137
    assert json.loads((killed / "summary.json").read_text())["status"] == "interrupted"
    assert json.loads((done / "summary.json").read_text()) == {"status": "completed"}
