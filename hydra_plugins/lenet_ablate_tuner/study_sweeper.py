"""The study's sweeper: Hydra's basic sweeper plus, where asked, learning-rate tuning (`tune=lr`)
and seeds added look by look until each comparison is settled (`seeds=auto`), all through the
configured launcher.

tune=lr:
1. Screening: for every configuration of the sweep, its optimizer.lr x tune.lr_scales on the
   first tune.seeds seeds of the sweep, tune.epochs epochs each.
2. Final: every job of the sweep as asked (its default lr) and every seed at the configuration's
   chosen lr (best mean validation accuracy). A run equal to one already launched (same job id,
   e.g. the screening run at the chosen lr when tune.epochs is the full budget) is not launched again.

seeds=auto: after the sweep's `seeds_pilot` seeds (and tuning), the looks of the sequential design
(lenet_ablate.analysis.schedule.sequential): at each look the comparisons still open get their level's and
reference's seeds up to the look's count; settled ones get none. lenet_ablate.study.planning decides
each look from the sweep folder's results and writes <sweep dir>/seeds.json; a rerun decides the same
from the same results, so it trains nothing that completed.

Every run is a normal job in its own folder, so skip-completed, locks and failure isolation work as
for any sweep. This module only composes configs and hands batches to the launcher.

Hydra instantiates sweepers from the hydra_plugins package only, hence this module's place. It
subclasses BasicSweeper (a Hydra-internal class) because that class alone expands the sweep's
override grammar and batches; hydra-core is pinned to 1.3 in pyproject for that reason.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Sequence

from filelock import FileLock
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from omegaconf import DictConfig, OmegaConf

from lenet_ablate.config import validate
from lenet_ablate.errors import Abort, ConfigError, LenetAblateError, SweepError
from lenet_ablate.analysis.schedule import sequential
from lenet_ablate.analysis.tables.tuned import load_tuning
from lenet_ablate.study import planning, tuning
from lenet_ablate.runs import stopping
from lenet_ablate.runs.expansion import expand, seeds_asked
from lenet_ablate.runs.guard import locked_elsewhere
from lenet_ablate.runs.identity import config_id, factors, job_id, plain
from lenet_ablate.study.order import order_record, recorded_orders, run_order, with_order
from lenet_ablate.study.planning import Configuration, Job, Launched
from lenet_ablate.runs.records import write_json
from lenet_ablate.study.sweeps import progress

log = logging.getLogger(__name__)


class StudySweeper(BasicSweeper):
    """The basic sweeper's jobs; with tune=lr each configuration also at its tuned lr; with
    seeds=auto more seeds, look by look, where a comparison is still open."""

    def sweep(self, arguments: list[str]) -> Any:
        try:
            return self._sweep(arguments)
        except LenetAblateError as exc:  # to cli.main, past Hydra's run_and_report (errors.Abort)
            raise Abort(exc) from None
        except Exception as exc:  # a joblib worker or Slurm job killed from outside: its jobs recorded, a few lines
            launcher = stopping.worker_killed(exc)
            if not launcher:
                raise
            raise Abort(stopping.killed_error(stopping.record_killed(), slurm=launcher == "slurm")) from None

    def _sweep(self, arguments: list[str]) -> Any:
        auto = str(self.config.seeds) == "auto"
        self._orders = recorded_orders(self.sweep_dir)
        self._plan: planning.Plan | None = None
        # Any swept key is a factor, its reference always trained; study.sweep: grid or one at a time.
        jobs = expand(self.config, [*self._parse_config(), *arguments], seeds_asked(self.config)).jobs()
        self.sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, self.sweep_dir / "multirun.yaml")
        configs = self._configurations(jobs)
        launched = Launched()
        if self.config.tune.name != "lr":
            finals: list[Job] = []
            for c in configs:
                for job in c.jobs:
                    launched.add(job, finals)
            progress.resize(self.sweep_dir, len(finals))
            returns, done = [self._launch(finals, 0, "pilot" if auto else "jobs")], len(finals)
        else:
            returns, done = self._tuned(configs, launched, len(jobs))
        if auto:
            returns += self._looks(configs, launched, done)
        return returns

    @property
    def sweep_dir(self) -> Path:
        return Path(self.config.hydra.sweep.dir)

    def _tuned(self, configs: list[Configuration], launched: Launched, n_jobs: int) -> tuple[list, int]:
        """tune=lr: screen every configuration's lr grid, choose, record, then run every final job."""
        tune = self.config.tune
        screen = self._screening(configs, launched)
        progress.resize(self.sweep_dir, len(screen) + 2 * n_jobs)
        log.info("tune=lr: screening %d runs (%d configurations x %d lrs x %d seeds, %d epochs)", len(screen),
                 len(configs), len(tune.lr_scales), tune.seeds, tune.epochs)
        returns = [self._launch(screen, 0, "tune=lr screening")]
        records, finals = self._choose(configs, launched)
        with FileLock(str(self.sweep_dir / ".tuning.lock")):
            write_json(self.sweep_dir / tuning.TUNING, tuning.merge_records(load_tuning(self.sweep_dir), records))
        progress.resize(self.sweep_dir, len(screen) + len(finals))
        returns.append(self._launch(finals, len(screen), "tune=lr finals"))
        return returns, len(screen) + len(finals)

    def _looks(self, configs: list[Configuration], launched: Launched, done: int) -> list:
        """seeds=auto: look after look, the jobs that bring each open comparison's configurations to
        the next look's seeds, until the plan has no next look."""
        cfg = self.config
        base, _ = self._compose([])  # the baseline of this sweep (its fixed overrides included)
        records = load_tuning(self.sweep_dir) if cfg.tune.name == "lr" else []
        templates = planning.templates(configs, records)
        design = sequential.Design.from_config(cfg)
        returns = []
        while True:
            plan = planning.plan_seeds(self.sweep_dir, factors(base), plain(base), design, records, launched.seeds,
                                       own=set(templates))
            self._plan = plan
            planning.write_plan(self.sweep_dir, plan, self._orders)
            batch = planning.look_batch(plan, templates, self._seed, launched)
            log.info("seeds=auto: %s; %d more jobs", plan.record()["summary"], len(batch))
            if not batch:
                return returns
            progress.resize(self.sweep_dir, done + len(batch))
            returns.append(self._launch(batch, done, f"look at {plan.next_n} seeds"))
            done += len(batch)

    def _seed(self, job: Job, lr: float | None, seed: int) -> Job:
        """`job` at another seed (and lr), refused if its folder holds another configuration's result."""
        run = self._job(tuning.with_overrides(job.overrides, seed=seed))
        return self._variant(run, lr, None) if lr is not None else run

    def _configurations(self, jobs: list[list[str]]) -> list[Configuration]:
        """The sweep's jobs grouped by configuration (config_id), with its default lr and epochs."""
        configs: dict[str, Configuration] = {}
        for overrides in jobs:
            cfg, job = self._compose(overrides)
            c = configs.setdefault(job.config_id, Configuration(job.config_id, cfg.optimizer.lr,
                                                                cfg.trainer.max_epochs))
            c.jobs.append(job)
        return list(configs.values())

    def _screening(self, configs: list[Configuration], launched: Launched) -> list[Job]:
        """Phase 1: each configuration's lr grid on its screening seeds (planning.screening)."""
        return planning.screening(configs, self.config.tune, self._variant, launched)

    def _choose(self, configs: list[Configuration], launched: Launched) -> tuple[list[dict], list[Job]]:
        """Phase 2: the choices (tuning.json records) and the final runs (planning.finals)."""
        records, batch = planning.finals(configs, self.config.tune, self.sweep_dir, self._variant, launched)
        for r in records:
            log.info("tune=lr: %s: lr %g -> %g (%s)", r["example_job"], r["base_lr"], r["chosen_lr"], r["reason"])
        return records, batch

    def _compose(self, overrides: Sequence[str]) -> tuple[DictConfig, Job]:
        """The validated config of one job, and the job (identities, folder, seed)."""
        loaded = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
        try:
            cfg = validate(loaded)
        except ConfigError as exc:
            raise SweepError(f"{exc} (job {' '.join(overrides)})") from None
        return cfg, Job(list(overrides), str(loaded.hydra.sweep.subdir), job_id(cfg), config_id(cfg), int(cfg.seed))

    def _job(self, overrides: list[str]) -> Job:
        """The job of `overrides`, refused if its folder holds another configuration's result."""
        cfg, job = self._compose(overrides)
        planning.refuse_conflict(self.sweep_dir, job, cfg)
        return job

    def _variant(self, job: Job, lr: float | None, epochs: int | None) -> Job:
        """`job` at another lr and/or number of epochs (None: as the job), in its own folder."""
        if lr is None and epochs is None:
            return job
        values: dict[str, Any] = {"hydra__sweep__subdir": tuning.run_subdir(job.subdir, lr, epochs)}
        if lr is not None:
            values["optimizer__lr"] = lr
        if epochs is not None:
            values["trainer__max_epochs"] = epochs
        return self._job(tuning.with_overrides(job.overrides, **values))

    def _launch(self, batch: list[Job], first: int, label: str) -> Any:
        """Launch `batch` in its run order (recorded in seeds.json first), then wait for its jobs
        that another process is training (two copies of one sweep side by side share the work
        through the job locks)."""
        if not batch:
            return []
        stopping.check()  # a stopped sweep launches nothing more
        ordered = run_order(batch)
        self._orders = with_order(self._orders, order_record(label, ordered))
        planning.write_plan(self.sweep_dir, self._plan, self._orders)
        results = self.launcher.launch([job.overrides for job in ordered], initial_job_idx=first)
        for r in results:
            job_dir = Path(r.hydra_cfg.hydra.runtime.output_dir) if r.hydra_cfg else self.sweep_dir
            while locked_elsewhere(job_dir):
                time.sleep(5)
        return results
