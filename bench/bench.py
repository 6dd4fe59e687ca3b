"""`make bench`: lenet_ablate's training path against the conventional pipeline, in one run.

(a) conventional: torchvision FashionMNIST with ToTensor/Normalize (and RandomCrop(28, padding=2) +
    RandomHorizontalFlip when augmenting) per image, DataLoader batch 64, Lightning Trainer with a
    TensorBoard logger; same LeNet-5, same optimizer, same number of images.
(b) lenet_ablate: its real CLI (`python -m lenet_ablate ...`) with its defaults.
Both without and with augmentation, interleaved a, b, a, b. Prints seconds per epoch (median after a
warm-up epoch), images/s, test accuracy after the same epochs, the speed-up b/a, and the fraction of
the arithmetic floor (FLOPs per epoch / measured matmul peak); writes everything to a JSON file.
(c) concurrency: N augmented lenet_ablate jobs started at once (the CPU's cores split between them,
    or all on one GPU): seconds per epoch of each and images/s in total, against one job.
(d) the same images as idx files and as a PNG folder (data=folder), 1 thread, interleaved: the
    folder's first decode, and seconds per epoch of each once it is cached (bench/folder_vs_idx.py).
(e) portable mode (trainer.portable) against native kernels, 1 thread, interleaved: seconds per
    epoch of each and their ratio, on the CPU (bench/portable_cost.py).
Runs on the GPU (both pipelines, `trainer=gpu`) when there is one, else on the CPU.

python bench/bench.py [--epochs 3] [--out bench/results.json] [--data-root DIR] [--device cpu|gpu]
                      [--concurrent 2,4,8] [--no-folder] [--no-portable] [--rounds 2]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lenet_ablate.data.files import SPLIT_FILES, find_files  # noqa: E402
from lenet_ablate.model.network import LeNet5, build_model  # noqa: E402
from lenet_ablate.runs.records import write_json  # noqa: E402
from lenet_ablate.training.clock import EpochClock, median_epoch  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from folder_vs_idx import Cli, folder_vs_idx, show as show_folder  # noqa: E402
from portable_cost import portable_cost, show as show_portable  # noqa: E402

OPTIMIZER = {"lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4}


def baseline_model() -> LeNet5:
    """The study's baseline network, built from conf/config.yaml."""
    
    from lenet_ablate import compose

    return build_model(compose())


def matmul_peak_gflops(threads: int, n: int = 1024, repeats: int = 10) -> float:
    """Measured fp32 matrix-multiply throughput of this machine (GFLOP/s)."""
    torch.set_num_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(3):
        a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n ** 3 * repeats / (time.perf_counter() - start) / 1e9


def train_flops_per_image() -> float:
    """FLOPs of one forward + backward pass of the modern LeNet-5, per image."""
    from torch.utils.flop_counter import FlopCounterMode

    model = baseline_model()
    x = torch.randn(64, 1, 28, 28)
    with FlopCounterMode(display=False) as counter:
        model.loss(model(x), torch.zeros(64, dtype=torch.long)).backward()
    return counter.get_total_flops() / 64


def torchvision_root(files: dict[str, Path]) -> Path:
    """A temporary torchvision layout (FashionMNIST/raw, decompressed: what FashionMNIST(download=False)
    reads) of the same files."""
    root = Path(tempfile.mkdtemp(prefix="bench_tv_"))
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for key, path in files.items():
        (raw / SPLIT_FILES[key].removesuffix(".gz")).write_bytes(gzip.decompress(path.read_bytes()))
    return root


class Plain(L.LightningModule):
    """The tutorial LightningModule: the baseline LeNet-5, cross-entropy, SGD."""

    def __init__(self) -> None:
        super().__init__()
        self.model = baseline_model()

    def training_step(self, batch, _):
        x, y = batch
        loss = torch.nn.functional.cross_entropy(self.model(x), y)
        self.log("train/loss", loss)
        return loss

    def test_step(self, batch, _):
        x, y = batch
        self.log("test/acc", (self.model(x).argmax(1) == y).float().mean())

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), **OPTIMIZER)


