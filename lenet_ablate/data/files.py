"""The data sets' files: where they may live, their published MD5 sums, finding, verifying,
downloading and reading the idx .gz files."""

from __future__ import annotations

from lenet_ablate.errors import ConfigError, DataError
from lenet_ablate.registry import Registry

import gzip
import hashlib
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from lenet_ablate.data.images import Images, resize, tensors_md5

SPLIT_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


@dataclass(frozen=True)
class DatasetSpec:
    """Where a data set may live and the MD5 sums its files may have."""

    torchvision_name: str                      # torchvision.datasets class; also its folder name
    system_dirs: tuple[str, ...]               # distribution packages' locations
    md5: dict[str, tuple[str, ...]]            # file -> accepted sums of the .gz
    how_to_get: str
    train_size: int = 60000                    # images in the official training file
    num_classes: int = 10
    classes: tuple[str, ...] = tuple(str(d) for d in range(10))  # names, in label order


# data.name: a name here, or the dotted path of a DatasetSpec of one's own.
DATASETS: Registry[DatasetSpec] = Registry("data.name", {
    "fashion_mnist": DatasetSpec(
        torchvision_name="FashionMNIST",
        system_dirs=("/usr/share/datasets/fashion-mnist",),
        # First: the sums torchvision publishes (zalandoresearch's files); second: the sums of
        # Debian's dataset-fashion-mnist package (/var/lib/dpkg/info/*.md5sums), which
        # recompressed the same idx data.
        md5={
            "train-images-idx3-ubyte.gz": ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "cf8536b0aa1a6ac5fa3f23001093305c"),
            "train-labels-idx1-ubyte.gz": ("25c81989df183df01b3e8a0aad5dffbe", "10bea18fdb374794d4bb42e356e600c9"),
            "t10k-images-idx3-ubyte.gz": ("bef4ecab320f06d8554ea6380940ec79", "f78720b4224f21cce2f2ccf2d7a94c9a"),
            "t10k-labels-idx1-ubyte.gz": ("bb300cfdad3c16e7a12a480ee83cd310", "0d30e22e447f3c33dab9ed536400ac01"),
        },
        classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                 "Ankle boot"),
        how_to_get="run `make data` (downloads, or on Debian as root: apt-get install -y dataset-fashion-mnist), "
                   "or put the four idx .gz files from https://github.com/zalandoresearch/fashion-mnist "
                   "into ./data/FashionMNIST/raw/ or pass data.root=DIR",
    ),
    "mnist": DatasetSpec(
        torchvision_name="MNIST",
        system_dirs=("/usr/share/datasets/mnist",),
        md5={
            "train-images-idx3-ubyte.gz": ("f68b3c2dcbeaaa9fbdd348bbdeb94873",),
            "train-labels-idx1-ubyte.gz": ("d53e105ee54ea40749a09fcbcd1e9432",),
            "t10k-images-idx3-ubyte.gz": ("9fb629c4189551a2d022fa330f9573f3",),
            "t10k-labels-idx1-ubyte.gz": ("ec29112dd5afa0611ce80d1b7f02629c",),
        },
        how_to_get="run `python -m lenet_ablate data=mnist` with internet access (torchvision downloads it), "
                   "or put the four idx .gz files into ./data/MNIST/raw/ or pass data.root=DIR",
    ),
})

DEFAULT_ROOT = Path("data")


