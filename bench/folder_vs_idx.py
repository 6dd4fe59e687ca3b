"""`make bench`, part (d): the same images as idx files and as a PNG folder (data=folder), trained
through the real CLI, interleaved idx, folder, idx, folder, so that a load change reaches both.
Reports the first decode of the folder (seconds, images/s) and each format's median seconds per
epoch once the folder is cached, and their ratio (folder / idx)."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from lenet_ablate.data.export import export
from lenet_ablate.data.folder import read_folder
from lenet_ablate.training.clock import median_epoch


@dataclass(frozen=True)
class Cli:
    """How bench.py runs lenet_ablate's command line: its arguments, its summary reader, its folder."""

    args: Callable[..., list[str]]
    result: Callable[[Path, str], dict]
    root: Path


def folder_vs_idx(files: dict[str, Path], epochs: int, md5: dict[str, str] | None, device: str, cli: Cli,
                  rounds: int = 2) -> dict:
    """Export the idx data set to PNGs, time its first decode, then train both formats `rounds`
    times, interleaved, through `cli`."""
    folder = Path(tempfile.mkdtemp(prefix="bench_png_"))
    try:
        count = export("fashion_mnist", folder, str(files["train_images"].parent), md5)
        start = time.perf_counter()
        read_folder(folder)  # the first decode, which every later job skips (the cache)
        decode_s = time.perf_counter() - start
        times: dict[str, list[float]] = {"idx": [], "folder": []}
        for _ in range(rounds):
            for kind in ("idx", "folder"):
                out = Path(tempfile.mkdtemp(prefix=f"bench_{kind}_"))
                args = cli.args(files, epochs, True, md5, device, out, 1)
                if kind == "folder":  # the same images, split, flips and threads; only the source differs
                    args = [a for a in args if not a.startswith(("data.root=", "data.md5="))]
                    args += ["data=folder", f"data.root={folder}", "data.hflip=true"]
                proc = subprocess.run(args, cwd=cli.root, capture_output=True, text=True)
                times[kind].append(median_epoch(cli.result(out, proc.stderr)["epoch_times_s"]))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    idx, png = statistics.median(times["idx"]), statistics.median(times["folder"])
    return {"images": count, "first_decode_s": decode_s, "decode_images_per_s": count / decode_s,
            "s_per_epoch_idx": idx, "s_per_epoch_folder": png, "folder_vs_idx": png / idx, "runs": times}


def show(r: dict) -> None:
    """Print part (d)'s figures."""
    print(f"PNG folder: first decode of {r['images']} images {r['first_decode_s']:.1f} s "
          f"({r['decode_images_per_s']:.0f} img/s); per epoch once cached: idx {r['s_per_epoch_idx']:.2f} s, "
          f"folder {r['s_per_epoch_folder']:.2f} s = {r['folder_vs_idx']:.3f}x idx (1 thread)", file=sys.stdout)
