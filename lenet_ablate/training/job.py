"""One job: train, test and summarise one configuration in its output folder."""

from __future__ import annotations

import signal

from lenet_ablate.errors import ConfigError, Interrupted, ResultExists

import ctypes
import inspect
import os
import socket
from dataclasses import asdict
import logging
import shutil
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import lightning as L
import torch
from filelock import Timeout
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig, OmegaConf

import lenet_ablate
from lenet_ablate.data.datamodule import TensorDataModule
from lenet_ablate.data.files import DataError
from lenet_ablate.data.images import DataShape
from lenet_ablate.data.sources import data_shape
from lenet_ablate.runs import stopping
from lenet_ablate.runs.guard import conflict, job_lock, refuse_message
from lenet_ablate.runs.identity import (SCHEME, config_id, factors, hparams, job_id, network_keys, plain,
                                       stored_job_id)
from lenet_ablate.model.heads import RBFHead
from lenet_ablate.model.network import Network, build_network, parameter_table
from lenet_ablate.training.module import DivergedError, LeNetModule, check_finite, evaluate
from lenet_ablate.runs.records import SUMMARY, git_info, read_json, write_json
from lenet_ablate.training.clock import EpochClock, usable_cpus
from lenet_ablate.training.numerics import numeric_environment
from lenet_ablate.training.portable import pin
from lenet_ablate.training.seeding import stream_seeds
from lenet_ablate.training.stop_check import StopCheck
from lenet_ablate.model.templates import min_hamming_distance

log = logging.getLogger("lenet_ablate")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints written to a temporary name and renamed, so a kill never leaves half a file."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str, storage_options: Any = None) -> None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        torch.save(checkpoint, tmp)
        tmp.replace(target)


def run_job(cfg: DictConfig, job_dir: Path, quiet: bool = False, threads: int | None = None,
            devices: Any = None) -> dict[str, Any]:
    """Train `cfg` in `job_dir` unless a completed summary of the same config is there.

    Holds the job's lock while it works: if another live process holds it, returns at once with
    status "running elsewhere". Writes job_dir/summary.json (status running -> completed | diverged
    | failed | interrupted) and returns it. A previous unfinished attempt's TensorBoard run and
    checkpoints are deleted first, so every job folder ends with exactly one run. Raises
    ResultExists rather than replace a completed result of another configuration (unless
    force=true), and Interrupted on Ctrl-C, after recording it.
    """
    job_dir = Path(job_dir)
    job_dir.mkdir(parents=True, exist_ok=True)
    lock = job_lock(job_dir)
    try:
        lock.acquire()
    except Timeout:
        return {"status": "running elsewhere", "action": "skipped", "job_dir": str(job_dir)}
    try:
        return _run_locked(cfg, job_dir, quiet, threads, devices)
    finally:
        lock.release()


def _running(cfg: DictConfig, key: str, job_dir: Path) -> dict[str, Any]:
    """The summary of a job that has started training."""
    return {
        "status": "running", "action": "trained", "job_id": key, "identity_scheme": SCHEME,
        "config_id": config_id(cfg), "factors": factors(cfg),
        "seed": cfg.seed, "started_at": _now(), "pid": os.getpid(),
        "version": lenet_ablate.__version__, "git": git_info(), "config": plain(cfg),
        # With interpolations kept: the report attributes `${factor.key}` settings to their factor.
        "config_unresolved": OmegaConf.to_container(cfg, resolve=False),
        "tensorboard": str(job_dir / "tb"), "job_dir": str(job_dir),
    }


def _run_locked(cfg: DictConfig, job_dir: Path, quiet: bool, threads: int | None, devices: Any) -> dict[str, Any]:
    path = job_dir / SUMMARY
    key = job_id(cfg)
    old = read_json(path)
    blocked = conflict(job_dir, cfg, old)
    if blocked:
        raise ResultExists(refuse_message([blocked]))
    if old and old.get("status") == "completed" and stored_job_id(old) == key and not cfg.force:
        return {**old, "action": "skipped"}  # the result stays untouched on disk
    if old and old.get("status") == "running":  # we hold its lock, so no process runs it: it was killed
        log.warning("%s: its last attempt was interrupted (killed while running: its summary said 'running' "
                    "and no process held its lock); training it again", job_dir)
    stopping.check()  # a stopped process starts no job
    for stale in ("tb", "checkpoints"):
        shutil.rmtree(job_dir / stale, ignore_errors=True)
    summary = _running(cfg, key, job_dir)
    start = time.perf_counter()
    try:  # from the first 'running' write on, whatever stops the job is recorded below
        write_json(path, summary)
        summary.update(_train(cfg, job_dir, quiet, threads, devices))
        summary["status"] = "completed"
    except DivergedError as exc:
        summary.update(status="diverged", error=str(exc))
    except (DataError, ConfigError) as exc:  # the user's to fix, the same for every job: stop (the CLI prints it)
        summary.update(status="failed", error=str(exc))
        raise
    except (Interrupted, KeyboardInterrupt) as exc:
        why = str(exc) if isinstance(exc, Interrupted) else stopping.reason()
        summary.update(status="interrupted", error=why)
        raise Interrupted(why, stopping.exit_code()) from None
    except Exception as exc:  # one broken job must not stop a sweep: record it and go on
        summary.update(status="failed", error=f"{type(exc).__name__}: {exc}",
                       traceback=traceback.format_exc(limit=8))
    finally:
        summary.update(wall_time_s=round(time.perf_counter() - start, 2), finished_at=_now())
        write_json(path, summary)
    return summary


