"""LeNet-5 and its interchangeable parts.

Each config group that changes the network maps to one factory table here
(ACTIVATIONS, POOLINGS, C3_LAYERS, HEADS); `LeNet5` reads like the paper's layer table.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from lenet_ablate.templates import codebook


class ScaledTanh(nn.Module):
    """LeCun's squashing function f(a) = 1.7159 * tanh(2a/3), so f(+-1) = +-1."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 1.7159 * torch.tanh(x * (2.0 / 3.0))


class Subsampling(nn.Module):
    """LeCun 1998 S2/S4: per channel, sum of each 2x2 window times a trainable
    coefficient plus a trainable bias (2 parameters per channel, no channel mixing)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.fan_in = 4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        window_sum = F.avg_pool2d(x, 2) * 4.0
        return window_sum * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


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
        return self._conv_forward(x, self.weight * self.mask, self.bias)

    def effective_parameters(self) -> int:
        """Trainable parameters that are actually connected (the paper's count)."""
        return int(self.mask.sum().item()) * self.kernel_size[0] * self.kernel_size[1] + self.out_channels


ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "scaled_tanh": ScaledTanh,
}

POOLINGS: dict[str, Callable[[int], nn.Module]] = {
    "max": lambda channels: nn.MaxPool2d(2),
    "avg": lambda channels: nn.AvgPool2d(2),
    "subsample": Subsampling,
}

C3_LAYERS: dict[str, Callable[[], nn.Module]] = {
    "full": lambda: nn.Conv2d(6, 16, 5),
    "lecun": lambda: MaskedConv2d(6, 16, 5, lecun_c3_mask()),
}


