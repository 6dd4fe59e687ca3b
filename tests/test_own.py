"""A network and images of one's own: the folder loader and its cache, torchvision sets by name, the
argument contract (no factor varied on a network that does not take it), the short errors, and a
seeds=2 sweep of a user's network on a user's folder through to its report."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from conftest import run_cli
from lenet_ablate.data import folder as folder_mod
from lenet_ablate.data.folder import check_memory, read_folder, scan_folder
from lenet_ablate.data.images import DataShape
from lenet_ablate.data.inputs import channel_stats
from lenet_ablate.errors import ConfigError, DataError
from lenet_ablate.model.contract import declared, target_object, untaken_varied
from lenet_ablate.report.__main__ import main as report_main

NETS = '''
from torch import nn


class Pooled(nn.Module):
    """Takes pooling: conv, activation, pooling, linear head."""

    def __init__(self, activation, pooling, head, in_channels, image_size, width=4):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1), activation(), pooling(),
                                  nn.Flatten())
        self.head = head(width * (image_size // 2) ** 2)

    def forward(self, x):
        return self.head(self.body(x))


class Flat(nn.Module):
    """Takes no pooling (and no head: trained with cross-entropy)."""

    def __init__(self, activation, in_channels, num_classes, image_size):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(in_channels * image_size ** 2, 16), activation(),
                                 nn.Linear(16, num_classes))

    def forward(self, x):
        return self.net(x)


class Unflat(nn.Module):
    """Forgets to flatten: fails on the first batch."""

    def __init__(self, num_classes):
        super().__init__()
        self.lin = nn.Linear(10, num_classes)

    def forward(self, x):
        return self.lin(x)


def seven(in_channels, image_size):
    return nn.Sequential(nn.Flatten(), nn.Linear(in_channels * image_size ** 2, 7))
'''


def write_png(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array.astype(np.uint8)).save(path)


def bar_folder(root: Path, classes=("a", "b", "c"), train: int = 40, test: int = 12, side: int = 16) -> Path:
    """Grey side x side PNGs whose class is a bright bar at row 2 + 4 * class."""
    rng = np.random.default_rng(0)
    for split, n in (("train", train), ("test", test)):
        for c, name in enumerate(classes):
            for i in range(n):
                img = rng.integers(0, 40, (side, side))
                img[2 + 4 * c: 4 + 4 * c, 2:side - 2] = 255
                write_png(root / split / name / f"{i:03d}.png", img)
    return root


@pytest.fixture
def nets(tmp_path, monkeypatch) -> Path:
    """A module of the user's own networks, importable as `usernets`."""
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "usernets.py").write_text(NETS)
    monkeypatch.syspath_prepend(str(folder))
    return folder


def test_folder_reads_grey_and_rgb_with_classes_from_folder_names(tmp_path):
    root = tmp_path / "imgs"
    write_png(root / "train" / "cat" / "0.png", np.full((4, 4), 100))
    write_png(root / "train" / "dog" / "0.png", np.tile([10, 20, 30], (4, 4, 1)))  # RGB
    write_png(root / "train" / "dog" / "1.jpg", np.full((4, 4), 50))  # (not PNG: .jpg name, PNG bytes)
    write_png(root / "test" / "cat" / "0.png", np.full((4, 4), 7))
    write_png(root / "test" / "dog" / "0.png", np.full((4, 4), 9))
    (root / "train" / "cat" / "notes.txt").write_text("not an image")
    images = read_folder(root)
    assert images.classes == ("cat", "dog")
    assert images.train_x.shape == (3, 3, 4, 4) and images.test_x.shape == (2, 3, 4, 4)
    assert images.train_y.tolist() == [0, 1, 1] and images.test_y.tolist() == [0, 1]
    assert images.train_x[0].unique().tolist() == [100]  # grey to RGB: every channel the grey value
    assert images.train_x[1, :, 0, 0].tolist() == [10, 20, 30]
    resized = read_folder(root, image_size=2)
    assert resized.train_x.shape == (3, 3, 2, 2) and resized.train_x[0].unique().tolist() == [100]
    mean, std = channel_stats(torch.tensor([[[[0, 255]]], [[[255, 255]]]], dtype=torch.uint8))
    assert mean == pytest.approx([0.75]) and std == pytest.approx([0.5])  # [0, 1, 1, 1]: sd (n-1) = 0.5