def reuse_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed memory for reuse instead of returning it to the OS.

    PyTorch's CPU tensors are plain malloc blocks. By default glibc unmaps (or trims) large blocks
    on free, so training steps fault their activation memory back in page by page: measured here
    at batch 128, 43 faults per step in the Lightning loop (4.7-4.8 -> 3.5-4.2 s per epoch with
    this) and 2,000 in a bare loop. Returns False where there is no glibc (macOS, Windows, musl),
    which changes nothing else.
    """
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
    mmap_ok = mallopt(m_mmap_threshold, 1 << 30) or mallopt(m_mmap_threshold, 32 << 20)
    return bool(mmap_ok and mallopt(m_trim_threshold, 2**31 - 1))


def _stage(trainer: L.Trainer, stage: Any, *args: Any, **kwargs: Any) -> Any:
    """Run trainer.fit / trainer.test. Lightning turns Ctrl-C into a graceful shutdown (logs
    flushed) followed by sys.exit(1), and SIGTERM into a SIGTERMException at the next batch; both
    become Interrupted, in any stage."""
    try:
        with stopping.deferred():
            return stage(*args, **kwargs)
    except SIGTERMException:
        raise Interrupted(stopping.REASONS[signal.SIGTERM], 128 + signal.SIGTERM) from None
    except SystemExit:
        if trainer.interrupted:
            raise Interrupted(stopping.reason(), stopping.exit_code()) from None
        raise


def initial_network(cfg: DictConfig, shape: DataShape | None = None) -> Network:
    """The network `cfg` starts from, drawn from the seed's init stream only (so augmentation,
    dropout or batch order settings do not change the initial weights)."""
    torch.manual_seed(stream_seeds(cfg.seed)["init"])
    return build_network(cfg, shape or data_shape(cfg.data))


def initial_model(cfg: DictConfig) -> torch.nn.Module:
    """The module of initial_network(cfg)."""
    return initial_network(cfg).module


def _trainer(cfg: DictConfig, job_dir: Path, quiet: bool, devices: Any,
             callbacks: list[Any]) -> tuple[L.Trainer, TensorBoardLogger]:
    """Lightning's Trainer for one job, logging to <job_dir>/tb, checkpoints written atomically."""
    logger = TensorBoardLogger(save_dir=str(job_dir), name="tb", version="", default_hp_metric=False)
    # Every key of the trainer group that Lightning's Trainer takes goes to it as it is: a new
    # Lightning setting is a line in conf/trainer/cpu.yaml (and the schema), not an edit here.
    own = {k: v for k, v in plain(cfg.trainer).items() if k in inspect.signature(L.Trainer).parameters}
    trainer = L.Trainer(
        **{**own, "devices": devices or own["devices"]}, logger=logger,
        callbacks=callbacks, plugins=[AtomicCheckpointIO()],
        enable_progress_bar=not quiet, enable_model_summary=False, num_sanity_val_steps=0,
        log_every_n_steps=1, default_root_dir=str(job_dir),
    )
    return trainer, logger


def _log_model(label: str, network: Network, params: dict[str, int]) -> None:
    log.info("%s: model=%s, %d trainable parameters (%s)", label, network.name, params["total"],
             ", ".join(f"{k} {v}" for k, v in params.items() if k != "total") or "in total")
    for head in network.module.modules():
        if isinstance(head, RBFHead):
            log.info("RBF codebook %s: minimum pairwise Hamming distance %d", head.templates_name,
                     min_hamming_distance(head.templates))


