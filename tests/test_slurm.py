"""The cluster path on a real single-node Slurm (make test-slurm): sweeps through
hydra/launcher=slurm on generated data. Skipped with a one-line reason where Slurm cannot run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, data_overrides, run_cli
from slurm_local import LocalSlurm, start

pytestmark = pytest.mark.slurm


@pytest.fixture(scope="module")
def slurm(tmp_path_factory) -> LocalSlurm:
    cluster = start(tmp_path_factory.mktemp("slurm"))
    if isinstance(cluster, str):
        if os.environ.get("LENET_ABLATE_REQUIRE_SLURM"):  # CI: the cluster path must run, not skip
            pytest.fail(f"no Slurm: {cluster}")
        pytest.skip(f"no Slurm: {cluster}")
    yield cluster
    cluster.stop()


def summaries(sweep: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in sweep.glob("*/summary.json")}


def test_slurm_sweep_uses_granted_cpus_matches_local_and_skips_completed(slurm, tmp_path, tiny_data):
    common = ["experiment=pooling", "seeds=2", "trainer.max_epochs=1", *data_overrides(*tiny_data)]
    # trainer.threads=null: the test data's one thread gives way to the CPUs Slurm grants.
    on_slurm = [*common, "trainer.threads=null", "hydra/launcher=slurm", "hydra.launcher.cpus_per_task=2",
                "hydra.launcher.mem_gb=1", f"study_dir={tmp_path / 'slurm'}"]
    proc = run_cli(on_slurm, tmp_path, env=slurm.env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "sweep: 4 completed, 0 diverged, 0 failed, 0 skipped" in proc.stdout
    assert out.count("sacct failed") <= 1 and "Bypassing sacct" not in out  # once, not three times per poll
    sweep = tmp_path / "slurm" / "pooling"
    remote = summaries(sweep)
    assert {s["threads"] for s in remote.values()} == {2}  # granted cpus_per_task, not trainer.threads=1
    assert list((sweep / ".slurm").glob("*/*_log.out")), "Slurm's job logs belong in the sweep folder"

    local = run_cli([*common, "trainer.threads=2", f"study_dir={tmp_path / 'local'}"], tmp_path)
    assert local.returncode == 0, local.stderr[-3000:]
    for job, s in summaries(tmp_path / "local" / "pooling").items():
        assert s["metrics"] == remote[job]["metrics"], job  # same code, data and threads: same numbers

    again = run_cli(on_slurm, tmp_path, env=slurm.env)
    assert "sweep: 0 completed, 0 diverged, 0 failed, 4 skipped" in again.stdout, again.stdout[-2000:]

    from lenet_ablate.report.__main__ import main as report_main

    assert report_main([str(sweep), "--out", str(tmp_path / "rep")]) == 0
    runs = (tmp_path / "rep" / "pooling" / "runs.csv").read_text().splitlines()
    assert len(runs) == 5 and sum(",completed," in line for line in runs) == 4


def test_scancel_mid_training_records_interrupted_and_the_next_submission_redoes_it(slurm, tmp_path, tiny_data):
    args = ["experiment=pooling", "seeds=1", "hydra.sweeper.params.pooling=max", "trainer.max_epochs=60",
            "hydra/launcher=slurm", "hydra.launcher.cpus_per_task=1", "hydra.launcher.mem_gb=1",
            f"study_dir={tmp_path}", *data_overrides(*tiny_data)]
    env = {**slurm.env, "PYTHONPATH": str(ROOT)}
    sweep_proc = subprocess.Popen([sys.executable, "-m", "lenet_ablate", *args], cwd=tmp_path, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    summary = tmp_path / "pooling" / "max-seed0" / "summary.json"
    deadline = time.time() + 120
    # An epoch trained and validated (the best checkpoint exists): the job is mid-training.
    while time.time() < deadline and not (summary.parent / "checkpoints" / "best.ckpt").exists():
        time.sleep(0.5)
    jobs = subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True, env=slurm.env).stdout.split()
    assert jobs, "the job should be running"
    subprocess.run(["scancel", *jobs], check=True, env=slurm.env)
    out, _ = sweep_proc.communicate(timeout=120)
    s = json.loads(summary.read_text())
    assert s["status"] == "interrupted" and "SIGTERM" in s["error"], out[-3000:]
    assert "1 interrupted" in out

    rerun = run_cli(args, tmp_path, env=slurm.env)
    assert "sweep: 1 completed" in rerun.stdout, rerun.stdout[-2000:]
    s = json.loads(summary.read_text())
    assert s["status"] == "completed" and s["epochs"] == 60


def test_tune_lr_runs_both_phases_through_slurm(slurm, tmp_path, tiny_data):
    args = ["experiment=pooling", "tune=lr", "seeds=1", "tune.lr_scales=[0.5,1.0]", "trainer.max_epochs=1",
            "hydra/launcher=slurm", "hydra.launcher.cpus_per_task=1", "hydra.launcher.mem_gb=1",
            f"study_dir={tmp_path}", *data_overrides(*tiny_data)]
    proc = run_cli(args, tmp_path, env=slurm.env)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    # 2 levels x 2 lrs at the full budget: every final run is a screening run, none trains twice.
    assert "sweep: 4 completed, 0 diverged, 0 failed, 0 skipped" in proc.stdout, proc.stdout[-2000:]
    sweep = tmp_path / "pooling"
    done = summaries(sweep)
    for r in json.loads((sweep / "tuning.json").read_text())["configurations"]:
        val = {p["lr"]: done[p["runs"][0]["job"]]["metrics"]["val_acc"] for p in r["grid"]}
        assert r["chosen_lr"] == max(val, key=val.get)


def test_seeds_auto_runs_its_looks_through_slurm(slurm, tmp_path, tiny_data):
    args = ["experiment=pooling", "seeds=auto", "seeds_max=5", "trainer.max_epochs=1", "hydra/launcher=slurm",
            "hydra.launcher.cpus_per_task=1", "hydra.launcher.mem_gb=1", f"study_dir={tmp_path}",
            *data_overrides(*tiny_data)]
    proc = run_cli(args, tmp_path, env=slurm.env)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    sweep = tmp_path / "pooling"
    looks = json.loads((sweep / "seeds.json").read_text())["looks"]
    assert [look["n"] for look in looks] == [3, 5][:len(looks)]
    trained = sum(look["jobs_added"] for look in looks)
    assert len(summaries(sweep)) == trained  # every look's jobs ran as Slurm jobs, and no other
    assert f"sweep: {trained} completed, 0 diverged, 0 failed, 0 skipped" in proc.stdout, proc.stdout[-2000:]
    again = run_cli(args, tmp_path, env=slurm.env)
    assert "sweep: 0 completed, 0 diverged, 0 failed, 6 skipped" in again.stdout, again.stdout[-2000:]
