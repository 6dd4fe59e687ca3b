"""Results are never lost or mixed (issue cases 1-4, 7): reruns with other settings, concurrent
sweeps, one identity per training, Ctrl-C in the test phase, sweep progress; all through the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, data_overrides, default_sigint, run_cli, write_dataset


def test_rerun_with_other_settings_refuses_to_replace_a_completed_result(tmp_path, tiny_data, monkeypatch):
    common = ["experiment=pooling", "seeds=1", "trainer.max_epochs=1", f"study_dir={tmp_path / 'S'}",
              *data_overrides(*tiny_data)]
    old_umask = os.umask(0o022)
    monkeypatch.setattr("lenet_ablate.runs.records.UMASK", 0o022)  # as a process started under it reads it
    try:
        assert run_cli(common, tmp_path).returncode == 0
    finally:
        os.umask(old_umask)
    job = tmp_path / "S" / "pooling" / "max-seed0"
    assert (job / "summary.json").stat().st_mode & 0o777 == 0o644  # as a plain open() under umask 022
    before = {p: p.read_bytes() for p in job.rglob("*") if p.is_file() and ".hydra" not in p.parts}
    proc = run_cli([*common, "optimizer.lr=0.01"], tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert str(job) in proc.stderr and "optimizer.lr: 0.05 -> 0.01" in proc.stderr and "force=true" in proc.stderr
    assert "study_dir=" in proc.stderr and "nothing was trained" in proc.stderr
    assert {p: p.read_bytes() for p in job.rglob("*") if p.is_file() and ".hydra" not in p.parts} == before
    # A failed result may be replaced without force; a completed one with force=true.
    for path in (tmp_path / "S" / "pooling").glob("*/summary.json"):
        path.write_text(json.dumps({**json.loads(path.read_text()), "status": "failed"}))
    assert run_cli([*common, "optimizer.lr=0.01"], tmp_path).returncode == 0
    assert json.loads((job / "summary.json").read_text())["config"]["optimizer"]["lr"] == 0.01
    assert run_cli([*common, "force=true"], tmp_path).returncode == 0
    assert json.loads((job / "summary.json").read_text())["config"]["optimizer"]["lr"] == 0.05


def test_equal_trainings_have_one_identity(tmp_path, tiny_data):
    out = [*data_overrides(*tiny_data), "trainer.max_epochs=1", f"hydra.run.dir={tmp_path / 'run'}"]
    assert run_cli(out, tmp_path).returncode == 0
    proc = run_cli([*out, "dropout.p=0"], tmp_path)  # the int 0 vs the YAML's 0.0
    assert proc.returncode == 0 and "[completed, skipped]" in proc.stdout, proc.stdout + proc.stderr[-2000:]


@pytest.mark.processes
def test_two_copies_of_a_sweep_share_its_jobs(tmp_path, tiny_data):
    args = [sys.executable, "-m", "lenet_ablate", "experiment=activation", "seeds=2", "trainer.max_epochs=3",
            f"study_dir={tmp_path}", *data_overrides(*tiny_data)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    trained = sum(line.startswith("[completed]") for out in outs for line in out.splitlines())
    assert trained == 6, outs  # 6 jobs, each trained by exactly one of the two processes
    for job in (tmp_path / "activation").glob("*-seed*"):  # event files: ...tfevents.<time>.<host>.<pid>.<n>
        writers = {p.name.split(".")[-2] for p in job.glob("tb/events.out.tfevents*")}
        assert len(writers) == 1 and json.loads((job / "summary.json").read_text())["status"] == "completed"
    # Progress: a line per job start and end, with the sweep's size and an ETA.
    assert any(line.startswith("[job 1/6] ") and " started | elapsed " in line for line in outs[0].splitlines())
    assert any(line.startswith("[job 6/6] ") and "ETA done" in line for out in outs for line in out.splitlines())
    assert all("sweep: " in out for out in outs)


@pytest.mark.processes
def test_ctrl_c_in_the_test_phase_records_interrupted(tmp_path):
    folder = tmp_path / "data"
    md5 = write_dataset(folder, n_train=600, n_test=6000)  # a test phase of seconds at batch 1
    run = tmp_path / "run"
    log = open(tmp_path / "log", "w")  # Lightning's progress bar writes to stdout
    proc = subprocess.Popen([sys.executable, "-m", "lenet_ablate", *data_overrides(folder, md5),
                             "data.eval_batch_size=1", "trainer.max_epochs=1", f"hydra.run.dir={run}"],
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=log,
                            stderr=subprocess.STDOUT, text=True, preexec_fn=default_sigint)
    deadline = time.time() + 120
    while time.time() < deadline and "Testing DataLoader 0:" not in (tmp_path / "log").read_text():
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before its test phase could be interrupted"
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)
    log.close()
    assert proc.returncode == 130, (tmp_path / "log").read_text()[-2000:]
    assert json.loads((run / "summary.json").read_text())["status"] == "interrupted"


def test_moving_a_module_changes_no_identity_and_old_summaries_are_recognised(tmp_path):
    """Identity from meaning: an option is its `name`, whatever module builds it. A summary written
    under scheme 1 (ids over `_target_` paths) is recognised from the config it stores."""
    import hashlib

    
    from lenet_ablate import compose
    from lenet_ablate.config import validate
    from lenet_ablate.runs.guard import conflict
    from lenet_ablate.runs.identity import bookkeeping, config_id, drop_keys, job_id, plain

    cfg = validate(compose("activation=scaled_tanh", "pooling=subsample"))
    moved = plain(cfg)
    moved["activation"]["_target_"] = "lenet_ablate.model.network.layers.ScaledTanh"  # the module moved
    moved["pooling"]["_target_"] = "elsewhere.Subsampling"
    assert job_id(moved) == job_id(cfg) and config_id(moved) == config_id(cfg)
    other = plain(cfg)
    other["activation"]["name"] = "tanh"
    assert job_id(other) != job_id(cfg)  # another option is another training
    # A completed scheme-1 summary: its stored job_id hashed the old module paths.
    old_id = hashlib.sha256(json.dumps(drop_keys(moved, bookkeeping()), sort_keys=True,
                                       default=str).encode()).hexdigest()[:16]
    assert old_id != job_id(cfg)
    (tmp_path / "summary.json").write_text(json.dumps({"status": "completed", "job_id": old_id, "config": moved}))
    assert conflict(tmp_path, cfg) is None  # the same training: kept and skipped, not "another configuration"


def test_scheme_2_summaries_are_migrated_not_refused(tmp_path):
    """0.3.0 summaries kept `_partial_` flags and stored Adam's beta1 as `optimizer.momentum`; their
    training is today's `betas: [beta1, 0.999]` with no construction keys, so they are kept and skipped."""
    
    from lenet_ablate import compose
    from lenet_ablate.config import validate
    from lenet_ablate.runs.guard import conflict
    from lenet_ablate.runs.identity import job_id, plain

    adam = validate(compose("optimizer=adam"))
    stored = plain(adam)
    assert stored["optimizer"]["betas"] == [0.9, 0.999] and "momentum" not in stored["optimizer"]
    stored["optimizer"]["momentum"] = stored["optimizer"].pop("betas")[0]
    stored["head"]["_partial_"] = True
    assert job_id(stored) == job_id(adam)
    summary = {"status": "completed", "job_id": "0" * 16, "identity_scheme": 2, "config": stored}
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    assert conflict(tmp_path, adam) is None
    stored["optimizer"]["momentum"] = 0.5  # another beta1 is another training
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    assert "optimizer.betas: [0.5, 0.999] -> [0.9, 0.999]" in str(conflict(tmp_path, adam))


def test_a_dropout_rate_given_alone_is_that_rates_level():
    """`dropout.p=0.3` on the default `dropout=none` trains dropout 0.3: its level is p0.3 (not a
    mislabelled "none"), the same training as `dropout=p0.5 dropout.p=0.3`."""
    
    from lenet_ablate import compose
    from lenet_ablate.config import validate
    from lenet_ablate.runs.identity import factors, job_id, plain

    alone, named, zero = (validate(compose(*o)) for o in
                          (["dropout.p=0.3"], ["dropout=p0.5", "dropout.p=0.3"], ["dropout.p=0"]))
    assert factors(alone)["dropout"] == "p0.3" and job_id(alone) == job_id(named)
    assert factors(zero)["dropout"] == "none"
    stored = plain(alone)
    stored["dropout"]["name"] = "none"  # how 0.3.0 stored it: still the same training
    assert job_id(stored) == job_id(alone)