def conventional(root: Path, epochs: int, augment: bool, threads: int, device: str = "cpu") -> dict:
    """The pipeline a user would write first: per-image transforms, DataLoader, Lightning Trainer."""
    torch.set_num_threads(threads)
    L.seed_everything(0, verbose=False)
    norm = [transforms.ToTensor(), transforms.Normalize((0.2860,), (0.3530,))]
    aug = [transforms.RandomCrop(28, padding=2), transforms.RandomHorizontalFlip()] if augment else []
    train = datasets.FashionMNIST(str(root), train=True, transform=transforms.Compose(aug + norm))
    test = datasets.FashionMNIST(str(root), train=False, transform=transforms.Compose(norm))
    timer = EpochClock()
    log_dir = Path(tempfile.mkdtemp(prefix="bench_tb_"))
    trainer = L.Trainer(accelerator=device, max_epochs=epochs, logger=TensorBoardLogger(str(log_dir)),
                        callbacks=[timer], enable_progress_bar=False, enable_model_summary=False,
                        enable_checkpointing=False)
    module = Plain()
    trainer.fit(module, DataLoader(train, batch_size=64, shuffle=True))
    result = trainer.test(module, DataLoader(test, batch_size=1000), verbose=False)
    shutil.rmtree(log_dir, ignore_errors=True)
    return {"epoch_times_s": timer.times, "test_acc": float(result[0]["test/acc"]), "images": len(train)}


def _ours_args(files: dict[str, Path], epochs: int, augment: bool, md5: dict[str, str] | None, device: str,
               out: Path, threads: int | None = None) -> list[str]:
    args = [sys.executable, "-m", "lenet_ablate", f"trainer={device}", f"trainer.max_epochs={epochs}",
            f"augmentation={'standard' if augment else 'none'}", f"hydra.run.dir={out}",
            f"data.root={files['train_images'].parent}", "hydra/job_logging=disabled"]
    if threads:
        args.append(f"trainer.threads={threads}")
    if md5:
        args.append("data.md5={" + ",".join(f"{k}:[{v}]" for k, v in md5.items()) + "}")
        args.append("data.val_size=100")
    return args


def _ours_result(out: Path, stderr: str) -> dict:
    summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").is_file() else {}
    shutil.rmtree(out, ignore_errors=True)
    if summary.get("status") != "completed":
        raise RuntimeError(f"lenet_ablate run failed: {stderr[-2000:]}")
    return {"epoch_times_s": summary["epoch_times_s"], "test_acc": summary["metrics"]["test_acc"],
            "val_size": summary["config"]["data"]["val_size"]}


def ours(files: dict[str, Path], epochs: int, augment: bool, md5: dict[str, str] | None,
         device: str = "cpu") -> dict:
    """lenet_ablate's own path, through its real CLI, in a fresh process."""
    out = Path(tempfile.mkdtemp(prefix="bench_ours_"))
    proc = subprocess.run(_ours_args(files, epochs, augment, md5, device, out), cwd=ROOT,
                          capture_output=True, text=True)
    return _ours_result(out, proc.stderr)


def concurrent(files: dict[str, Path], epochs: int, jobs: int, md5: dict[str, str] | None, device: str) -> dict:
    """`jobs` augmented lenet_ablate trainings started at once (on the GPU: all on the same one; on
    the CPU: the cores split between them). Returns each job's result and the total images/s."""
    threads = None if device == "gpu" else max(1, (os.cpu_count() or 1) // jobs)
    started = []
    for _ in range(jobs):
        out = Path(tempfile.mkdtemp(prefix="bench_conc_"))
        args = _ours_args(files, epochs, True, md5, device, out, threads)
        started.append((subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                         text=True), out))
    runs = [_ours_result(out, proc.communicate()[1]) for proc, out in started]
    return {"jobs": jobs, "threads_per_job": threads, "runs": runs}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=3, help="epochs per pipeline; the first is warm-up")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results.json")
    p.add_argument("--data-root", default=None, help="folder with the Fashion-MNIST idx .gz files")
    p.add_argument("--md5-json", default=None, help="MD5 sums by split key, for data of one's own (smoke test)")
    p.add_argument("--device", choices=["cpu", "gpu"], default="gpu" if torch.cuda.is_available() else "cpu",
                   help="where both pipelines train (default: the GPU when there is one)")
    p.add_argument("--concurrent", default=None,
                   help="comma-separated numbers of lenet_ablate jobs to run at once (default: 2 on the CPU, "
                        "2,4,8 on a GPU; 0 to skip)")
    p.add_argument("--no-folder", action="store_true", help="skip (d), idx files against a PNG folder")
    p.add_argument("--no-portable", action="store_true", help="skip (e), portable mode against native kernels")
    p.add_argument("--folder-rounds", "--rounds", type=int, default=2,
                   help="(d) and (e): pairs to train, interleaved")
    return p.parse_args(argv)


