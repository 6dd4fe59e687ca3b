"""Typed schema of the composed config and the one function that validates it.

The YAML under conf/ is the one source of values: no schema field has a default (OmegaConf makes
each MISSING), so the schema only types (0 and 0.0 become the same float) and checks. Factor groups whose options name their own code
(`_target_`: activation, pooling, normalization, init, head) are left open, so an option of the
user's own can pass its target any arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, field, make_dataclass
from pathlib import Path
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from lenet_ablate import SEEDS_RULE
from lenet_ablate import design
from lenet_ablate.errors import ConfigError
from lenet_ablate.runs.identity import dropout_level
from lenet_ablate.data.files import DATASETS
from lenet_ablate.data.images import FOLDER, TORCHVISION
from lenet_ablate.data.inputs import INPUTS
from lenet_ablate.model.contract import target_object
from lenet_ablate.model.templates import TEMPLATES
from lenet_ablate.training.optim import FUSED, SCHEDULES

SCHEMA = "lenet_ablate_schema"


@dataclass
class DataConfig:
    """Every data source's keys; the last three only where a source's YAML sets them."""

    name: str
    root: Optional[str]
    batch_size: int
    eval_batch_size: int
    val_size: Optional[int]  # null: 10% of the training split, at most 5000 (folder, torchvision)
    split_seed: int
    input: str
    mean: Any  # a number, one per channel, or null: computed from the training split
    std: Any
    hflip: bool
    default_templates: str
    md5: Optional[dict[str, Any]]  # overrides the published sums (own data)
    image_size: Optional[int] = None  # (these defaults are dropped again where a YAML does not set them)
    dataset: Optional[str] = None  # data=torchvision: the torchvision.datasets class
    dataset_args: Optional[dict[str, Any]] = None


@dataclass
class DropoutConfig:
    name: str
    _target_: str
    p: float


@dataclass
class OptimizerConfig:
    """Every optimizer's keys; `momentum` (SGD, RMSprop) and `betas` (Adam) where the optimizer has them."""

    name: str
    _target_: str
    lr: float
    weight_decay: float
    schedule: str
    fused: bool
    momentum: Optional[float] = None  # (these defaults are dropped again where a YAML does not set them)
    betas: Optional[list[float]] = None


@dataclass
class AugmentationConfig:
    name: str
    shift: int
    flip: bool


@dataclass
class TrainerConfig:
    accelerator: str
    devices: Any
    max_epochs: int
    threads: Optional[int]
    deterministic: bool
    channels_last: bool
    reuse_memory: bool
    precision: str
    compile: bool
    portable: bool = False


@dataclass
class TuneConfig:
    name: str
    lr_scales: list[float]
    seeds: int
    epochs: int


@dataclass
class StudyConfig:
    factors: list[str]
    keys: list[str] = field(default_factory=list)  # set by a sweep: the swept keys beyond the groups
    reference: list[str] = field(default_factory=list)  # set by a sweep: those keys' reference levels
    sweep: str = "grid"  # grid | one_at_a_time | fractional
    note: Optional[str] = None  # shown first by every report of the sweep


# The seeds=auto settings as schema fields, from their one declaration (lenet_ablate.design).
DesignConfig = make_dataclass("DesignConfig", [(s.key, list[int] if s.type is list else s.type)
                                               for s in design.SETTINGS])


@dataclass
class Config(DesignConfig):
    data: Any  # typed by _typed_given (the sources' keys differ)
    model: Any  # a network's own keys: open (its `_target_` checks them)
    activation: Any
    pooling: Any
    normalization: Any
    init: Any
    head: Any
    dropout: DropoutConfig
    optimizer: Any  # typed by _typed_given (its keys differ between optimizers)
    augmentation: AugmentationConfig
    trainer: TrainerConfig
    study: StudyConfig
    tune: TuneConfig
    seed: int
    force: bool
    seeds: Any  # an int, or "auto"; the design's settings come from DesignConfig
    convergence_target: float
    seed_count: int
    study_dir: str
    variant: Optional[str] = None  # set by experiment=all's variants only


ConfigStore.instance().store(name=SCHEMA, node=Config)


def _choice(key: str, value: Any, allowed: dict | list) -> None:
    if value not in allowed:
        raise ConfigError(f"{key}={value!r} is not allowed; allowed: {', '.join(map(str, allowed))}")


def _check(ok: bool, key: str, value: Any, rule: str) -> None:
    if not ok:
        raise ConfigError(f"{key}={value!r} is not allowed: {rule}")


