"""Weight initialisations (the `init` config group): each takes the built network and sets its weights."""

from __future__ import annotations

import torch
from torch import nn

from lenet_ablate.model.layers import MaskedConv2d, Subsampling


def default(model: nn.Module) -> None:
    """PyTorch's own initialisation, drawn when the layers were built (Kaiming-uniform, a=sqrt(5))."""


def kaiming(model: nn.Module) -> None:
    """He-normal weights (fan-in, ReLU gain), zero biases: trains faster than PyTorch's default."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:  # a network of one's own may have layers without bias
                nn.init.zeros_(m.bias)


def lecun(model: nn.Module) -> None:
    """LeCun 1998: every weight and bias uniform in +-2.4/F, F = fan-in of the unit (per map for C3)."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, MaskedConv2d):
                fan_in = m.mask.sum(dim=(1, 2, 3)) * m.kernel_size[0] * m.kernel_size[1]  # per output map
                bound = (2.4 / fan_in).view(-1, 1, 1, 1)
                m.weight.copy_((torch.rand_like(m.weight) * 2 - 1) * bound * m.mask)
                m.bias.copy_((torch.rand_like(m.bias) * 2 - 1) * bound.view(-1))
            elif isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                nn.init.uniform_(m.weight, -2.4 / fan_in, 2.4 / fan_in)
                if m.bias is not None:
                    nn.init.uniform_(m.bias, -2.4 / fan_in, 2.4 / fan_in)
            elif isinstance(m, Subsampling):
                nn.init.uniform_(m.weight, -2.4 / m.fan_in, 2.4 / m.fan_in)
                nn.init.uniform_(m.bias, -2.4 / m.fan_in, 2.4 / m.fan_in)
