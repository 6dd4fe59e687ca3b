"""What decides a job's numbers beyond its config and seed: the CPU and the kernels torch picks for
it. The same seed gives bit-identical numbers only where all of this agrees (docs/performance.md)."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path
from typing import Any

import torch

from lenet_ablate.training.portable import pinned

# Environment variables that pin which kernels ATen, oneDNN and MKL choose.
PINS = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "MKL_CBWR", "MKL_ENABLE_INSTRUCTIONS")


def _cpu() -> tuple[str, str]:
    """The CPU's vendor and model name (from /proc/cpuinfo on Linux, else the platform's words)."""
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return fields.get("vendor_id", platform.machine()), fields.get("model name", platform.processor() or "unknown")


def _library_version(pattern: str) -> str | None:
    found = re.search(pattern, torch.__config__.show())
    return found.group(1) if found else None


def numeric_environment() -> dict[str, Any]:
    """The record every summary keeps: CPU vendor and model, ATen's CPU capability, the MKL and
    oneDNN versions, the thread count, the kernel pins in force and whether they are portable mode's."""
    vendor, model = _cpu()
    return {"cpu_vendor": vendor, "cpu_model": model, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "mkl": _library_version(r"Math Kernel Library Version ([\d.]+)"),
            "onednn": _library_version(r"MKL-DNN v([\d.]+)"), "threads": torch.get_num_threads(),
            "torch": torch.__version__, "pins": {k: os.environ[k] for k in PINS if k in os.environ},
            "portable": pinned()}
