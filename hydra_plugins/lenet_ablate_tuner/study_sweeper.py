"""The study's sweeper: Hydra's basic sweeper plus, where asked, learning-rate tuning (`tune=lr`)
and seeds added where they decide something (`seeds=auto`), all through the configured launcher.

tune=lr:
1. Screening: for every configuration of the sweep, its optimizer.lr x tune.lr_scales on the
   first tune.seeds seeds of the sweep, tune.epochs epochs each.
2. Final: every job of the sweep as asked (its default lr) and every seed at the configuration's
   chosen lr (best mean validation accuracy). A run equal to one already launched (same job id,
   e.g. the screening run at the chosen lr when tune.epochs is the full budget) is not launched again.

Every run is a normal job in its own folder (the job's folder plus -lr<lr>/-ep<epochs>), so
skip-completed, locks and failure isolation work as for any sweep. The choices are written to
<sweep dir>/tuning.json.

seeds=auto: after the sweep's `seeds_pilot` seeds (and tuning), each comparison of the sweep gets
the seeds that would settle it at `min_effect`, from its pilot seeds' spread only
(lenet_ablate.report.seeds), up to `seeds_max`; its level and reference get them as normal jobs.
The plan is written to <sweep dir>/seeds.json. A rerun plans from the same pilot seeds, so it asks
for the same jobs and trains none that completed.

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
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, OmegaConf

from lenet_ablate.errors import ConfigError, SweepError

log = logging.getLogger(__name__)


class StudySweeper(BasicSweeper):
    """The basic sweeper's jobs; with tune=lr each configuration also at its tuned lr; with
    seeds=auto more seeds where they would settle a comparison."""

    def sweep(self, arguments: list[str]) -> Any:
        if self.config.tune.name != "lr" and str(self.config.seeds) != "auto":
            return super().sweep(arguments)
        from lenet_ablate.study.sweeps import progress

        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        overrides = parser.parse_overrides([*self._parse_config(), *arguments])
        jobs = [job for batch in self.split_arguments(overrides, None) for job in batch]
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        configs = self._configurations(jobs)
        launched: set[str] = set()  # job ids over all phases: a run is launched once
        if self.config.tune.name != "lr":
            finals: list[list[str]] = []
            for c in configs:
                for job in c["jobs"]:
                    _once(job, launched, finals)
            progress.resize(sweep_dir, len(finals))
            returns, done = [self._launch(finals, 0)], len(finals)
        else:
            returns, done = self._tuned(configs, sweep_dir, launched, len(jobs))
        if str(self.config.seeds) == "auto":
            more = self._more_seeds(configs, sweep_dir, launched)
            progress.resize(sweep_dir, done + len(more))
            returns.append(self._launch(more, done))
        return returns

    def _tuned(self, configs: list[dict], sweep_dir: Path, launched: set[str], n_jobs: int) -> tuple[list, int]:
        """tune=lr: screen every configuration's lr grid, choose, record, then run every final job."""
        from lenet_ablate.study import tuning
        from lenet_ablate.study.records import write_json
        from lenet_ablate.study.sweeps import progress

        tune = self.config.tune
        screen = self._screening(configs, launched)
        progress.resize(sweep_dir, len(screen) + 2 * n_jobs)
        log.info("tune=lr: screening %d runs (%d configurations x %d lrs x %d seeds, %d epochs)", len(screen),
                 len(configs), len(tune.lr_scales), tune.seeds, tune.epochs)
        returns = [self._launch(screen, 0)]
        records, finals = self._choose(configs, sweep_dir, launched)
        with FileLock(str(sweep_dir / ".tuning.lock")):
            write_json(sweep_dir / tuning.TUNING, tuning.merge_records(sweep_dir / tuning.TUNING, records))
        progress.resize(sweep_dir, len(screen) + len(finals))
        returns.append(self._launch(finals, len(screen)))
        return returns, len(screen) + len(finals)

    def _more_seeds(self, configs: list[dict[str, Any]], sweep_dir: Path, launched: set[str]) -> list[list[str]]:
        """seeds=auto: the jobs that bring each configuration to the seeds its comparisons need."""
        from lenet_ablate.study.identity import factors, plain
        from lenet_ablate.study.records import write_json
        from lenet_ablate.report.seeds import SEEDS, seed_targets
        from lenet_ablate.report.tuned import load_tuning

        cfg = self.config
        base, _ = self._compose([])  # the baseline of this sweep (its fixed overrides included)
        tuned = {r["config_id"]: r for r in (load_tuning(sweep_dir) if cfg.tune.name == "lr" else [])}
        templates = {}  # config_id -> (a job of its default-lr configuration, lr or None)
        for c in configs:
            templates[c["config_id"]] = (c["jobs"][0], None)
            record = tuned.get(c["config_id"])
            if record and record["tuned_config_id"] != c["config_id"]:
                templates[record["tuned_config_id"]] = (c["jobs"][0], record["chosen_lr"])
        plan = seed_targets(sweep_dir, factors(base), plain(base), int(cfg.seeds_pilot), float(cfg.min_effect),
                            int(cfg.seeds_max), records=list(tuned.values()))
        batch = []
        for config_id, n in plan["targets"].items():
            if config_id not in templates:
                continue  # a configuration of an older sweep in the same folder
            job, lr = templates[config_id]
            for seed in range(n):
                run = self._seed(job, seed)
                _once(self._variant(run, lr, None) if lr is not None else run, launched, batch)
        write_json(sweep_dir / SEEDS, plan["record"])
        log.info("seeds=auto: %d more jobs (%s)", len(batch), plan["record"]["summary"])
        return batch

    def _seed(self, job: dict[str, Any], seed: int) -> dict[str, Any]:
        """`job` at another seed, refused if its folder holds another configuration's result."""
        from lenet_ablate.study import tuning
        from lenet_ablate.study.guard import conflict, refuse_message

        overrides = tuning.with_overrides(job["overrides"], seed=seed)
        cfg, info = self._compose(overrides)
        blocked = conflict(Path(self.config.hydra.sweep.dir) / info["subdir"], cfg)
        if blocked:
            raise SweepError(refuse_message([blocked]))
        return {**info, "overrides": overrides, "seed": seed}

    def _configurations(self, jobs: list[list[str]]) -> list[dict[str, Any]]:
        """The sweep's jobs grouped by configuration (config_id), with its default lr and epochs."""
        configs: dict[str, dict[str, Any]] = {}
        for job in jobs:
            cfg, info = self._compose(job)
            c = configs.setdefault(info["config_id"], {"config_id": info["config_id"], "base_lr": cfg.optimizer.lr,
                                                       "epochs": cfg.trainer.max_epochs, "jobs": []})
            c["jobs"].append({**info, "overrides": list(job), "seed": cfg.seed})
        return list(configs.values())

    def _screening(self, configs: list[dict[str, Any]], launched: set[str]) -> list[list[str]]:
        """Phase 1: each configuration's lr grid on its screening seeds (grid stored in `configs`)."""
        from lenet_ablate.study import tuning

        tune, batch = self.config.tune, []
        for c in configs:
            c["screen_seeds"] = sorted({j["seed"] for j in c["jobs"]})[:tune.seeds]
            epochs = None if tune.epochs == c["epochs"] else int(tune.epochs)
            c["grid"] = []
            for scale in tune.lr_scales:
                lr = tuning.lr_value(c["base_lr"], scale)
                point = {"scale": float(scale), "lr": lr, "subdirs": {}}
                for job in (j for j in c["jobs"] if j["seed"] in c["screen_seeds"]):
                    run = self._variant(job, lr if lr != c["base_lr"] else None, epochs)
                    point["subdirs"][job["seed"]] = run["subdir"]
                    _once(run, launched, batch)
                c["grid"].append(point)
        return batch

    def _choose(self, configs: list[dict[str, Any]], sweep_dir: Path,
                launched: set[str]) -> tuple[list[dict[str, Any]], list[list[str]]]:
        """Phase 2: per configuration the lr of the best mean validation accuracy (its record for
        tuning.json), and the final runs: every job at its default and at the chosen lr."""
        from lenet_ablate.study import tuning

        tune, records, batch = self.config.tune, [], []
        for c in configs:
            grid = [{"scale": p["scale"], "lr": p["lr"],
                     "runs": tuning.screening_result(sweep_dir, p["subdirs"])} for p in c["grid"]]
            choice = tuning.decide(c["base_lr"], grid, list(tune.lr_scales))
            tuned_id = c["config_id"]
            for job in c["jobs"]:
                _once(job, launched, batch)
                if choice["chosen_lr"] != c["base_lr"]:
                    tuned = self._variant(job, choice["chosen_lr"], None)
                    _once(tuned, launched, batch)
                    tuned_id = tuned["config_id"]
            records.append({"config_id": c["config_id"], "tuned_config_id": tuned_id, "base_lr": c["base_lr"],
                            **choice, "screening": {"epochs": int(tune.epochs), "seeds": c["screen_seeds"],
                                                    "lr_scales": [float(s) for s in tune.lr_scales]},
                            "full_epochs": c["epochs"], "grid": grid, "example_job": c["jobs"][0]["subdir"],
                            "decided_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
            log.info("tune=lr: %s: lr %g -> %g (%s)", c["jobs"][0]["subdir"], c["base_lr"], choice["chosen_lr"],
                     choice["reason"])
        return records, batch

    def _compose(self, overrides: Sequence[str]) -> tuple[DictConfig, dict[str, Any]]:
        """The validated config of one job, and its identities and folder name."""
        from lenet_ablate.config import validate
        from lenet_ablate.study.identity import config_id, job_id

        loaded = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
        try:
            cfg = validate(loaded)
        except ConfigError as exc:
            raise SweepError(f"{exc} (job {' '.join(overrides)})") from None
        return cfg, {"job_id": job_id(cfg), "config_id": config_id(cfg), "subdir": str(loaded.hydra.sweep.subdir)}

    def _variant(self, job: dict[str, Any], lr: float | None, epochs: int | None) -> dict[str, Any]:
        """`job` at another lr and/or number of epochs (None: as the job), in its own folder."""
        from lenet_ablate.study import tuning
        from lenet_ablate.study.guard import conflict, refuse_message

        if lr is None and epochs is None:
            return job
        values: dict[str, Any] = {"hydra__sweep__subdir": tuning.run_subdir(job["subdir"], lr, epochs)}
        if lr is not None:
            values["optimizer__lr"] = lr
        if epochs is not None:
            values["trainer__max_epochs"] = epochs
        overrides = tuning.with_overrides(job["overrides"], **values)
        cfg, info = self._compose(overrides)
        blocked = conflict(Path(self.config.hydra.sweep.dir) / info["subdir"], cfg)
        if blocked:
            raise SweepError(refuse_message([blocked]))
        return {**info, "overrides": overrides, "seed": job["seed"]}

    def _launch(self, batch: list[list[str]], first: int) -> Any:
        """Launch `batch`, then wait for its jobs that another process is training (two copies of
        one sweep side by side share the work through the job locks)."""
        from lenet_ablate.study.guard import locked_elsewhere

        if not batch:
            return []
        results = self.launcher.launch(batch, initial_job_idx=first)
        sweep_dir = Path(self.config.hydra.sweep.dir)
        for r in results:
            job_dir = Path(r.hydra_cfg.hydra.runtime.output_dir) if r.hydra_cfg else sweep_dir
            while locked_elsewhere(job_dir):
                time.sleep(5)
        return results


def _once(run: dict[str, Any], launched: set[str], batch: list[list[str]]) -> None:
    """Add `run` to `batch` unless a run with its job id was launched already."""
    if run["job_id"] not in launched:
        launched.add(run["job_id"])
        batch.append(run["overrides"])