def test_folder_cache_is_used_checked_and_renewed(tmp_path, monkeypatch):
    root = bar_folder(tmp_path / "imgs", train=3, test=2)
    first = read_folder(root)
    caches = list((root / folder_mod.CACHE).glob("*.pt"))
    assert len(caches) == 1 and json.loads(caches[0].with_suffix(".json").read_text())["md5"] == first.md5
    decoded = []
    real = folder_mod._decode
    monkeypatch.setattr(folder_mod, "_decode", lambda *a: decoded.append(1) or real(*a))
    assert torch.equal(read_folder(root).train_x, first.train_x) and decoded == []  # from the cache
    caches[0].write_bytes(b"half a file")  # a damaged cache is decoded again, never trusted
    assert read_folder(root).md5 == first.md5 and len(decoded) == 2
    write_png(root / "train" / "a" / "000.png", np.zeros((16, 16)))  # a changed folder: a new cache
    assert read_folder(root).md5 != first.md5 and len(list((root / folder_mod.CACHE).glob("*.pt"))) == 2


@pytest.mark.parametrize("layout, message", [
    ({"train/x.png": 1, "test/a/x.png": 1}, "has no class folders"),
    ({"train/a/x.png": 1, "train/b/x.png": 1, "test/a/x.png": 1}, "missing from test/: b"),
    ({"train/a/x.png": 1}, "no test/ folder"),
    ({"train/a/x.png": 1, "test/a/x.txt": 1}, "holds no PNG or JPEG image"),
])
def test_a_folder_in_the_wrong_layout_is_a_short_error(tmp_path, layout, message):
    for name in layout:
        write_png(tmp_path / name, np.zeros((4, 4))) if name.endswith(".png") else \
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True) or (tmp_path / name).write_text("x")
    with pytest.raises(DataError, match=message):
        scan_folder(tmp_path)


def test_a_corrupt_image_is_named_and_a_too_large_set_is_refused(tmp_path):
    root = bar_folder(tmp_path / "imgs", train=2, test=1)
    bad = root / "train" / "b" / "001.png"
    bad.write_bytes(bad.read_bytes()[:30])
    with pytest.raises(DataError, match=r"001\.png: (not a readable|cannot decode)"):
        read_folder(root)
    with pytest.raises(DataError, match=r"1000000 images of 3x224x224 need 701\.0 GiB in memory .* 8\.0 GiB are available"):
        check_memory(root, 1_000_000, 3, 224, available=8 * 2**30)
    check_memory(root, 1000, 1, 28, available=8 * 2**30)  # 3.7 MiB: fine


def test_the_argument_contract(nets):
    from usernets import Flat, Pooled

    assert {"activation", "pooling", "head", "in_channels", "image_size", "width"} == declared(Pooled)
    assert "pooling" not in declared(Flat) and "num_classes" in declared(Flat)
    levels = {"flat": [("pooling", "max"), ("pooling", "avg"), ("activation", "relu")],
              "pooled": [("pooling", "max"), ("pooling", "avg")]}
    takes = {"flat": declared(Flat), "pooled": declared(Pooled)}
    assert untaken_varied(levels, takes) == [
        "model=flat takes no `pooling`: pooling cannot be varied on it (levels avg, max)"]
    with pytest.raises(ConfigError, match=r"model=x: _target_ 'usernets.Nope' cannot be imported \(module 'usernets' has no 'Nope'\)"):
        target_object("usernets.Nope", "model=x")
    with pytest.raises(ConfigError, match=r"no module named 'nowhere_pkg'"):
        target_object("nowhere_pkg.Net", "model=x")


def _cfg(model: dict, *overrides: str):
    from lenet_ablate import compose

    cfg = compose(*overrides)
    cfg.model = OmegaConf.create(model)
    return cfg


