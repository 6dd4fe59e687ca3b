"""Any swept key is a factor: a network's own key or a training key gets seeds, its reference and
verdicts; one_at_a_time sweeps several keys around the baseline; a key that never reaches the network
is refused before training; a small folder trains with the default validation split."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf

from conftest import data_overrides, run_cli
from lenet_ablate import compose
from lenet_ablate.config import validate
from lenet_ablate.data.images import val_count
from lenet_ablate.errors import SweepError
from lenet_ablate.report.__main__ import main as report_main
from lenet_ablate.runs.expansion import expand
from lenet_ablate.study.networks import check_networks
from test_own import bar_folder

NETS = '''
import torch
from torch import nn


class Tiny(nn.Module):
    """Flatten, a hidden layer of `width` units, the activation; `extra` is taken and ignored."""

    def __init__(self, activation, in_channels, num_classes, image_size, width=16, **extra):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(in_channels * image_size ** 2, width), activation(),
                                 nn.Linear(width, num_classes))

    def forward(self, x):
        return self.net(x)


class Unpooled(Tiny):
    """Declares pooling, never calls it."""

    def __init__(self, activation, pooling, in_channels, num_classes, image_size, width=16):
        super().__init__(activation, in_channels, num_classes, image_size, width)


class Dropped(Tiny):
    """A dropout rate kept as a float and used in forward; an activation chosen by a string."""

    def __init__(self, in_channels, num_classes, image_size, rate=0.0, act="relu"):
        super().__init__(nn.ReLU if act == "relu" else nn.Tanh, in_channels, num_classes, image_size)
        self.rate = rate

    def forward(self, x):
        return self.net(nn.functional.dropout(x, self.rate, self.training))
'''


@pytest.fixture
def tiny_nets(tmp_path, monkeypatch) -> Path:
    """`tinynets` on the path, and a config folder with model=tiny."""
    code = tmp_path / "code"
    (code / "conf" / "model").mkdir(parents=True)
    (code / "tinynets.py").write_text(NETS)
    (code / "conf" / "model" / "tiny.yaml").write_text("name: tiny\n_target_: tinynets.Tiny\nwidth: 16\n")
    monkeypatch.syspath_prepend(str(code))
    return code


def _sweep(tmp_path: Path, code: Path, tiny_data, *args: str):
    return run_cli(["-m", "--config-dir", str(code / "conf"), "model=tiny", *data_overrides(*tiny_data),
                    "trainer.max_epochs=1", f"hydra.sweep.dir={tmp_path / 'sweep'}", *args], tmp_path,
                   env={"PYTHONPATH": str(code)})


def _summaries(sweep: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(sweep.glob("*/summary.json"))]


def test_one_at_a_time_over_two_keys_trains_the_baseline_and_each_level_and_judges_them(tmp_path, tiny_nets, tiny_data):
    proc = _sweep(tmp_path, tiny_nets, tiny_data, "study.sweep=one_at_a_time", "model.width=choice(8)",
                  "optimizer.weight_decay=0,0.001", "seeds=2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    summaries = _summaries(tmp_path / "sweep")
    # The baseline (width 16, weight decay 0.0005: neither listed) and 3 levels, 2 seeds each; not the grid.
    got = sorted((s["factors"]["model.width"], s["factors"]["optimizer.weight_decay"], s["seed"]) for s in summaries)
    assert got == sorted((w, d, seed) for w, d in [("16", "0.0005"), ("8", "0.0005"), ("16", "0.0"), ("16", "0.001")]
                         for seed in (0, 1))
    assert any("model.width=8" in p.parent.name for p in (tmp_path / "sweep").glob("*/summary.json"))
    out = tmp_path / "reports"
    assert report_main([str(tmp_path / "sweep"), "--out", str(out)]) == 0
    table = pd.read_csv(out / "sweep" / "comparisons.csv", dtype=str)
    rows = table[table.outcome == "test_acc"] if "outcome" in table else table
    got = set(zip(rows.experiment, rows.level, rows.reference))
    assert got == {("model.width", "8", "model.width=16"), ("optimizer.weight_decay", "0.0", "optimizer.weight_decay=0.0005"),
                   ("optimizer.weight_decay", "0.001", "optimizer.weight_decay=0.0005")}, got
    runs = pd.read_csv(out / "sweep" / "runs.csv")
    assert {"model.width", "optimizer.weight_decay"} <= set(runs.columns)
    assert "Which choices matter" in (out / "sweep" / "report.md").read_text()


def test_a_user_key_with_seeds_auto_adds_seeds_look_by_look(tmp_path, tiny_nets, tiny_data):
    proc = _sweep(tmp_path, tiny_nets, tiny_data, "model.width=choice(15)", "seeds=auto", "seeds_pilot=2",
                  "seeds_looks=[3]", "seeds_max=4")
    assert proc.returncode == 0, proc.stderr[-3000:]
    seeds = {}
    for s in _summaries(tmp_path / "sweep"):
        seeds.setdefault(s["factors"]["model.width"], set()).add(s["seed"])
    assert set(seeds) == {"15", "16"}  # the reference, not listed, is trained
    assert seeds["15"] == seeds["16"] and len(seeds["15"]) > 2  # a look beyond the pilot's 2 seeds
    plan = json.loads((tmp_path / "sweep" / "seeds.json").read_text())
    assert len(plan["looks"]) >= 2


def _configs(code: Path, model: dict, *levels: str) -> list:
    out = []
    for level in levels:
        cfg = compose("trainer.threads=1", *(kv for kv in level.split() if not kv.startswith("model.")))
        cfg.model = OmegaConf.create(model)
        for key, value in (kv.split("=", 1) for kv in level.split() if kv.startswith("model.")):
            OmegaConf.update(cfg, key, int(value) if value.isdigit() else float(value), force_add=True)
        out.append(validate(cfg, {"model": model["name"]}))
    return out


def test_a_key_that_never_reaches_the_network_is_refused(tiny_nets):
    tiny = {"name": "tiny", "_target_": "tinynets.Tiny", "width": 16}
    with pytest.raises(SweepError, match=r"two levels build the same job \(model.extra: 1 -> 2\)"):
        check_networks(_configs(tiny_nets, tiny, "model.extra=1", "model.extra=2"))
    unpooled = {"name": "unpooled", "_target_": "tinynets.Unpooled"}
    with pytest.raises(SweepError, match=r"two levels build the same job \(pooling.*max -> avg"):
        check_networks(_configs(tiny_nets, unpooled, "pooling=max", "pooling=avg"))


def test_a_key_that_changes_the_network_is_never_refused(tiny_nets):
    dropped = {"name": "dropped", "_target_": "tinynets.Dropped", "rate": 0.0, "act": "relu"}
    check_networks(_configs(tiny_nets, dropped, "model.rate=0.0", "model.rate=0.5"))
    check_networks(_configs(tiny_nets, {**dropped, "act": "tanh"}, "") + _configs(tiny_nets, dropped, ""))
    check_networks(_configs(tiny_nets, {"name": "tiny", "_target_": "tinynets.Tiny"}, "model.width=8", "model.width=16"))


def test_expansions_by_hand():
    base = OmegaConf.create({"study": {"factors": ["activation"], "sweep": "grid"}, "seed_count": 2,
                             "optimizer": {"weight_decay": 0.0005}, "data": {"batch_size": 128},
                             "hydra": {"runtime": {"choices": {"activation": "relu"}}}})
    grid = expand(base, ["optimizer.weight_decay=0,0.001", "data.batch_size=64,256", "activation=tanh"])
    # The reference 0.0005 and 128 join each axis: 3 x 3 combinations, activation fixed.
    assert len(grid.jobs()) == 9 and grid.keys == ("optimizer.weight_decay", "data.batch_size")
    assert grid.jobs()[0][:3] == ["optimizer.weight_decay=0.0005", "data.batch_size=128", "activation=tanh"]
    assert grid.jobs()[0][3:] == ["study.keys=[optimizer.weight_decay,data.batch_size]",
                                  "study.reference=['0.0005','128']"]
    base.study.sweep = "one_at_a_time"
    one = expand(base, ["optimizer.weight_decay=0,0.001", "data.batch_size=64,256", "seed=0,1"])
    assert len(one.jobs()) == (1 + 2 + 2) * 2  # the baseline and 4 levels, per seed
    assert expand(base, ["activation=tanh,sigmoid"], seeds_asked=True).jobs() == [
        ["activation=relu", "seed=0"], ["activation=relu", "seed=1"], ["activation=tanh", "seed=0"],
        ["activation=tanh", "seed=1"], ["activation=sigmoid", "seed=0"], ["activation=sigmoid", "seed=1"]]


def test_a_folder_of_900_images_trains_with_the_default_split(tmp_path):
    root = bar_folder(tmp_path / "imgs", train=300, test=10, side=8)
    proc = run_cli(["data=folder", f"data.root={root}", "data.batch_size=64", "trainer.threads=1",
                    "trainer.max_epochs=1", f"hydra.run.dir={tmp_path / 'run'}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    s = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert s["status"] == "completed" and s["data_set"]["train_images"] == 900
    assert s["history"]["epoch"] == [1]
    # 10% of the training images for validation, at most 5000; an explicit size wins.
    assert (val_count(None, 900), val_count(None, 60000), val_count(30, 900)) == (90, 5000, 30)


def test_tune_lr_judges_a_swept_key_at_default_and_tuned_lr(tmp_path, tiny_nets, tiny_data):
    proc = _sweep(tmp_path, tiny_nets, tiny_data, "optimizer.weight_decay=choice(0.001)", "seeds=2", "tune=lr",
                  "tune.epochs=1", "tune.lr_scales=[0.5,1]")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = tmp_path / "reports"
    assert report_main([str(tmp_path / "sweep"), "--out", str(out)]) == 0
    table = pd.read_csv(out / "sweep" / "comparisons.csv", dtype=str)
    rows = table[table.outcome == "test_acc"]
    assert set(zip(rows.experiment, rows.level, rows.lr_view)) == {("optimizer.weight_decay", "0.001", "default"),
                                                                   ("optimizer.weight_decay", "0.001", "tuned")}
