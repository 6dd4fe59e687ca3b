"""`python -m lenet_ablate.speed experiment=NAME [override ...] [--epochs 3] [--rounds 4]`: how much
faster or slower each configuration of an experiment trains than its reference, measured cleanly.

The method of `make bench`: every configuration trains `--epochs` epochs (seed 0, one thread) in one
worker process, interleaved round by round (reference, levels; the next round in reverse order), so
that a change of the machine's load reaches every configuration alike; an epoch's time is the median
after the first (warm-up) epoch. Per level, the ratio to the reference of each round, wall and CPU,
and their 95% interval (paired t on the logs over the rounds, as the report compares timings).
Written to <sweep folder>/speed.json, which the experiment's report shows. Exit status: 0, or 2 for
bad input (one line).
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pandas as pd
from omegaconf import DictConfig

from lenet_ablate import compose
from lenet_ablate.analysis.inference.stats import difference
from lenet_ablate.errors import ConfigError, LenetAblateError
from lenet_ablate.runs.layout import SPEED, sweep_axes
from lenet_ablate.runs.records import write_json



@dataclass
class Timed:
    """One configuration's runs, round by round: median wall and CPU seconds per epoch, and the
    machine's largest load during each run."""

    label: str
    overrides: list[str]
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    load: list[float] = field(default_factory=list)


def _time_one(overrides: list[str], folder: str) -> tuple[float, float, float]:
    """In the worker: train one configuration; its median wall and CPU seconds per epoch after the
    warm-up epoch, and its largest epoch load."""
    from lenet_ablate.config import validate  # the torch boundary: the worker's, not the command's
    from lenet_ablate.training.clock import median_epoch
    from lenet_ablate.training.job import run_job
    from lenet_ablate.training.quiet import quiet_libraries

    quiet_libraries()

    cfg = validate(compose(*overrides, hydra=True))
    history = run_job(cfg, Path(folder), quiet=True)["history"]
    loads = [x for x in history["load"] if x is not None]
    return median_epoch(history["seconds"]), median_epoch(history["cpu_seconds"]), max(loads, default=math.nan)


def composed(overrides: list[str]) -> DictConfig:
    """The experiment's config with its `hydra` node. Raises ConfigError."""
    try:
        return compose(*overrides, hydra=True)
    except Exception as exc:  # Hydra's own errors: an unknown experiment or key
        raise ConfigError(f"cannot compose {' '.join(overrides)}: {str(exc).splitlines()[0]}") from None


def configurations(config: DictConfig, epochs: int) -> list[Timed]:
    """The reference (the experiment's fixed overrides alone) and each other configuration the
    experiment sweeps (`config`: composed with its `hydra` node), seed 0, `epochs` epochs, one
    thread. Raises ConfigError."""
    fixed, axes = sweep_axes(config)
    axes = [axis for axis in axes if not axis[0].startswith(("seed=", "+seed="))]
    run = ["seed=0", f"trainer.max_epochs={epochs}", "trainer.threads=1", "hydra.mode=RUN"]
    reference = Timed("reference", [*fixed, *run])
    base = _identity(reference.overrides)
    levels = [Timed(" ".join(combo), [*fixed, *combo, *run]) for combo in itertools.product(*axes)]
    levels = [t for t in levels if _identity(t.overrides) != base]
    if not levels:
        raise ConfigError(f"{' '.join(fixed)}: no configuration other than the reference to compare")
    return [reference, *levels]


def _identity(overrides: list[str]) -> str:
    from lenet_ablate.config import validate
    from lenet_ablate.runs.identity import config_id

    return config_id(validate(compose(*overrides, hydra=True)))


