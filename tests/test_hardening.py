"""Bad input, broken writes, interruptions and reproducibility."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess

import pytest

from conftest import ROOT, data_overrides, run_cli
from signal_cases import JOBLIB_CASES, JOBLIB_IDS, ctrl_c_single_run, signal_joblib_sweep
from lenet_ablate.runs import records
from lenet_ablate.report import render
from lenet_ablate.report.__main__ import main as report_main
from lenet_ablate import compose
from lenet_ablate.config import ConfigError, validate


def validated(*overrides: str):
    return validate(compose(*overrides))


@pytest.mark.parametrize("override,message", [
    ("dropout.p=1.0", "dropout.p=1.0 is not allowed: must be in [0, 1)"),
    ("dropout.p=-0.1", "dropout.p=-0.1 is not allowed"),
    ("optimizer.lr=0", "optimizer.lr=0.0 is not allowed: must be > 0"),
    ("optimizer.lr=abc", "optimizer.lr: Value 'abc' of type 'str' could not be converted to Float"),
    ("optimizer.momentum=1.0", "optimizer.momentum=1.0 is not allowed: must be in [0, 1)"),
    ("data.batch_size=0", "data.batch_size=0 is not allowed: must be in [1, 55000]"),
    ("data.batch_size=55001", "data.batch_size=55001 is not allowed"),
    ("trainer.max_epochs=0", "trainer.max_epochs=0 is not allowed: must be >= 1"),
    ("data.val_size=0", "data.val_size=0 is not allowed: must be in [1, 59999]"),
    ("data.val_size=60000", "data.val_size=60000 is not allowed"),
    ("data.name=cifar", "data.name='cifar' is not allowed; allowed: fashion_mnist, mnist"),
    ("seed=-1", "seed=-1 is not allowed: must be a non-negative integer"),
    ("optimizer.name=rmsprop optimizer.fused=true", "optimizer.fused=True is not allowed: PyTorch has a fused sgd and adam"),
    ("seed=1.5", "seed: Value '1.5' of type 'float' could not be converted to Integer"),
    ("optimizer.schedule=linear", "optimizer.schedule='linear' is not allowed; allowed: none, cosine, lecun1998"),
    ("seeds_boundaries=holm", "seeds_boundaries='holm' is not allowed; allowed: bonferroni, exact"),
])
def test_bad_values_name_key_value_and_rule(override, message):
    with pytest.raises(ConfigError) as err:
        validated(*override.split())
    assert message in str(err.value)


def test_rbf_template_errors():
    with pytest.raises(ConfigError, match="head.templates=.gray. is not allowed; allowed: digits, hadamard, random"):
        validated("head=rbf", "head.templates=gray")
    from lenet_ablate.model.templates import codebook
    with pytest.raises(ValueError, match="template set 'digits' has 10 codes, the data has 5 classes"):
        codebook("digits", num_classes=5)


@pytest.mark.parametrize("args,rc,expected", [
    (["activation=swish"], 1, "Could not find 'activation/swish'"),
    (["trainer.max_epoch=3"], 1, "Key 'max_epoch' is not in struct"),
    (["optimizer.lr=-1"], 2, "optimizer.lr=-1.0 is not allowed: must be > 0"),
    (["-m", "dropout.p=0.2,1.5"], 2, "dropout.p=1.5 is not allowed"),
    # Study keys of an experiment: checked where the sweep first reads them, before it expands.
    (["experiment=pooling", "seeds=0"], 2, "lenet_ablate: error: seeds=0 is not allowed: must be an integer >= 1 or auto"),
    (["experiment=pooling", "seeds=-1"], 2, "lenet_ablate: error: seeds=-1 is not allowed: must be an integer >= 1"),
    (["experiment=pooling", "seeds=abc"], 2, "lenet_ablate: error: seeds='abc' is not allowed: must be an integer"),
    (["experiment=pooling", "seeds=auto", "seeds_pilot=1"], 2, "seeds_pilot=1 is not allowed: must be >= 2"),
])
def test_cli_config_errors_are_short_and_before_training(tmp_path, args, rc, expected):
    proc = run_cli([*args, f"hydra.run.dir={tmp_path / 'run'}", f"hydra.sweep.dir={tmp_path / 'sweep'}",
                    f"study_dir={tmp_path / 'study'}"], tmp_path)
    assert proc.returncode == rc, proc.stderr
    assert expected in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 15
    assert "Warning" not in proc.stderr and "interpolation" not in proc.stderr and "Launching" not in proc.stdout
    assert not list(tmp_path.rglob("summary.json")) and not list(tmp_path.rglob("events.out.tfevents*"))


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    proc = run_cli([f"hydra.run.dir={blocker / 'run'}"], tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "cannot create the output folder" in proc.stderr and "not a folder" in proc.stderr


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    target = tmp_path / "summary.json"
    records.write_json(target, {"status": "completed"})

    def full_disk(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError):
        records.write_json(target, {"status": "running", "pad": "x" * 10000})
    assert json.loads(target.read_text()) == {"status": "completed"}
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]  # no temporary left behind


def test_report_on_a_full_disk_presents_no_partial_report(tmp_path, monkeypatch, capsys):
    sweep = tmp_path / "multirun" / "s"
    (sweep / "job" / ".hydra").mkdir(parents=True)
    (sweep / "multirun.yaml").write_text("hydra: {overrides: {task: []}, sweeper: {params: null}}\n")
    records.write_json(sweep / "job" / "summary.json", {"status": "failed", "error": "boom", "factors": {}})
    out = tmp_path / "reports"

    def full_disk(path, text):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(render, "atomic_write_text", full_disk)
    assert report_main([str(sweep), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and err.count("\n") == 1
    assert not list(out.rglob("report.md")) and not list(out.rglob("*.png"))


@pytest.mark.processes
def test_ctrl_c_stops_records_interrupted_and_flushes(tmp_path, tiny_data):
    ctrl_c_single_run(tmp_path, tiny_data)


def test_same_seed_gives_bit_identical_metrics(tmp_path, tiny_data):
    results = []
    for name in ("a", "b"):
        proc = run_cli([*data_overrides(*tiny_data), "trainer.max_epochs=2", "dropout=p0.5",
                        f"hydra.run.dir={tmp_path / name}"], tmp_path)
        assert proc.returncode == 0, proc.stderr[-2000:]
        results.append(json.loads((tmp_path / name / "summary.json").read_text()))
    a, b = results
    assert a["metrics"] == b["metrics"]  # exact float equality
    assert a["confusion_matrix"] == b["confusion_matrix"]
    assert a["job_id"] == b["job_id"] and a["config"] == b["config"]
    assert a["git"] == b["git"] and a["version"] == b["version"]


@pytest.mark.processes
def test_a_job_gives_the_same_metrics_in_process_and_under_joblib(tmp_path, tiny_data):
    """trainer.threads=1 fixes the thread count, so a job's numbers do not depend on how it is
    launched (or on the machine's cores): one run in this process, the same job as one of two
    joblib workers side by side."""
    common = [*data_overrides(*tiny_data), "trainer.max_epochs=2", "trainer.threads=1"]
    alone = run_cli([*common, f"hydra.run.dir={tmp_path / 'alone'}"], tmp_path)
    assert alone.returncode == 0, alone.stderr[-2000:]
    sweep = tmp_path / "joblib"
    parallel = run_cli(["-m", *common, "seed=0,1", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
                        f"hydra.sweep.dir={sweep}", "hydra.sweep.subdir=seed${seed}"], tmp_path)
    assert parallel.returncode == 0, parallel.stderr[-2000:]
    a = json.loads((tmp_path / "alone" / "summary.json").read_text())
    b = json.loads((sweep / "seed0" / "summary.json").read_text())
    assert b["threads"] == a["threads"] == 1
    assert a["metrics"] == b["metrics"] and a["confusion_matrix"] == b["confusion_matrix"]  # exact
    assert a["job_id"] == b["job_id"]


@pytest.mark.processes
@pytest.mark.parametrize("signum, code, words, group", JOBLIB_CASES, ids=JOBLIB_IDS)
def test_a_signal_to_a_joblib_sweeps_process_group_ends_it_cleanly(tmp_path, tiny_data, signum, code, words, group):
    # Before: SIGTERM and SIGHUP killed the launcher (143 or 129, no message) and left the jobs
    # 'running' (joblib tore the workers down first).
    args = signal_joblib_sweep(tmp_path, tiny_data, signum, code, words, group)
    if signum != signal.SIGTERM or not group:
        return
    # The same command completes the sweep: the two stopped jobs again, and the third.
    rerun = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=600,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert "sweep: 3 completed" in rerun.stdout, rerun.stdout[-2000:]
