"""The argument contract between the study and a network (`model/<name>.yaml` with `_target_`).

A network declares, by name, the arguments it takes: the factor groups that shape its layers
(`NETWORK_FACTORS`, each passed as a factory) and the data's shape (`DATA_ARGUMENTS`). It gets those
it declares and no others. A factor group it does not declare never reaches it, so a study must not
vary one (`untaken_varied`): "no difference" on such a factor would be a verdict on nothing.
Imports no torch.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any, Iterable, Mapping

from lenet_ablate.errors import ConfigError

# Factor groups passed to the network as zero-argument factories (`head` takes in_features).
NETWORK_FACTORS = ("activation", "pooling", "normalization", "dropout", "head")
DATA_ARGUMENTS = ("in_channels", "num_classes", "image_size")


def target_object(target: Any, where: str) -> Any:
    """The class or function a `_target_` names; ConfigError naming it and `where` it is set if it
    cannot be imported."""
    if not isinstance(target, str) or not target:
        raise ConfigError(f"{where}: no `_target_` (the dotted path of the network's class or factory)")
    parts = target.split(".")
    for cut in range(len(parts) - 1, 0, -1):  # the longest importable module, then attributes
        module = ".".join(parts[:cut])
        try:
            obj = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name is not None and module.startswith(exc.name):
                continue  # this prefix is not a module: try a shorter one
            why = f"importing {module!r}: no module named {exc.name!r}"
            break
        except Exception as exc:  # the module itself fails to import: say how
            why = f"importing {module!r} raised {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            break
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
            return obj
        except AttributeError:
            why = f"module {module!r} has no {'.'.join(parts[cut:])!r}"
            break
    else:
        why = f"no module named {parts[0]!r}; is it on PYTHONPATH?"
    raise ConfigError(f"{where}: _target_ {target!r} cannot be imported ({why})")


def declared(target: Any) -> frozenset[str]:
    """The names of the arguments a network's class or factory declares (not *args / **kwargs)."""
    try:
        params = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: it declares nothing we offer
        return frozenset()
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return frozenset(p.name for p in params if p.kind in kinds)


def untaken_varied(levels: Mapping[str, Iterable[tuple[str, str]]], takes: Mapping[str, frozenset[str]]) -> list[str]:
    """Messages for each network factor that takes more than one level on a network that does not
    take it. `levels`: per model name, the (factor, level) pairs of its jobs; `takes`: per model
    name, what it declares."""
    problems = []
    for model, pairs in levels.items():
        seen: dict[str, set[str]] = {}
        for factor, level in pairs:
            seen.setdefault(factor, set()).add(level)
        for factor in NETWORK_FACTORS:
            if len(seen.get(factor, ())) > 1 and factor not in takes[model]:
                problems.append(f"model={model} takes no `{factor}`: {factor} cannot be varied on it "
                                f"(levels {', '.join(sorted(seen[factor]))})")
    return problems