def test_a_network_gets_what_it_declares_and_its_output_is_checked(nets):
    from lenet_ablate.model.network import build_network

    shape = DataShape(in_channels=3, num_classes=5, image_size=8)
    pooled = build_network(_cfg({"name": "p", "_target_": "usernets.Pooled", "width": 2}, "pooling=avg",
                                "head=rbf", "head.templates=random"), shape)
    assert isinstance(pooled.module.body[2], torch.nn.AvgPool2d) and pooled.takes == ("activation", "pooling", "head")
    assert pooled.module(torch.zeros(2, 3, 8, 8)).shape == (2, 5)
    assert pooled.loss == pooled.module.head.loss  # the head's MAP loss, not cross-entropy
    flat = build_network(_cfg({"name": "f", "_target_": "usernets.Flat"}), shape)
    assert flat.takes == ("activation",) and flat.loss is torch.nn.functional.cross_entropy
    with pytest.raises(ConfigError, match=r"model=s: its output for one batch of shape \(1, 3, 8, 8\) is \(1, 7\); "
                                          r"expected \(1, 5\)"):
        build_network(_cfg({"name": "s", "_target_": "usernets.seven"}), shape)
    with pytest.raises(ConfigError, match=r"model=p cannot be built: ValueError: RBF templates 'hadamard' have 84 "
                                          r"entries, the layer before has 32"):
        build_network(_cfg({"name": "p", "_target_": "usernets.Pooled", "width": 2}, "head=rbf"), shape)
    with pytest.raises(ConfigError, match=r"model=u fails on one batch of shape \(1, 3, 8, 8\): RuntimeError: mat1 and "
                                          r"mat2 shapes cannot be multiplied"):
        build_network(_cfg({"name": "u", "_target_": "usernets.Unflat"}), shape)


def _user_conf(tmp_path: Path) -> Path:
    conf = tmp_path / "myconf"
    (conf / "model").mkdir(parents=True)
    (conf / "model" / "pooled.yaml").write_text("_target_: usernets.Pooled\nwidth: 4\n")
    (conf / "model" / "flat.yaml").write_text("name: flat\n_target_: usernets.Flat\n")
    (conf / "model" / "broken.yaml").write_text("_target_: usernets.Missing\n")
    return conf


def _folder_args(root: Path) -> list[str]:
    return ["data=folder", f"data.root={root}", "data.val_size=30", "data.batch_size=16", "data.eval_batch_size=200",
            "trainer.threads=1", "trainer.max_epochs=1"]


