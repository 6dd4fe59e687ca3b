"""Network inputs from the stored images (`data.input`): how uint8 images are scaled (and padded)."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F

from lenet_ablate.registry import Registry

Level = float | torch.Tensor  # one value for every channel, or one per channel, shaped (C, 1, 1)

# (images as float (N, C, H, W) in [0, 1], mean, std) -> (network input, background value)
Scaling = Callable[[torch.Tensor, Level, Level], tuple[torch.Tensor, Level]]


def standard(x: torch.Tensor, mean: Level, std: Level) -> tuple[torch.Tensor, Level]:
    """(x - mean) / std at the images' size."""
    return (x - mean) / std, (0.0 - mean) / std


def lecun32(x: torch.Tensor, mean: Level, std: Level) -> tuple[torch.Tensor, Level]:
    """The paper's -0.1 (background) .. 1.175 (ink), padded by 2 pixels (28x28 -> 32x32; mean and std
    unused)."""
    return F.pad(x * 1.275 - 0.1, (2, 2, 2, 2), value=-0.1), -0.1


# data.input: a name here, or the dotted path of a function like these.
INPUTS: Registry[Scaling] = Registry("data.input", {"standard": standard, "lecun32": lecun32})


def per_channel(value: Any) -> Level:
    """A mean or std as the scaling takes it: a float when one value serves every channel (the
    arithmetic of a single-channel data set stays plain float), else a (C, 1, 1) tensor."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        values = [float(v) for v in value]
        return values[0] if len(set(values)) == 1 else torch.tensor(values).view(-1, 1, 1)
    return float(value)


def channel_stats(x: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of uint8 (N, C, H, W) images scaled to [0, 1] (float64 sums)."""
    v = x.to(torch.float64).div_(255.0).transpose(0, 1).reshape(x.shape[1], -1)
    return v.mean(1).tolist(), v.std(1).tolist()


def to_input(x: torch.Tensor, kind: str, mean: Any, std: Any) -> tuple[torch.Tensor, Level]:
    """uint8 (N, C, H, W) -> float network input, and the background value(s)."""
    return INPUTS.get(kind)(x.float().div_(255.0), per_channel(mean), per_channel(std))


def input_side(kind: str, side: int = 28, channels: int = 1) -> int:
    """The side (H = W) of the network input `kind` makes from a side x side image."""
    zeros = torch.zeros(1, channels, side, side, dtype=torch.uint8)
    return to_input(zeros, kind, [0.0] * channels, [1.0] * channels)[0].shape[-1]
