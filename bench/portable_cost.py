"""`make bench`, part (e): what portable mode (trainer.portable, the kernels pinned to AVX2) costs,
trained through the real CLI, interleaved native, portable, portable, native, ... (the order of a
round's pair alternates, so that a position effect cancels), 1 thread, each run in
a fresh process from an environment without pins. Reports each mode's median seconds per epoch, the
per-round ratios and their median (portable / native), and both runs' test accuracy (equal wherever
the CPU's own widest kernels are AVX2 ones)."""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
from pathlib import Path

from folder_vs_idx import Cli
from lenet_ablate.training.portable import PINS
from lenet_ablate.training.clock import median_epoch


def portable_cost(files: dict[str, Path], epochs: int, md5: dict[str, str] | None, cli: Cli, rounds: int = 2) -> dict:
    """Train the baseline `rounds` times in each mode, interleaved, through `cli`."""
    env = {k: v for k, v in os.environ.items() if k not in PINS}
    times: dict[str, list[float]] = {"native": [], "portable": []}
    accuracy: dict[str, float] = {}
    for r in range(rounds):
        for mode in ("native", "portable") if r % 2 == 0 else ("portable", "native"):
            out = Path(tempfile.mkdtemp(prefix=f"bench_{mode}_"))
            args = cli.args(files, epochs, True, md5, "cpu", out, 1) + [f"trainer.portable={mode == 'portable'}"]
            proc = subprocess.run(args, cwd=cli.root, capture_output=True, text=True, env=env)
            result = cli.result(out, proc.stderr)
            times[mode].append(median_epoch(result["epoch_times_s"]))
            accuracy[mode] = result["test_acc"]
    ratios = [p / n for n, p in zip(times["native"], times["portable"])]
    return {"s_per_epoch_native": statistics.median(times["native"]),
            "s_per_epoch_portable": statistics.median(times["portable"]), "round_ratios": ratios,
            "portable_vs_native": statistics.median(ratios), "test_acc": accuracy, "runs": times}


def show(r: dict) -> None:
    """Print part (e)'s figures."""
    same = "identical" if len(set(r["test_acc"].values())) == 1 else "different"
    print(f"portable mode: {r['s_per_epoch_portable']:.2f} s/epoch against native {r['s_per_epoch_native']:.2f} "
          f"(1 thread): portable / native {r['portable_vs_native']:.3f} (rounds: "
          + ", ".join(f"{x:.3f}" for x in r["round_ratios"]) + f"); test accuracy {same}: {r['test_acc']}")
