"""Fashion-MNIST / MNIST as in-memory tensors: the train/val/test split, whole-batch augmentation
and the LightningDataModule."""

from __future__ import annotations

import math
from typing import Any, Callable, Iterator

import lightning as L
import torch
import torch.nn.functional as F
from omegaconf import DictConfig, OmegaConf

from lenet_ablate.data.files import DataError, find_files, load_split
from lenet_ablate.data.inputs import to_input


def augment_batch(x: torch.Tensor, shift: int, flip: bool, fill: float, generator: torch.Generator) -> torch.Tensor:
    """Random shift by up to `shift` pixels (pad + random crop, per image) and optional random
    horizontal flip, for a whole batch at once on its device.

    Both are folded into one source-pixel index per output pixel and done by a single gather
    (3x faster than crop-by-advanced-indexing then flip on the CPU).
    """
    n, c, h, w = x.shape
    rows = torch.arange(h, device=x.device).expand(n, h)
    cols = torch.arange(w, device=x.device).expand(n, w)
    if shift > 0:
        x = F.pad(x, (shift,) * 4, value=fill)
        offsets = torch.randint(0, 2 * shift + 1, (2, n), generator=generator, device=generator.device).to(x.device)
        rows, cols = rows + offsets[0, :, None], cols + offsets[1, :, None]
    if flip:
        mask = torch.rand(n, generator=generator, device=generator.device).to(x.device) < 0.5
        cols = torch.where(mask[:, None], cols.flip(1), cols)
    index = (rows[:, :, None] * x.shape[3] + cols[:, None, :]).view(n, 1, h * w).expand(n, c, h * w)
    return torch.gather(x.reshape(n, c, -1), 2, index).view(n, c, h, w)


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
    """Train / val / test splits held as tensors on the training device.

    `data` and `augmentation` are the config's nodes of those names (conf/data, conf/augmentation);
    the two seeds are the run's batch-order and augmentation streams (lenet_ablate.training.seeding).
    """

    def __init__(self, data: Any, augmentation: Any, order_seed: int, augment_seed: int,
                 channels_last: bool) -> None:
        super().__init__()
        self.cfg = data
        self.md5 = OmegaConf.to_container(data.md5) if isinstance(data.md5, DictConfig) else data.md5
        self.shift = augmentation.shift
        self.flip = augmentation.flip and data.hflip  # never flip data whose hflip is false (digits)
        self.order_seed, self.augment_seed, self.channels_last = order_seed, augment_seed, channels_last
        self.splits: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self.background = 0.0

    def load(self, device: torch.device | str = "cpu") -> None:
        """Read, split and convert the data once, onto `device`."""
        if self.splits:
            return
        d = self.cfg
        files = find_files(d.name, d.root, self.md5)
        train_x, train_y = load_split(files["train_images"], files["train_labels"])
        test_x, test_y = load_split(files["test_images"], files["test_labels"])
        if not 1 <= d.val_size < len(train_y):
            raise DataError(f"data.val_size={d.val_size} must be between 1 and {len(train_y) - 1} "
                            f"(the training set has {len(train_y)} images).")
        perm = torch.randperm(len(train_y), generator=torch.Generator().manual_seed(d.split_seed))
        val_idx, train_idx = perm[:d.val_size], perm[d.val_size:]
        raw = {"train": (train_x[train_idx], train_y[train_idx]), "val": (train_x[val_idx], train_y[val_idx]),
               "test": (test_x, test_y)}
        memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        for split, (x, y) in raw.items():
            xf, self.background = to_input(x, d.input, d.mean, d.std)
            self.splits[split] = (xf.to(device).contiguous(memory_format=memory_format), y.to(device))
        # Separate streams: batch order and augmentation draws do not shift each other.
        self.generator = torch.Generator(device=device).manual_seed(self.augment_seed)
        self.index_generator = torch.Generator().manual_seed(self.order_seed)

    def setup(self, stage: str | None = None) -> None:
        device = self.trainer.strategy.root_device if self.trainer is not None else torch.device("cpu")
        self.load(device)

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        return augment_batch(x, self.shift, self.flip, self.background, self.generator)

    def train_dataloader(self) -> TensorBatches:
        x, y = self.splits["train"]
        transform = self._augment if (self.shift or self.flip) else None
        return TensorBatches(x, y, self.cfg.batch_size, shuffle=True, generator=self.index_generator, transform=transform)

    def eval_batches(self, split: str) -> TensorBatches:
        """Un-augmented, unshuffled batches of one split, at the evaluation batch size."""
        x, y = self.splits[split]
        return TensorBatches(x, y, self.cfg.eval_batch_size)

    def val_dataloader(self) -> TensorBatches:
        return self.eval_batches("val")

    def test_dataloader(self) -> TensorBatches:
        return self.eval_batches("test")
