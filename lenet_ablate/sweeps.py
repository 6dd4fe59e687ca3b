"""Multirun sweeps: the jobs a sweep asks for, checking them all before the first trains, and
counting their outcomes."""

from __future__ import annotations

import itertools
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from lenet_ablate.records import SUMMARY, read_json


def sweep_axes(config: DictConfig) -> tuple[list[str], list[list[str]]]:
    """Split a multirun (its config with the `hydra` node, as in multirun.yaml) into its fixed
    overrides and, per swept key (command line and sweeper params), its "key=value" strings."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

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


def validate_sweep(config: DictConfig) -> None:
    """Compose and validate every job of a multirun before the first one trains."""
    from hydra import compose

    from lenet_ablate.cli import fail
    from lenet_ablate.config import ConfigError, validate

    fixed, axes = sweep_axes(config)
    for combo in itertools.product(*axes):
        try:
            validate(compose(config_name=config.hydra.job.config_name, overrides=[*fixed, *combo],
                             return_hydra_config=True))
        except ConfigError as exc:
            fail(f"{exc} (job {' '.join(combo)})")


def count_jobs(sweep_dir: Path, since: float = 0.0) -> dict[str, int]:
    """Count the jobs of a sweep folder visited since `since` (epoch seconds) by outcome."""
    counts = {"completed": 0, "diverged": 0, "failed": 0, "skipped": 0, "interrupted": 0}
    for hydra_dir in sweep_dir.glob("**/.hydra"):
        job = hydra_dir.parent
        if (hydra_dir / "config.yaml").stat().st_mtime < since - 1:
            continue  # an older job of the same folder, not part of this sweep
        s = read_json(job / SUMMARY)
        status = "failed" if s is None else ("skipped" if s.get("action") == "skipped" else s["status"])
        counts[status if status in counts else "failed"] += 1
    return counts
