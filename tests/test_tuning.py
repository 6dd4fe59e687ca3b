"""tune=lr: the choice of lr (validation accuracy only), the folder of every run, reuse of screening
runs, and the report's two views."""

from __future__ import annotations

import json
import math

import pandas as pd

from conftest import data_overrides, run_cli
from lenet_ablate.study import tuning
from lenet_ablate import compose


def point(scale: float, lr: float, *vals: float | None, status: str = "completed") -> dict:
    return {"scale": scale, "lr": lr,
            "runs": [{"seed": i, "job": f"j{i}", "status": status, "val_acc": v} for i, v in enumerate(vals)]}


def test_lr_grid_values_folders_and_overrides():
    assert tuning.lr_value(0.05, 0.25) == 0.0125
    assert tuning.lr_value(0.002, 4.0) == 0.008
    assert tuning.lr_value(0.05, 1 / 3) == 0.0166667  # 6 significant digits: equal products, equal configs
    assert tuning.run_subdir("tanh-seed0", 0.1, 3) == "tanh-seed0-lr0.1-ep3"
    assert tuning.run_subdir("tanh-seed0", None, None) == "tanh-seed0"
    job = ["activation=tanh", "seed=0", "+variant=x"]
    assert tuning.with_overrides(job, seed=1, optimizer__lr=0.1, hydra__sweep__subdir="a=b,c-lr0.1") == [
        "activation=tanh", "+variant=x", "seed=1", "optimizer.lr=0.1", "hydra.sweep.subdir='a=b,c-lr0.1'"]


def test_choice_is_the_best_mean_validation_accuracy_and_skips_diverged_lrs():
    grid = [point(0.5, 0.025, 0.80, 0.84), point(1.0, 0.05, 0.83, 0.82), point(2.0, 0.1, 0.90, None, status="diverged")]
    choice = tuning.decide(0.05, grid, [0.5, 1.0, 2.0])
    assert math.isclose(grid[0]["mean_val_acc"], 0.82) and math.isclose(grid[1]["mean_val_acc"], 0.825)
    assert math.isnan(grid[2]["mean_val_acc"])  # one diverged seed: the lr cannot be chosen
    assert (choice["chosen_lr"], choice["chosen_scale"], choice["warning"]) == (0.05, 1.0, "")
    # A tie goes to the configuration's own lr (scale nearest 1); the grid's edge is flagged.
    tie = tuning.decide(0.05, [point(0.25, 0.0125, 0.9), point(1.0, 0.05, 0.9), point(4.0, 0.2, 0.9)],
                        [0.25, 1.0, 4.0])
    assert tie["chosen_lr"] == 0.05
    edge = tuning.decide(0.05, [point(1.0, 0.05, 0.7), point(4.0, 0.2, 0.9)], [1.0, 4.0])
    assert edge["chosen_lr"] == 0.2 and "edge of the grid" in edge["warning"]
    none = tuning.decide(0.05, [point(1.0, 0.05, None, status="failed")], [1.0])
    assert none["chosen_lr"] == 0.05 and "default lr is kept" in none["reason"]


def test_tune_lr_composes_with_every_experiment_and_is_bookkeeping():
    from lenet_ablate.config import ConfigError, validate
    from lenet_ablate.runs.identity import job_id

    plain = compose("experiment=all", hydra=True)
    tuned = compose("experiment=all", "tune=lr", "tune.epochs=3", hydra=True)
    bad = compose("tune=lr", "tune.epochs=30", hydra=True)
    assert tuned.hydra.sweeper._target_.endswith("StudySweeper") and tuned.hydra.sweeper.params == plain.hydra.sweeper.params
    assert list(tuned.tune.lr_scales) == [0.25, 0.5, 1.0, 2.0, 4.0] and tuned.tune.seeds == 1
    assert job_id(validate(tuned)) == job_id(validate(plain))  # how an lr was chosen is not what a job trains
    try:
        validate(bad)
        raise AssertionError("tune.epochs above trainer.max_epochs must be refused")
    except ConfigError as exc:
        assert "tune.epochs=30" in str(exc) and "[1, 20]" in str(exc)


