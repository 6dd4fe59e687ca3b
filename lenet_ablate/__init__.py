"""lenet_ablate: Hydra-configured ablation studies of LeNet-5 on Fashion-MNIST and MNIST."""

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from omegaconf import DictConfig, OmegaConf

from lenet_ablate import design
from lenet_ablate.errors import Abort, ConfigError

try:  # one version source: pyproject.toml, as installed
    __version__ = version("lenet_ablate")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"


_HERE = Path(__file__).resolve().parent


def config_dir() -> str:
    """The folder of the config groups: the checkout's top-level conf/ (a source tree or an
    editable install), else the copy a wheel installs as the package data lenet_ablate/conf."""
    for folder in (_HERE.parent / "conf", _HERE / "conf"):
        if (folder / "config.yaml").is_file():
            return str(folder)
    raise FileNotFoundError(f"no config.yaml in {_HERE.parent / 'conf'} or {_HERE / 'conf'}")


def compose(*overrides: str, hydra: bool = False) -> DictConfig:
    """The config `python -m lenet_ablate OVERRIDES` composes (with its `hydra` node if asked),
    before validation."""
    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        return hydra_compose("config", overrides=list(overrides), return_hydra_config=hydra)


SEEDS_RULE = "must be an integer >= 1 or auto"
PILOT_RULE = design.setting("pilot").rule


def _pilot_seeds(seeds: object, pilot: object) -> int:
    """The seeds an experiment sweeps first: `seeds`, or `pilot` when seeds=auto. Checked here,
    where a sweep first reads them (before it expands), with the messages validate() gives a single
    run; raised as Abort, since OmegaConf would wrap a plain error into an interpolation error."""
    if str(seeds) == "auto":
        value, key, rule, ok = pilot, "seeds_pilot", PILOT_RULE, _integer(pilot) and int(pilot) >= 2
    else:
        value, key, rule, ok = seeds, "seeds", SEEDS_RULE, _integer(seeds) and int(seeds) >= 1
    if not ok:
        raise Abort(ConfigError(f"{key}={value!r} is not allowed: {rule}"))
    return int(value)


def _integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


OmegaConf.register_new_resolver("pilot_seeds", _pilot_seeds, replace=True)


def _with_design_keys(keys: list[str]) -> list[str]:
    """`keys` plus the seeds=auto settings' keys (for conf/config.yaml's lists of bookkeeping keys)."""
    return [*keys, *design.keys()]


OmegaConf.register_new_resolver("with_design_keys", _with_design_keys, replace=True)