class SoftmaxHead(nn.Module):
    """Linear 84 -> classes; cross-entropy loss on the logits."""

    def __init__(self, in_features: int, num_classes: int, **_: object) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)

    def loss(self, scores: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(scores, target)


class RBFHead(nn.Module):
    """LeCun 1998 output layer: Euclidean RBF units with fixed +-1 templates.

    forward() returns the scores -y_i (y_i = squared distance to template i), so
    argmax of the scores is argmin of the distances. The loss is the MAP criterion
    (Eq. 9) in its stable form: cross-entropy over the 11 logits [-y_0..-y_9, -j].
    """

    def __init__(self, in_features: int, num_classes: int, templates: str = "hadamard",
                 j: float = 1.0, seed: int = 0) -> None:
        super().__init__()
        book = codebook(templates, num_classes, seed=seed)
        if book.shape[1] != in_features:
            raise ValueError(f"RBF templates have {book.shape[1]} entries, the layer before has {in_features}")
        self.register_buffer("templates", book)
        self.templates_name = templates
        self.j = float(j)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # ||x||^2 - 2 x.w + ||w||^2, as a single matmul.
        dist = (x * x).sum(1, keepdim=True) - 2 * x @ self.templates.T + (self.templates ** 2).sum(1)
        return -dist

    def loss(self, scores: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        reject = scores.new_full((scores.shape[0], 1), -self.j)
        return F.cross_entropy(torch.cat([scores, reject], dim=1), target)


HEADS: dict[str, Callable[..., nn.Module]] = {"softmax": SoftmaxHead, "rbf": RBFHead}


class LeNet5(nn.Module):
    """LeNet-5, layer for layer (input 28x28 padded by C1, or 32x32 unpadded):

    | layer | op                               | output    |
    |-------|----------------------------------|-----------|
    | C1    | conv 1->6, 5x5 (+ activation)    | 6 @ 28x28 |
    | S2    | pool 2x2                         | 6 @ 14x14 |
    | C3    | conv 6->16, 5x5 (+ activation)   | 16 @ 10x10|
    | S4    | pool 2x2                         | 16 @ 5x5  |
    | C5    | linear 400->120 (+ act, dropout) | 120       |
    | F6    | linear 120->84 (+ act, dropout)  | 84        |
    | out   | softmax linear or RBF 84->10     | 10        |

    Pooling follows the activation (the modern order; max pooling with ReLU is computed before it,
    which is equivalent and cheaper); the paper's trainable subsampling is followed by its own squashing,
    as in LeCun 1998.
    """

    def __init__(self, activation: str = "relu", pooling: str = "max", dropout: float = 0.0,
                 head: str = "softmax", head_options: dict | None = None, c3: str = "full",
                 init: str = "kaiming", input_size: int = 28, num_classes: int = 10) -> None:
        super().__init__()
        act = ACTIVATIONS[activation]
        pool = POOLINGS[pooling]
        # The trainable subsampling is a layer with its own squashing (paper), max/avg are not.
        squash_pool = (lambda ch: nn.Sequential(pool(ch), act())) if pooling == "subsample" else pool
        layers = [
            ("C1", nn.Conv2d(1, 6, 5, padding=2 if input_size == 28 else 0)),
            ("C1_act", act()),
            ("S2", squash_pool(6)),
            ("C3", C3_LAYERS[c3]()),
            ("C3_act", act()),
            ("S4", squash_pool(16)),
        ]
        if pooling == "max" and activation == "relu":
            # max then ReLU = ReLU then max, outputs and gradients bit for bit, with 4x fewer
            # ReLUs (3-11% of a step, measured). Not for tanh/sigmoid: where saturated outputs
            # tie, the gradient would go to another window position than act-then-pool sends it.
            layers = [layers[i] for i in (0, 2, 1, 3, 5, 4)]
        self.features = nn.Sequential(OrderedDict([*layers, ("flatten", nn.Flatten())]))
        self.classifier = nn.Sequential(OrderedDict(
            C5=nn.Linear(400, 120), C5_act=act(), C5_drop=nn.Dropout(dropout),
            F6=nn.Linear(120, 84), F6_act=act(), F6_drop=nn.Dropout(dropout),
        ))
        self.head = HEADS[head](84, num_classes, **(head_options or {}))
        INITS[init](self)
        with torch.no_grad():  # whatever the init, unconnected C3 weights start (and stay) at zero
            for m in self.modules():
                if isinstance(m, MaskedConv2d):
                    m.weight.mul_(m.mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.classifier(self.features(x)))

    def loss(self, scores: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The head's training loss (cross-entropy, or the MAP criterion for RBF)."""
        return self.head.loss(scores, target)


def _lecun_init(model: nn.Module) -> None:
    """Every weight and bias uniform in +-2.4/F, F = fan-in of the unit (per map for C3)."""
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
                nn.init.uniform_(m.bias, -2.4 / fan_in, 2.4 / fan_in)
            elif isinstance(m, Subsampling):
                nn.init.uniform_(m.weight, -2.4 / m.fan_in, 2.4 / m.fan_in)
                nn.init.uniform_(m.bias, -2.4 / m.fan_in, 2.4 / m.fan_in)


def _kaiming_init(model: nn.Module) -> None:
    """He-normal weights (fan-in, ReLU gain), zero biases: trains faster than PyTorch's default."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)


INITS: dict[str, Callable[[nn.Module], None]] = {
    "default": lambda model: None,  # PyTorch's own (Kaiming-uniform, a=sqrt(5))
    "kaiming": _kaiming_init,
    "lecun": _lecun_init,
}


def parameter_table(model: LeNet5) -> dict[str, int]:
    """Trainable parameters per paper layer (C1, S2, C3, S4, C5, F6, output) and in total.

    Counts connected weights only, so a sparse C3 counts as the paper counts it.
    """
    layers = {
        "C1": model.features.C1, "S2": model.features.S2, "C3": model.features.C3,
        "S4": model.features.S4, "C5": model.classifier.C5, "F6": model.classifier.F6, "output": model.head,
    }
    table = {}
    for name, layer in layers.items():
        if isinstance(layer, MaskedConv2d):
            table[name] = layer.effective_parameters()
        else:
            table[name] = sum(p.numel() for p in layer.parameters() if p.requires_grad)
    table["total"] = sum(table.values())
    return table


def build_model(cfg) -> LeNet5:
    """Build the LeNet-5 that a composed config (activation, pooling, ..., data) describes."""
    head_options: dict = {}
    if cfg.head.name == "rbf":
        templates = cfg.head.templates
        head_options = {"templates": cfg.data.default_templates if templates == "auto" else templates,
                        "j": cfg.head.j, "seed": cfg.seed}
    return LeNet5(
        activation=cfg.activation.name, pooling=cfg.pooling.name, dropout=cfg.dropout.p,
        head=cfg.head.name, head_options=head_options, c3=cfg.model.c3, init=cfg.model.init,
        input_size=32 if cfg.data.input == "lecun32" else 28,
    )

