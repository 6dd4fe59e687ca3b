"""A Lightning callback that ends training at the next batch once a stopping signal was received:
within Lightning's fit and test the handler only records the stop (lenet_ablate.runs.stopping.deferred)."""

from __future__ import annotations

from typing import Any

from lightning.pytorch.callbacks import Callback

from lenet_ablate.runs import stopping


class StopCheck(Callback):
    """Raises KeyboardInterrupt (Lightning's graceful shutdown) at the first batch end after a stop
    (the signal handler itself raises nothing while Lightning trains: stopping.deferred)."""

    def on_train_epoch_start(self, *args: Any, **kwargs: Any) -> None:
        stopping.check()

    def on_train_batch_end(self, *args: Any, **kwargs: Any) -> None:
        stopping.check()

    def on_validation_batch_end(self, *args: Any, **kwargs: Any) -> None:
        stopping.check()

    def on_test_batch_end(self, *args: Any, **kwargs: Any) -> None:
        stopping.check()