def _measure(args: argparse.Namespace, threads: int) -> dict:
    """Train every pipeline (interleaved: plain, then augmented) and the concurrent jobs."""
    md5 = json.loads(args.md5_json) if args.md5_json else None
    concurrency = [int(k) for k in (args.concurrent or ("2,4,8" if args.device == "gpu" else "2")).split(",")
                   if int(k) > 1]
    files = find_files("fashion_mnist", args.data_root, md5=md5)
    tv_root = torchvision_root(files)
    results: dict = {"machine": {"cpu_count": os.cpu_count(), "threads": threads, "torch": torch.__version__,
                                 "python": platform.python_version(), "processor": platform.processor(),
                                 "device": args.device,
                                 "gpu": torch.cuda.get_device_name(0) if args.device == "gpu" else None},
                     "epochs": args.epochs, "runs": {}, "concurrent": []}
    try:
        for augment in (False, True):
            tag = "augment" if augment else "plain"
            results["runs"][f"conventional_{tag}"] = conventional(tv_root, args.epochs, augment, threads,
                                                                  args.device)
            mine = ours(files, args.epochs, augment, md5, args.device)
            # The conventional loop trains on all training images, ours on those minus the validation split.
            mine["images"] = results["runs"][f"conventional_{tag}"]["images"] - mine.pop("val_size")
            results["runs"][f"lenet_ablate_{tag}"] = mine
        for jobs in concurrency:
            results["concurrent"].append(concurrent(files, args.epochs, jobs, md5, args.device))
        if not args.no_folder:
            results["folder"] = folder_vs_idx(files, args.epochs, md5, args.device, Cli(_ours_args, _ours_result, ROOT),
                                              rounds=args.folder_rounds)
        if not args.no_portable and args.device == "cpu":
            results["portable"] = portable_cost(files, args.epochs, md5, Cli(_ours_args, _ours_result, ROOT),
                                                rounds=args.folder_rounds)
    finally:
        shutil.rmtree(tv_root, ignore_errors=True)
    return results


def _rates(results: dict, device: str, threads: int) -> None:
    """Add s/epoch, images/s and the share of the arithmetic floor to every pipeline, and print them."""
    flops = train_flops_per_image()
    peak = matmul_peak_gflops(threads)
    print(f"\nLeNet-5 training on {device}: {flops / 1e6:.2f} MFLOP/image; fp32 matmul peak (CPU) "
          f"{peak:.0f} GFLOP/s ({threads} threads)")
    print(f"{'pipeline':28s} {'s/epoch':>8s} {'img/s':>9s} {'test acc':>9s} {'floor %':>8s}")
    for name, r in results["runs"].items():
        r["s_per_epoch"] = median_epoch(r["epoch_times_s"])
        r["images_per_s"] = r["images"] / r["s_per_epoch"]
        r["floor_fraction"] = flops * r["images"] / (peak * 1e9) / r["s_per_epoch"]
        floor = f"{100 * r['floor_fraction']:7.1f}%" if device == "cpu" else "       -"
        print(f"{name:28s} {r['s_per_epoch']:8.2f} {r['images_per_s']:9.0f} {r['test_acc']:9.4f} {floor}")
    results["flops_per_image"] = flops
    results["matmul_peak_gflops"] = peak


def _ratios(results: dict) -> None:
    """Add and print the speed-ups over the conventional pipeline and of concurrent jobs over one."""
    for tag in ("plain", "augment"):
        runs = results["runs"]
        ratio = runs[f"lenet_ablate_{tag}"]["images_per_s"] / runs[f"conventional_{tag}"]["images_per_s"]
        results[f"speedup_{tag}"] = ratio
        print(f"speed-up lenet_ablate vs conventional ({tag}, images/s): {ratio:.1f}x")
    single = results["runs"]["lenet_ablate_augment"]
    for c in results["concurrent"]:
        c["s_per_epoch_per_job"] = statistics.median(median_epoch(r["epoch_times_s"]) for r in c["runs"])
        c["total_images_per_s"] = sum(single["images"] / median_epoch(r["epoch_times_s"]) for r in c["runs"])
        c["vs_one_job"] = c["total_images_per_s"] / single["images_per_s"]
        print(f"{c['jobs']} lenet_ablate jobs at once (augment): {c['s_per_epoch_per_job']:.2f} s/epoch each, "
              f"{c['total_images_per_s']:.0f} img/s in total = {c['vs_one_job']:.2f}x one job")


def main(argv: list[str] | None = None) -> dict:
    """Run the benchmark and return (and write) its results."""
    args = _parse(argv)
    threads = torch.get_num_threads()
    results = _measure(args, threads)
    _rates(results, args.device, threads)
    _ratios(results)
    if "folder" in results:
        show_folder(results["folder"])
    if "portable" in results:
        show_portable(results["portable"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, results)
    print(f"results: {args.out}")
    return results

if __name__ == "__main__":
    main()
