"""lenet_ablate: Hydra-configured ablation studies of LeNet-5 on Fashion-MNIST and MNIST."""

from pathlib import Path

from omegaconf import OmegaConf

__version__ = "0.2.0"


def config_dir() -> str:
    """The top-level conf/ of a source checkout, else the copy shipped inside the package."""
    here = Path(__file__).resolve().parent
    source = here.parent / "conf"
    return str(source if (source / "config.yaml").is_file() else here / "conf")


def _pilot_seeds(seeds: object, pilot: int) -> int:
    """The seeds an experiment sweeps first: `seeds`, or `pilot` when seeds=auto."""
    return int(pilot) if str(seeds) == "auto" else int(seeds)


OmegaConf.register_new_resolver("pilot_seeds", _pilot_seeds, replace=True)
