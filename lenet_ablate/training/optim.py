"""Optimizers (the optimizer group's `_target_`s, one signature for all) and learning-rate schedules."""

from __future__ import annotations

import math
from typing import Callable, Iterable

import torch
from torch import nn


def _kernel(fused: bool) -> dict[str, bool]:
    # foreach (one multi-tensor kernel per update step) is bit-identical to the per-parameter
    # loop and faster; fused is faster still but rounds differently in the last bits.
    return {"fused": True} if fused else {"foreach": True}


def sgd(params: Iterable[nn.Parameter], lr: float, momentum: float, weight_decay: float,
         fused: bool = False) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay, **_kernel(fused))


def adam(params: Iterable[nn.Parameter], lr: float, momentum: float, weight_decay: float,
          fused: bool = False) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=lr, betas=(momentum, 0.999), weight_decay=weight_decay, **_kernel(fused))


def rmsprop(params: Iterable[nn.Parameter], lr: float, momentum: float, weight_decay: float,
             fused: bool = False) -> torch.optim.Optimizer:
    if fused:
        raise ValueError("PyTorch has no fused RMSprop")
    return torch.optim.RMSprop(params, lr=lr, momentum=momentum, weight_decay=weight_decay, foreach=True)


# Optimizers with a fused (single-kernel) implementation, for optimizer.fused=true.
FUSED = ("sgd", "adam")


def _lecun1998_factor(step: int, steps_per_epoch: int, max_epochs: int) -> float:
    # The paper's global rates 5e-4 (passes 1-2), 2e-4 (3-5), 1e-4 (6-8), 5e-5 (9-12), 1e-5 after,
    # as multipliers of optimizer.lr.
    epoch = step // steps_per_epoch
    return next((f for last, f in [(2, 1.0), (5, 0.4), (8, 0.2), (12, 0.1)] if epoch < last), 0.02)


def _cosine_factor(step: int, steps_per_epoch: int, max_epochs: int) -> float:
    return 0.5 * (1 + math.cos(math.pi * step / max(1, steps_per_epoch * max_epochs)))


# Learning-rate multiplier per optimizer step.
SCHEDULES: dict[str, Callable[[int, int, int], float]] = {
    "none": lambda step, steps_per_epoch, max_epochs: 1.0,
    "cosine": _cosine_factor,
    "lecun1998": _lecun1998_factor,
}
