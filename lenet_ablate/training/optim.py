"""Optimizers (the optimizer group's `_target_`s) and learning-rate schedules (`optimizer.schedule`).

An optimizer option's target gets the parameters from the LightningModule and every key of its YAML
but `name` as arguments, and returns an `Optimization`: the torch optimizer and its lr schedule.
"""

from __future__ import annotations

import math
from typing import Callable, Iterable, NamedTuple

import torch
from torch import nn

from lenet_ablate.registry import Registry

# Learning-rate multiplier per optimizer step: factor(step, steps_per_epoch, max_epochs).
Schedule = Callable[[int, int, int], float]


class Optimization(NamedTuple):
    """What an optimizer option builds: the optimizer and the lr multiplier per step."""

    optimizer: torch.optim.Optimizer
    schedule: Schedule


def _kernel(fused: bool) -> dict[str, bool]:
    # foreach (one multi-tensor kernel per update step) is bit-identical to the per-parameter
    # loop and faster; fused is faster still but rounds differently in the last bits.
    return {"fused": True} if fused else {"foreach": True}


def sgd(params: Iterable[nn.Parameter], lr: float, momentum: float, weight_decay: float, schedule: str,
        fused: bool = False) -> Optimization:
    """SGD with (heavy-ball) momentum."""
    opt = torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay, **_kernel(fused))
    return Optimization(opt, SCHEDULES.get(schedule))


def adam(params: Iterable[nn.Parameter], lr: float, betas: tuple[float, float], weight_decay: float,
         schedule: str, fused: bool = False) -> Optimization:
    """Adam (coupled L2 weight decay, as torch.optim.Adam)."""
    opt = torch.optim.Adam(params, lr=lr, betas=tuple(betas), weight_decay=weight_decay, **_kernel(fused))
    return Optimization(opt, SCHEDULES.get(schedule))


def rmsprop(params: Iterable[nn.Parameter], lr: float, momentum: float, weight_decay: float, schedule: str,
            fused: bool = False) -> Optimization:
    """RMSprop (PyTorch's, alpha 0.99)."""
    if fused:
        raise ValueError("PyTorch has no fused RMSprop")
    opt = torch.optim.RMSprop(params, lr=lr, momentum=momentum, weight_decay=weight_decay, foreach=True)
    return Optimization(opt, SCHEDULES.get(schedule))


# Optimizers with a fused (single-kernel) implementation, for optimizer.fused=true.
FUSED = ("sgd", "adam")


def _lecun1998_factor(step: int, steps_per_epoch: int, max_epochs: int) -> float:
    # The paper's global rates 5e-4 (passes 1-2), 2e-4 (3-5), 1e-4 (6-8), 5e-5 (9-12), 1e-5 after,
    # as multipliers of optimizer.lr.
    epoch = step // steps_per_epoch
    return next((f for last, f in [(2, 1.0), (5, 0.4), (8, 0.2), (12, 0.1)] if epoch < last), 0.02)


def _cosine_factor(step: int, steps_per_epoch: int, max_epochs: int) -> float:
    return 0.5 * (1 + math.cos(math.pi * step / max(1, steps_per_epoch * max_epochs)))


def _constant_factor(step: int, steps_per_epoch: int, max_epochs: int) -> float:
    return 1.0


# optimizer.schedule: a name here, or the dotted path of a function like these.
SCHEDULES: Registry[Schedule] = Registry("optimizer.schedule", {
    "none": _constant_factor,
    "cosine": _cosine_factor,
    "lecun1998": _lecun1998_factor,
})
