"""Config options that name what builds them (`_target_`), turned into objects: the one way from an
option group's node to its object.

An option of a factor group (activation, pooling, normalization, dropout, init, head, optimizer) is
a YAML file whose `_target_` names a class or function and whose other keys are that target's
arguments, except `name`, the option's label (a factor's level in the study). The code that uses an
option adds what only it knows as keyword arguments (a head gets its input features and the class
count, an optimizer the parameters): `build(cfg.head, in_features=84, num_classes=10)`. Layers that
need their size infer it from their first input (torch's lazy modules), so layer options take none.
A user's own option, e.g. `activation/gelu.yaml` holding `_target_: torch.nn.GELU`, needs no code in
this package.
"""

from __future__ import annotations

import inspect
from typing import Any

from hydra.utils import get_object, instantiate
from omegaconf import DictConfig, OmegaConf

from lenet_ablate.errors import ConfigError

# The option's label; every other key is an argument of its target.
LABEL = "name"


def arguments(node: DictConfig | dict) -> dict[str, Any]:
    """The option's node as Hydra's `instantiate` takes it: every key but the label.

    Raises ConfigError where the target itself has a parameter called `name`, which the label
    would otherwise hide from it.
    """
    plain = OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else dict(node)
    target = plain.get("_target_")
    if target is not None and LABEL in plain and LABEL in _parameters(target):
        raise ConfigError(f"{target}: its parameter {LABEL!r} clashes with the option's label "
                          f"(`{LABEL}` names the option); wrap the target in a function of your own")
    return {k: v for k, v in plain.items() if k != LABEL}


def _parameters(target: str) -> set[str]:
    try:
        return set(inspect.signature(get_object(target)).parameters)
    except Exception:  # unimportable (instantiate then says why) or no signature: nothing to clash
        return set()


def build(node: DictConfig | dict, *args: Any, **call_args: Any) -> Any:
    """The object an option describes, or None for an option without `_target_` (e.g. no
    normalisation). `args`/`call_args` are what the caller adds to the node's own arguments."""
    spec = arguments(node)
    if spec.get("_target_") is None:
        return None
    return instantiate(spec, *args, **call_args)