def md5sum(path: Path) -> str:
    """Hex MD5 of a file."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def find_files(name: str, root: str | None, md5: dict[str, tuple[str, ...]] | None = None,
               download: bool = True) -> dict[str, Path]:
    """Locate and verify the four idx .gz files of data set `name`.

    Looks in `root` if given, else ./data, else the system package folder; if none holds
    all four files, downloads with torchvision (into `root` or ./data). Every file's MD5 must
    match a published sum; `md5` ({split key: [sums]}, keys as in SPLIT_FILES) replaces the
    published table, for data of one's own.
    """
    try:
        spec = DATASETS.get(name)
    except ConfigError:  # here the data set is missing, not a config value: a data error
        raise DataError(f"unknown data set {name!r}; allowed: {', '.join(DATASETS)}") from None
    if md5:
        sums = {SPLIT_FILES[k]: (v,) if isinstance(v, str) else tuple(v) for k, v in md5.items()}
    else:
        sums = spec.md5
    bases = [Path(root)] if root else [DEFAULT_ROOT, *map(Path, spec.system_dirs)]
    looked: list[Path] = []
    for base in bases:
        # Accept a flat folder of .gz files and torchvision's <root>/<Name>/raw layout.
        for folder in (base, base / spec.torchvision_name / "raw"):
            looked.append(folder)
            if all((folder / f).is_file() for f in SPLIT_FILES.values()):
                return _verified(folder, sums)
    target = Path(root) if root else DEFAULT_ROOT
    if download:
        try:
            _download(spec, target)
        except Exception as exc:  # offline, proxy, disk: all mean "not downloadable here"
            reason = f"download failed ({type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''})"
        else:
            return _verified(target / spec.torchvision_name / "raw", sums)
    else:
        reason = "download disabled"
    where = ", ".join(str(p) for p in looked)
    raise DataError(f"{name}: the idx .gz files were not found (looked in {where}; {reason}).\n"
                    f"To get them: {spec.how_to_get}.")


def _download(spec: DatasetSpec, root: Path) -> None:
    import torchvision  # only this rarely taken route needs torchvision, which takes seconds to import

    cls = getattr(torchvision.datasets, spec.torchvision_name)
    for train in (True, False):
        cls(str(root), train=train, download=True)


def _verified(folder: Path, sums: dict[str, tuple[str, ...]]) -> dict[str, Path]:
    paths = {}
    for key, fname in SPLIT_FILES.items():
        path = folder / fname
        allowed = tuple(sums.get(fname, ()))
        actual = md5sum(path)
        if actual not in allowed:
            raise DataError(f"{path}: MD5 {actual} does not match the published sum ({' or '.join(allowed)}); "
                            "the file is corrupt or not the original. Delete it and get a fresh copy.")
        paths[key] = path
    return paths


def read_idx(path: Path) -> torch.Tensor:
    """Read a gzipped idx file (ubyte images or labels) into a uint8 tensor."""
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: not a readable gzip file ({exc}); delete it and get a fresh copy.") from None
    if len(data) < 4 or data[0:2] != b"\x00\x00" or data[2] != 0x08 or data[3] not in (1, 3):
        raise DataError(f"{path}: wrong magic number {data[:4].hex()} (expected 00000801 labels or "
                        "00000803 images); not an idx ubyte file.")
    ndim = data[3]
    dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    expected = math.prod(dims)
    payload = data[4 + 4 * ndim:]
    if len(payload) != expected:
        raise DataError(f"{path}: truncated or padded: header says {dims}, i.e. {expected} bytes, "
                        f"file holds {len(payload)}; delete it and get a fresh copy.")
    return torch.frombuffer(bytearray(payload), dtype=torch.uint8).view(*dims)


def read_idx_images(data: Any) -> Images:
    """Both splits of the idx data set a `data` node names, as (N, 1, H, W) images (resized to
    data.image_size where the node gives one)."""
    md5 = OmegaConf.to_container(data.md5) if isinstance(data.md5, DictConfig) else data.md5
    files = find_files(data.name, data.root, md5)
    train_x, train_y = load_split(files["train_images"], files["train_labels"])
    test_x, test_y = load_split(files["test_images"], files["test_labels"])
    size = data.get("image_size")
    train_x, test_x = resize(train_x.unsqueeze(1), size), resize(test_x.unsqueeze(1), size)
    classes = DATASETS.get(data.name).classes
    if len(classes) != DATASETS.get(data.name).num_classes:
        classes = tuple(str(i) for i in range(DATASETS.get(data.name).num_classes))
    return Images(train_x, train_y, test_x, test_y, classes, tensors_md5(train_x, train_y, test_x, test_y))


def load_split(images: Path, labels: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 28, 28) uint8 and labels (N,) int64 of one split, checked for matching counts."""
    x, y = read_idx(images), read_idx(labels)
    if x.dim() != 3 or y.dim() != 1:
        raise DataError(f"{images} / {labels}: expected an image file (N x H x W) and a label file (N).")
    if x.shape[0] != y.shape[0]:
        raise DataError(f"{images} holds {x.shape[0]} images but {labels} holds {y.shape[0]} labels.")
    return x, y.long()
