"""Layers LeNet-5 needs beyond torch.nn: LeCun 1998's squashing, trainable subsampling and sparse C3,
and a batch normalisation for maps and vectors alike. Layers with per-channel parameters read their
channel count from their first input (torch's lazy modules), so a config option builds them with no
size argument."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.lazy import LazyModuleMixin
from torch.nn.parameter import UninitializedParameter


class ScaledTanh(nn.Module):
    """LeCun's squashing function f(a) = 1.7159 * tanh(2a/3), so f(+-1) = +-1."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 1.7159 * torch.tanh(x * (2.0 / 3.0))


class Subsampling(LazyModuleMixin, nn.Module):
    """LeCun 1998 S2/S4: per channel, sum of each 2x2 window times a trainable coefficient plus a
    trainable bias (2 parameters per channel, no channel mixing), then, with `squash`, the paper's
    squashing function ("the result is passed through a sigmoidal function")."""

    def __init__(self, squash: bool = False) -> None:
        super().__init__()
        self.weight = UninitializedParameter()
        self.bias = UninitializedParameter()
        self.fan_in = 4
        self.squash = ScaledTanh() if squash else nn.Identity()

    def initialize_parameters(self, x: torch.Tensor) -> None:
        """Coefficient 1, bias 0 per channel of the first input (the init option may redraw them)."""
        if self.has_uninitialized_params():
            with torch.no_grad():
                self.weight.materialize((x.shape[1],))
                self.bias.materialize((x.shape[1],))
                self.weight.fill_(1.0)
                self.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        window_sum = F.avg_pool2d(x, 2) * 4.0
        return self.squash(window_sum * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1))


class _MapsAndVectors:
    """Batch normalisation per channel of maps (N, C, H, W) or per feature of vectors (N, C), so one
    option serves C1/C3 and C5/F6: vectors are normalised as (N, C, 1, 1) maps, which has the same
    per-channel statistics."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            return super().forward(x[:, :, None, None]).flatten(1)  # type: ignore[misc]
        return super().forward(x)  # type: ignore[misc]


class BatchNorm(_MapsAndVectors, nn.BatchNorm2d):
    """PyTorch's BatchNorm2d for maps and vectors alike (what a LazyBatchNorm becomes once built)."""


class LazyBatchNorm(_MapsAndVectors, nn.LazyBatchNorm2d):
    """The `normalization=batch` option: a BatchNorm whose channel count is read from its first input."""

    cls_to_become = BatchNorm  # type: ignore[assignment]


# LeCun 1998, Table I: which S2 maps (rows) feed which C3 maps (columns).
LECUN_C3_TABLE = """
X...XXX..XXXX.XX
XX...XXX..XXXX.X
XXX...XXX..X.XXX
.XXX..XXXX..X.XX
..XXX..XXXX.XX.X
...XXX..XXXX.XXX
"""


def lecun_c3_mask() -> torch.Tensor:
    """The C3 connection table as a (16 out, 6 in) 0/1 tensor (60 connected pairs)."""
    rows = LECUN_C3_TABLE.split()
    return torch.tensor([[c == "X" for c in row] for row in rows], dtype=torch.float32).T


class MaskedConv2d(nn.Conv2d):
    """A convolution in which only the (out, in) map pairs of `mask` are connected.

    The masked weights are zeroed at construction and the mask is applied in every
    forward pass, so their gradient is zero and they stay exactly zero under SGD,
    momentum, weight decay and Adam alike.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, mask: torch.Tensor) -> None:
        super().__init__(in_channels, out_channels, kernel_size)
        self.register_buffer("mask", mask.view(out_channels, in_channels, 1, 1))
        with torch.no_grad():
            self.weight.mul_(self.mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def effective_parameters(self) -> int:
        """Trainable parameters that are actually connected (the paper's count)."""
        return int(self.mask.sum().item()) * self.kernel_size[0] * self.kernel_size[1] + self.out_channels
