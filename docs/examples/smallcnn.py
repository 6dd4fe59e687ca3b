"""A network of one's own for lenet_ablate (docs/your_own.md): a small CNN that declares the factor
groups it lets a study vary. It takes no `pooling` (it downsamples with strided convolutions), so a
study cannot vary pooling on it: lenet_ablate refuses `experiment=pooling` before anything trains.

Run from the checkout with this folder on the path:
    PYTHONPATH=docs/examples python -m lenet_ablate --config-dir docs/examples/conf model=smallcnn
"""

from __future__ import annotations

from typing import Callable

from torch import nn

Factory = Callable[[], nn.Module]


class SmallCNN(nn.Module):
    """Two 3x3 convolutions (stride 2), each with normalization and activation, then a hidden layer
    with dropout and the study's head. `width` is the network's own key: the first layer's channels."""

    def __init__(self, activation: Factory, normalization: Factory, dropout: Factory,
                 head: Callable[[int], nn.Module], in_channels: int, image_size: int, width: int = 16) -> None:
        super().__init__()
        side = (image_size + 1) // 2
        side = (side + 1) // 2
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, stride=2, padding=1), normalization(), activation(),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), normalization(), activation(),
            nn.Flatten(),
            nn.Linear(2 * width * side * side, 84), activation(), dropout(),
        )
        self.head = head(84)

    def forward(self, x):
        return self.head(self.body(x))
