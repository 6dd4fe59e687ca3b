"""Output layers: a softmax linear layer, or LeCun 1998's Euclidean RBF units with the MAP loss.
Each head carries its training loss."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lenet_ablate.model.templates import codebook


class SoftmaxHead(nn.Module):
    """Linear in_features -> classes; cross-entropy loss on the logits."""

    def __init__(self, in_features: int, num_classes: int) -> None:
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
    The codebook is part of the configuration (`templates_seed` fixes a random one), not of the run.
    """

    def __init__(self, in_features: int, num_classes: int, templates: str, j: float,
                 templates_seed: int) -> None:
        super().__init__()
        book = codebook(templates, num_classes, seed=templates_seed, length=in_features)
        if book.shape[1] != in_features:
            raise ValueError(f"RBF templates {templates!r} have {book.shape[1]} entries, the layer before has "
                             f"{in_features} (head.templates=random makes codes of any length)")
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
