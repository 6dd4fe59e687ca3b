"""Network inputs from the stored images (`data.input`): how a uint8 28x28 image is scaled (and padded)."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from lenet_ablate.registry import Registry

# (images as float (N, 1, 28, 28) in [0, 1], mean, std) -> (network input, background value)
Scaling = Callable[[torch.Tensor, float, float], tuple[torch.Tensor, float]]


def standard(x: torch.Tensor, mean: float, std: float) -> tuple[torch.Tensor, float]:
    """(x - mean) / std at 28x28."""
    return (x - mean) / std, (0.0 - mean) / std


def lecun32(x: torch.Tensor, mean: float, std: float) -> tuple[torch.Tensor, float]:
    """The paper's -0.1 (background) .. 1.175 (ink), padded to 32x32 (mean and std unused)."""
    return F.pad(x * 1.275 - 0.1, (2, 2, 2, 2), value=-0.1), -0.1


# data.input: a name here, or the dotted path of a function like these.
INPUTS: Registry[Scaling] = Registry("data.input", {"standard": standard, "lecun32": lecun32})


def to_input(x: torch.Tensor, kind: str, mean: float, std: float) -> tuple[torch.Tensor, float]:
    """uint8 (N, 28, 28) -> float (N, 1, H, W) network input, and the background value."""
    return INPUTS.get(kind)(x.float().div_(255.0).unsqueeze(1), mean, std)


def input_side(kind: str) -> int:
    """The side (H = W) of the network input `kind` makes from a 28x28 image."""
    return to_input(torch.zeros(1, 28, 28, dtype=torch.uint8), kind, 0.0, 1.0)[0].shape[-1]
