"""Whether two configurations build provably the same network: the same modules, the same parameter
and buffer shapes, and the same output on one batch at the same seed, in train and in eval mode.

A key that never reaches the network (one a network takes through **kwargs and ignores, a factor it
declares and never calls) gives two such networks; a study must not judge it. A key that changes
what the network computes (a dropout rate used in `forward`, an activation chosen by a string) gives
another output on a random batch, so it is never taken for one.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lenet_ablate.data.images import DataShape

BATCH = 8  # images in the probe batch (train mode: batch statistics need more than one)
SEED = 0


@dataclass(frozen=True)
class Fingerprint:
    """What a freshly built network is: its modules, shapes, and outputs on the probe batch."""

    modules: tuple[tuple[str, str], ...]
    shapes: tuple[tuple[str, tuple[int, ...]], ...]
    train_out: torch.Tensor
    eval_out: torch.Tensor

    def same(self, other: "Fingerprint") -> bool:
        """True where nothing tells the two networks apart."""
        return (self.modules == other.modules and self.shapes == other.shapes
                and torch.equal(self.train_out, other.train_out) and torch.equal(self.eval_out, other.eval_out))


def probe_batch(shape: DataShape) -> torch.Tensor:
    """A fixed random batch of the data's shape (its own generator: no global state changes)."""
    gen = torch.Generator().manual_seed(SEED)
    return torch.randn((BATCH, shape.in_channels, shape.image_size, shape.image_size), generator=gen)


def fingerprint(model: nn.Module, shape: DataShape) -> Fingerprint:
    """The fingerprint of `model` (built after torch.manual_seed(SEED)); leaves it in train mode."""
    x = probe_batch(shape)
    outputs = []
    with torch.no_grad():
        for train in (True, False):
            model.train(train)
            torch.manual_seed(SEED)  # the same dropout draws for both networks
            outputs.append(model(x).detach().clone())
    model.train()
    state = [*model.named_parameters(), *model.named_buffers()]
    return Fingerprint(tuple((name, type(m).__name__) for name, m in model.named_modules()),
                       tuple((name, tuple(t.shape)) for name, t in state), outputs[0], outputs[1])
