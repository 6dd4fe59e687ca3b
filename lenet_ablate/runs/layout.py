"""The names of a sweep's files and folders, and how its runs are named, shared by the sweeper
(study/), the analysis and the report."""

from __future__ import annotations

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

TUNING = "tuning.json"  # <sweep>/tuning.json: tune=lr's choices
HISTORY = ".sweeps"  # <sweep>/.sweeps/<time>.yaml: each invocation's multirun config
SPEED = "speed.json"  # <sweep>/speed.json: what `python -m lenet_ablate.speed` measured

def sweep_axes(config: DictConfig) -> tuple[list[str], list[list[str]]]:
    """Split a multirun (its config with the `hydra` node, as in multirun.yaml) into its fixed
    overrides and, per swept key (command line and sweeper params), its "key=value" strings."""
    params = config.hydra.sweeper.params
    params = OmegaConf.to_container(params, resolve=True) if params is not None else {}
    lines = list(config.hydra.overrides.task) + [f"{k}={v}" for k, v in params.items()]
    fixed, axes = [], []
    for override in OverridesParser.create().parse_overrides(lines):
        key = override.get_key_element()
        if override.is_sweep_override():
            axes.append([f"{key}={v}" for v in override.sweep_string_iterator()])
        else:
            fixed.append(override.input_line)
    return fixed, axes


def run_subdir(subdir: str, lr: float | None = None, epochs: int | None = None) -> str:
    """The folder of a run that differs from the sweep's job in lr and/or epochs: the job's own
    folder name plus `-lr<lr>` / `-ep<epochs>` (None: as the job), so equal runs share a folder."""
    return subdir + (f"-lr{lr:.6g}" if lr is not None else "") + (f"-ep{epochs}" if epochs is not None else "")
