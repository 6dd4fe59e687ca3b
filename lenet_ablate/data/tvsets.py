"""A torchvision data set by name (`data=torchvision data.dataset=KMNIST data.root=DIR`): found
offline under DIR as torchvision lays it out, downloaded when a network is there, else refused with
where to put the files."""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import torch

from lenet_ablate.data.images import Images, resize, tensors_md5
from lenet_ablate.errors import DataError


def _dataset_class(name: str) -> Any:
    import torchvision.datasets as tv  # seconds to import: only for this source

    cls = getattr(tv, str(name), None)
    if not inspect.isclass(cls):
        raise DataError(f"data.dataset={name!r} is not a torchvision data set; for example KMNIST, EMNIST, "
                        f"CIFAR10, FashionMNIST, SVHN (torchvision.datasets).")
    return cls


def _open(cls: Any, root: str, train: bool, args: dict[str, Any]) -> Any:
    """The split as torchvision opens it, offline first, then with a download."""
    takes = inspect.signature(cls).parameters
    split = {"train": train} if "train" in takes else {"split": "train" if train else "test"}
    try:
        return cls(root, **split, **args, download=False)
    except RuntimeError as offline:
        try:
            return cls(root, **split, **args, download=True)
        except Exception as exc:  # offline, proxy, disk: all mean "not here and not downloadable"
            raise DataError(
                f"data.dataset={cls.__name__}: not found under data.root={root} ({str(offline).splitlines()[0]}) "
                f"and the download failed ({type(exc).__name__}). Put its files where torchvision looks, "
                f"{root}/{cls.__name__}/ (for most sets {root}/{cls.__name__}/raw/), or run once with a "
                f"network.") from None
    except TypeError as exc:
        raise DataError(f"data.dataset={cls.__name__}: {exc}; give its own arguments in data.dataset_args "
                        f"(for example data.dataset_args={{split: balanced}} for EMNIST).") from None


def _as_tensors(ds: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (N, C, H, W) and int64 labels of an opened torchvision set (its arrays when it has them)."""
    data = getattr(ds, "data", None)
    labels = getattr(ds, "targets", getattr(ds, "labels", None))
    if data is not None and labels is not None:
        x = torch.as_tensor(np.asarray(data))
        if x.dim() == 3:
            x = x.unsqueeze(1)
        elif x.dim() == 4 and x.shape[-1] in (1, 3):  # height, width, channels (CIFAR)
            x = x.permute(0, 3, 1, 2)
        return x.to(torch.uint8).contiguous(), torch.as_tensor(np.asarray(labels), dtype=torch.int64)
    pairs = [(np.asarray(img), int(label)) for img, label in ds]  # PIL images, one by one
    x = torch.as_tensor(np.stack([p for p, _ in pairs]))
    x = x.unsqueeze(1) if x.dim() == 3 else x.permute(0, 3, 1, 2)
    return x.contiguous(), torch.tensor([label for _, label in pairs])


def read_torchvision(name: str, root: str | None, image_size: int | None = None,
                     dataset_args: Any = None) -> Images:
    """Both splits of torchvision's data set `name` under `root` (./data when null)."""
    cls = _dataset_class(name)
    root = str(root or "data")
    args = dict(dataset_args or {})
    train, test = _open(cls, root, True, args), _open(cls, root, False, args)
    (train_x, train_y), (test_x, test_y) = _as_tensors(train), _as_tensors(test)
    train_x, test_x = resize(train_x, image_size), resize(test_x, image_size)
    if train_y.min() < 0:
        raise DataError(f"data.dataset={name}: some labels are negative; not a classification set.")
    count = int(max(train_y.max(), test_y.max())) + 1
    ds_classes = list(getattr(train, "classes", None) or [])
    classes = tuple(map(str, ds_classes)) if len(ds_classes) == count else tuple(str(i) for i in range(count))
    return Images(train_x, train_y, test_x, test_y, classes, tensors_md5(train_x, train_y, test_x, test_y))
