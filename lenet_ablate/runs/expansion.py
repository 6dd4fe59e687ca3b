"""What a multirun sweeps: which swept keys are factors, each factor's reference (its value in the
config composed without the sweep), and the jobs the sweep expands to.

Any swept config key is a factor (`model.width=8,32`, `optimizer.weight_decay=0,0.0005`, a config
group), except the seed and bookkeeping. Its reference is always trained, listed or not, so each
level has something to be compared with. `study.sweep` chooses the expansion:
- `grid` (Hydra's): every combination of the axes;
- `one_at_a_time`: the baseline (every factor at its reference) and each level of each factor with
  the others at their references, as `experiment=all` does;
- `fractional`: 4 to 8 two-level factors (a level and its reference each) in the tabulated regular
  2^(k-p) fraction (lenet_ablate.runs.designs), not the full grid.
Jobs get `study.keys` (the swept keys beyond the `study.factors` groups) and `study.reference` (their
reference levels, in the same order; '' where the config has no value), so each job's summary names its factors and the report knows the references.
Used by the sweeper, by the check before a sweep trains and by the report (jobs never started).
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from dataclasses import dataclass
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from lenet_ablate.errors import ConfigError
from lenet_ablate.runs.designs import design
from lenet_ablate.runs.identity import bookkeeping, same_level

GRID, ONE_AT_A_TIME, FRACTIONAL = "grid", "one_at_a_time", "fractional"
SWEEPS = (GRID, ONE_AT_A_TIME, FRACTIONAL)
# Swept keys that never are factors: the seed, experiment=all's configuration list, and bookkeeping.
NOT_FACTORS = ("seed", "variant", "experiment", "study", "data.root", "data.md5", "trainer.threads")


@dataclass(frozen=True)
class Axis:
    """One key of the sweep, as "key=value" items (one item for a fixed override)."""

    key: str
    items: tuple[str, ...]
    factor: bool

    @property
    def name(self) -> str:
        """The key without Hydra's add / force-add / delete prefix."""
        return self.key.lstrip("+~")


@dataclass(frozen=True)
class Expansion:
    """A sweep's axes (in Hydra's order), its factors beyond `study.factors` and every factor's
    reference item; `jobs()` gives each job's overrides."""

    axes: tuple[Axis, ...]
    keys: tuple[str, ...]
    reference: dict[str, str]
    sweep: str = GRID

    def factors(self) -> list[Axis]:
        """The swept factor axes (more than one item)."""
        return [a for a in self.axes if a.factor and len(a.items) > 1]

    def jobs(self) -> list[list[str]]:
        """Each job's overrides: the grid, or the baseline and one factor level at a time."""
        extra = self.extra_overrides()
        if self.sweep == GRID:
            return [[*combo, *extra] for combo in itertools.product(*(a.items for a in self.axes))]
        if self.sweep == FRACTIONAL:
            return [[*combo, *extra] for v in self._fraction() for combo in itertools.product(*v)]
        factor_axes = self.factors()
        base = [(self.reference.get(a.name, a.items[0]),) if a in factor_axes else a.items for a in self.axes]
        variants = [base]
        for axis in factor_axes:
            i = self.axes.index(axis)
            for item in axis.items:
                if item != base[i][0]:
                    variants.append([*base[:i], (item,), *base[i + 1:]])
        return [[*combo, *extra] for v in variants for combo in itertools.product(*v)]

    def _fraction(self) -> list[list[tuple[str, ...]]]:
        """The runs of the fractional design, each as the axes' items (the other axes whole)."""
        factor_axes = self.factors()
        plan = design(len(factor_axes))
        if plan is None or any(len(a.items) != 2 for a in factor_axes):
            raise ConfigError(f"study.sweep=fractional takes 4 to 8 factors of two levels each (a level and its "
                              f"reference); this sweep has {len(factor_axes)}: "
                              + ", ".join(f"{a.name} ({len(a.items)} levels)" for a in factor_axes))
        runs = []
        for signs in plan.runs():
            chosen = dict(zip(factor_axes, signs))
            runs.append([(self._level(a, chosen[a]),) if a in chosen else a.items for a in self.axes])
        return runs

    def _level(self, axis: Axis, sign: int) -> str:
        """-1: the axis's reference item; +1: its other item."""
        ref = self.reference.get(axis.name, axis.items[0])
        return ref if sign < 0 else next(i for i in axis.items if i != ref)

    def extra_overrides(self) -> list[str]:
        """`study.keys` and `study.reference` for sweeps of keys beyond the factor groups (none else,
        so a sweep of the eight groups composes its jobs as before)."""
        if not self.keys:
            return []
        refs = [self.reference[k].split("=", 1)[1] if k in self.reference else "" for k in self.keys]
        return [f"study.keys=[{','.join(self.keys)}]", f"study.reference=[{','.join(map(_quoted, refs))}]"]


