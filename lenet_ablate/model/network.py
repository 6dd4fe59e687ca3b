"""LeNet-5, assembled from the parts its config options build (see `build_model`)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable

import torch
from omegaconf import DictConfig
from torch import nn

from lenet_ablate.data.files import DATASETS
from lenet_ablate.data.inputs import input_side
from lenet_ablate.model.layers import MaskedConv2d, lecun_c3_mask
from lenet_ablate.options import build
from lenet_ablate.registry import Registry

Factory = Callable[[], nn.Module | None]  # a fresh layer per call (None: no layer)

# model.c3: how C3 connects the 6 S2 maps to its 16 maps (a name, or the dotted path of one's own).
C3: Registry[Callable[[], nn.Module]] = Registry("model.c3", {
    "full": lambda: nn.Conv2d(6, 16, 5),
    "lecun": lambda: MaskedConv2d(6, 16, 5, lecun_c3_mask()),
})


class LeNet5(nn.Module):
    """LeNet-5, layer for layer (input 28x28 padded by C1, or 32x32 unpadded):

    | layer | op                                         | output     |
    |-------|--------------------------------------------|------------|
    | C1    | conv 1->6, 5x5 (+ norm, activation)        | 6 @ 28x28  |
    | S2    | pool 2x2                                   | 6 @ 14x14  |
    | C3    | conv 6->16, 5x5 (+ norm, activation)       | 16 @ 10x10 |
    | S4    | pool 2x2                                   | 16 @ 5x5   |
    | C5    | linear 400->120 (+ norm, act, dropout)     | 120        |
    | F6    | linear 120->84 (+ norm, act, dropout)      | 84         |
    | out   | head 84->10 (softmax linear or RBF)        | 10         |

    Each argument but `input_side` makes a fresh layer per call, in the order of the table (so the
    random initial weights are drawn in that order); `norm` may make None (no normalisation).
    Pooling follows the activation (the modern order; max pooling with ReLU is computed before it,
    which is equivalent and cheaper).
    """

    def __init__(self, act: Factory, pool: Factory, norm: Factory, drop: Factory, c3: Factory,
                 head: Factory, input_side: int) -> None:
        super().__init__()

        def normed(name: str, layer: nn.Module) -> list[tuple[str, nn.Module]]:
            norm_layer = norm()
            return [(name, layer)] + ([(f"{name}_norm", norm_layer)] if norm_layer is not None else [])

        def conv_block(name: str, conv: nn.Module, pool_name: str) -> list[tuple[str, nn.Module]]:
            activation, pooling = act(), pool()
            if isinstance(pooling, nn.MaxPool2d) and isinstance(activation, nn.ReLU):
                # max then ReLU = ReLU then max, outputs and gradients bit for bit, with 4x fewer
                # ReLUs (3-11% of a step, measured). Not for tanh/sigmoid: where saturated outputs
                # tie, the gradient would go to another window position than act-then-pool sends it.
                return normed(name, conv) + [(pool_name, pooling), (f"{name}_act", activation)]
            return normed(name, conv) + [(f"{name}_act", activation), (pool_name, pooling)]

        def dense_block(name: str, linear: nn.Linear) -> list[tuple[str, nn.Module]]:
            return normed(name, linear) + [(f"{name}_act", act()), (f"{name}_drop", drop())]

        self.features = nn.Sequential(OrderedDict([
            *conv_block("C1", nn.Conv2d(1, 6, 5, padding=(32 - input_side) // 2), "S2"),
            *conv_block("C3", c3(), "S4"),
            ("flatten", nn.Flatten()),
        ]))
        self.classifier = nn.Sequential(OrderedDict([
            *dense_block("C5", nn.Linear(400, 120)),
            *dense_block("F6", nn.Linear(120, 84)),
        ]))
        self.head = head()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.classifier(self.features(x)))

    def loss(self, scores: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The head's training loss (cross-entropy, or the MAP criterion for RBF)."""
        return self.head.loss(scores, target)


def build_model(cfg: DictConfig) -> LeNet5:
    """The LeNet-5 a composed config describes: its activation, pooling, normalization, dropout, head,
    model.c3 and data.input, initialised by its `init` option."""
    side = input_side(cfg.data.input)
    model = LeNet5(
        act=lambda: build(cfg.activation), pool=lambda: build(cfg.pooling), norm=lambda: build(cfg.normalization),
        drop=lambda: build(cfg.dropout), c3=C3.get(cfg.model.c3),
        head=lambda: build(cfg.head, in_features=84, num_classes=DATASETS.get(cfg.data.name).num_classes),
        input_side=side,
    )
    model.eval()  # one pass sizes the lazy layers (no batch statistics, no dropout draws)
    with torch.no_grad():
        model(torch.zeros(1, 1, side, side))
    model.train()
    build(cfg.init, model)
    with torch.no_grad():  # whatever the init, unconnected C3 weights start (and stay) at zero
        for m in model.modules():
            if isinstance(m, MaskedConv2d):
                m.weight.mul_(m.mask)
    return model


def parameter_table(model: LeNet5) -> dict[str, int]:
    """Trainable parameters per paper layer (C1, S2, C3, S4, C5, F6, output) and in total.

    Counts connected weights only, so a sparse C3 counts as the paper counts it; normalisation
    layers count with the layer they follow.
    """
    table = {}
    for name in ("C1", "S2", "C3", "S4", "C5", "F6", "output"):
        parts = [m for key, m in [*model.features.named_children(), *model.classifier.named_children(),
                                  ("output", model.head)] if key in (name, f"{name}_norm")]
        table[name] = sum(m.effective_parameters() if isinstance(m, MaskedConv2d)
                          else sum(p.numel() for p in m.parameters() if p.requires_grad) for m in parts)
    table["total"] = sum(table.values())
    return table
