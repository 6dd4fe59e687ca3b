"""The seeds=auto design's settings, each declared once: its config key, the `Design` field it sets,
its default, what is allowed, and its meaning in one line.

Everything else is derived from `SETTINGS`: the config schema's fields and their checks
(lenet_ablate.config), the keys a job's identity leaves out (lenet_ablate.runs.identity), the keys
left out of sweep folder names (the `with_design_keys` resolver in conf/config.yaml), `Design`'s defaults
(lenet_ablate.analysis.schedule.sequential) and the simulation's command-line options
(lenet_ablate.analysis.schedule.simulate). conf/config.yaml holds the values users edit; `validate` checks
them against these declarations. A new design setting is one entry here plus its line in
conf/config.yaml. Imports nothing of the package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class Setting:
    """One seeds=auto setting. `allowed`: the values it may take (None: any value `check` accepts);
    `rule`: what `check` requires, in words."""

    key: str                      # the config key (seeds_alpha)
    field: str                    # the Design field (alpha)
    type: type                    # the schema's type
    default: Any
    meaning: str
    allowed: tuple[Any, ...] | None = None
    check: Callable[[Any], bool] = lambda value: True
    rule: str = ""

    def problem(self, value: Any) -> str | None:
        """Why `value` is not allowed for this setting (None: it is)."""
        if self.allowed is not None:
            return None if value in self.allowed else f"allowed: {', '.join(map(str, self.allowed))}"
        return None if self.check(value) else self.rule

    def option(self) -> str:
        """The simulation's command-line option for this setting (--seeds-max)."""
        return "--" + self.field.replace("_", "-")


# The outcomes seeds may be allocated for: the paired ones (analysis.tables.outcomes.SEQUENTIAL; a test
# keeps the two lists equal).
SEQUENTIAL_OUTCOMES = ("test_acc", "mean_val_acc", "gap")

SETTINGS: tuple[Setting, ...] = (
    Setting("seeds_pilot", "pilot", int, 3, "seeds every comparison gets before the first look",
            check=lambda v: v >= 2, rule="must be >= 2 (a spread needs 2 seeds)"),
    Setting("seeds_looks", "looks", list, (5, 8, 12, 18), "seed counts of the looks between the pilot and seeds_max",
            check=lambda v: all(n >= 2 for n in v), rule="must be a list of seed counts >= 2"),
    Setting("seeds_max", "seeds_max", int, 30, "the most seeds a comparison gets (the last look)",
            check=lambda v: v >= 2, rule="must be >= 2"),
    Setting("seeds_spending", "spending", str, "pocock", "Lan-DeMets spending function of both error rates",
            allowed=("obrien_fleming", "pocock")),
    Setting("seeds_boundaries", "boundaries", str, "bonferroni",
            "how the looks share seeds_alpha: spending increments (any noise) or exact boundaries (fewer seeds; "
            "not under left-skewed noise)", allowed=("bonferroni", "exact")),
    Setting("seeds_alpha", "alpha", float, 0.03, "family-wise error of 'differs' over the whole schedule",
            check=lambda v: 0 < v < 0.5, rule="must be in (0, 0.5)"),
    Setting("seeds_beta", "beta", float, 0.025, "each comparison's false 'no difference' rate over the schedule",
            check=lambda v: 0 < v < 0.5, rule="must be in (0, 0.5)"),
    Setting("seeds_outcome", "outcome", str, "test_acc", "the paired outcome seeds are allocated for",
            allowed=SEQUENTIAL_OUTCOMES),
    Setting("min_effect", "min_effect", float, 0.01,
            "the smallest difference of interest: 'differs' or 'no difference larger than' it",
            check=lambda v: v > 0, rule="must be > 0"),
)

def setting(field: str) -> Setting:
    """The setting of the Design field `field`."""
    return next(s for s in SETTINGS if s.field == field)


def default(field: str) -> Any:
    """The declared default of the Design field `field`."""
    return setting(field).default


def keys() -> list[str]:
    """The config keys of the design's settings, in declaration order."""
    return [s.key for s in SETTINGS]