def _name_options(cfg: DictConfig, choices: Any) -> None:
    """A factor's level is its option's `name`; an option file without one is named by its file
    (so is a network: model=<file>)."""
    for factor in [*cfg.study.factors, "model"]:
        node = cfg.get(factor)
        if not isinstance(node, DictConfig):
            raise ConfigError(f"study.factors names {factor!r}, which is not a config group of this config; "
                              f"choose it with {factor}=<option> or +{factor}=<option>")
        if node.get("name") is None:
            if not choices or choices.get(factor) is None:
                raise ConfigError(f"{factor}: the option has no `name` (add `name: ...` to its YAML file)")
            with open_dict(node):
                node.name = choices[factor]


def _typed(cfg: DictConfig, choices: Any) -> DictConfig:
    """`cfg` (without `hydra`) merged onto the schema, so values are typed; a user's own groups kept."""
    plain = OmegaConf.masked_copy(cfg, [k for k in cfg.keys() if k != "hydra"])
    schema = ConfigStore.instance().load(f"{SCHEMA}.yaml").node
    try:
        _name_options(plain, choices)
        known = set(schema.keys())  # (`in` would say False for the schema's MISSING fields)
        typed = OmegaConf.merge(schema, OmegaConf.masked_copy(plain, [k for k in plain if k in known]))
        with open_dict(typed):  # a user's own factor groups: untyped, kept as given
            for key in plain:
                if key not in known:
                    typed[key] = plain[key]
            typed.optimizer = _typed_given(plain.optimizer, OptimizerConfig, "optimizer")
            typed.data = _typed_given(plain.data, DataConfig, "data", resolve=False)
        typed.dropout.name = dropout_level(typed.dropout)
        OmegaConf.to_container(typed, resolve=True, throw_on_missing=True)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or "config"
        raise ConfigError(f"{key}: {str(exc).splitlines()[0]}") from None
    return typed


def _typed_given(node: DictConfig, schema: type, key: str, resolve: bool = True) -> DictConfig:
    """`node` typed by `schema`, with only the keys its YAML sets (optional fields left out);
    `resolve=False` keeps its interpolations (a factor that sets `data.batch_size: ${...}`)."""
    try:
        given = OmegaConf.to_container(node, resolve=resolve)
        typed = OmegaConf.to_container(OmegaConf.merge(OmegaConf.structured(schema), given))
    except OmegaConfBaseException as exc:
        exc.full_key = f"{key}.{getattr(exc, 'full_key', '')}".rstrip(".")
        raise
    return OmegaConf.create({k: v for k, v in typed.items() if k in given})


def option_file(group: str, choice: Any, sources: Any) -> str | None:
    """The YAML file an option was read from (`group/choice.yaml` in the first config source that
    holds it, as Hydra searches them: the package's conf/, then --config-dir), or None."""
    for source in reversed(list(sources or [])):
        if source.get("schema") == "file" and choice is not None:
            path = Path(str(source.get("path"))) / group / f"{choice}.yaml"
            if path.is_file():
                return str(path)
    return None


def _check_model_and_data(typed: DictConfig, model_file: str | None = None) -> None:
    d = typed.data
    target_object(typed.model.get("_target_"), f"model={typed.model.name}" + (f" ({model_file})" if model_file else ""))
    INPUTS.get(d.input)
    if "templates" in typed.head:
        TEMPLATES.get(typed.head.templates)
    _check(0.0 <= typed.dropout.p < 1.0, "dropout.p", typed.dropout.p, "must be in [0, 1)")
    _check(d.get("image_size") is None or d.image_size >= 1, "data.image_size", d.get("image_size"), "must be >= 1")
    _check(d.eval_batch_size >= 1, "data.eval_batch_size", d.eval_batch_size, "must be >= 1")
    _check(typed.augmentation.shift >= 0, "augmentation.shift", typed.augmentation.shift, "must be >= 0")
    if d.name == FOLDER:
        _check(bool(d.root), "data.root", d.root, "data=folder needs the folder: data.root=DIR")
    elif d.name == TORCHVISION:
        _check(bool(d.get("dataset")), "data.dataset", d.get("dataset"), "data=torchvision needs a torchvision "
               "data set's class name, for example data.dataset=KMNIST")
    else:
        _check_idx_sizes(d)


def _check_idx_sizes(d: DictConfig) -> None:
    DATASETS.get(d.name)
    train_size = DATASETS.get(d.name).train_size  # checked before loading; data.images.check_split checks the real count
    _check(1 <= d.val_size < train_size, "data.val_size", d.val_size, f"must be in [1, {train_size - 1}]")
    _check(1 <= d.batch_size <= train_size - d.val_size, "data.batch_size", d.batch_size,
           f"must be in [1, {train_size - d.val_size}] (the training split)")


