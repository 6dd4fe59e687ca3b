"""What makes two trainings the same: a configuration's factor levels and its two identities.

- `config_id`: one configuration, all its seeds (the unit the report compares);
- `job_id`: one training (the configuration and its seed; skip-completed compares it).

Both hash a canonical form of the validated, typed config (so 0 and 0.0 agree): bookkeeping keys
that do not change what is computed are left out, and an option is named by its `name`, not by the
module path of its `_target_`, so moving or renaming a module changes no identity. Stored ids are
never trusted across schemes: a summary's identity is recomputed from the config it stores
(`stored_job_id`), which also migrates summaries of schemes 1 (ids over `_target_` paths), 2
(`_partial_` flags, Adam's beta1 as `momentum`) and 3 (a network without a name). No torch here: the report imports this to read
summaries.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any, Mapping

from omegaconf import DictConfig, OmegaConf

from lenet_ablate import design

# Keys that do not change what a job computes. `run_key` is the folder-name key of summaries
# written before 0.2 (left out so their identities agree with today's).
# `tune` says how the sweep chose a job's lr; the job itself is its config (optimizer.lr included).
# The seeds=auto settings (lenet_ablate.design) choose seeds, never what a job computes.
# `trainer.portable` chooses kernels, as the CPU does: part of the numeric environment each summary
# records (`numeric_env`), not of what the job is.
# `study.*` but its factors: how a sweep compares its jobs (and its note), not what one computes.
BOOKKEEPING = ("hydra", "force", "seeds", "convergence_target", "seed_count", "study_dir", "variant",
               "run_key", "trainer.reuse_memory", "trainer.portable", "tune", "study.keys", "study.reference",
               "study.sweep", "study.note")


def bookkeeping() -> tuple[str, ...]:
    """Every key that does not change what a job computes: BOOKKEEPING and the design's settings."""
    return (*BOOKKEEPING, *design.keys())


def plain(cfg: DictConfig | Mapping[str, Any]) -> dict[str, Any]:
    """A resolved plain-dict copy of a config (DictConfig or an already plain summary config)."""
    if isinstance(cfg, DictConfig):
        return OmegaConf.to_container(cfg, resolve=True)
    return copy.deepcopy(dict(cfg))


def drop_keys(config: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """`config` without the dotted `keys` (missing ones ignored); modifies and returns it."""
    for key in keys:
        *parents, last = key.split(".")
        node = config
        for part in parents:
            node = node.get(part) or {}
        if isinstance(node, dict):
            node.pop(last, None)
    return config


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"optimizer.lr": 0.05, ...}: a nested config as dotted keys."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        out.update(flatten(value, f"{prefix}{key}.") if isinstance(value, Mapping) else {f"{prefix}{key}": value})
    return out


# Recorded in every summary as `identity_scheme`; 1 hashed `_target_` paths (before 0.3), 2 kept
# `_partial_` flags and stored Adam's beta1 as `momentum` (0.3.0), 3 had a nameless `model` node
# (before 0.7.0: always LeNet-5; `migrate` names it).
SCHEME = 4

# How an option is built, not what it computes.
CONSTRUCTION_KEYS = ("_target_", "_partial_")


def canonical(config: Any) -> Any:
    """`config` with each named option's construction keys left out: the option is its `name`."""
    if isinstance(config, Mapping):
        named = "name" in config
        return {k: canonical(v) for k, v in config.items() if not (named and k in CONSTRUCTION_KEYS)}
    if isinstance(config, list):
        return [canonical(v) for v in config]
    return config


def migrate(config: dict[str, Any]) -> dict[str, Any]:
    """A stored config in today's layout (modifies and returns it): Adam's beta1, stored as
    `optimizer.momentum` before scheme 3, becomes `optimizer.betas` [beta1, 0.999]; a dropout rate
    given alone, stored under the level "none" before 0.4.0, is named by its rate; a network, which
    before 0.7.0 was LeNet-5 with a `c3` key only, is named lenet5 (or lecun1998 for its sparse C3)."""
    opt = config.get("optimizer")
    if isinstance(opt, dict) and opt.get("name") == "adam" and "momentum" in opt and "betas" not in opt:
        opt["betas"] = [opt.pop("momentum"), 0.999]
    drop = config.get("dropout")
    if isinstance(drop, dict):
        drop["name"] = dropout_level(drop)
    model = config.get("model")
    if isinstance(model, dict) and "name" not in model:  # before 0.7 the network was always LeNet-5
        model["name"] = "lecun1998" if model.get("c3") == "lecun" else "lenet5"
    return config


