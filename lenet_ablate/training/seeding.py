"""Independent random streams, one per purpose, all derived from a run's one `seed`.

Seeding everything from one integer couples unrelated choices: turning augmentation off would
shift the global generator and so change the initial weights. Each purpose instead gets its own
seed from numpy's SeedSequence (statistically independent children of `seed`), so changing one
factor changes only the streams that factor consumes.
"""

from __future__ import annotations

import numpy as np

# The purposes, in spawn order: never reorder (it would change every run's numbers).
STREAMS = ("init", "batch_order", "augmentation", "dropout")


def stream_seeds(seed: int) -> dict[str, int]:
    """One 63-bit seed per purpose in STREAMS, derived from `seed` (same seed, same streams)."""
    children = np.random.SeedSequence(seed).spawn(len(STREAMS))
    return {name: int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
            for name, child in zip(STREAMS, children)}
