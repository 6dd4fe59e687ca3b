"""LeNet-5, assembled from the parts its config options build (see `build_model`)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable

import torch
from omegaconf import DictConfig
from torch import nn

from lenet_ablate.data.files import DATASETS
from lenet_ablate.model.layers import MaskedConv2d, lecun_c3_mask
from lenet_ablate.options import layer_factory, option_callable

Factory = Callable[..., nn.Module]

# model.c3: how C3 connects the 6 S2 maps to its 16 maps.
C3_LAYERS: dict[str, Callable[[], nn.Module]] = {
    "full": lambda: nn.Conv2d(6, 16, 5),
    "lecun": lambda: MaskedConv2d(6, 16, 5, lecun_c3_mask()),
}


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

    `act`, `pool`, `norm` and `head` are factories (see lenet_ablate.options.layer_factory); `norm`
    None means no normalisation layers. Pooling follows the activation (the modern order; max
    pooling with ReLU is computed before it, which is equivalent and cheaper); a pooling that
    `squashes` (the paper's trainable subsampling) is followed by its own activation, as in LeCun 1998.
    """

    def __init__(self, act: Factory, pool: Factory, norm: Factory | None, c3: Callable[[], nn.Module],
                 head: Factory, dropout: float, input_size: int, squash: bool, num_classes: int) -> None:
        super().__init__()

        def conv_block(name: str, conv: nn.Module, channels: int, pool_name: str) -> list[tuple[str, nn.Module]]:
            normed = [(name, conv)] + ([(f"{name}_norm", norm(channels))] if norm else [])
            activation, pooling = act(), pool(channels)
            pooled = [(pool_name, nn.Sequential(pooling, act()) if squash else pooling)]
            if isinstance(pooling, nn.MaxPool2d) and isinstance(activation, nn.ReLU):
                # max then ReLU = ReLU then max, outputs and gradients bit for bit, with 4x fewer
                # ReLUs (3-11% of a step, measured). Not for tanh/sigmoid: where saturated outputs
                # tie, the gradient would go to another window position than act-then-pool sends it.
                return normed + pooled + [(f"{name}_act", activation)]
            return normed + [(f"{name}_act", activation)] + pooled

        def dense_block(name: str, linear: nn.Linear) -> list[tuple[str, nn.Module]]:
            normed = [(name, linear)] + ([(f"{name}_norm", norm(linear.out_features))] if norm else [])
            return normed + [(f"{name}_act", act()), (f"{name}_drop", nn.Dropout(dropout))]

        self.features = nn.Sequential(OrderedDict([
            *conv_block("C1", nn.Conv2d(1, 6, 5, padding=2 if input_size == 28 else 0), 6, "S2"),
            *conv_block("C3", c3(), 16, "S4"),
            ("flatten", nn.Flatten()),
        ]))
        self.classifier = nn.Sequential(OrderedDict([
            *dense_block("C5", nn.Linear(400, 120)),
            *dense_block("F6", nn.Linear(120, 84)),
        ]))
        self.head = head(84, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.classifier(self.features(x)))

    def loss(self, scores: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The head's training loss (cross-entropy, or the MAP criterion for RBF)."""
        return self.head.loss(scores, target)


def build_model(cfg: DictConfig) -> LeNet5:
    """The LeNet-5 a composed config describes: its activation, pooling, normalization, dropout, head,
    model.c3 and data.input, initialised by its `init` option."""
    model = LeNet5(
        act=layer_factory(cfg.activation), pool=layer_factory(cfg.pooling), norm=layer_factory(cfg.normalization),
        c3=C3_LAYERS[cfg.model.c3], head=option_callable(cfg.head), dropout=cfg.dropout.p,
        input_size=32 if cfg.data.input == "lecun32" else 28, squash=bool(cfg.pooling.get("squash", False)),
        num_classes=DATASETS[cfg.data.name].num_classes,
    )
    option_callable(cfg.init)(model)
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
