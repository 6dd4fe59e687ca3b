"""The networks of a sweep, checked before anything trains: each is built once on one blank batch
(so an unimportable target, a failing network or a wrong output shape stops the sweep at once), no
factor is varied on a network that does not take it (lenet_ablate.model.contract), and no two
configurations of a sweep build provably the same job (lenet_ablate.model.equivalence): a key that
never reaches the network must not get a verdict."""

from __future__ import annotations

from typing import Any, Iterable

from omegaconf import DictConfig

from lenet_ablate.errors import SweepError
from lenet_ablate.runs.guard import changed_keys
from lenet_ablate.runs.identity import config_hash, config_id, plain


def check_networks(configs: Iterable[DictConfig]) -> None:
    """Build each distinct configuration's network once and refuse a sweep that varies a factor
    its network does not take. Raises SweepError, ConfigError or DataError."""
    from lenet_ablate.data.sources import data_shape  # the torch boundary (as validate_sweep's)
    from lenet_ablate.model.contract import NETWORK_FACTORS, declared, target_object, untaken_varied
    from lenet_ablate.model.network import build_network

    import torch

    from lenet_ablate.model.equivalence import SEED, fingerprint

    levels: dict[str, list[tuple[str, str]]] = {}
    takes: dict[str, frozenset[str]] = {}
    built: dict[str, tuple[DictConfig, Any]] = {}
    for cfg in configs:
        name = str(cfg.model.name)
        takes[name] = declared(target_object(cfg.model.get("_target_"), f"model={name}"))
        levels.setdefault(name, []).extend((f, str(cfg[f].name)) for f in NETWORK_FACTORS)
        if config_id(cfg) not in built:
            shape = data_shape(cfg.data)
            torch.manual_seed(SEED)
            built[config_id(cfg)] = (cfg, fingerprint(build_network(cfg, shape).module, shape))
    problems = untaken_varied(levels, takes)
    if problems:
        raise SweepError("; ".join(problems) + ". Nothing was trained.")
    twins = same_jobs(list(built.values()))
    if twins:
        raise SweepError(twins)


def same_jobs(built: list[tuple[DictConfig, Any]]) -> str | None:
    """The error for two configurations that build provably the same job: equal in everything but
    the network's nodes (model, its factor groups, init), and networks no probe tells apart. None
    where there are none. `built`: each configuration with its network's fingerprint."""
    from lenet_ablate.model.contract import NETWORK_FACTORS

    network_nodes = ("seed", "model", "init", *NETWORK_FACTORS)
    groups: dict[str, list[tuple[DictConfig, Any]]] = {}
    for cfg, print_ in built:
        groups.setdefault(config_hash(cfg, ignore=network_nodes), []).append((cfg, print_))
    for members in groups.values():
        for i, (a, fa) in enumerate(members):
            for b, fb in members[i + 1:]:
                if fa.same(fb):
                    keys = "; ".join(changed_keys(plain(a), b)) or "no setting"
                    return (f"two levels build the same job ({keys}): the same network (modules, parameter shapes "
                            "and output on one batch, in train and eval mode) and the same other settings, so the "
                            "key never reaches the network (ignored, or declared and unused) and a verdict on it "
                            "would judge nothing. Nothing was trained.")
    return None
