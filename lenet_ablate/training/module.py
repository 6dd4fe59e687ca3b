"""The LightningModule: loss, optimizer and schedule from the config, metrics via torchmetrics."""

from __future__ import annotations

from lenet_ablate.errors import DivergedError  # noqa: F401 (raised here, caught by train)

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import lightning as L
import torch
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix

from torch import nn

from lenet_ablate.options import build


@dataclass(frozen=True)
class EpochRecord:
    """One epoch of a job's history: training (on the augmented batches, as trained) and validation
    accuracy and loss."""

    epoch: int
    train_acc: float
    train_loss: float
    val_acc: float
    val_loss: float


Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class LeNetModule(L.LightningModule):
    """Trains a network (LeNet-5 or one's own) and logs train/val/test loss and accuracy per epoch.
    `loss` is the network's head's loss (default: the model's own `loss` method, as LeNet5 has).
    The model arrives in the memory format it trains in (the job converts it for channels_last)."""

    def __init__(self, model: nn.Module, optimizer: dict[str, Any], max_epochs: int, num_classes: int,
                 epoch_log: Callable[[str], None] | None = None, dropout_seed: int | None = None,
                 loss: Loss | None = None) -> None:
        super().__init__()
        self.loss_fn: Loss = loss or model.loss
        self.dropout_seed = dropout_seed
        self.epoch_log = epoch_log
        self.model = model
        self.optimizer_cfg = dict(optimizer)
        self.max_epochs = max_epochs
        # Training loss / correct / seen summed on the device: no host sync and no metric
        # machinery per step (this loop runs ~430 times an epoch).
        self.register_buffer("train_sums", torch.zeros(3), persistent=False)
        self.val_acc = MulticlassAccuracy(num_classes, average="micro")
        self.test_acc = MulticlassAccuracy(num_classes, average="micro")
        self.test_confusion = MulticlassConfusionMatrix(num_classes)
        self.confusion: list[list[int]] | None = None
        self.history: list[EpochRecord] = []  # one per epoch, for the job's summary

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        scores = self.model(x)
        loss = self.loss_fn(scores, y)
        with torch.no_grad():
            self.train_sums[0] += loss * len(y)
            self.train_sums[1] += (scores.argmax(1) == y).sum()
            self.train_sums[2] += len(y)
        return loss

    def on_train_start(self) -> None:
        # Dropout is the only consumer of the global generator during training: seed it here, after
        # the weights were drawn, so dropout masks come from their own stream.
        if self.dropout_seed is not None:
            torch.manual_seed(self.dropout_seed)

    def on_train_epoch_start(self) -> None:
        self.train_sums.zero_()

    def on_train_epoch_end(self) -> None:
        loss_sum, correct, seen = self.train_sums.tolist()
        self.log("train/loss", loss_sum / seen)
        self.log("train/acc", correct / seen)
        self.log("step", float(self.current_epoch))  # TensorBoard x-axis = epoch
        if not math.isfinite(loss_sum):
            raise DivergedError(f"non-finite training loss ({loss_sum}) in epoch {self.current_epoch}")
        # validation ran before this hook: its metrics of this epoch are in callback_metrics
        m = {k: float(v) for k, v in self.trainer.callback_metrics.items()}
        self.history.append(EpochRecord(self.current_epoch + 1, correct / seen, loss_sum / seen,
                                        m.get("val/acc", math.nan), m.get("val/loss", math.nan)))
        if self.epoch_log is not None:
            self.epoch_log(f"epoch {self.current_epoch + 1}/{self.max_epochs}  train loss {loss_sum / seen:.4f} "
                           f"acc {correct / seen:.4f}  val loss {m.get('val/loss', math.nan):.4f} "
                           f"acc {m.get('val/acc', math.nan):.4f}")

    def _eval_step(self, batch: tuple[torch.Tensor, torch.Tensor], split: str,
                   acc: MulticlassAccuracy) -> torch.Tensor:
        x, y = batch
        scores = self.model(x)
        loss = self.loss_fn(scores, y)
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
        opt, factor = build(self.optimizer_cfg, self.parameters())
        steps_per_epoch = max(1, int(self.trainer.estimated_stepping_batches) // self.max_epochs)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda step: factor(step, steps_per_epoch, self.max_epochs))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


@torch.inference_mode()
def evaluate(model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
             loss: Loss | None = None) -> tuple[float, float]:
    """Accuracy and mean loss (`loss`, default the model's own) of `model` (in eval mode) over
    un-augmented batches."""
    loss = loss or model.loss
    was_training = model.training
    model.eval()
    correct, loss_sum, n = 0, 0.0, 0
    for x, y in batches:
        scores = model(x)
        correct += int((scores.argmax(1) == y).sum())
        loss_sum += float(loss(scores, y)) * len(y)
        n += len(y)
    model.train(was_training)
    return correct / n, loss_sum / n


def check_finite(metrics: dict[str, float], history: list[EpochRecord], best_epoch: int) -> None:
    """Raise DivergedError where a final loss (train, val or test) is NaN or infinite, or where the
    validation loss was at the epoch the checkpoint was chosen: whatever its accuracy, such a job's
    numbers are not a sample of the configuration (a network can blow up to chance accuracy with
    finite-looking counts)."""
    bad = [f"{k}={metrics[k]}" for k in ("train_loss", "val_loss", "test_loss")
           if k in metrics and not math.isfinite(metrics[k])]
    chosen = [r.val_loss for r in history if r.epoch == best_epoch]
    if chosen and not math.isfinite(chosen[0]):
        bad.append(f"val_loss={chosen[0]} at epoch {best_epoch}, where the checkpoint was chosen")
    if bad:
        raise DivergedError("non-finite loss: " + ", ".join(bad))

