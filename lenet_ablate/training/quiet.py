"""Third-party chatter a sweep of dozens of jobs does without."""

from __future__ import annotations

import logging
import warnings


def quiet_libraries() -> None:
    """Silence Lightning's start-up banners and hints, and warnings that do not apply here."""
    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*GPU available but not used.*")
    warnings.filterwarnings("ignore", ".*isinstance.treespec.*")
    # Lightning's advice to wrap a job in `srun` on any machine that has Slurm installed.
    warnings.filterwarnings("ignore", ".*The `srun` command is available on your system.*")