def _check_optimizer(o: DictConfig) -> None:
    SCHEDULES.get(o.schedule)
    _check(o.lr > 0, "optimizer.lr", o.lr, "must be > 0")
    _check(o.weight_decay >= 0, "optimizer.weight_decay", o.weight_decay, "must be >= 0")
    if "momentum" in o:
        _check(0.0 <= o.momentum < 1.0, "optimizer.momentum", o.momentum, "must be in [0, 1)")
    if "betas" in o:
        _check(len(o.betas) == 2 and all(0.0 <= b < 1.0 for b in o.betas), "optimizer.betas", list(o.betas),
               "must be two numbers in [0, 1)")
    _check(not o.get("fused") or o.name in FUSED, "optimizer.fused", o.get("fused"),
           f"PyTorch has a fused {' and '.join(FUSED)} only, not {o.name}")


def _check_run(typed: DictConfig) -> None:
    t = typed.trainer
    _choice("trainer.accelerator", t.accelerator, ["cpu", "gpu", "cuda", "mps", "auto"])
    _choice("trainer.precision", t.precision, ["32-true", "bf16-mixed", "16-mixed"])
    _check(t.precision != "16-mixed" or t.accelerator in ("gpu", "cuda"), "trainer.precision", t.precision,
           "float16 mixed precision needs trainer=gpu (use bf16-mixed on the CPU)")
    _check(t.max_epochs >= 1, "trainer.max_epochs", t.max_epochs, "must be >= 1")
    _check(t.threads is None or t.threads >= 1, "trainer.threads", t.threads, "must be >= 1 or null")
    _check(typed.seed >= 0, "seed", typed.seed, "must be a non-negative integer")


def _check_study(typed: DictConfig) -> None:
    _choice("study.sweep", typed.study.sweep, ["grid", "one_at_a_time", "fractional"])
    _check(typed.seeds == "auto" or (isinstance(typed.seeds, int) and typed.seeds >= 1), "seeds", typed.seeds,
           SEEDS_RULE)
    for setting in design.SETTINGS:  # each as declared once (lenet_ablate.design)
        value = typed[setting.key]
        value = list(value) if setting.type is list else value
        problem = setting.problem(value)
        if problem is not None:
            raise ConfigError(f"{setting.key}={value!r} is not allowed" + (f"; {problem}" if problem.startswith("allowed")
                                                                           else f": {problem}"))
    _check(typed.seeds_max >= typed.seeds_pilot, "seeds_max", typed.seeds_max,
           f"must be >= seeds_pilot ({typed.seeds_pilot})")
    _check(0 < typed.convergence_target < 1, "convergence_target", typed.convergence_target, "must be in (0, 1)")
    tune = typed.tune
    _choice("tune.name", tune.name, ["none", "lr"])
    _check(len(tune.lr_scales) >= 1 and all(x > 0 for x in tune.lr_scales), "tune.lr_scales",
           list(tune.lr_scales), "must be a non-empty list of positive multipliers")
    _check(tune.seeds >= 1, "tune.seeds", tune.seeds, "must be >= 1")
    _check(1 <= tune.epochs <= typed.trainer.max_epochs, "tune.epochs", tune.epochs,
           f"must be in [1, {typed.trainer.max_epochs}] (trainer.max_epochs)")


def check_yaml_files(folders: list[str | Path]) -> None:
    """Parse every YAML file under `folders` (the package's conf/ and each --config-dir) before Hydra
    composes, so that a file that does not parse gets one line (the file, the line, the parser's
    message) instead of Hydra's traceback. Raises ConfigError."""
    import yaml

    for folder in folders:
        for path in sorted(Path(folder).rglob("*.yaml")):
            try:
                yaml.safe_load(path.read_text())
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
                what = " ".join(filter(None, [getattr(exc, "context", None), getattr(exc, "problem", None)])) or str(exc)
                raise ConfigError(f"{where}: the config file does not parse ({what})") from None
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"{path}: the config file cannot be read ({exc})") from None


def validate(cfg: DictConfig, choices: Any = None) -> DictConfig:
    """Type-check `cfg` against the schema and check every value's range.

    `choices` (Hydra's runtime.choices; read from cfg.hydra when composed with it) names options
    whose YAML gives no `name`. Returns the typed config without the `hydra` node; raises
    ConfigError naming the key, the bad value and what is allowed.
    """
    if choices is None and "hydra" in cfg:
        choices = OmegaConf.select(cfg, "hydra.runtime.choices")
    typed = _typed(cfg, choices)
    if "hydra" in cfg:
        sources = OmegaConf.select(cfg, "hydra.runtime.config_sources")
    else:
        sources = HydraConfig.get().runtime.config_sources if HydraConfig.initialized() else None
    _check_model_and_data(typed, option_file("model", (choices or {}).get("model"), sources))
    _check_optimizer(typed.optimizer)
    _check_run(typed)
    _check_study(typed)
    return typed
