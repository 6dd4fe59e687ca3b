"""The report: built from a real small sweep (1-2 epoch jobs on generated data)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from conftest import ROOT, data_overrides, run_cli
from lenet_ablate import report


@pytest.fixture(scope="session")
def sweep_template(tmp_path_factory, tiny_data) -> Path:
    """experiment=activation with 2 seeds, 2 epochs: 6 real jobs."""
    root = tmp_path_factory.mktemp("study")
    proc = run_cli(["experiment=activation", "seeds=2", "trainer.max_epochs=2", f"study_dir={root}",
                    *data_overrides(*tiny_data)], root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root / "activation"


@pytest.fixture
def sweep(sweep_template, tmp_path) -> Path:
    """A fresh copy with one job marked diverged and one job folder gone (missing)."""
    copy = tmp_path / "multirun" / "activation"
    shutil.copytree(sweep_template, copy)
    s = json.loads((copy / "tanh-seed1" / "summary.json").read_text())
    s.update(status="diverged", error="non-finite training loss (nan) in epoch 1")
    s.pop("metrics")
    (copy / "tanh-seed1" / "summary.json").write_text(json.dumps(s))
    shutil.rmtree(copy / "sigmoid-seed1")
    return copy


def test_mean_ci_and_tests_match_scipy():
    x = np.array([0.90, 0.91, 0.92, 0.905])
    mean, std, lo, hi = report.mean_ci(x)
    assert mean == pytest.approx(0.90875) and std == pytest.approx(np.std(x, ddof=1))
    half = stats.t.ppf(0.975, 3) * std / 2
    assert (lo, hi) == pytest.approx((mean - half, mean + half))
    a = pd.DataFrame({"seed": [0, 1, 2], "test_acc": [0.80, 0.82, 0.85]})
    b = pd.DataFrame({"seed": [0, 1, 2], "test_acc": [0.90, 0.91, 0.93]})
    name, p = report.compare(a, b)
    assert name == "paired t" and p == pytest.approx(stats.ttest_rel([0.80, 0.82, 0.85], [0.90, 0.91, 0.93]).pvalue)
    c = pd.DataFrame({"seed": [5, 6, 7, 8], "test_acc": [0.7, 0.72, 0.71, 0.69]})
    name, p = report.compare(c, b)
    assert name == "Welch t"
    assert p == pytest.approx(stats.ttest_ind([0.7, 0.72, 0.71, 0.69], [0.90, 0.91, 0.93], equal_var=False).pvalue)


def test_report_tables_csv_and_html(sweep, tmp_path):
    out = tmp_path / "reports"
    assert report.main([str(sweep), "--out", str(out)]) == 0
    runs = pd.read_csv(out / "activation" / "runs.csv")
    assert len(runs) == 6  # 4 completed + 1 diverged + 1 missing (never started)
    assert sorted(runs.status) == ["completed"] * 4 + ["diverged", "missing"]
    relu0 = runs[runs.job == "relu-seed0"].iloc[0]
    summary = json.loads((sweep / "relu-seed0" / "summary.json").read_text())
    for key in ("train_acc", "val_acc", "test_acc", "test_loss"):
        assert relu0[key] == pytest.approx(summary["metrics"][key])
    assert relu0.epochs == 2 and relu0.seed == 0 and relu0.activation == "relu"
    assert runs[runs.status == "missing"].job.iloc[0] == "activation=sigmoid,seed=1"
    md = (out / "activation" / "report.md").read_text()
    done = runs[runs.status == "completed"]
    by_config = done.groupby("activation").val_acc.mean()
    best_line = next(line for line in md.splitlines() if line.endswith("| best   |"))
    worst_line = next(line for line in md.splitlines() if line.endswith("| worst  |"))
    assert f"activation={by_config.idxmax()}," in best_line and f"activation={by_config.idxmin()}," in worst_line
    assert "## Experiment: activation" in md
    assert any("tanh-seed1" in line and "diverged" in line and "non-finite" in line for line in md.splitlines())
    assert "never started" in md
    html = (out / "activation" / "report.html").read_text()
    assert html.count("src='data:image/png;base64,") >= 5  # curves x2, confusion x2, bars
    for png in ("curves_best.png", "curves_worst.png", "confusion_best.png", "bars_activation.png"):
        assert (out / "activation" / png).stat().st_size > 1000


def test_empty_folder_and_truncated_event_file(sweep, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = subprocess.run([sys.executable, "-m", "lenet_ablate.report", str(empty), "--out", str(tmp_path / "r")],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "no runs found" in proc.stderr
    events = sorted((sweep / "relu-seed0" / "tb").glob("events.out.tfevents*"))[-1]
    events.write_bytes(events.read_bytes()[:-5])
    proc = subprocess.run([sys.executable, "-m", "lenet_ablate.report", str(sweep), "--out", str(tmp_path / "r")],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    warnings = [line for line in proc.stdout.splitlines() if "truncated" in line]
    assert len(warnings) == 1 and events.name in warnings[0]


def test_configurations_differing_outside_the_factors_are_kept_apart():
    base = {"activation": "relu", "pooling": "max", "optimizer": "sgd", "dropout": "none", "augmentation": "standard",
            "data": "fashion_mnist", "model": "lenet5", "head": "softmax"}
    done = pd.DataFrame([{**base, "config_id": cid, "seed": s} for cid in ("aaaaaa11", "bbbbbb22") for s in (0, 1)])
    labels = report.config_labels(done)
    assert labels.nunique() == 2 and labels.str.endswith("[aaaaaa]").sum() == 2
    rbf = pd.Series({**base, "head": "rbf"})
    assert report.config_key(rbf).endswith("head=rbf")
    assert report.config_labels(done.drop(columns="config_id")).nunique() == 1  # old summaries
