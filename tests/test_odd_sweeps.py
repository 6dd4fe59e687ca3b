"""The report never shows a traceback: each odd sweep (made from a real one) gives a report, or one
line naming the sweep. And a job whose losses are not finite is 'diverged', never a sample."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest
from torch.utils.tensorboard import SummaryWriter

from conftest import data_overrides, run_cli
from lenet_ablate.errors import DivergedError
from lenet_ablate.report.__main__ import main as report_main
from lenet_ablate.training.module import EpochRecord, check_finite
from test_report import sweep_template  # noqa: F401 (the session's real sweep: 3 levels x 2 seeds, 2 epochs)


def _edit(job: Path, change: Callable[[dict], None]) -> None:
    path = job / "summary.json"
    s = json.loads(path.read_text())
    change(s)
    path.write_text(json.dumps(s))


def one_seed(sweep: Path) -> None:
    for job in sweep.glob("*-seed1"):
        shutil.rmtree(job)


def one_epoch(sweep: Path) -> None:
    def cut(s: dict) -> None:
        s["history"] = {k: v[:1] for k, v in s["history"].items()}
        s.update(epochs=1, best_epoch=1)
        s["config"]["trainer"]["max_epochs"] = 1
    for job in sweep.glob("*-seed*"):
        _edit(job, cut)


def _tb(job: Path, tags: dict[str, float]) -> None:
    shutil.rmtree(job / "tb")
    with SummaryWriter(str(job / "tb")) as w:
        for tag, value in tags.items():
            w.add_scalar(tag, value, 0)


def missing_tag(sweep: Path) -> None:
    for job in sweep.glob("*-seed*"):  # curves from TensorBoard (as before histories), one tag short
        _edit(job, lambda s: s.pop("history"))
        _tb(job, {"train/acc": 0.5, "train/loss": 1.0, "val/acc": 0.5})


def nan_metrics(sweep: Path) -> None:
    def nan(s: dict) -> None:
        s["metrics"].update(val_loss=math.nan, test_acc=1 / 3)
        s["history"]["val_loss"] = [math.nan] * len(s["history"]["val_loss"])
    _edit(sweep / "tanh-seed0", nan)


def none_completed(sweep: Path) -> None:
    for job in sweep.glob("*-seed*"):
        _edit(job, lambda s: s.update(status="failed", error="RuntimeError: boom"))


def single_configuration(sweep: Path) -> None:
    for job in [*sweep.glob("tanh-*"), *sweep.glob("sigmoid-*")]:
        shutil.rmtree(job)


def _copy_as(sweep: Path, old: str, new: str, change: Callable[[dict], None]) -> None:
    for job in sweep.glob(f"{old}-seed*"):
        target = sweep / job.name.replace(old, new)
        shutil.copytree(job, target)
        _edit(target, lambda s: (change(s), s.update(job_dir=str(target))))


def grid(sweep: Path) -> None:
    def avg(s: dict) -> None:
        for config in (s["config"], s["config_unresolved"]):
            config["pooling"]["name"] = "avg"
        s["factors"]["pooling"] = "avg"
        s["metrics"]["test_acc"] -= 0.01
    _copy_as(sweep, "relu", "relu-avg", avg)
    _copy_as(sweep, "tanh", "tanh-avg", avg)


def two_networks(sweep: Path) -> None:
    def other(s: dict) -> None:
        for config in (s["config"], s["config_unresolved"]):
            config["model"].update(name="other", _target_="nets.Other")
        s["network"]["model"] = "other"
    _copy_as(sweep, "relu", "other", other)


def older_scheme(sweep: Path) -> None:
    def old(s: dict) -> None:
        s["identity_scheme"] = 3
        for config in (s["config"], s["config_unresolved"]):
            config["model"].pop("name")
        s.pop("numeric_env", None)
        s.pop("history", None)
    _edit(sweep / "relu-seed0", old)


def empty_event_file(sweep: Path) -> None:
    for events in (sweep / "relu-seed0" / "tb").glob("events.out.tfevents*"):
        events.write_bytes(b"")
    _edit(sweep / "relu-seed0", lambda s: s.pop("history"))


ODD = [one_seed, one_epoch, missing_tag, nan_metrics, none_completed, single_configuration, grid, two_networks,
       older_scheme, empty_event_file]


@pytest.mark.parametrize("make", ODD, ids=[f.__name__ for f in ODD])
def test_an_odd_sweep_gets_a_report_or_one_line(make, sweep_template, tmp_path, capsys):  # noqa: F811
    sweep = tmp_path / "multirun" / "odd"
    shutil.copytree(sweep_template, sweep)
    make(sweep)
    code = report_main([str(sweep), "--out", str(tmp_path / "reports")])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if code:
        assert code == 1 and err.count("\n") == 1 and str(sweep) in err, err
    else:
        assert (tmp_path / "reports" / "odd" / "report.html").is_file()
    if make is nan_metrics:  # a summary that says 'completed' over a NaN loss is read as diverged
        runs = pd.read_csv(tmp_path / "reports" / "odd" / "runs.csv").set_index("job")
        assert runs.loc["tanh-seed0", "status"] == "diverged"


def test_non_finite_losses_are_divergence_by_hand():
    ok = {"train_loss": 0.3, "val_loss": 0.4, "test_loss": 0.5}
    history = [EpochRecord(1, 0.5, 0.9, 0.5, 0.8), EpochRecord(2, 0.6, 7e20, 0.2, math.nan)]
    check_finite(ok, history, best_epoch=1)
    with pytest.raises(DivergedError, match=r"val_loss=nan at epoch 2, where the checkpoint was chosen"):
        check_finite(ok, history, best_epoch=2)
    with pytest.raises(DivergedError, match=r"non-finite loss: train_loss=inf, test_loss=nan"):
        check_finite({**ok, "train_loss": math.inf, "test_loss": math.nan}, history, best_epoch=1)


BLOWUP = '''
import torch
from torch import nn


class Blowup(nn.Module):
    """Trains, but its evaluation outputs are NaN: validation loss NaN, accuracy at chance."""

    def __init__(self, in_channels, num_classes, image_size):
        super().__init__()
        self.lin = nn.Sequential(nn.Flatten(), nn.Linear(in_channels * image_size ** 2, num_classes))

    def forward(self, x):
        out = self.lin(x)
        return out if self.training else out * float("nan")
'''


def test_a_network_that_blows_up_in_one_epoch_is_diverged_and_leaves_the_verdicts(tmp_path, tiny_data, monkeypatch):
    code = tmp_path / "code"
    (code / "conf" / "model").mkdir(parents=True)
    (code / "blownets.py").write_text(BLOWUP)
    (code / "conf" / "model" / "blowup.yaml").write_text("name: blowup\n_target_: blownets.Blowup\n")
    monkeypatch.syspath_prepend(str(code))
    proc = run_cli(["--config-dir", str(code / "conf"), "model=blowup", *data_overrides(*tiny_data),
                    "trainer.max_epochs=1", f"hydra.run.dir={tmp_path / 'run'}"], tmp_path,
                   env={"PYTHONPATH": str(code)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    s = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert s["status"] == "diverged" and "val_loss=nan at epoch 1, where the checkpoint was chosen" in s["error"]
    assert "metrics" not in s  # no accuracy to count as a sample