def _quoted(value: str) -> str:
    """A level as a quoted string in Hydra's override grammar (levels are strings: '16', '0.0005')."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def is_factor_key(key: str, groups: list[str]) -> bool:
    """True for a key a sweep may compare: any config key or group but the seed and bookkeeping."""
    name = key.lstrip("+~")
    if name in groups:
        return True
    skip = (*NOT_FACTORS, *bookkeeping())
    return "/" not in name and not any(name == k or name.startswith(k + ".") for k in skip)


def reference_item(config: DictConfig, key: str) -> str | None:
    """"key=value" of `key` in the config composed without the sweep (a group: its chosen option),
    or None where the config has no such key."""
    choices = config.hydra.runtime.choices if "hydra" in config else {}
    name = key.lstrip("+~")
    if name in choices:
        return f"{key}={choices[name]}"
    value = OmegaConf.select(config, name, default=None, throw_on_missing=False)
    if value is None or isinstance(value, (DictConfig, list)) or OmegaConf.is_config(value):
        return None
    return f"{key}={value}"


def _axes(lines: list[str]) -> list[tuple[str, list[str], bool]]:
    """(key, items, swept) per key, a later override of a key replacing an earlier one (as Hydra's)."""
    found: OrderedDict[str, tuple[list[str], bool]] = OrderedDict()
    for override in OverridesParser.create().parse_overrides(lines):
        key = override.get_key_element()
        if override.is_sweep_override():
            found[key] = ([f"{key}={v}" for v in override.sweep_string_iterator()], True)
        else:
            found[key] = ([f"{key}={override.get_value_element_as_str()}"], False)
    return [(k, items, swept) for k, (items, swept) in found.items()]


def expand(config: DictConfig, lines: list[str], seeds_asked: bool = False) -> Expansion:
    """The expansion of a sweep whose overrides are `lines` (the sweeper's params, then the command
    line's) around `config` (the multirun's config: composed without the sweep). `seeds_asked`:
    `seeds` was given on the command line, so a sweep without its own seed axis gets seeds
    0..seed_count-1."""
    groups = list(config.study.factors)
    axes, keys, reference = [], [], {}
    for key, items, swept in _axes(lines):
        factor = swept and is_factor_key(key, groups)
        if factor:
            ref = reference_item(config, key)
            if ref is not None:
                value = ref.split("=", 1)[1]
                same = [i for i in items if same_level(i.split("=", 1)[1], value)]
                ref = same[0] if same else ref
                items = items if same else [ref, *items]
                reference[key.lstrip("+~")] = ref
            if key.lstrip("+~") not in groups:
                keys.append(key.lstrip("+~"))
        axes.append(Axis(key, tuple(items), factor))
    if seeds_asked and "seed" not in {a.name for a in axes} and any(a.factor for a in axes):
        axes.append(Axis("seed", tuple(f"seed={s}" for s in range(int(config.seed_count))), False))
    return Expansion(tuple(axes), tuple(keys), reference, str(config.study.get("sweep", GRID)))


def sweep_lines(config: DictConfig) -> list[str]:
    """A multirun's overrides as the sweeper reads them: hydra.sweeper.params, then the command line."""
    params = config.hydra.sweeper.params
    params = OmegaConf.to_container(params, resolve=True) if params is not None else {}
    return [*(f"{k}={v}" for k, v in params.items()), *config.hydra.overrides.task]


def seeds_asked(config: DictConfig) -> bool:
    """True where the command line sets `seeds` (seeds=N or seeds=auto)."""
    return any(o.split("=", 1)[0].lstrip("+") == "seeds" for o in config.hydra.overrides.task)


def expand_config(config: DictConfig) -> Expansion:
    """The expansion of the multirun whose config (as in multirun.yaml) is `config`."""
    return expand(config, sweep_lines(config), seeds_asked(config))
