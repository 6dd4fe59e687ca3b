"""The five experiments as sweeps: job sets, skip-completed, failure isolation, restart after a kill,
and the parallel / cluster launchers."""

from __future__ import annotations

import json
import re
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from conftest import ROOT, data_overrides, run_cli
from lenet_ablate import compose


def statuses(sweep: Path) -> dict[str, str]:
    return {p.parent.name: json.loads(p.read_text())["status"] for p in sweep.glob("*/summary.json")}


def test_experiments_expand_to_levels_times_seeds_and_rerun_trains_nothing(tmp_path, tiny_data):
    common = [*data_overrides(*tiny_data), "trainer.max_epochs=1", f"study_dir={tmp_path}"]
    proc = run_cli(["experiment=activation", "seeds=2", *common], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(statuses(tmp_path / "activation")) == [
        f"{a}-seed{s}" for a in ("relu", "sigmoid", "tanh") for s in (0, 1)]
    proc = run_cli(["experiment=all", "seeds=1", *common], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = statuses(tmp_path / "all")
    # 5 experiments with 3+2+3+2+2 levels share one baseline: 8 distinct configurations.
    assert sorted(jobs) == sorted(f"{k}-seed0" for k in (
        "baseline", "activation_tanh", "activation_sigmoid", "pooling_avg", "optimizer_rmsprop", "optimizer_adam",
        "dropout_p0.5", "augmentation_none"))
    assert set(jobs.values()) == {"completed"}
    mtimes = {p: p.stat().st_mtime for p in (tmp_path / "all").rglob("events.out.tfevents*")}
    again = run_cli(["experiment=all", "seeds=1", *common], tmp_path)
    assert "sweep: 0 completed, 0 diverged, 0 failed, 8 skipped" in again.stdout, again.stdout[-2000:]
    assert {p: p.stat().st_mtime for p in (tmp_path / "all").rglob("events.out.tfevents*")} == mtimes
    forced = run_cli(["experiment=activation", "seeds=1", "force=true", *common], tmp_path)
    assert "sweep: 3 completed, 0 diverged, 0 failed, 0 skipped" in forced.stdout, forced.stdout[-2000:]


def test_factorial_expands_to_72_configurations():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    cfg = compose("experiment=factorial", "seeds=2", hydra=True)
    params = cfg.hydra.sweeper.params
    parsed = OverridesParser.create().parse_overrides([f"{k}={v}" for k, v in params.items()])
    sizes = [len(list(o.sweep_iterator())) for o in parsed]
    assert sorted(sizes) == [2, 2, 2, 2, 3, 3]  # seeds=2 included
    assert cfg.hydra.mode.name == "MULTIRUN"


def test_diverged_and_failed_jobs_are_isolated(tmp_path, tiny_data):
    if torch.cuda.is_available():
        pytest.skip("uses a GPU request that fails only on a machine without one")
    sweep = tmp_path / "s"
    proc = run_cli(["-m", "optimizer.lr=0.05,1e30", "trainer.accelerator=cpu,gpu", *data_overrides(*tiny_data),
                    "trainer.max_epochs=2", f"hydra.sweep.dir={sweep}"], tmp_path)
    assert "sweep: 1 completed, 1 diverged, 2 failed, 0 skipped" in proc.stdout, proc.stdout[-2000:]
    assert proc.returncode == 1  # some job failed
    by_lr = {}
    for p in sweep.glob("*/summary.json"):
        s = json.loads(p.read_text())
        by_lr[(s["config"]["optimizer"]["lr"], s["config"]["trainer"]["accelerator"])] = s
    assert by_lr[(1e30, "cpu")]["status"] == "diverged" and "non-finite" in by_lr[(1e30, "cpu")]["error"]
    assert by_lr[(1e30, "cpu")].get("epochs") is None  # stopped in the first epoch, not trained to the end
    assert by_lr[(0.05, "cpu")]["status"] == "completed"
    assert by_lr[(0.05, "gpu")]["status"] == "failed" and by_lr[(0.05, "gpu")]["error"]


def test_killed_sweep_restarts_only_missing_jobs(tmp_path, tiny_data):
    """SIGKILL while a job runs; the rerun trains exactly the jobs that had not completed. No timing
    is assumed: the kill follows the event "one job completed, another running" (files), and the
    expected counts come from the state the kill left."""
    common = [*data_overrides(*tiny_data), "trainer.max_epochs=4", f"study_dir={tmp_path}", "seeds=1"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "lenet_ablate", "experiment=activation", *common], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    sweep = tmp_path / "activation"
    while proc.poll() is None:  # poll the summaries until a job runs after one completed
        st = statuses(sweep) if sweep.exists() else {}
        if "completed" in st.values() and "running" in st.values():
            break
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = statuses(sweep)
    finished = [k for k, v in before.items() if v == "completed"]
    assert 1 <= len(finished) < 3, before  # killed mid-sweep
    kept = {job: (sweep / job / "summary.json").read_text() for job in finished}
    again = run_cli(["experiment=activation", *common], tmp_path)
    assert (f"sweep: {3 - len(finished)} completed, 0 diverged, 0 failed, {len(finished)} skipped"
            in again.stdout), again.stdout[-2000:]
    after = statuses(sweep)
    assert set(after.values()) == {"completed"} and len(after) == 3
    for job in after:  # one clean run per folder: 4 epochs of val/acc, from one attempt
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

        acc = EventAccumulator(str(sweep / job / "tb"), size_guidance={"scalars": 0})
        acc.Reload()
        assert [e.step for e in acc.Scalars("val/acc")] == [0, 1, 2, 3], job
    for job, text in kept.items():  # skipped: left untouched
        assert (sweep / job / "summary.json").read_text() == text


@pytest.mark.parametrize("launcher", ["joblib", "submitit_slurm", "submitit_local"])
def test_parallel_and_cluster_launchers_compose(launcher):
    cfg = compose(f"hydra/launcher={launcher}", "experiment=activation", hydra=True)
    assert launcher.split("_")[0] in cfg.hydra.launcher._target_.lower()


def test_seeds_auto_adds_seeds_look_by_look_and_a_rerun_trains_nothing(tmp_path, tiny_data):
    from lenet_ablate.analysis.schedule import sequential
    from lenet_ablate.study.planning import plan_seeds

    common = ["experiment=pooling", "seeds=auto", "seeds_max=8", "seeds_alpha=0.02", "trainer.max_epochs=1",
              f"study_dir={tmp_path}", *data_overrides(*tiny_data)]
    proc = run_cli(common, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    sweep = tmp_path / "pooling"
    plan = json.loads((sweep / "seeds.json").read_text())
    assert plan["design"]["schedule"] == [3, 5, 8] and plan["design"]["alpha"] == 0.02
    # The levels of each look: Pocock-type spending of 0.02 at t = 3/8, 5/8, 1 (0.02 ln(1 + (e-1) t)).
    assert [lv["alpha"] for lv in plan["design"]["levels"]] == pytest.approx(
        [0.0099470, 0.0145886 - 0.0099470, 0.02 - 0.0145886], abs=1e-6)
    assert all(look["alpha"] == lv["alpha"] for look, lv in zip(plan["looks"], plan["design"]["levels"]))
    looks = plan["looks"]
    # Every look's jobs: 2 configurations x its new seeds while the comparison is open; none after.
    assert [look["n"] for look in looks] == [3, 5, 8][:len(looks)]
    assert looks[0]["jobs_added"] == 6 and all(look["jobs_added"] == 2 * (look["n"] - prev["n"])
                                               for prev, look in zip(looks, looks[1:]))
    states = [next(iter(look["states"].values())) for look in looks]
    assert all(s == "open" for s in states[:-1]) and states[-1] != "open" and plan["next_look"] is None
    last = looks[-1]["n"]
    assert sorted(statuses(sweep)) == sorted(f"{lvl}-seed{s}" for lvl in ("max", "avg") for s in range(last))
    # The same decisions from the same results, recomputed here from the summaries alone.
    from lenet_ablate.analysis.tables.experiments import baseline

    levels, default = baseline()
    again = plan_seeds(sweep, levels, default, sequential.Design(seeds_max=8, alpha=0.02))
    assert [(look.n, look.states) for look in again.looks] == [(look["n"], look["states"]) for look in looks]
    # Each look's jobs ran in the order seeds.json records: a seed's two jobs together.
    orders = plan["orders"]
    assert [o["batch"] for o in orders] == ["pilot"] + [f"look at {look['n']} seeds" for look in looks[1:]]
    assert sorted(orders[0]["jobs"]) == sorted(f"{lvl}-seed{s}" for lvl in ("max", "avg") for s in range(3))
    for order in orders:
        assert [j.rsplit("seed", 1)[1] for j in order["jobs"]][::2] == [j.rsplit("seed", 1)[1] for j in order["jobs"]][1::2]
    started = [json.loads((sweep / j / "summary.json").read_text())["started_at"] for o in orders for j in o["jobs"]]
    assert started == sorted(started)  # the in-process launcher ran them in that order
    rerun = run_cli(common, tmp_path)
    assert "sweep: 0 completed, 0 diverged, 0 failed, 6 skipped" in rerun.stdout, rerun.stdout[-2000:]
    again_plan = json.loads((sweep / "seeds.json").read_text())
    assert again_plan["looks"] == looks and again_plan["orders"] == orders  # a rerun keeps the order
    out = tmp_path / "reports"
    from lenet_ablate.report.__main__ import main as report_main

    speed = {"command": "python -m lenet_ablate.speed experiment=pooling", "measured_at": "2026-12-07T05:00:00+0000",
             "epochs": 3, "rounds": 4, "cpus": 2, "max_load": 2, "shared": False,
             "levels": [{"level": "pooling=avg", "wall": {"ratio": 0.9, "low": 0.85, "high": 0.95},
                         "cpu": {"ratio": 0.91, "low": 0.88, "high": 0.94}}]}
    (sweep / "speed.json").write_text(json.dumps(speed))
    assert report_main([str(sweep), "--out", str(out)]) == 0
    md = (out / "pooling" / "report.md").read_text()
    speed_table = md.split("## Speed, measured cleanly")[1].split("## ")[0]
    assert re.search(r"\| pooling=avg +\| x0\.90 \[x0\.85, x0\.95\] +\| x0\.91 \[x0\.88, x0\.94\] +\|", speed_table)
    assert "Lan-DeMets Pocock-type spending of the family-wise error 0.02" in md
    assert "Looks and levels: 3: α 0.0099, interval" in md
    # A design the simulation's grid does not cover: the report says so and how to simulate it.
    assert "not for this one; its error rates: python -m lenet_ablate.analysis.schedule.simulate" in md
    assert "--alpha 0.02 --beta 0.025 --pilot 3 --looks 5 8 12 18 --seeds-max 8" in md
    # A copy that lost a pilot seed (a study stopped early): no look can be replayed, and the report
    # says so instead of judging it; reported beside the sweep, the pooled report analyses at fixed n.
    stopped = tmp_path / "later" / "stopped"
    shutil.copytree(sweep, stopped)
    shutil.rmtree(stopped / "avg-seed2")
    assert report_main([str(sweep), str(stopped), "--out", str(out)]) == 0
    row = pd.read_csv(out / "stopped" / "comparisons.csv").query("outcome == 'test_acc'").iloc[0]
    assert row.verdict.startswith("inconclusive at n=") and ("seeds (not analysed yet: the study's first look "
                                                             "waits until every comparison has 3 seeds)") in row.verdict
    assert "pools several sweeps and analyses every seed at fixed n" in (out / "study" / "report.md").read_text()


def test_progress_lines_read_the_sweep_total_from_its_file(tmp_path):
    """The total travels in <sweep>/.progress.json and the job times in the sweep's summaries, so a
    job in any worker process (a fresh one included) prints the current total and ETA; the ETA
    divides the remaining work over the parallel jobs."""
    from lenet_ablate.study.sweeps import Progress

    parent, worker = Progress(), Progress()  # the sweep's process and a joblib worker
    (tmp_path / "old").mkdir()  # trained by an earlier sweep: not part of this one's times
    (tmp_path / "old" / "summary.json").write_text(json.dumps({"action": "trained", "wall_time_s": 999.0}))
    os.utime(tmp_path / "old" / "summary.json", (0, 0))
    parent.start(tmp_path, total=4, parallel=2)
    first = worker.line(tmp_path, 1, tmp_path / "a", "started")
    assert first.startswith("[job 1/4] ") and first.endswith("ETA after the first job")
    parent.resize(tmp_path, 10)  # seeds=auto added 6 jobs
    for name, seconds, action in [("a", 60.0, "trained"), ("b", 120.0, "trained"), ("c", 5.0, "skipped")]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "summary.json").write_text(json.dumps({"action": action, "wall_time_s": seconds}))
    line = Progress().line(tmp_path, 5, tmp_path / "b", "completed", duration=120.0)
    assert line.startswith("[job 5/10] ") and " completed in 2m00s " in line
    assert line.endswith("ETA 3m45s")  # mean 90 s x 5 jobs left / 2 in parallel


def test_seeds_auto_can_allocate_seeds_for_a_convergence_outcome(tmp_path, tiny_data):
    # seeds_outcome=mean_val_acc: the looks are on mean validation accuracy over the epochs (read
    # from each job's history), seeds.json says so, and a rerun trains nothing.
    from lenet_ablate.analysis.schedule import sequential
    from lenet_ablate.analysis.tables.experiments import baseline
    from lenet_ablate.study.planning import plan_seeds

    common = ["experiment=pooling", "seeds=auto", "seeds_pilot=2", "seeds_looks=[]", "seeds_max=3",
              "seeds_outcome=mean_val_acc", "trainer.max_epochs=2", f"study_dir={tmp_path}", *data_overrides(*tiny_data)]
    proc = run_cli(common, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    sweep = tmp_path / "pooling"
    plan = json.loads((sweep / "seeds.json").read_text())
    assert plan["design"]["outcome"] == "mean_val_acc" and plan["looks"][0]["n"] == 2
    summary = json.loads((sweep / "max-seed0" / "summary.json").read_text())
    assert len(summary["history"]["val_acc"]) == 2 and summary["host"]
    levels, default = baseline()
    design = sequential.Design(pilot=2, looks=(), seeds_max=3, outcome="mean_val_acc")
    again = plan_seeds(sweep, levels, default, design)
    assert [(look.n, look.states) for look in again.looks] == [(look["n"], look["states"]) for look in plan["looks"]]
    # The looks read the outcome itself: the reference's seed 0 is the mean of its validation curve.
    from lenet_ablate.study.planning import sweep_rows

    (_, row), = sweep_rows(sweep, levels, default, [], "mean_val_acc")
    curve = summary["history"]["val_acc"]
    assert row.reference.values.loc[0] == pytest.approx((curve[0] + curve[1]) / 2)
    rerun = run_cli(common, tmp_path)
    assert rerun.returncode == 0 and " 0 completed," in rerun.stdout, rerun.stdout[-2000:]