def test_tuned_sweep_selects_by_validation_reuses_screening_runs_and_reports_both_views(tmp_path, tiny_data):
    # 2 levels x 3 lrs (tiny, 2x the default, huge) x 2 seeds, 1 epoch: screening on seed 0 at the
    # full budget, so the screening run at the chosen lr is also the final run of seed 0.
    args = ["experiment=pooling", "tune=lr", "seeds=2", "tune.lr_scales=[0.001,2.0,10000.0]",
            "trainer.max_epochs=1", f"study_dir={tmp_path}", *data_overrides(*tiny_data)]
    proc = run_cli(args, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    sweep = tmp_path / "pooling"
    # 6 screening runs (one diverges) + per level 2 default-lr runs + 1 tuned run (seed 1; seed 0 reused).
    assert proc.stdout.count(" started |") == 12, proc.stdout[-3000:]
    assert "sweep: 10 completed, 2 diverged, 0 failed, 0 skipped" in proc.stdout
    summaries = {p.parent.name: json.loads(p.read_text()) for p in sweep.glob("*/summary.json")}
    assert sorted(summaries) == sorted(f"{lvl}-seed{s}{sfx}" for lvl in ("max", "avg") for s, sfx in (
        (0, "-lr5e-05"), (0, "-lr0.1"), (0, "-lr500"), (0, ""), (1, ""), (1, "-lr0.1")))
    records = json.loads((sweep / "tuning.json").read_text())["configurations"]
    assert len(records) == 2
    for r in records:
        level = r["grid"][0]["runs"][0]["job"].split("-")[0]
        val = {p["lr"]: summaries[p["runs"][0]["job"]].get("metrics", {}).get("val_acc") for p in r["grid"]}
        assert summaries[f"{level}-seed0-lr500"]["status"] == "diverged"
        assert val[0.1] > val[5e-05]
        assert r["chosen_lr"] == 0.1 and r["base_lr"] == 0.05  # the best validation accuracy of the grid
        assert summaries[f"{level}-seed1-lr0.1"]["config"]["optimizer"]["lr"] == 0.1
        assert r["tuned_config_id"] == summaries[f"{level}-seed1-lr0.1"]["config_id"]

    again = run_cli(args, tmp_path)
    assert "sweep: 0 completed, 2 diverged, 0 failed, 10 skipped" in again.stdout, again.stdout[-2000:]

    from lenet_ablate.report.__main__ import main as report_main

    assert report_main([str(sweep), "--out", str(tmp_path / "rep")]) == 0
    md = (tmp_path / "rep" / "pooling" / "report.md").read_text()
    for heading in ("## Tuned learning rates", "**At the shared default lr**", "**At each level’s own tuned lr**",
                    "## The published claims, checked"):
        assert heading in md
    assert (tmp_path / "rep" / "pooling" / "lr_sensitivity.png").stat().st_size > 1000
    # The answer first: the effects figure, with the default-lr and the tuned-lr comparison side by side.
    assert md.split("\n\n")[1].endswith("(effects.png)")
    comparisons = pd.read_csv(tmp_path / "rep" / "pooling" / "comparisons.csv")
    assert set(comparisons[comparisons.outcome == "test_acc"].lr_view) == {"default", "tuned"}
    runs = pd.read_csv(tmp_path / "rep" / "pooling" / "runs.csv")
    roles = runs.set_index("job").lr_role.to_dict()
    assert roles["max-seed0"] == "default" and roles["max-seed0-lr0.1"] == "tuned"
    assert roles["max-seed0-lr5e-05"] == "screening" and roles["avg-seed1-lr0.1"] == "tuned"
    assert set(runs.selected_lr) == {0.1}
    # The default-lr table holds only default-lr runs: 2 seeds per level, means from those runs.
    default_row = next(line for line in md.split("**At the shared default lr**")[1].splitlines()
                       if line.startswith("| avg"))
    avg = [summaries[f"avg-seed{s}"]["metrics"]["test_acc"] for s in (0, 1)]
    assert f"{sum(avg) / 2:.4f}" in default_row
    # --default-lr: the study without its screening and tuned runs, as make ablate saw it.
    assert report_main([str(sweep), "--out", str(tmp_path / "dl"), "--default-lr"]) == 0
    only = tmp_path / "dl" / "pooling"
    assert "tuned lr" not in (only / "report.md").read_text()
    assert set(pd.read_csv(only / "runs.csv").job) == {f"{lvl}-seed{s}" for lvl in ("max", "avg") for s in (0, 1)}
    assert set(pd.read_csv(only / "comparisons.csv").lr_view) == {"default"}

    # seeds=auto on this sweep: the tuned view's comparisons name the tuned configurations (lr 0.1), so
    # their seeds go to those; the default view's to the default-lr ones.
    from lenet_ablate.analysis.schedule import sequential
    from lenet_ablate.analysis.tables.tuned import load_tuning
    from lenet_ablate.runs.identity import factors
    from lenet_ablate.study.planning import plan_seeds

    base = summaries["max-seed0"]["config"]
    plan = plan_seeds(sweep, factors(base), base, sequential.Design(pilot=2, looks=(), seeds_max=4),
                      load_tuning(sweep))
    tuned = {lvl: summaries[f"{lvl}-seed1-lr0.1"]["config_id"] for lvl in ("max", "avg")}
    default = {lvl: summaries[f"{lvl}-seed1"]["config_id"] for lvl in ("max", "avg")}
    pairs = {c.view: (c.name, c.level, c.reference) for c in plan.comparisons}
    assert pairs == {"default lr": ("pooling=avg", default["avg"], default["max"]),
                     "tuned lr": ("pooling=avg", tuned["avg"], tuned["max"])}
    assert [look.n for look in plan.looks] == [2]
    open_ = {k.split(" (")[1][:-1] for k, v in plan.looks[0].states.items() if v == "open"}
    assert plan.wanted == {cid: 4 for view in open_ for cid in pairs[view][1:]}
    # The same folder planned by a sweep without tune=lr (make ablate after make ablate-fair): only the
    # comparisons of the configurations it makes. Without `own`, the tuned and screening runs form
    # comparisons of their own, which it cannot bring to any look.
    design = sequential.Design(pilot=2, looks=(), seeds_max=4)
    mixed = plan_seeds(sweep, factors(base), base, design)
    assert len(mixed.comparisons) > 1
    alone = plan_seeds(sweep, factors(base), base, design, own=set(default.values()))
    assert [(c.name, c.level, c.reference) for c in alone.comparisons] == [pairs["default lr"]]
    assert [look.n for look in alone.looks] == [2]

    # In TensorBoard: the four configurations (each level at both lrs), not the screening runs.
    from lenet_ablate.tensorboard import write_configurations

    folders = write_configurations(sweep, factors(base), base)
    assert len(folders) == 4 and not any("5e-05" in f.name or "500" in f.name for f in folders), folders


def test_a_configuration_tuned_under_two_identity_schemes_has_one_record(tmp_path):
    """tuning.json keeps each record under the id it was written with; after a scheme change a
    retuned configuration is there twice. The report reads one record, the latest decision."""
    from lenet_ablate.analysis.tables.tuned import load_tuning
    from lenet_ablate.runs.identity import config_id
    from lenet_ablate.runs.records import write_json

    config = {"optimizer": {"name": "sgd", "lr": 0.05}, "seed": 0}
    write_json(tmp_path / "baseline-seed0" / "summary.json", {"status": "completed", "config": config})
    record = {"base_lr": 0.05, "example_job": "baseline-seed0", "tuned_config_id": "t"}
    write_json(tmp_path / "tuning.json", {"configurations": [
        {**record, "config_id": "scheme-1-id", "chosen_lr": 0.1, "decided_at": "2026-11-22T23:00:00+0000"},
        {**record, "config_id": "scheme-3-id", "chosen_lr": 0.025, "decided_at": "2026-11-29T19:15:15+0000"}]})
    records = load_tuning(tmp_path)
    assert [(r["config_id"], r["chosen_lr"]) for r in records] == [(config_id(config), 0.025)]


def test_tuning_json_written_by_0_4_is_compacted_to_one_record_per_configuration(tmp_path):
    """0.4 kept a record per configuration per identity scheme; the next write keeps one, the
    latest decision, under today's id."""
    from lenet_ablate.analysis.tables.tuned import load_tuning
    from lenet_ablate.runs.identity import config_id
    from lenet_ablate.runs.records import write_json
    from lenet_ablate.study.tuning import merge_records

    config = {"optimizer": {"name": "sgd", "lr": 0.05}, "seed": 0}
    write_json(tmp_path / "baseline-seed0" / "summary.json", {"status": "completed", "config": config})
    record = {"base_lr": 0.05, "example_job": "baseline-seed0", "tuned_config_id": "t", "grid": []}
    write_json(tmp_path / "tuning.json", {"configurations": [
        {**record, "config_id": "scheme-1-id", "chosen_lr": 0.1, "decided_at": "2026-11-22T23:00:00+0000"},
        {**record, "config_id": "scheme-3-id", "chosen_lr": 0.025, "decided_at": "2026-11-29T19:15:15+0000"}]})
    compacted = merge_records(load_tuning(tmp_path), [])["configurations"]
    assert [(r["config_id"], r["chosen_lr"]) for r in compacted] == [(config_id(config), 0.025)]
    assert "sweep" not in compacted[0]
    newer = {**record, "config_id": config_id(config), "chosen_lr": 0.2, "decided_at": "2026-12-01T20:00:00+0000"}
    assert [r["chosen_lr"] for r in merge_records(load_tuning(tmp_path), [newer])["configurations"]] == [0.2]
