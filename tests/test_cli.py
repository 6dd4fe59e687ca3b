"""The real command line, end to end, on a generated data set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import data_overrides, run_cli


def events(run_dir: Path) -> EventAccumulator:
    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    return acc


def hparams_of(run_dir: Path) -> dict:
    from tensorboard.plugins.hparams import plugin_data_pb2

    content = events(run_dir).PluginTagToContent("hparams")
    info = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    return {k: (v.string_value or v.number_value) for k, v in info.session_start_info.hparams.items()}


def test_single_run_end_to_end(tmp_path, tiny_data):
    out = tmp_path / "run"
    proc = run_cli([*data_overrides(*tiny_data), "trainer.max_epochs=3", f"hydra.run.dir={out}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = proc.stdout.strip().splitlines()[-1]
    assert line.startswith("[completed] train ") and f"logs: {out}" in line and "epochs 3" in line
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["epochs"] == 3
    m = summary["metrics"]
    assert m["test_acc"] > 0.5 and m["val_acc"] > 0.5, m  # 10 classes: chance is 0.1
    assert 1 <= summary["best_epoch"] <= 3
    assert summary["factors"]["activation"] == "relu" and summary["seed"] == 0
    assert summary["parameters"]["total"] == 61706
    assert len(summary["confusion_matrix"]) == 10 and sum(map(sum, summary["confusion_matrix"])) == 300
    assert summary["git"].keys() == {"commit", "dirty"} and summary["version"]
    assert summary["threads"] >= 1
    assert (out / "checkpoints" / "best.ckpt").is_file()
    acc = events(out / "tb")
    tags = acc.Tags()["scalars"]
    for tag in ("train/loss", "train/acc", "val/loss", "val/acc"):
        assert [e.step for e in acc.Scalars(tag)] == [0, 1, 2], tag
    assert acc.Scalars("test/acc")[-1].value == pytest.approx(m["test_acc"], abs=1e-6)
    assert "hp_metric" not in tags
    hp = hparams_of(out / "tb")
    assert hp["activation"] == "relu" and hp["optimizer"] == "sgd" and hp["seed"] == 0
    assert acc.Scalars("hparams/test_acc")[-1].value == pytest.approx(m["test_acc"], abs=1e-6)


def test_multirun_two_jobs_each_with_hparams_then_skips(tmp_path, tiny_data):
    sweep = tmp_path / "sweep"
    args = ["-m", "activation=relu,tanh", *data_overrides(*tiny_data), "trainer.max_epochs=1",
            f"hydra.sweep.dir={sweep}"]
    proc = run_cli(args, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "sweep: 2 completed, 0 diverged, 0 failed, 0 skipped" in proc.stdout
    runs = sorted(p.parent for p in sweep.glob("*/tb"))
    assert [r.name.split(",")[0] for r in runs] == ["activation=relu", "activation=tanh"]
    assert [hparams_of(r / "tb")["activation"] for r in runs] == ["relu", "tanh"]
    files_before = sorted(str(p) for p in sweep.rglob("events.out.tfevents*"))
    again = run_cli(args, tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "sweep: 0 completed, 0 diverged, 0 failed, 2 skipped" in again.stdout
    assert sorted(str(p) for p in sweep.rglob("events.out.tfevents*")) == files_before


def test_missing_data_is_a_short_error(tmp_path):
    proc = run_cli([f"data.root={tmp_path / 'nowhere'}", f"hydra.run.dir={tmp_path / 'r'}"], tmp_path,
                   env={"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"})
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "not found" in proc.stderr and "nowhere" in proc.stderr and "make data" in proc.stderr


def test_lecun1998_preset_trains_better_than_chance(tmp_path, tiny_data):
    out = tmp_path / "lecun"
    proc = run_cli(["model=lecun1998", *data_overrides(*tiny_data), "trainer.max_epochs=3", f"hydra.run.dir={out}"],
                   tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["parameters"]["total"] == 60000
    assert summary["factors"]["head"] == "rbf" and summary["config"]["data"]["input"] == "lecun32"
    assert summary["metrics"]["test_acc"] > 0.3, summary["metrics"]  # chance is 0.1
