"""The images a job trains on, whatever their source: the record every loader returns, the shape the
network is built for, and helpers every loader shares (lenet_ablate.data.sources reads a `data` node)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch

from lenet_ablate.errors import DataError

# data.name values that are not idx data sets (lenet_ablate.data.files.DATASETS).
FOLDER, TORCHVISION = "folder", "torchvision"


@dataclass(frozen=True)
class Images:
    """Both splits as uint8 (N, C, H, W) images and int64 labels, with the class names and the MD5 of
    the decoded tensors (what the job trained on, whatever files it came from)."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: tuple[str, ...]
    md5: str

    @property
    def channels(self) -> int:
        return int(self.train_x.shape[1])

    @property
    def side(self) -> int:
        return int(self.train_x.shape[-1])


@dataclass(frozen=True)
class DataShape:
    """What a network is built for: `in_channels`, `num_classes`, and `image_size`, the side of the
    network's input (after data.input's scaling and padding)."""

    in_channels: int
    num_classes: int
    image_size: int


def tensors_md5(*tensors: torch.Tensor) -> str:
    """Hex MD5 over the bytes of `tensors` (with their shapes), in order."""
    h = hashlib.md5()
    for t in tensors:
        h.update(str(tuple(t.shape)).encode())
        h.update(t.contiguous().numpy().tobytes())
    return h.hexdigest()


def resize(x: torch.Tensor, size: int | None) -> torch.Tensor:
    """uint8 (N, C, H, W) images resized to size x size (bilinear, antialiased), or as they are."""
    if size is None or tuple(x.shape[-2:]) == (size, size):
        return x
    out = torch.nn.functional.interpolate(x.float(), size=(size, size), mode="bilinear", antialias=True,
                                          align_corners=False)
    return out.round_().clamp_(0, 255).to(torch.uint8)


VAL_SHARE, VAL_MAX = 0.1, 5000


def val_count(val_size: int | None, train_count: int) -> int:
    """The validation images of a split: `val_size` where given, else 10% of the training images
    (at least 1, at most 5000: Fashion-MNIST's and MNIST's fixed split)."""
    if val_size is not None:
        return int(val_size)
    return max(1, min(VAL_MAX, round(VAL_SHARE * train_count)))


def check_split(val_size: int, batch_size: int, train_count: int) -> None:
    """Refuse a validation split or a batch the training images cannot hold."""
    if not 1 <= val_size < train_count:
        raise DataError(f"data.val_size={val_size} must be between 1 and {train_count - 1} "
                        f"(the training set has {train_count} images).")
    if not 1 <= batch_size <= train_count - val_size:
        raise DataError(f"data.batch_size={batch_size} must be between 1 and {train_count - val_size} "
                        f"(the training split).")
