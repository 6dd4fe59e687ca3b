"""What every part of the benchmark measures an epoch by."""

from __future__ import annotations

import statistics


def median_epoch(times: list[float]) -> float:
    """Seconds per epoch: the median after the first (warm-up) epoch."""
    return statistics.median(times[1:] or times)
