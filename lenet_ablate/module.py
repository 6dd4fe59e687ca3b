"""The LightningModule: loss, optimizer and schedule from the config, metrics via torchmetrics."""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable

import lightning as L
import torch
from torch import nn
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix

from lenet_ablate.model import LeNet5


class DivergedError(RuntimeError):
    """Training produced a NaN or infinite loss."""


def _sgd(params: Iterable[nn.Parameter], lr: float, momentum: float, weight_decay: float) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)


def _adam(params: Iterable[nn.Parameter], lr: float, momentum: float, weight_decay: float) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=lr, betas=(momentum, 0.999), weight_decay=weight_decay)


def _rmsprop(params: Iterable[nn.Parameter], lr: float, momentum: float, weight_decay: float) -> torch.optim.Optimizer:
    return torch.optim.RMSprop(params, lr=lr, momentum=momentum, weight_decay=weight_decay)


OPTIMIZERS: dict[str, Callable[..., torch.optim.Optimizer]] = {"sgd": _sgd, "adam": _adam, "rmsprop": _rmsprop}


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


class LeNetModule(L.LightningModule):
    """Trains a LeNet5 and logs train/val/test loss and accuracy per epoch."""

    def __init__(self, model: LeNet5, optimizer: dict[str, Any], max_epochs: int, num_classes: int = 10,
                 channels_last: bool = False) -> None:
        super().__init__()
        self.model = model.to(memory_format=torch.channels_last) if channels_last else model
        self.optimizer_cfg = dict(optimizer)
        self.max_epochs = max_epochs
        self.train_acc = MulticlassAccuracy(num_classes, average="micro")
        self.val_acc = MulticlassAccuracy(num_classes, average="micro")
        self.test_acc = MulticlassAccuracy(num_classes, average="micro")
        self.test_confusion = MulticlassConfusionMatrix(num_classes)
        self.confusion: list[list[int]] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        scores = self.model(x)
        loss = self.model.loss(scores, y)
        self.train_acc.update(scores.detach(), y)
        # on_epoch only: accumulated on the device, no host sync per step.
        self.log("train/loss", loss, on_step=False, on_epoch=True, batch_size=len(y))
        self.log("train/acc", self.train_acc, on_step=False, on_epoch=True)
        return loss

    def on_train_epoch_end(self) -> None:
        self.log("step", float(self.current_epoch))  # TensorBoard x-axis = epoch
        loss = self.trainer.callback_metrics.get("train/loss")
        if loss is not None and not torch.isfinite(loss):
            raise DivergedError(f"non-finite training loss ({loss.item()}) in epoch {self.current_epoch}")

    def _eval_step(self, batch: tuple[torch.Tensor, torch.Tensor], split: str,
                   acc: MulticlassAccuracy) -> torch.Tensor:
        x, y = batch
        scores = self.model(x)
        loss = self.model.loss(scores, y)
        acc.update(scores, y)
        self.log(f"{split}/loss", loss, on_step=False, on_epoch=True, batch_size=len(y))
        return scores

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._eval_step(batch, "val", self.val_acc)

    def on_validation_epoch_end(self) -> None:
        self.log("val/acc", self.val_acc.compute())
        self.val_acc.reset()
        self.log("step", float(self.current_epoch))

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        scores = self._eval_step(batch, "test", self.test_acc)
        self.test_confusion.update(scores, batch[1])

    def on_test_epoch_end(self) -> None:
        self.log("test/acc", self.test_acc.compute())
        self.test_acc.reset()
        self.log("step", float(self.max_epochs))
        self.confusion = self.test_confusion.compute().tolist()
        self.test_confusion.reset()

    def configure_optimizers(self) -> dict[str, Any]:
        cfg = self.optimizer_cfg
        opt = OPTIMIZERS[cfg["name"]](self.parameters(), lr=cfg["lr"], momentum=cfg["momentum"],
                                      weight_decay=cfg["weight_decay"])
        factor = SCHEDULES[cfg["schedule"]]
        steps_per_epoch = max(1, int(self.trainer.estimated_stepping_batches) // self.max_epochs)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda step: factor(step, steps_per_epoch, self.max_epochs))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


@torch.inference_mode()
def evaluate(model: LeNet5, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> tuple[float, float]:
    """Accuracy and mean loss of `model` (in eval mode) over un-augmented batches."""
    was_training = model.training
    model.eval()
    correct, loss_sum, n = 0, 0.0, 0
    for x, y in batches:
        scores = model(x)
        correct += int((scores.argmax(1) == y).sum())
        loss_sum += float(model.loss(scores, y)) * len(y)
        n += len(y)
    model.train(was_training)
    return correct / n, loss_sum / n