def _train(cfg: DictConfig, job_dir: Path, quiet: bool, threads: int | None, devices: Any) -> dict[str, Any]:
    pin(bool(cfg.trainer.get("portable", False)))  # launchers pinned already; this checks (and serves direct callers)
    streams = stream_seeds(cfg.seed)
    if cfg.trainer.reuse_memory:
        reuse_freed_memory()
    if cfg.trainer.threads or threads:  # the config's count wins: results depend on it (part of job_id)
        torch.set_num_threads(int(cfg.trainer.threads or threads))
    data = TensorDataModule(cfg.data, cfg.augmentation, order_seed=streams["batch_order"],
                            augment_seed=streams["augmentation"], channels_last=cfg.trainer.channels_last)
    network = initial_network(cfg, data.shape)
    model, params = network.module, parameter_table(network.module)
    label = job_dir.name
    trained = model.to(memory_format=torch.channels_last) if cfg.trainer.channels_last else model
    module = LeNetModule(trained, plain(cfg.optimizer), cfg.trainer.max_epochs, data.shape.num_classes,
                         dropout_seed=streams["dropout"],
                         epoch_log=(lambda line: log.info("%s %s", label, line)) if quiet else None,
                         loss=network.loss)
    if cfg.trainer.compile:
        module.model = torch.compile(module.model)
    checkpoint = ModelCheckpoint(dirpath=job_dir / "checkpoints", filename="best", monitor="val/acc",
                                 mode="max", save_top_k=1)
    timer = EpochClock()
    trainer, logger = _trainer(cfg, job_dir, quiet, devices, [checkpoint, timer, StopCheck()])
    _log_model(label, network, params)
    _stage(trainer, trainer.fit, module, datamodule=data)
    stopping.check()
    best_epoch = int(torch.load(checkpoint.best_model_path, map_location="cpu", weights_only=True)["epoch"]) + 1
    _stage(trainer, trainer.test, module, datamodule=data, ckpt_path=checkpoint.best_model_path, verbose=False)
    stopping.check()
    metrics = _final_metrics(trainer, module, data)
    check_finite(metrics, module.history, best_epoch)
    logger.log_hyperparams({**hparams(cfg), "parameters": params["total"]}, {f"hparams/{k}": v for k, v in metrics.items()})
    logger.finalize("success")
    confusion = module.confusion or []
    # Thread count changes floating-point reduction order, so it is part of what reproduces a run.
    return {"metrics": metrics, "epochs": trainer.current_epoch, "best_epoch": best_epoch,
            "epoch_times_s": timer.times, "history": _history(module, timer), "host": socket.gethostname(),
            "threads": torch.get_num_threads(), "cpus": usable_cpus(), "parameters": params, "numeric_env": numeric_environment(),
            "network": {**network_keys(cfg), "takes": list(network.takes), "parameters": params["total"]},
            "data_set": _data_record(data),
            "per_class_test_acc": [row[i] / max(1, sum(row)) for i, row in enumerate(confusion)],
            "confusion_matrix": confusion, "checkpoint": checkpoint.best_model_path}


def _data_record(data: TensorDataModule) -> dict[str, Any]:
    """What the job trained on: the decoded images' MD5, classes, shape and the scaling used."""
    images, shape = data.read(), data.shape
    return {"md5": images.md5, "classes": list(images.classes), "channels": shape.in_channels,
            "image_size": images.side, "input_size": shape.image_size,
            "train_images": len(images.train_y), "test_images": len(images.test_y),
            "mean": data.mean, "std": data.std}


def _history(module: LeNetModule, clock: EpochClock) -> dict[str, list[Any]]:
    """The per-epoch curve as columns (epoch, train/val accuracy and loss; wall and CPU seconds and
    the machine's load), for the report's outcomes (convergence, time per epoch) without parsing
    event files."""
    rows = [asdict(r) for r in module.history]
    columns = {k: [r[k] for r in rows] for k in ("epoch", "train_acc", "train_loss", "val_acc", "val_loss")}
    n = len(rows)
    return {**columns, "seconds": clock.times[:n], "cpu_seconds": clock.cpu_times[:n], "load": clock.loads[:n]}


def _final_metrics(trainer: L.Trainer, module: LeNetModule, data: TensorDataModule) -> dict[str, float]:
    """The best checkpoint's accuracy and loss on the three splits (train and val un-augmented)."""
    train_acc, train_loss = evaluate(module.model, data.eval_batches("train"), module.loss_fn)
    val_acc, val_loss = evaluate(module.model, data.eval_batches("val"), module.loss_fn)
    return {"train_acc": train_acc, "train_loss": train_loss, "val_acc": val_acc, "val_loss": val_loss,
            "test_acc": float(trainer.callback_metrics["test/acc"]),
            "test_loss": float(trainer.callback_metrics["test/loss"])}
