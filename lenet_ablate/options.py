"""Config options that name what builds them (`_target_`), turned into callables.

An option of a factor group (activation, pooling, normalization, init, head, optimizer) is a YAML
file whose `_target_` names a class or function; its other keys are that target's arguments,
except the keys that describe the option itself (OPTION_KEYS). So a user's own option, e.g.
`activation/gelu.yaml` holding `_target_: torch.nn.GELU`, needs no code in this package.
"""

from __future__ import annotations

from typing import Any, Callable

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

# Keys that describe an option rather than pass an argument to its target.
OPTION_KEYS = ("name", "squash", "schedule")


def _arguments(node: DictConfig | dict) -> dict[str, Any]:
    plain = OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else dict(node)
    return {k: v for k, v in plain.items() if k not in OPTION_KEYS}


def option_callable(node: DictConfig | dict) -> Callable[..., Any]:
    """The option's target with its arguments bound; call it with what the caller supplies
    (an init function gets the model, an optimizer the parameters)."""
    return instantiate(_arguments(node), _partial_=True)


def layer_factory(node: DictConfig | dict) -> Callable[..., Any] | None:
    """A function making a fresh layer per call, or None for an option without `_target_` (no layer).

    Options marked `_partial_: true` receive the layer's size (channels or features), e.g.
    trainable subsampling or batch normalisation; the others (ReLU, max pooling) take no size.
    """
    args = _arguments(node)
    if args.get("_target_") is None:
        return None
    if args.pop("_partial_", False):
        return instantiate(args, _partial_=True)
    return lambda *size: instantiate(args)
