"""Fashion-MNIST / MNIST as in-memory tensors: finding, verifying and reading the idx
files, the train/val/test split, whole-batch augmentation and the LightningDataModule."""

from __future__ import annotations

import gzip
import hashlib
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import lightning as L
import torch
import torch.nn.functional as F

SPLIT_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


class DataError(RuntimeError):
    """A data set that cannot be found, read or trusted. The message says what to do."""


@dataclass(frozen=True)
class DatasetSpec:
    """Where a data set may live and the MD5 sums its files may have."""

    torchvision_name: str                      # torchvision.datasets class; also its folder name
    system_dirs: tuple[str, ...]               # distribution packages' locations
    md5: dict[str, tuple[str, ...]]            # file -> accepted sums of the .gz
    how_to_get: str


DATASETS: dict[str, DatasetSpec] = {
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
}

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
    if name not in DATASETS:
        raise DataError(f"unknown data set {name!r}; allowed: {', '.join(DATASETS)}")
    spec = DATASETS[name]
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
    import torchvision

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


def load_split(images: Path, labels: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, 28, 28) uint8 and labels (N,) int64 of one split, checked for matching counts."""
    x, y = read_idx(images), read_idx(labels)
    if x.dim() != 3 or y.dim() != 1:
        raise DataError(f"{images} / {labels}: expected an image file (N x H x W) and a label file (N).")
    if x.shape[0] != y.shape[0]:
        raise DataError(f"{images} holds {x.shape[0]} images but {labels} holds {y.shape[0]} labels.")
    return x, y.long()


def to_input(x: torch.Tensor, kind: str, mean: float, std: float) -> tuple[torch.Tensor, float]:
    """uint8 (N, 28, 28) -> float (N, 1, H, W) network input, and the background value.

    standard: (x/255 - mean)/std; lecun32: the paper's -0.1 (background) .. 1.175 (ink), padded to 32x32.
    """
    x = x.float().div_(255.0).unsqueeze(1)
    if kind == "standard":
        return (x - mean) / std, (0.0 - mean) / std
    if kind == "lecun32":
        return F.pad(x * 1.275 - 0.1, (2, 2, 2, 2), value=-0.1), -0.1
    raise DataError(f"data.input={kind!r} is not allowed; allowed: standard, lecun32")


def augment_batch(x: torch.Tensor, shift: int, flip: bool, fill: float, generator: torch.Generator) -> torch.Tensor:
    """Random shift by up to `shift` pixels (pad + random crop, per image) and optional random
    horizontal flip, for a whole batch at once on its device."""
    n, c, h, w = x.shape
    if shift > 0:
        padded = F.pad(x, (shift,) * 4, value=fill)
        offsets = torch.randint(0, 2 * shift + 1, (2, n), generator=generator, device=generator.device).to(x.device)
        rows = (offsets[0, :, None] + torch.arange(h, device=x.device))[:, :, None]
        cols = (offsets[1, :, None] + torch.arange(w, device=x.device))[:, None, :]
        batch = torch.arange(n, device=x.device)[:, None, None]
        x = padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)
    if flip:
        mask = torch.rand(n, generator=generator, device=generator.device).to(x.device) < 0.5
        x = torch.where(mask[:, None, None, None], x.flip(3), x)
    return x


class TensorBatches:
    """Mini-batches drawn by index from tensors already on the training device.

    A new random permutation per pass when `shuffle`; `transform` (augmentation) is
    applied to each whole batch.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, batch_size: int, shuffle: bool = False,
                 generator: torch.Generator | None = None,
                 transform: Callable[[torch.Tensor], torch.Tensor] | None = None) -> None:
        self.x, self.y, self.batch_size = x, y, batch_size
        self.shuffle, self.generator, self.transform = shuffle, generator, transform

    def __len__(self) -> int:
        return math.ceil(len(self.y) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.y)
        order = torch.randperm(n, generator=self.generator).to(self.x.device) if self.shuffle else None
        for start in range(0, n, self.batch_size):
            if order is None:
                xb, yb = self.x[start:start + self.batch_size], self.y[start:start + self.batch_size]
            else:
                idx = order[start:start + self.batch_size]
                xb, yb = self.x[idx], self.y[idx]
            if self.transform is not None:
                xb = self.transform(xb)
            yield xb, yb


class TensorDataModule(L.LightningDataModule):
    """Train / val / test splits held as tensors on the training device."""

    def __init__(self, name: str = "fashion_mnist", root: str | None = None, batch_size: int = 256,
                 eval_batch_size: int = 2000, val_size: int = 5000, split_seed: int = 12345,
                 input: str = "standard", mean: float = 0.0, std: float = 1.0, hflip: bool = False,
                 shift: int = 0, flip: bool = False, seed: int = 0, channels_last: bool = False,
                 md5: dict[str, tuple[str, ...]] | None = None) -> None:
        super().__init__()
        self.name, self.root, self.md5 = name, root, md5
        self.batch_size, self.eval_batch_size, self.val_size = batch_size, eval_batch_size, val_size
        self.split_seed, self.input, self.mean, self.std = split_seed, input, mean, std
        self.shift, self.flip = shift, flip and hflip  # never flip data whose hflip is false (digits)
        self.seed, self.channels_last = seed, channels_last
        self.splits: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self.background = 0.0

    def prepare_data(self) -> None:
        find_files(self.name, self.root, self.md5)

    def load(self, device: torch.device | str = "cpu") -> None:
        """Read, split and convert the data once, onto `device`."""
        if self.splits:
            return
        files = find_files(self.name, self.root, self.md5)
        train_x, train_y = load_split(files["train_images"], files["train_labels"])
        test_x, test_y = load_split(files["test_images"], files["test_labels"])
        if not 1 <= self.val_size < len(train_y):
            raise DataError(f"data.val_size={self.val_size} must be between 1 and {len(train_y) - 1} "
                            f"(the training set has {len(train_y)} images).")
        perm = torch.randperm(len(train_y), generator=torch.Generator().manual_seed(self.split_seed))
        val_idx, train_idx = perm[:self.val_size], perm[self.val_size:]
        raw = {"train": (train_x[train_idx], train_y[train_idx]), "val": (train_x[val_idx], train_y[val_idx]),
               "test": (test_x, test_y)}
        memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        for split, (x, y) in raw.items():
            xf, self.background = to_input(x, self.input, self.mean, self.std)
            self.splits[split] = (xf.to(device).contiguous(memory_format=memory_format), y.to(device))
        self.generator = torch.Generator(device=device).manual_seed(self.seed)
        self.index_generator = torch.Generator().manual_seed(self.seed)

    def setup(self, stage: str | None = None) -> None:
        device = self.trainer.strategy.root_device if self.trainer is not None else torch.device("cpu")
        self.load(device)

    @property
    def num_classes(self) -> int:
        return int(self.splits["train"][1].max().item()) + 1 if self.splits else 10

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        return augment_batch(x, self.shift, self.flip, self.background, self.generator)

    def train_dataloader(self) -> TensorBatches:
        x, y = self.splits["train"]
        transform = self._augment if (self.shift or self.flip) else None
        return TensorBatches(x, y, self.batch_size, shuffle=True, generator=self.index_generator, transform=transform)

    def eval_batches(self, split: str) -> TensorBatches:
        """Un-augmented, unshuffled batches of one split, at the evaluation batch size."""
        x, y = self.splits[split]
        return TensorBatches(x, y, self.eval_batch_size)

    def val_dataloader(self) -> TensorBatches:
        return self.eval_batches("val")

    def test_dataloader(self) -> TensorBatches:
        return self.eval_batches("test")
