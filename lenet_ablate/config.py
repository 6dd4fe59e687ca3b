"""Typed schema of the composed config and the one function that validates it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from lenet_ablate.files import DATASETS
from lenet_ablate.model import ACTIVATIONS, C3_LAYERS, HEADS, INITS, POOLINGS
from lenet_ablate.optim import FUSED, OPTIMIZERS, SCHEDULES
from lenet_ablate.templates import TEMPLATE_SETS


class ConfigError(ValueError):
    """A config value that is not allowed; the message names key, value and what is allowed."""


@dataclass
class DataConfig:
    name: str = "fashion_mnist"
    root: Optional[str] = None
    batch_size: int = 256
    eval_batch_size: int = 2000
    val_size: int = 5000
    split_seed: int = 12345
    input: str = "standard"
    mean: float = 0.0
    std: float = 1.0
    hflip: bool = False
    default_templates: str = "hadamard"
    md5: Optional[dict[str, Any]] = None  # overrides the published sums (own data)


@dataclass
class ModelConfig:
    c3: str = "full"
    init: str = "default"


@dataclass
class NamedConfig:
    name: str = ""


@dataclass
class DropoutConfig:
    p: float = 0.0


@dataclass
class OptimizerConfig:
    name: str = "sgd"
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "cosine"
    fused: bool = False


@dataclass
class AugmentationConfig:
    name: str = "none"
    shift: int = 0
    flip: bool = False


@dataclass
class HeadConfig:
    name: str = "softmax"
    templates: str = "auto"
    j: float = 1.0


@dataclass
class TrainerConfig:
    accelerator: str = "cpu"
    devices: Any = 1
    max_epochs: int = 10
    threads: Optional[int] = None
    deterministic: bool = True
    channels_last: bool = True
    reuse_memory: bool = True
    precision: str = "32-true"
    compile: bool = False


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    activation: NamedConfig = field(default_factory=NamedConfig)
    pooling: NamedConfig = field(default_factory=NamedConfig)
    dropout: DropoutConfig = field(default_factory=DropoutConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    augmentation: AugmentationConfig = field(default_factory=AugmentationConfig)
    head: HeadConfig = field(default_factory=HeadConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    seed: int = 0
    force: bool = False
    seeds: int = 3
    study_dir: str = "multirun"
    run_key: str = ""
    variant: Optional[str] = None


def _choice(key: str, value: Any, allowed: dict | list) -> None:
    if value not in allowed:
        raise ConfigError(f"{key}={value!r} is not allowed; allowed: {', '.join(map(str, allowed))}")


def _check(ok: bool, key: str, value: Any, rule: str) -> None:
    if not ok:
        raise ConfigError(f"{key}={value!r} is not allowed: {rule}")


def validate(cfg: DictConfig) -> DictConfig:
    """Type-check `cfg` against the schema and check every value's range.

    Returns the typed config; raises ConfigError naming the key, the bad value and what is allowed.
    """
    plain = OmegaConf.masked_copy(cfg, [k for k in cfg.keys() if k != "hydra"])
    try:
        typed = OmegaConf.merge(OmegaConf.structured(Config), plain)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or "config"
        raise ConfigError(f"{key}: {str(exc).splitlines()[0]}") from None
    d, o, t = typed.data, typed.optimizer, typed.trainer
    _choice("data.name", d.name, DATASETS)
    _choice("data.input", d.input, ["standard", "lecun32"])
    _choice("activation", typed.activation.name, ACTIVATIONS)
    _choice("pooling", typed.pooling.name, POOLINGS)
    _choice("optimizer", o.name, OPTIMIZERS)
    _choice("optimizer.schedule", o.schedule, SCHEDULES)
    _choice("head", typed.head.name, HEADS)
    _choice("model.c3", typed.model.c3, C3_LAYERS)
    _choice("model.init", typed.model.init, INITS)
    _choice("trainer.accelerator", t.accelerator, ["cpu", "gpu", "cuda", "mps", "auto"])
    _choice("trainer.precision", t.precision, ["32-true", "bf16-mixed", "16-mixed"])
    _check(t.precision != "16-mixed" or t.accelerator in ("gpu", "cuda"), "trainer.precision", t.precision,
           "float16 mixed precision needs trainer=gpu (use bf16-mixed on the CPU)")
    if typed.head.name == "rbf":
        _choice("head.templates", typed.head.templates, ["auto", *TEMPLATE_SETS])
    _check(0.0 <= typed.dropout.p < 1.0, "dropout.p", typed.dropout.p, "must be in [0, 1)")
    _check(o.lr > 0, "optimizer.lr", o.lr, "must be > 0")
    _check(0.0 <= o.momentum < 1.0, "optimizer.momentum", o.momentum, "must be in [0, 1)")
    _check(o.weight_decay >= 0, "optimizer.weight_decay", o.weight_decay, "must be >= 0")
    _check(not o.fused or o.name in FUSED, "optimizer.fused", o.fused,
           f"PyTorch has a fused {' and '.join(FUSED)} only, not {o.name}")
    train_size = DATASETS[d.name].train_size  # checked before loading; data.py checks the real count
    _check(1 <= d.val_size < train_size, "data.val_size", d.val_size, f"must be in [1, {train_size - 1}]")
    _check(1 <= d.batch_size <= train_size - d.val_size, "data.batch_size", d.batch_size,
           f"must be in [1, {train_size - d.val_size}] (the training split)")
    _check(d.eval_batch_size >= 1, "data.eval_batch_size", d.eval_batch_size, "must be >= 1")
    _check(t.max_epochs >= 1, "trainer.max_epochs", t.max_epochs, "must be >= 1")
    _check(t.threads is None or t.threads >= 1, "trainer.threads", t.threads, "must be >= 1 or null")
    _check(typed.seed >= 0, "seed", typed.seed, "must be a non-negative integer")
    _check(typed.seeds >= 1, "seeds", typed.seeds, "must be >= 1")
    _check(typed.augmentation.shift >= 0, "augmentation.shift", typed.augmentation.shift, "must be >= 0")
    return typed
