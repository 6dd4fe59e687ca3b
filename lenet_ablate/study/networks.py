"""The networks of a sweep, checked before anything trains: each is built once on one blank batch
(so an unimportable target, a failing network or a wrong output shape stops the sweep at once), and
no factor is varied on a network that does not take it (lenet_ablate.model.contract)."""

from __future__ import annotations

from typing import Iterable

from omegaconf import DictConfig

from lenet_ablate.errors import SweepError
from lenet_ablate.runs.identity import config_id


def check_networks(configs: Iterable[DictConfig]) -> None:
    """Build each distinct configuration's network once and refuse a sweep that varies a factor
    its network does not take. Raises SweepError, ConfigError or DataError."""
    from lenet_ablate.data.sources import data_shape  # the torch boundary (as validate_sweep's)
    from lenet_ablate.model.contract import NETWORK_FACTORS, declared, target_object, untaken_varied
    from lenet_ablate.model.network import build_network

    levels: dict[str, list[tuple[str, str]]] = {}
    takes: dict[str, frozenset[str]] = {}
    built: set[str] = set()
    for cfg in configs:
        name = str(cfg.model.name)
        takes[name] = declared(target_object(cfg.model.get("_target_"), f"model={name}"))
        levels.setdefault(name, []).extend((f, str(cfg[f].name)) for f in NETWORK_FACTORS)
        if config_id(cfg) not in built:
            build_network(cfg, data_shape(cfg.data))
            built.add(config_id(cfg))
    problems = untaken_varied(levels, takes)
    if problems:
        raise SweepError("; ".join(problems) + ". Nothing was trained.")
