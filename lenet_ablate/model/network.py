"""The network a config's `model` option names, built with the factor groups it declares
(`build_network`), and LeNet-5, the default one."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from omegaconf import DictConfig
from torch import nn

from lenet_ablate.data.images import DataShape
from lenet_ablate.data.sources import data_shape
from lenet_ablate.errors import ConfigError
from lenet_ablate.model.contract import NETWORK_FACTORS, declared, target_object
from lenet_ablate.model.layers import MaskedConv2d, lecun_c3_mask
from lenet_ablate.options import build
from lenet_ablate.registry import Registry

Factory = Callable[[], nn.Module]  # a fresh layer per call (nn.Identity: no layer)

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

    Takes the study's network arguments (lenet_ablate.model.contract): each factor makes a fresh
    layer per call, in the order of the table (so the random initial weights are drawn in that
    order); `normalization` may make nn.Identity (no normalisation). Images smaller than 32 are
    padded by C1 towards 32; larger ones (or more channels) widen C1 and C5's input. Pooling follows
    the activation (the modern order; max pooling with ReLU is computed before it, which is
    equivalent and cheaper).
    """

    def __init__(self, activation: Factory, pooling: Factory, normalization: Factory, dropout: Factory,
                 head: Callable[[int], nn.Module], in_channels: int = 1, image_size: int = 28,
                 c3: str = "full") -> None:
        super().__init__()
        act, pool, drop = activation, pooling, dropout

        def normed(name: str, layer: nn.Module) -> list[tuple[str, nn.Module]]:
            norm_layer = normalization()
            skip = norm_layer is None or isinstance(norm_layer, nn.Identity)
            return [(name, layer)] + ([] if skip else [(f"{name}_norm", norm_layer)])

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

        pad = max(0, (32 - image_size) // 2)
        side = ((image_size + 2 * pad - 4) // 2 - 4) // 2  # after C1, S2, C3, S4
        self.features = nn.Sequential(OrderedDict([
            *conv_block("C1", nn.Conv2d(in_channels, 6, 5, padding=pad), "S2"),
            *conv_block("C3", C3.get(c3)(), "S4"),
            ("flatten", nn.Flatten()),
        ]))
        self.classifier = nn.Sequential(OrderedDict([
            *dense_block("C5", nn.Linear(16 * side * side, 120)),
            *dense_block("F6", nn.Linear(120, 84)),
        ]))
        self.head = head(84)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.classifier(self.features(x)))

    def loss(self, scores: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The head's training loss (cross-entropy, or the MAP criterion for RBF)."""
        return self.head.loss(scores, target)


@dataclass
class Network:
    """A built network: the module, the loss its head trains with (cross-entropy for a network that
    takes no `head`), the factor groups it declared, and its name (the `model` option)."""

    module: nn.Module
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    takes: tuple[str, ...]
    name: str


def _layer(node: DictConfig) -> Factory:
    """A factor's zero-argument factory: a fresh layer per call, nn.Identity for an option without
    `_target_` (for example normalization=none)."""
    return lambda: build(node) or nn.Identity()


def build_network(cfg: DictConfig, shape: DataShape) -> Network:
    """The network a composed config describes (`model`: its `_target_` and own keys), given the
    factor groups and the data's shape it declares, sized on one batch, checked for num_classes
    outputs, and initialised by the config's `init` option. Raises ConfigError for a target that
    cannot be imported or a network that fails on, or gives the wrong shape for, one batch."""
    name = str(cfg.model.get("name"))
    target = target_object(cfg.model.get("_target_"), f"model={name}")
    takes = declared(target)
    heads: list[nn.Module] = []

    def head(in_features: int) -> nn.Module:
        heads.append(build(cfg.head, in_features=in_features, num_classes=shape.num_classes))
        return heads[-1]

    offered = {**{f: _layer(cfg[f]) for f in NETWORK_FACTORS if f != "head"}, "head": head,
               "in_channels": shape.in_channels, "num_classes": shape.num_classes, "image_size": shape.image_size}
    try:
        model = build(cfg.model, **{k: v for k, v in offered.items() if k in takes})
    except ConfigError:
        raise
    except Exception as exc:  # the user's network (or a layer it asked for) cannot be built with these
        raise ConfigError(f"model={name} cannot be built: {_root_cause(exc)}") from None
    _check_output(model, name, shape)
    build(cfg.init, model)
    with torch.no_grad():  # whatever the init, unconnected C3 weights start (and stay) at zero
        for m in model.modules():
            if isinstance(m, MaskedConv2d):
                m.weight.mul_(m.mask)
    loss = heads[-1].loss if heads and hasattr(heads[-1], "loss") else F.cross_entropy
    return Network(model, loss, tuple(f for f in NETWORK_FACTORS if f in takes), name)


def _root_cause(exc: BaseException) -> str:
    """The innermost error of a chain (Hydra wraps a target's error in its InstantiationException)."""
    while exc.__cause__ is not None or (exc.__context__ is not None and not exc.__suppress_context__):
        exc = exc.__cause__ or exc.__context__
    return f"{type(exc).__name__}: {str(exc).splitlines()[-1] if str(exc) else ''}"


def _check_output(model: nn.Module, name: str, shape: DataShape) -> None:
    """One pass on one blank image: sizes the lazy layers (in eval mode: no batch statistics, no
    dropout draws) and checks the output is (1, num_classes)."""
    batch = (1, shape.in_channels, shape.image_size, shape.image_size)
    model.eval()
    try:
        with torch.no_grad():
            out = model(torch.zeros(batch))
    except Exception as exc:  # the user's network: any error means it cannot take this data
        raise ConfigError(f"model={name} fails on one batch of shape {batch}: {type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
    model.train()
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (1, shape.num_classes):
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ConfigError(f"model={name}: its output for one batch of shape {batch} is {got}; expected "
                          f"(1, {shape.num_classes}), one score per class of the data ({shape.num_classes} classes)")


def build_model(cfg: DictConfig, shape: DataShape | None = None) -> nn.Module:
    """The network module of `cfg` (see build_network); `shape` defaults to the data's (data_shape)."""
    return build_network(cfg, shape or data_shape(cfg.data)).module


def parameter_table(model: nn.Module) -> dict[str, int]:
    """Trainable parameters: of LeNet-5 per paper layer (C1, S2, C3, S4, C5, F6, output) and in
    total, of any other network in total.

    Counts connected weights only, so a sparse C3 counts as the paper counts it; normalisation
    layers count with the layer they follow.
    """
    if not isinstance(model, LeNet5):
        return {"total": sum(m.effective_parameters() if isinstance(m, MaskedConv2d) else
                             sum(p.numel() for p in m.parameters(recurse=False) if p.requires_grad)
                             for m in model.modules())}
    table = {}
    for name in ("C1", "S2", "C3", "S4", "C5", "F6", "output"):
        parts = [m for key, m in [*model.features.named_children(), *model.classifier.named_children(),
                                  ("output", model.head)] if key in (name, f"{name}_norm")]
        table[name] = sum(m.effective_parameters() if isinstance(m, MaskedConv2d)
                          else sum(p.numel() for p in m.parameters() if p.requires_grad) for m in parts)
    table["total"] = sum(table.values())
    return table
