"""A Lightning callback that ends training at the next batch once a stopping signal was received,
even where the signal handler's KeyboardInterrupt was lost (lenet_ablate.runs.stopping.check)."""

from __future__ import annotations

from typing import Any

from lightning.pytorch.callbacks import Callback

from lenet_ablate.runs import stopping


class StopCheck(Callback):
    """Raises KeyboardInterrupt (Lightning's graceful shutdown) at the first batch end after a stop."""

    def on_train_batch_end(self, *args: Any, **kwargs: Any) -> None:
        stopping.check()

    def on_validation_batch_end(self, *args: Any, **kwargs: Any) -> None:
        stopping.check()

    def on_test_batch_end(self, *args: Any, **kwargs: Any) -> None:
        stopping.check()
