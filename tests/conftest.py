"""Shared fixtures: a small generated data set in real idx .gz form, and CLI helpers."""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # hydra_plugins (the study's sweeper) from this checkout
    sys.path.insert(0, str(ROOT))
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")

# The tests train in this process too (in portable mode, the default): pin before any torch operation.
from lenet_ablate.training.portable import PINS, applicable  # noqa: E402

if applicable():
    os.environ.update(PINS)


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as a gzipped idx file (the format of the MNIST files)."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def make_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n noisy 28x28 images whose class (0..9) is a bright horizontal bar at row 4 + 2*class."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    images = rng.integers(0, 60, (n, 28, 28))
    for i, c in enumerate(labels):
        images[i, 4 + 2 * c: 6 + 2 * c, 4:24] = 255
    return images.astype(np.uint8), labels.astype(np.uint8)


def write_dataset(folder: Path, n_train: int = 800, n_test: int = 300) -> dict[str, str]:
    """Write the four idx .gz files into `folder`; return their MD5 sums by split key."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for split, n, seed in (("train", n_train, 1), ("test", n_test, 2)):
        x, y = make_images(n, seed)
        prefix = "train" if split == "train" else "t10k"
        files[f"{split}_images"] = folder / f"{prefix}-images-idx3-ubyte.gz"
        files[f"{split}_labels"] = folder / f"{prefix}-labels-idx1-ubyte.gz"
        write_idx(files[f"{split}_images"], x)
        write_idx(files[f"{split}_labels"], y)
    return {k: hashlib.md5(p.read_bytes()).hexdigest() for k, p in files.items()}


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """(folder, md5 sums) of a generated 800/300-image data set."""
    folder = tmp_path_factory.mktemp("tinydata")
    return folder, write_dataset(folder)


def data_overrides(folder: Path, md5: dict[str, str], val_size: int = 200) -> list[str]:
    """Hydra overrides that point a run at a generated data set (small and fast)."""
    sums = ",".join(f"{k}:[{v}]" for k, v in md5.items())
    return [f"data.root={folder}", f"data.md5={{{sums}}}", f"data.val_size={val_size}",
            "data.batch_size=32", "data.eval_batch_size=500", "trainer.threads=1"]


def default_sigint() -> None:
    """preexec_fn for a child that is sent Ctrl-C: a shell's background job (`make test &`) starts
    with SIGINT ignored, and Python then installs no KeyboardInterrupt handler."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_cli(args: list[str], cwd: Path, timeout: int = 600, env: dict | None = None,
            process: bool = False) -> subprocess.CompletedProcess:
    """`python -m lenet_ablate ARGS` in `cwd`: in this process (the Hydra app called directly, its
    global state cleared after), or with `process=True` in a new Python process. Returns the
    exit status and what it printed."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    full_env.pop("HYDRA_FULL_ERROR", None)
    if process:
        return subprocess.run([sys.executable, "-m", "lenet_ablate", *args], cwd=cwd, capture_output=True,
                              text=True, timeout=timeout, env=full_env)
    return _in_process(args, cwd, full_env)


def _in_process(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    import contextlib
    import io
    import logging

    from hydra.core.global_hydra import GlobalHydra

    from lenet_ablate import cli

    out, err = io.StringIO(), io.StringIO()
    saved = (sys.argv, os.getcwd(), dict(os.environ))
    sys.argv = ["lenet_ablate", *map(str, args)]
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            cli.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = saved[0]
        os.chdir(saved[1])
        os.environ.clear()
        os.environ.update(saved[2])
        GlobalHydra.instance().clear()
        for handler in logging.getLogger().handlers[:]:  # Hydra's handlers hold the captured streams
            logging.getLogger().removeHandler(handler)
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def datamodule(folder: Path, md5: dict[str, str], *overrides: str, order_seed: int = 0, augment_seed: int = 1):
    """A TensorDataModule over a generated data set, from the composed config plus `overrides`."""
    
    from lenet_ablate import compose
    from lenet_ablate.data.datamodule import TensorDataModule

    cfg = compose(*data_overrides(folder, md5, val_size=100), *overrides)
    return TensorDataModule(cfg.data, cfg.augmentation, order_seed=order_seed, augment_seed=augment_seed,
                            channels_last=cfg.trainer.channels_last)