def measure(configs: list[Timed], rounds: int, folder: Path) -> None:
    """Train every configuration once per round in one worker process, interleaved."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        for r in range(rounds):
            for k, t in enumerate(configs if r % 2 == 0 else configs[::-1]):
                wall, cpu, load = pool.submit(_time_one, t.overrides, str(folder / f"r{r}-{k}")).result()
                t.wall.append(wall)
                t.cpu.append(cpu)
                t.load.append(load)
                print(f"round {r + 1}/{rounds} {t.label}: {wall:.2f} s/epoch wall, {cpu:.2f} CPU", flush=True)


def ratios(level: Timed, reference: Timed, clock: str) -> dict[str, float]:
    """The level's time per epoch over the reference's, paired by round: the ratio and its 95%
    interval (exp of the paired t on the logs)."""
    a, b = (pd.Series(getattr(t, clock)).map(math.log) for t in (level, reference))
    d = difference(a, b)
    return {"ratio": math.exp(d.diff), "low": math.exp(d.low), "high": math.exp(d.high), "p": d.p}


def result(configs: list[Timed], args: argparse.Namespace, cpus: int) -> dict[str, Any]:
    """speed.json: the command, how it measured, and per level its ratios on both clocks."""
    reference, levels = configs[0], configs[1:]
    loads = [x for t in configs for x in t.load if not math.isnan(x)]
    return {"command": "python -m lenet_ablate.speed " + " ".join(args.overrides), "epochs": args.epochs,
            "rounds": args.rounds, "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cpus": cpus,
            "max_load": max(loads, default=math.nan), "shared": any(x > cpus for x in loads),
            "configurations": [asdict(t) for t in configs],
            "levels": [{"level": t.label, "wall": ratios(t, reference, "wall"), "cpu": ratios(t, reference, "cpu")}
                       for t in levels]}


def show(record: dict[str, Any]) -> None:
    """The levels' ratios as lines of text."""
    print(f"time per epoch against the reference ({record['rounds']} rounds of {record['epochs']} epochs, "
          f"interleaved; 95% intervals):")
    for lv in record["levels"]:
        w, c = lv["wall"], lv["cpu"]
        print(f"  {lv['level']}: wall x{w['ratio']:.2f} [{w['low']:.2f}, {w['high']:.2f}], "
              f"CPU x{c['ratio']:.2f} [{c['low']:.2f}, {c['high']:.2f}]")
    if record["shared"]:
        print(f"warning: the machine was shared while measuring (load up to {record['max_load']:g} on "
              f"{record['cpus']} CPUs): measure again on an idle machine")


def _parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m lenet_ablate.speed", description=__doc__.splitlines()[0])
    p.add_argument("overrides", nargs="+", help="experiment=NAME and any other override")
    p.add_argument("--epochs", type=int, default=3, help="epochs per run; the first is warm-up")
    p.add_argument("--rounds", type=int, default=4, help="runs of each configuration, interleaved")
    args = p.parse_args(argv)
    if args.epochs < 2 or args.rounds < 2:
        p.error("--epochs and --rounds must be at least 2 (a warm-up epoch; an interval needs two rounds)")
    return args


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Measure, write speed.json into the experiment's sweep folder, return its record."""
    import tempfile

    from lenet_ablate.training.clock import usable_cpus
    from lenet_ablate.training.portable import pin

    config = composed(args.overrides)
    configs = configurations(config, args.epochs)
    sweep = Path(str(config.hydra.sweep.dir))
    pin(bool(config.trainer.portable))  # the worker inherits the pins
    with tempfile.TemporaryDirectory(prefix="lenet_ablate_speed_") as tmp:
        measure(configs, args.rounds, Path(tmp))
    record = result(configs, args, usable_cpus())
    sweep.mkdir(parents=True, exist_ok=True)
    write_json(sweep / SPEED, record)
    print(f"speed: {sweep / SPEED}")
    return record


def main(argv: list[str] | None = None) -> int:
    """Command line; returns the exit status."""
    args = _parse(sys.argv[1:] if argv is None else argv)
    try:
        show(run(args))
    except LenetAblateError as exc:
        print(f"speed: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
