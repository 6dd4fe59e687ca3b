"""Portable numerics (`trainer.portable`): the same config and seed give the same numbers on any
x86-64 CPU with AVX2, whatever its vendor or vector width.

Three libraries choose kernels by the CPU, and each choice reaches LeNet-5's numbers (measured in
docs/performance.md: pinning any one of them to a narrower ISA changes a one-epoch run's test
accuracy): ATen's vectorised ops (`ATEN_CPU_CAPABILITY`), oneDNN's convolutions
(`ONEDNN_MAX_CPU_ISA`) and MKL's matrix products (`MKL_CBWR`, its conditional numerical
reproducibility; STRICT also makes it independent of memory alignment). Portable mode pins all three
to AVX2, the widest ISA every x86-64 CPU of the last decade has. Each library reads its variable when
it first runs a kernel, so the pins go into the environment before the process's first torch
operation; every job process the launchers start (joblib workers, Slurm jobs) inherits them.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

from lenet_ablate.errors import ConfigError

PINS = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2,STRICT"}


def applicable() -> bool:
    """Whether this CPU can run in portable mode: x86-64 with AVX2 (elsewhere the pins mean nothing)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        return " avx2 " in f" {Path('/proc/cpuinfo').read_text()} ".replace("\n", " ")
    except OSError:
        return False


def pinned() -> bool:
    """Whether this process's environment holds every portable pin."""
    return all(os.environ.get(k) == v for k, v in PINS.items())


def pin(enabled: bool) -> bool:
    """Put the pins into this process's environment when `enabled` and the CPU allows it, and
    check that ATen honours them. Returns whether portable mode is in force. Raises ConfigError when
    ATen had already chosen its kernels (a torch operation ran before the pins were set)."""
    if not enabled or not applicable():
        return False
    os.environ.update(PINS)
    import torch  # after the pins: ATen reads its variable at its first kernel, not at import

    chosen = torch.backends.cpu.get_cpu_capability()
    if chosen != "AVX2":
        raise ConfigError(
            f"trainer.portable=true: this process already runs ATen's {chosen} kernels (a torch operation "
            f"ran before the pins were set). Start jobs through `python -m lenet_ablate`, or set "
            + " ".join(f"{k}={v}" for k, v in PINS.items()) + " before Python starts.")
    return True
