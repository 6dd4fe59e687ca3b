"""Named choices of a string-valued config key (`model.c3`, `data.input`, `data.name`,
`optimizer.schedule`, `head.templates`).

Option groups (activation, pooling, ...) become objects through Hydra's `instantiate`
(`lenet_ablate.options.build`); a key whose value is a short name on the command line
(`model.c3=lecun`) is looked up here instead. Either way a user's own choice needs no code in this
package: a registry also accepts the dotted path of an object (`optimizer.schedule=mypkg.warmup`).
Imports no torch.
"""

from __future__ import annotations

from typing import Generic, Iterator, TypeVar

from hydra.utils import get_object

from lenet_ablate.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """The entries a config key may name, in a fixed order (the order error messages list them)."""

    def __init__(self, key: str, entries: dict[str, T]) -> None:
        self.key = key
        self._entries = dict(entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __contains__(self, value: object) -> bool:
        return value in self._entries

    def get(self, value: str) -> T:
        """The entry `value` names: a registered name, or the dotted path of an object (`pkg.mod.obj`).

        Raises ConfigError naming the key, the value and what is allowed.
        """
        if value in self._entries:
            return self._entries[value]
        if isinstance(value, str) and "." in value.strip("."):
            try:
                return get_object(value)
            except Exception:  # Hydra raises ImportError or its own errors for a bad path
                pass
        raise ConfigError(f"{self.key}={value!r} is not allowed; allowed: {', '.join(self._entries)}"
                          f" (or the dotted path of one's own)")
