"""The study sweeper's planning, as plain records: the configurations a sweep can add seeds to, its
comparisons, the looks of the sequential seeds=auto design (lenet_ablate.analysis.schedule.sequential) and the
jobs each next look needs; one record of launched jobs and one conflict check.

The sweeper (hydra_plugins/lenet_ablate_tuner) composes configs and hands batches to the launcher;
everything it decides is decided here, from the sweep folder's results, so a rerun decides the same.
No torch here.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
from omegaconf import DictConfig

from lenet_ablate.errors import SweepError
from lenet_ablate.analysis.schedule import sequential
from lenet_ablate.analysis.tables import tuned
from lenet_ablate.analysis.tables.collect import load_jobs
from lenet_ablate.analysis.tables.experiments import configurations, experiments, factor_names
from lenet_ablate.analysis.tables.level_rows import LevelRow, level_rows
from lenet_ablate.study import tuning
from lenet_ablate.runs.guard import conflict, refuse_message
from lenet_ablate.runs.records import write_json

SEEDS = "seeds.json"


@dataclass
class Job:
    """One job of the sweep: its override strings, folder, identities and seed."""

    overrides: list[str]
    subdir: str
    job_id: str
    config_id: str
    seed: int


@dataclass
class Configuration:
    """A configuration of the sweep: its jobs as asked, default lr and epochs, and (tune=lr) its
    screening grid and seeds."""

    config_id: str
    base_lr: float
    epochs: int
    jobs: list[Job] = field(default_factory=list)
    grid: list[dict[str, Any]] = field(default_factory=list)
    screen_seeds: list[int] = field(default_factory=list)


@dataclass
class Launched:
    """The jobs this sweep has handed to the launcher: a job is launched once per sweep."""

    ids: set[str] = field(default_factory=set)
    seeds: dict[str, set[int]] = field(default_factory=dict)

    def add(self, job: Job, batch: list[Job]) -> None:
        """Add `job` to `batch` unless a job with its id was launched already."""
        if job.job_id not in self.ids:
            self.ids.add(job.job_id)
            self.seeds.setdefault(job.config_id, set()).add(job.seed)
            batch.append(job)


Variant = Callable[[Job, "float | None", "int | None"], Job]  # a job at another lr / epochs, composed


def screening(configs: list[Configuration], tune: Any, variant: Variant, launched: Launched) -> list[Job]:
    """tune=lr, phase 1: each configuration's optimizer.lr x tune.lr_scales on its first tune.seeds
    seeds, tune.epochs epochs each (its grid and screening seeds are stored in `configs`)."""
    batch: list[Job] = []
    for c in configs:
        c.screen_seeds = sorted({j.seed for j in c.jobs})[:tune.seeds]
        epochs = None if tune.epochs == c.epochs else int(tune.epochs)
        for scale in tune.lr_scales:
            lr = tuning.lr_value(c.base_lr, scale)
            point: dict[str, Any] = {"scale": float(scale), "lr": lr, "subdirs": {}}
            for job in (j for j in c.jobs if j.seed in c.screen_seeds):
                run = variant(job, lr if lr != c.base_lr else None, epochs)
                point["subdirs"][job.seed] = run.subdir
                launched.add(run, batch)
            c.grid.append(point)
    return batch


def finals(configs: list[Configuration], tune: Any, sweep_dir: Path, variant: Variant,
           launched: Launched) -> tuple[list[dict[str, Any]], list[Job]]:
    """tune=lr, phase 2: per configuration the lr of the best mean validation accuracy (its record
    for tuning.json) and the final runs: every job at its default and at the chosen lr."""
    records, batch = [], []
    for c in configs:
        grid = [{"scale": p["scale"], "lr": p["lr"], "runs": tuning.screening_result(sweep_dir, p["subdirs"])}
                for p in c.grid]
        choice = tuning.decide(c.base_lr, grid, list(tune.lr_scales))
        tuned_id = c.config_id
        for job in c.jobs:
            launched.add(job, batch)
            if choice["chosen_lr"] != c.base_lr:
                run = variant(job, choice["chosen_lr"], None)
                launched.add(run, batch)
                tuned_id = run.config_id
        records.append(tuning_record(c, tuned_id, choice, tune, grid))
    return records, batch


def tuning_record(c: Configuration, tuned_id: str, choice: dict[str, Any], tune: Any,
                  grid: list[dict[str, Any]]) -> dict[str, Any]:
    """One configuration's record in tuning.json: the choice, how it was screened and the grid."""
    return {"config_id": c.config_id, "tuned_config_id": tuned_id, "base_lr": c.base_lr, **choice,
            "screening": {"epochs": int(tune.epochs), "seeds": c.screen_seeds,
                          "lr_scales": [float(s) for s in tune.lr_scales]},
            "full_epochs": c.epochs, "grid": grid, "example_job": c.jobs[0].subdir,
            "decided_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def templates(configs: list[Configuration], records: list[dict[str, Any]]) -> dict[str, tuple[Job, float | None]]:
    """config_id -> (a job of its default-lr configuration, the lr to run it at or None): what a
    configuration's further seeds are made from, the tuned configurations of tune=lr included."""
    tuned = {r["config_id"]: r for r in records}
    out: dict[str, tuple[Job, float | None]] = {}
    for c in configs:
        out[c.config_id] = (c.jobs[0], None)
        record = tuned.get(c.config_id)
        if record and record["tuned_config_id"] != c.config_id:
            out[record["tuned_config_id"]] = (c.jobs[0], record["chosen_lr"])
    return out


def look_batch(plan: "Plan", made_from: dict[str, tuple[Job, float | None]],
               seed: Callable[[Job, "float | None", int], Job], launched: Launched) -> list[Job]:
    """The jobs the plan's next look needs: seeds 0..n-1 of each configuration it names (those of
    an older sweep in the same folder, which this sweep cannot make, are left alone)."""
    batch: list[Job] = []
    for cid, n in plan.wanted.items():
        if cid in made_from:
            for k in range(n):
                launched.add(seed(*made_from[cid], k), batch)
    return batch


def refuse_conflict(sweep_dir: Path, job: Job, cfg: DictConfig) -> None:
    """Raise SweepError if `job`'s folder holds a completed result of another configuration."""
    blocked = conflict(Path(sweep_dir) / job.subdir, cfg)
    if blocked:
        raise SweepError(refuse_message([blocked]))


@dataclass
class Comparison:
    """One comparison of the sweep: level against reference, in one lr view."""

    name: str
    view: str
    level: str       # config_id
    reference: str   # config_id


@dataclass
class Look:
    """One look of the design: its seeds, its levels (Hommel's α for "differs", the repeated
    interval's coverage), each comparison's state after it, the jobs it added."""

    n: int
    alpha: float
    interval_coverage: float
    states: dict[str, str]
    jobs_added: int


@dataclass
class Plan:
    """Where the design stands: the looks analysed, and the seeds each configuration needs for the
    next one (empty when every comparison is stopped)."""

    design: sequential.Design
    comparisons: list[Comparison]
    looks: list[Look]
    wanted: dict[str, int]
    next_n: int | None

    def record(self) -> dict[str, Any]:
        """The plan as <sweep>/seeds.json holds it."""
        open_ = sum(1 for s in (self.looks[-1].states.values() if self.looks else []) if s == "open")
        return {"design": {"kind": self.design.name(), **asdict(self.design),
                           "schedule": list(self.design.schedule()),
                           "levels": [asdict(lv) for lv in self.design.levels()]}, "comparisons": [asdict(c) for c in self.comparisons],
                "looks": [asdict(look) for look in self.looks], "next_look": self.next_n,
                "written_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "summary": f"{len(self.comparisons)} comparison(s), {len(self.looks)} look(s), "
                           f"{open_} open" + (f", next look at {self.next_n} seeds" if self.next_n else "")}


def sweep_rows(sweep_dir: Path, baseline: dict[str, str], default: dict[str, Any],
               records: list[dict[str, Any]], outcome: str = "test_acc") -> list[tuple[Comparison, LevelRow]]:
    """Every comparison of the sweep folder (default lr and, with tuning records, tuned lr) with its
    level row on `outcome` (seeds that learned per side, seeds run)."""
    runs = tuned.annotate(load_jobs(Path(sweep_dir)), records)
    if runs.empty or "config_id" not in runs:
        return []
    views = [("default lr", tuned.default_view(runs))] + ([("tuned lr", tuned.tuned_view(runs, records))]
                                                          if records else [])
    # The tuned view names its runs by their default-lr configuration; their seeds go to the tuned one.
    to_tuned = {r["config_id"]: r["tuned_config_id"] for r in records}
    out = []
    for view, frame in views:
        configs = configurations(frame, baseline, default) if not frame.empty else frame
        if configs.empty:
            continue
        rename = to_tuned if view == "tuned lr" else {}
        for exp in experiments(configs, factor_names(frame)):
            ref = rename.get(exp.reference.config_id, exp.reference.config_id)
            for row in level_rows(exp, frame, outcome):
                if row.diff is not None:
                    level = rename.get(row.config_id, row.config_id)
                    row = replace(row, side=replace(row.side, config_id=level),
                                  reference=replace(row.reference, config_id=ref))
                    out.append((Comparison(row.configuration, view, level, ref), row))
    return out


def plan_seeds(sweep_dir: Path, baseline: dict[str, str], default: dict[str, Any], design: sequential.Design,
               records: list[dict[str, Any]] | None = None, tried: dict[str, set[int]] | None = None,
               own: set[str] | None = None) -> Plan:
    """The design's looks on the sweep folder's results (jobs launched in this sweep count as run),
    and the seeds each configuration needs for the next look. With `own` (the configurations this
    sweep can make), only the comparisons of two of them: another sweep's comparisons in the same
    folder (make ablate's after make ablate-fair's screening runs) would wait for seeds this sweep
    never makes, and hold every look back."""
    pairs = sweep_rows(sweep_dir, baseline, default, records or [], design.outcome)
    if own is not None:
        pairs = [(c, r) for c, r in pairs if c.level in own and c.reference in own]
    comparisons = [c for c, _ in pairs]
    if not pairs:
        return Plan(design, [], [], {}, None)
    looks = sequential.replay([r for _, r in pairs], design, tried)
    schedule, levels = design.schedule(), design.levels()
    history = [h[0] for h in looks.history]
    look_records = []
    for k, states in enumerate(history):
        before = history[k - 1] if k else np.full(len(comparisons), sequential.OPEN)
        look_records.append(Look(schedule[k], levels[k].alpha, levels[k].coverage,
                                 {f"{c.name} ({c.view})": sequential.STATES[s]
                                           for c, s in zip(comparisons, states)},
                             _added(comparisons, before, schedule[k - 1] if k else 0, schedule[k])))
    next_n = sequential.next_look(looks, design)
    wanted: dict[str, int] = {}
    if next_n is not None:
        for c, state in zip(comparisons, looks.state[0]):
            if state == sequential.OPEN:
                wanted[c.level] = wanted[c.reference] = next_n
    return Plan(design, comparisons, look_records, wanted, next_n)


def _added(comparisons: list[Comparison], before: np.ndarray, low: int, high: int) -> int:
    """Jobs a look adds: seeds low..high-1 of the configurations of the comparisons open before it."""
    configs = {x for c, s in zip(comparisons, before) if s == sequential.OPEN for x in (c.level, c.reference)}
    return len(configs) * (high - low)


def write_plan(sweep_dir: Path, plan: Plan | None, orders: list[dict[str, Any]]) -> None:
    """<sweep>/seeds.json, atomically: the plan (seeds=auto) and the order each batch ran in."""
    write_json(Path(sweep_dir) / SEEDS, {**(plan.record() if plan else {}), "orders": orders})