def test_a_user_network_on_a_user_folder_sweeps_and_reports(tmp_path, nets):
    root, conf = bar_folder(tmp_path / "imgs"), _user_conf(tmp_path)
    study = tmp_path / "multirun"
    proc = run_cli(["--config-dir", str(conf), "model=pooled", "experiment=pooling", "seeds=2", f"study_dir={study}",
                    *_folder_args(root)], tmp_path, env={"PYTHONPATH": str(nets)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    summaries = [json.loads(p.read_text()) for p in (study / "pooling").glob("*/summary.json")]
    assert sorted((s["factors"]["pooling"], s["seed"]) for s in summaries) == [("avg", 0), ("avg", 1), ("max", 0), ("max", 1)]
    s = summaries[0]
    # conv 1->4 3x3 (36 + 4), linear 4*8*8 -> 3 (768 + 3)
    assert s["network"] == {"model": "pooled", "model.width": 4, "takes": ["activation", "pooling", "head"],
                            "parameters": 811}
    assert s["data_set"]["classes"] == ["a", "b", "c"] and s["data_set"]["train_images"] == 120
    assert s["numeric_env"]["threads"] == 1 and s["numeric_env"]["cpu_capability"]  # what decides the numbers
    from tbparse import SummaryReader

    hp = SummaryReader(str(Path(s["job_dir"]) / "tb")).hparams
    shown = dict(zip(hp.tag, hp.value))
    assert shown["model"] == "pooled" and shown["model.width"] == 4 and shown["parameters"] == 811
    out = tmp_path / "reports"
    assert report_main([str(study), "--out", str(out)]) == 0
    md = (out / "pooling" / "report.md").read_text()
    assert "Network: pooled (width=4): 811 trainable parameters, takes activation, pooling, head (4 jobs)" in md
    assert " Numbers: 4 jobs on " in md and "1 thread(s), portable mode." in md
    assert "### Experiment: pooling" in md
    assert md.split("\n\n")[1].endswith("(effects.png)") and (out / "pooling" / "effects.png").is_file()  # first
    assert re.search(r"\| hardest +\| a +\| b +\| c +\|", md)  # the classes by their folder names


def test_varying_a_factor_the_network_does_not_take_is_refused_before_training(tmp_path, nets):
    root, conf = bar_folder(tmp_path / "imgs", train=4, test=2), _user_conf(tmp_path)
    study = tmp_path / "multirun"
    proc = run_cli(["--config-dir", str(conf), "model=flat", "experiment=pooling", "seeds=2", f"study_dir={study}",
                    *_folder_args(root)], tmp_path, env={"PYTHONPATH": str(nets)})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "model=flat takes no `pooling`: pooling cannot be varied on it (levels avg, max). Nothing was trained." \
        in proc.stderr
    assert not list(study.rglob("summary.json"))
    broken = run_cli(["--config-dir", str(conf), "model=broken", *_folder_args(root), f"hydra.run.dir={tmp_path / 'r'}"],
                     tmp_path, env={"PYTHONPATH": str(nets)})
    assert broken.returncode == 2 and "Traceback" not in broken.stderr
    assert f"model=broken ({conf / 'model' / 'broken.yaml'}): _target_ 'usernets.Missing' cannot be imported" \
        in broken.stderr


def _fake_kmnist(root: Path, n: int = 50) -> None:
    raw = root / "KMNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, count in (("train", n), ("t10k", n // 2)):
        x = rng.integers(0, 256, (count, 28, 28)).astype(np.uint8)
        y = (np.arange(count) % 10).astype(np.uint8)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(bytes([0, 0, 8, 3]) + np.array([count, 28, 28], ">u4").tobytes() + x.tobytes())
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1]) + np.array([count], ">u4").tobytes() + y.tobytes())


def test_a_torchvision_set_by_name_offline_and_its_short_error(tmp_path, monkeypatch):
    from lenet_ablate.data.tvsets import read_torchvision
    import torchvision.datasets as tv

    _fake_kmnist(tmp_path / "tv")
    images = read_torchvision("KMNIST", str(tmp_path / "tv"), image_size=14)
    assert images.train_x.shape == (50, 1, 14, 14) and images.test_y.tolist()[:3] == [0, 1, 2]
    assert len(images.classes) == 10
    from lenet_ablate.data.sources import data_shape

    node = OmegaConf.create({"name": "torchvision", "dataset": "KMNIST", "root": str(tmp_path / "tv"), "image_size": 14,
                             "dataset_args": {}, "input": "lecun32"})
    assert data_shape(node) == DataShape(in_channels=1, num_classes=10, image_size=18)  # 14 padded by 2
    monkeypatch.setattr(tv.KMNIST, "download", lambda self: (_ for _ in ()).throw(OSError("offline")))
    with pytest.raises(DataError, match=r"data.dataset=KMNIST: not found under data.root=.*empty.* Put its files "
                                         r"where torchvision looks, .*empty/KMNIST/"):
        read_torchvision("KMNIST", str(tmp_path / "empty"))
    with pytest.raises(DataError, match="data.dataset='NoSuchSet' is not a torchvision data set"):
        read_torchvision("NoSuchSet", str(tmp_path))


def test_the_confusion_figure_names_a_folders_classes():
    from lenet_ablate.report.figures import class_labels

    jobs = pd.DataFrame({"_config": [{"data": {"name": "folder"}}], "_classes": [["cat", "dog"]]})
    assert class_labels(jobs, 2) == ["cat", "dog"]
    assert class_labels(jobs.drop(columns="_classes"), 2) == ["0", "1"]  # a summary before 0.7
    assert class_labels(pd.DataFrame({"_config": [{"data": {"name": "fashion_mnist"}}]}), 10)[0] == "T-shirt/top"
