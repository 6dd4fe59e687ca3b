"""lenet_ablate: Hydra-configured ablation studies of LeNet-5 on Fashion-MNIST and MNIST."""

from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from omegaconf import OmegaConf

try:  # one version source: pyproject.toml, as installed
    __version__ = version("lenet_ablate")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"


def config_dir() -> str:
    """The folder of the config groups (lenet_ablate/conf)."""
    return str(Path(__file__).resolve().parent / "conf")


def _pilot_seeds(seeds: object, pilot: int) -> int:
    """The seeds an experiment sweeps first: `seeds`, or `pilot` when seeds=auto."""
    return int(pilot) if str(seeds) == "auto" else int(seeds)


OmegaConf.register_new_resolver("pilot_seeds", _pilot_seeds, replace=True)