def dropout_level(node: Mapping[str, Any]) -> Any:
    """The level a dropout node names: its option's name, except that a rate given alone
    (`dropout.p=0.3` under the option "none") is the level p<rate>, the same job as dropout=p0.3."""
    if node.get("name") == "none" and node.get("p"):
        return f"p{node['p']}"
    return node.get("name")


def comparable(cfg: DictConfig | Mapping[str, Any], ignore: tuple[str, ...] = ()) -> dict[str, Any]:
    """What a config trains, as identities compare it: a plain copy in today's layout, without the
    bookkeeping keys (and `ignore`), each option named by its `name`."""
    return canonical(drop_keys(migrate(plain(cfg)), (*bookkeeping(), *ignore)))


def config_hash(cfg: DictConfig | Mapping[str, Any], ignore: tuple[str, ...] = ()) -> str:
    """16 hex digits identifying `cfg` minus bookkeeping keys (and `ignore`), in canonical form."""
    config = comparable(cfg, ignore)
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]


def job_id(cfg: DictConfig | Mapping[str, Any]) -> str:
    """Identity of one training: equal job ids train the same thing."""
    return config_hash(cfg)


def config_id(cfg: DictConfig | Mapping[str, Any]) -> str:
    """Identity of a configuration: the job id without the seed (shared by all seeds)."""
    return config_hash(cfg, ignore=("seed",))


def factors(cfg: DictConfig | Mapping[str, Any]) -> dict[str, str]:
    """The level of each study factor: for each `study.factors` group the `name` of its chosen
    option, and for each key a sweep made a factor (`study.keys`: `model.width`) its value."""
    config = plain(cfg)
    study = config["study"]
    out = {f: str(config[f]["name"]) for f in study["factors"]}
    for key in study.get("keys") or []:
        node: Any = config
        for part in key.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        out[key] = level(node)
    return out


def level(value: Any) -> str:
    """A factor's level as summaries record it: an option's `name`, else the value as text."""
    if isinstance(value, Mapping) and "name" in value:
        return str(value["name"])
    return str(value)


def same_level(a: Any, b: Any) -> bool:
    """Two levels that name the same setting (16 and 16.0, 0 and 0.0, 5e-4 and 0.0005)."""
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return str(a) == str(b)


def references(config: Mapping[str, Any]) -> dict[str, str]:
    """The reference level of each key a sweep made a factor, as the job's config records it."""
    study = config.get("study") or {}
    return {str(k): str(v) for k, v in zip(study.get("keys") or [], study.get("reference") or []) if str(v) != ""}


def stored_job_id(summary: Mapping[str, Any]) -> str | None:
    """The job id of a stored summary under the current scheme, from the config it stores (the
    stored `job_id` only where a summary holds no config)."""
    config = summary.get("config")
    return job_id(config) if config else summary.get("job_id")


def network_keys(config: Mapping[str, Any]) -> dict[str, Any]:
    """The network's name (`model`) and its own keys (`model.<key>`), as HParams and the report show them."""
    model = migrate(plain(config)).get("model") or {}
    own = flatten({k: v for k, v in model.items() if k not in ("name", *CONSTRUCTION_KEYS)}, "model.")
    return {"model": model.get("name"), **{k: v if isinstance(v, (int, float, str, bool)) else str(v)
                                           for k, v in own.items()}}


def hparams(cfg: DictConfig | Mapping[str, Any], seed: bool = True) -> dict[str, Any]:
    """What TensorBoard's HParams shows for a run (seed=False: for a configuration of all seeds)."""
    c = migrate(plain(cfg))
    opt = c["optimizer"]
    # Adam's beta1 shows as its momentum (an HParams column holds one scalar).
    out = {**factors(c), "data": c["data"]["name"], "lr": opt["lr"],
           "momentum": opt["momentum"] if "momentum" in opt else opt.get("betas", [0.0])[0],
           "weight_decay": opt["weight_decay"], "schedule": opt["schedule"],
           "dropout_p": c["dropout"]["p"], "batch_size": c["data"]["batch_size"],
           "max_epochs": c["trainer"]["max_epochs"], "seed": c.get("seed"), **network_keys(c),
           "input": c["data"]["input"]}
    if not seed:
        out.pop("seed")
    return out
