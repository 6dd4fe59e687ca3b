"""The report: built from a real small sweep (1-2 epoch jobs on generated data)."""

from __future__ import annotations

import html as html_lib
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from lenet_ablate.analysis.tables.outcomes import OUTCOMES
import pytest

from conftest import ROOT, data_overrides, run_cli
from lenet_ablate.report.__main__ import main as report_main


@pytest.fixture(scope="session")
def sweep_template(tmp_path_factory, tiny_data) -> Path:
    """experiment=activation with 2 seeds, 2 epochs: 6 real jobs."""
    root = tmp_path_factory.mktemp("study")
    proc = run_cli(["experiment=activation", "seeds=2", "trainer.max_epochs=2", f"study_dir={root}",
                    *data_overrides(*tiny_data)], root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root / "activation"


@pytest.fixture
def sweep(sweep_template, tmp_path) -> Path:
    """A fresh copy with one job marked diverged and one job folder gone (missing)."""
    copy = tmp_path / "multirun" / "activation"
    shutil.copytree(sweep_template, copy)
    s = json.loads((copy / "tanh-seed1" / "summary.json").read_text())
    s.update(status="diverged", error="non-finite training loss (nan) in epoch 1")
    s.pop("metrics")
    (copy / "tanh-seed1" / "summary.json").write_text(json.dumps(s))
    shutil.rmtree(copy / "sigmoid-seed1")
    return copy


def test_report_tables_csv_and_html(sweep, tmp_path):
    out = tmp_path / "reports"
    assert report_main([str(sweep), "--out", str(out)]) == 0
    runs = pd.read_csv(out / "activation" / "runs.csv")
    assert len(runs) == 6  # 4 completed + 1 diverged + 1 missing (never started)
    assert sorted(runs.status) == ["completed"] * 4 + ["diverged", "missing"]
    relu0 = runs[runs.job == "relu-seed0"].iloc[0]
    summary = json.loads((sweep / "relu-seed0" / "summary.json").read_text())
    for key in ("train_acc", "val_acc", "test_acc", "test_loss"):
        assert relu0[key] == pytest.approx(summary["metrics"][key])
    assert relu0.epochs == 2 and relu0.seed == 0 and relu0.activation == "relu"
    assert runs[runs.status == "missing"].job.iloc[0] == "activation=sigmoid,seed=1"
    md = (out / "activation" / "report.md").read_text()
    done = runs[runs.status == "completed"]
    by_config = done.groupby("activation").val_acc.mean()
    best_line = next(line for line in md.splitlines() if line.endswith("| best   |"))
    worst_line = next(line for line in md.splitlines() if line.endswith("| worst  |"))
    name = {"relu": "| baseline ", "tanh": "| activation=tanh ", "sigmoid": "| activation=sigmoid "}
    # tanh has a diverged seed: it cannot be best, and it ranks worst (largest share of failures).
    assert best_line.startswith(name[by_config.drop("tanh").idxmax()]) and worst_line.startswith(name["tanh"])
    assert "### Experiment: activation" in md and "Hommel's step-up procedure" in md
    assert md.split("\n## ")[1].startswith("Which choices matter")  # the answer first
    table = md.split("### Experiment: activation")[1]
    assert "1 diverged" in table and "p Hommel" in table and "detectable (80% power)" in table
    comparisons = pd.read_csv(out / "activation" / "comparisons.csv")
    assert list(comparisons.columns) == [
        "outcome", "experiment", "level", "reference", "lr_view", "n_level", "n_reference", "difference", "ci95_low",
        "ci95_high", "interval", "p_raw", "p_adjusted", "alpha", "method", "detectable_difference", "seeds_needed",
        "verdict"]
    # Every outcome of analysis.tables.outcomes, one row per comparison each (2 comparisons: tanh, sigmoid).
    assert sorted(comparisons.outcome.unique()) == sorted(o.name for o in OUTCOMES)
    assert (comparisons.groupby("outcome").size() == 2).all()
    assert "## How each choice trains" in md and md.index("## How each choice trains") < md.index("### Experiment")
    tanh_gap = comparisons[(comparisons.outcome == "gap") & (comparisons.level == "tanh")].iloc[0]
    gaps = learned_gap = done[done.val_acc >= 0.15].assign(gap=lambda f: f.train_acc - f.val_acc)
    assert tanh_gap.difference == pytest.approx(gaps[gaps.activation == "tanh"].gap.mean()
                                                - gaps[gaps.activation == "relu"].gap.mean()) or learned_gap.empty
    comparisons = comparisons[comparisons.outcome == "test_acc"]
    assert set(comparisons.interval) == {"95%"} and set(comparisons.alpha) == {0.05}  # a fixed-n sweep
    sig = comparisons.set_index("level").loc["sigmoid"]
    learned = done[done.val_acc >= 0.15]  # a seed below 1.5x chance never learned: left out of the test
    means = learned.groupby("activation").test_acc.mean()
    n_sig = int((learned.activation == "sigmoid").sum())  # 1 seed run, 2 epochs: it may not have learned
    if n_sig:  # 1 seed: no test, the means' difference
        assert sig.difference == pytest.approx(means.sigmoid - means.relu)
    else:
        assert math.isnan(sig.difference) and "level: 1 of 1 seeds never learned" in sig.verdict
    assert (sig.n_level, sig.n_reference, sig.reference) == (n_sig, 2, "activation=relu")
    assert sig.verdict.startswith(f"inconclusive at n={n_sig}")
    assert sig.verdict in md.split("### ")[0]  # quoted in "Which choices matter"
    assert any("tanh-seed1" in line and "diverged" in line and "non-finite" in line for line in md.splitlines())
    assert "never started" in md
    html = (out / "activation" / "report.html").read_text()
    assert html.count("src='data:image/png;base64,") >= 5  # curves x2, confusion x2, bars
    for png in ("curves_best.png", "curves_worst.png", "confusion_best.png", "seeds_activation.png"):
        assert (out / "activation" / png).stat().st_size > 1000


def test_empty_folder_and_truncated_event_file(sweep, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = subprocess.run([sys.executable, "-m", "lenet_ablate.report", str(empty), "--out", str(tmp_path / "r")],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "no runs found" in proc.stderr
    events = sorted((sweep / "relu-seed0" / "tb").glob("events.out.tfevents*"))[-1]
    events.write_bytes(events.read_bytes()[:-5])
    proc = subprocess.run([sys.executable, "-m", "lenet_ablate.report", str(sweep), "--out", str(tmp_path / "r")],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    warnings = [line for line in proc.stdout.splitlines() if "truncated" in line]
    assert len(warnings) == 1 and events.name in warnings[0]


def test_ad_hoc_sweep_never_joins_the_study_levels(tmp_path, tiny_data):
    """experiment=pooling seeds=2 plus an ad-hoc pooling sweep at another lr under one folder: every
    level keeps its own n (the old report pooled them and crashed pairing 4 runs with 8)."""
    common = [*data_overrides(*tiny_data), "trainer.max_epochs=1"]
    assert run_cli(["experiment=pooling", "seeds=2", f"study_dir={tmp_path / 'multirun'}", *common],
                   tmp_path).returncode == 0
    proc = run_cli(["-m", "pooling=max,avg", "seed=0,1", "optimizer.lr=0.01",
                    f"hydra.sweep.dir={tmp_path / 'multirun' / 'adhoc'}", *common], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = tmp_path / "reports"
    assert report_main([str(tmp_path / "multirun"), "--out", str(out)]) == 0
    md = (out / "study" / "report.md").read_text()
    assert md.count("### Experiment: pooling") == 2 and "(around optimizer.lr=0.01)" in md
    for section in md.split("### Experiment: pooling")[1:]:
        section = section.split("\n## ")[0]  # up to the next section (the published claims)
        rows = [line for line in section.splitlines() if line.startswith("| max ") or line.startswith("| avg ")]
        assert len(rows) == 2 and all(line.split("|")[2].strip() == "2" for line in rows), rows  # n = 2 each
    assert "Family: all 2 testable comparisons" in md
    configs = md.split("## All configurations")[1].split("##")[0]
    for label in ("| baseline ", "| pooling=avg ", "| optimizer.lr=0.01 ", "| pooling=avg, optimizer.lr=0.01 "):
        assert label in configs


def test_report_replacement_keeps_the_old_report_when_interrupted(sweep, tmp_path, monkeypatch):
    from lenet_ablate.report import render

    out = tmp_path / "reports"
    old_umask = os.umask(0o022)  # under umask 022 files must come out 0644, folders 0755
    monkeypatch.setattr("lenet_ablate.runs.records.UMASK", 0o022)  # as a process started under it reads it
    assert report_main([str(sweep), "--out", str(out)]) == 0
    before = (out / "activation" / "report.md").read_text()
    real_replace = render.os.replace

    def die_at_the_swap(src, dst):
        if Path(dst).name == "activation":
            raise KeyboardInterrupt  # killed between writing the new report and swapping it in
        return real_replace(src, dst)

    monkeypatch.setattr(render.os, "replace", die_at_the_swap)
    with pytest.raises(KeyboardInterrupt):
        report_main([str(sweep), "--out", str(out)])
    assert (out / "activation" / "report.md").read_text() == before  # the old report, whole
    monkeypatch.setattr(render.os, "replace", real_replace)
    assert report_main([str(sweep), "--out", str(out)]) == 0  # the next run repairs: one version left
    assert len([p for p in out.iterdir() if p.name.startswith(".activation.")]) == 1
    modes = {p.name: p.stat().st_mode & 0o777 for p in (out / "activation").resolve().iterdir()}
    os.umask(old_umask)
    assert set(modes.values()) == {0o644} and (out / "activation").resolve().stat().st_mode & 0o777 == 0o755


def _scalars(run_dir: Path, tag: str) -> list[tuple[int, float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    acc.Reload()
    return [(e.step, e.value) for e in acc.Scalars(tag)]


def test_configurations_in_tensorboard_are_the_seed_means(sweep_template, tmp_path):
    from lenet_ablate.analysis.tables.experiments import baseline
    from lenet_ablate.tensorboard import FOLDER, write_configurations

    sweep = tmp_path / "activation"
    shutil.copytree(sweep_template, sweep)
    shutil.rmtree(sweep / "sigmoid-seed1")  # sigmoid with one seed: its charts must still find their tags
    levels, default = baseline()
    folders = write_configurations(sweep, levels, default)
    assert sorted(f.name for f in folders) == ["activation=sigmoid", "activation=tanh", "baseline"]
    for level in ("relu", "tanh"):
        runs = [_scalars(sweep / f"{level}-seed{s}" / "tb", "val/acc") for s in (0, 1)]
        folder = sweep / FOLDER / ("baseline" if level == "relu" else f"activation={level}")
        mean = _scalars(folder, "val/acc")
        assert [step for step, _ in mean] == [0, 1]
        for epoch in (0, 1):
            assert mean[epoch][1] == pytest.approx((runs[0][epoch][1] + runs[1][epoch][1]) / 2, abs=1e-6)
        low, high = _scalars(folder, "activation/val/acc/low"), _scalars(folder, "activation/val/acc/high")
        assert low[1][1] < mean[1][1] < high[1][1] or runs[0][1][1] == runs[1][1][1]
        assert _scalars(folder, "hparams/n") == [(0, 2.0)]
        assert len(_scalars(folder, "hparams/mean_val_acc")) == 1 and len(_scalars(folder, "hparams/gap")) == 1
    # A rerun replaces each run's one event file by a newer one: no duplicated events.
    before = [p.name for p in (sweep / FOLDER / "baseline").iterdir()]
    write_configurations(sweep, levels, default)
    after = [p.name for p in (sweep / FOLDER / "baseline").iterdir()]
    assert len(before) == len(after) == 1 and after[0] > before[0] and after[0].startswith("events.out.tfevents.")
    assert len(_scalars(sweep / FOLDER / "baseline", "val/acc")) == 2
    # The margin-chart layout names each experiment's band tags.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.custom_scalar import layout_pb2

    acc = EventAccumulator(str(sweep / FOLDER / "baseline"), size_guidance={"tensors": 0})
    acc.Reload()
    layout = layout_pb2.Layout.FromString(acc.Tensors("custom_scalars__config__")[0].tensor_proto.string_val[0])
    charts = {c.title: c.margin.series[0] for cat in layout.category for c in cat.chart}
    assert charts["val/acc"].value == "activation/val/acc" and charts["val/acc"].lower == "activation/val/acc/low"
    # Every tag the layout names is in every run of its experiment, sigmoid's one seed included
    # (its band is the mean itself: low = high = mean).
    for folder in folders:
        run = EventAccumulator(str(folder))
        run.Reload()
        tags = set(run.Tags()["scalars"])
        assert {t for s in charts.values() for t in (s.value, s.lower, s.upper)} <= tags, folder
    one = sweep / FOLDER / "activation=sigmoid"
    assert _scalars(one, "hparams/n") == [(0, 1.0)]
    assert _scalars(one, "activation/val/acc/low") == _scalars(one, "activation/val/acc") == \
        _scalars(one, "activation/val/acc/high")


def test_a_seed_that_never_learned_is_flagged(sweep, tmp_path):
    # A completed run at chance (no NaN, so not "diverged") must not pass silently into the means.
    path = sweep / "relu-seed1" / "summary.json"
    s = json.loads(path.read_text())
    s["metrics"].update(val_acc=0.1, test_acc=0.1)
    path.write_text(json.dumps(s))
    out = tmp_path / "reports"
    assert report_main([str(sweep), "--out", str(out)]) == 0
    md = (out / "activation" / "report.md").read_text()
    baseline_row = next(line for line in md.splitlines() if line.startswith("| baseline "))
    assert "1 seed(s) never learned (validation accuracy near chance)" in baseline_row
    # The comparisons count it with its rate's interval (Clopper-Pearson, 1 of 2: 0.0126-0.9874) and test
    # accuracy on the seeds that learned: relu keeps seed 0 only.
    comparisons = pd.read_csv(out / "activation" / "comparisons.csv").query("outcome == 'test_acc'").set_index("level")
    tanh = comparisons.loc["tanh"]
    assert "reference: 1 of 2 seeds never learned (rate 95% interval 0.013-0.987)" in tanh.verdict
    assert "accuracy compared on the seeds that learned" in tanh.verdict and tanh.n_reference == 1


def test_failure_counts_and_rates_by_hand():
    from lenet_ablate.analysis.tables import failures

    # Clopper-Pearson for 1 of 10: beta(0.025; 1, 10) = 0.00253, beta(0.975; 2, 9) = 0.4450.
    assert failures.rate_interval(1, 10) == pytest.approx((0.00253, 0.44502), abs=1e-5)
    assert failures.count_text(1, 10) == "1 of 10 seeds never learned (rate 95% interval 0.003-0.445)"
    # Fisher's exact, 5/10 against 0/10: p = 2 x C(10,5) C(10,0) / C(20,5) = 2 x 252 / 15504 = 0.0325.
    assert failures.differ_p(5, 10, 0, 10) == pytest.approx(2 * 252 / 15504)
    notes = failures.note(5, 10, 0, 10)
    assert notes[-1].startswith("the level fails more often (5/10 vs 0/10, Fisher's exact p=0.0325")
    assert failures.note(0, 10, 0, 10) == [] and len(failures.note(1, 10, 0, 10)) == 2  # 1/10 vs 0/10: p = 1


def test_configurations_sharing_a_label_are_told_apart_by_their_settings():
    # Adam at its default and at its tuned lr both read "optimizer=adam" against an SGD baseline.
    from lenet_ablate.analysis.tables.experiments import _distinct

    default = {"optimizer": {"name": "adam", "lr": 0.002}, "seed": 0}
    tuned = {"optimizer": {"name": "adam", "lr": 0.004}, "seed": 1}
    labels = ["optimizer=adam", "optimizer=adam", "baseline"]
    assert _distinct(labels, [default, tuned, default], ["aaaaaa11", "bbbbbb22", "cccccc33"]) == [
        "optimizer=adam, optimizer.lr=0.002", "optimizer=adam, optimizer.lr=0.004", "baseline"]
    # Alike in every compared setting (the seed is not one): the short config id tells them apart.
    assert _distinct(labels, [default, {**default, "seed": 3}, default], ["aaaaaa11", "bbbbbb22", "cccccc33"]) == [
        "optimizer=adam [aaaaaa]", "optimizer=adam [bbbbbb]", "baseline"]


def test_report_names_depend_on_the_sweep_alone_and_stale_reports_go(tmp_path):
    from lenet_ablate.report.__main__ import remove_stale
    from lenet_ablate.analysis.tables.collect import sweep_names

    study = tmp_path / "multirun"
    for sweep in ("all", "2026-12-01/21-47-08"):
        (study / sweep).mkdir(parents=True)
        (study / sweep / "multirun.yaml").write_text("{}")
    first = sweep_names([study])
    assert first == {study / "2026-12-01/21-47-08": "2026-12-01_21-47-08", study / "all": "all"}
    # A second sweep at the same time of day on another day: the first keeps its name.
    (study / "2026-12-02/21-47-08").mkdir(parents=True)
    (study / "2026-12-02/21-47-08" / "multirun.yaml").write_text("{}")
    (study / "2026-12-02/21-47-08" / ".sweeps").mkdir()
    (study / "2026-12-02/21-47-08" / ".sweeps" / "multirun.yaml").write_text("{}")  # history, not a sweep
    again = sweep_names([study])
    assert {k: v for k, v in again.items() if k in first} == first and len(again) == 3
    assert sweep_names([study / "all"]) == {study / "all": "all"}
    # Given itself, a sweep under the study folder keeps the name make report gives it.
    day = study / "2026-12-02/21-47-08"
    assert sweep_names([day], study=study) == {day: "2026-12-02_21-47-08"}
    assert sweep_names([day], study=tmp_path / "elsewhere") == {day: "21-47-08"}
    # Reports no sweep maps to are removed; other files of the folder stay.
    from lenet_ablate.report.render import Report

    out = tmp_path / "reports"
    for name in ("all", "21-47-08", "study"):  # as make report writes them: a link to a hidden folder
        Report(name).write(out / name, pd.DataFrame({"job": ["x"]}))
    (out / "README.md").write_text("kept")
    assert remove_stale(out, {*again.values(), "study"}) == [out / "21-47-08"]
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["README.md", "all", "study"]
    assert not [p for p in out.iterdir() if p.name.startswith(".21-47-08")]  # its folder went with the link
    assert (out / "all" / "report.md").is_file()


def test_never_started_is_judged_against_every_invocation(sweep, tmp_path):
    # An earlier invocation into the same folder asked for 3 seeds; Hydra's multirun.yaml keeps only
    # the last one's 2. The report reads both: seed 2 of each level is missing too.
    from omegaconf import OmegaConf

    from lenet_ablate.analysis.tables.collect import load_jobs

    earlier = OmegaConf.load(sweep / "multirun.yaml")
    earlier.seeds = 3
    assert len(list((sweep / ".sweeps").glob("*.yaml"))) == 1  # the sweep's own invocation, recorded
    (sweep / ".sweeps" / "2026-11-30_10-00-00_000000000.yaml").write_text(OmegaConf.to_yaml(earlier))
    runs = load_jobs(sweep)
    missing = sorted(runs[runs.status == "missing"].job)
    assert missing == ["activation=relu,seed=2", "activation=sigmoid,seed=1", "activation=sigmoid,seed=2",
                       "activation=tanh,seed=2"]


def test_signed_differences_keep_their_sign_in_markdown():
    # tabulate parses "+0.0063" back into the number 0.0063 unless told not to.
    from dataclasses import replace

    from lenet_ablate.report.comparisons import ComparisonRecord, answer_table
    from lenet_ablate.report.render import Report

    row = ComparisonRecord("test_acc", "augmentation", "none", "augmentation=standard", "default", 8, 8, 0.0063, 0.0033,
                           0.0092, "95%", 0.001, 0.004, 0.05, "paired t", 0.005, "", "differs (+0.0063)")
    rep = Report("t")
    rep.table(answer_table([row, replace(row, level="x", difference=float("nan"), ci95_low=float("nan"))]))
    md = rep.markdown()
    assert "| +0.0063 " in md and "[+0.0033, +0.0092]" in md and "nan" not in md


def test_a_job_in_training_reads_running_now_and_a_dead_one_killed(sweep, tmp_path):
    # Two jobs whose summary says "running": one whose lock another live process holds, one whose
    # process died (no lock held). The report tells them apart and counts the first in its header.
    for job in ("relu-seed0", "tanh-seed0"):
        path = sweep / job / "summary.json"
        s = json.loads(path.read_text())
        s.update(status="running")
        s.pop("metrics")
        path.write_text(json.dumps(s))
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from lenet_ablate.runs.guard import job_lock; "
         "lock = job_lock(sys.argv[1]); lock.acquire(); print('held', flush=True); sys.stdin.read()",
         str(sweep / "relu-seed0")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert holder.stdout.readline().strip() == "held"  # the child holds the lock from here on
        out = tmp_path / "reports"
        assert report_main([str(sweep), "--out", str(out)]) == 0
    finally:
        holder.communicate("", timeout=60)  # closing its stdin ends it
    runs = pd.read_csv(out / "activation" / "runs.csv").set_index("job")
    assert runs.loc["relu-seed0", "error"] == "running now (another process holds its lock)"
    assert runs.loc["tanh-seed0", "status"] == "interrupted"
    assert runs.loc["tanh-seed0", "error"] == ("interrupted: killed while running (its summary still says 'running'; "
                                               "no process holds its lock)")
    md = (out / "activation" / "report.md").read_text()
    assert "1 interrupted, 2 missing (1 of them running now)" in md  # and sigmoid-seed1's folder is gone


def test_an_open_comparison_says_what_settling_it_would_cost():
    # Pace: a job takes 120 s, two run at a time. 5 seeds now, 12 needed: 7 more per side, both sides:
    # 2 x 7 x 120 s / 2 = 840 s = 14 min. 6 needed: 1 more seed, 2 min. Settled: no cost.
    from lenet_ablate.analysis.inference import stats
    from lenet_ablate.analysis.tables.level_rows import Judgement, LevelRow, Side
    from lenet_ablate.report.comparisons import Analysis, _notes

    d = stats.Difference(test="paired t", diff=0.004, low=-0.002, high=0.01, p=0.2, spread=0.006, n=5)
    five = pd.Series([0.9] * 5, index=range(5))

    def row(need: float) -> LevelRow:
        return LevelRow("activation", "tanh", "activation=tanh", Side("a", five, set(range(5))), 0, 0.9, 0.0, 0.9,
                        0.9, "", reference=Side("b", five, set(range(5))), diff=d,
                        judged=Judgement(p_adj=0.2, alpha=0.05, seeds_needed=need))

    paced = Analysis(pace=(120.0, 2))
    assert _notes(row(12.0), paced, settled=False) == "; about 7 more seeds per side, about 14 min at this study's pace"
    assert _notes(row(6.0), paced, settled=False) == "; about 1 more seed per side, about 2 min at this study's pace"
    assert _notes(row(12.0), paced, settled=True) == "" and _notes(row(12.0), Analysis(), settled=False) == ""
    assert _notes(row(math.inf), paced, settled=False) == ""


def test_make_tensorboard_serves_the_configuration_runs_of_each_sweep(tmp_path):
    # make tensorboard's --logdir_spec: one entry per sweep with configuration runs, named as its
    # report; a sweep without them is left out; with none at all, the whole folder.
    from lenet_ablate.tensorboard import FOLDER, logdir_spec

    root = tmp_path / "multirun"
    for name in ("all", "pooling"):
        (root / name).mkdir(parents=True)
        (root / name / "multirun.yaml").write_text("{}\n")
    assert logdir_spec(root) == str(root)
    run = root / "all" / FOLDER / "baseline"
    run.mkdir(parents=True)
    (run / "events.out.tfevents.00000000000000000001.configurations").write_bytes(b"")
    assert logdir_spec(root) == f"all:{root / 'all' / FOLDER}"


def test_an_outcome_added_as_one_entry_reaches_the_report_and_the_csv(sweep, tmp_path, monkeypatch):
    # One entry in analysis.tables.outcomes.OUTCOMES: the final validation loss, lower is better.
    from lenet_ablate.analysis.tables import outcomes

    entry = outcomes.Outcome("final_val_loss", "validation loss at the checkpoint", "loss", "lower",
                             lambda r, _t: outcomes.Measure(float(r.metrics["val_loss"])), 0.05, "paired t")
    monkeypatch.setattr(outcomes, "OUTCOMES", outcomes.OUTCOMES + (entry,))
    out = tmp_path / "reports"
    assert report_main([str(sweep), "--out", str(out)]) == 0
    comparisons = pd.read_csv(out / "activation" / "comparisons.csv")
    rows = comparisons[comparisons.outcome == "final_val_loss"].set_index("level")
    assert sorted(rows.index) == ["sigmoid", "tanh"]
    runs = pd.read_csv(out / "activation" / "runs.csv")
    done = runs[(runs.status == "completed") & (runs.val_acc >= 0.15)]
    assert rows.loc["tanh"].difference == pytest.approx(done[done.activation == "tanh"].val_loss.mean()
                                                         - done[done.activation == "relu"].val_loss.mean())
    md = (out / "activation" / "report.md").read_text()
    # its column is headed by its display name (the label, where it gives no header), not its identifier
    assert "validation loss at the checkpoint" in md.split("## How each choice trains")[1].split("\n## ")[0]


def test_a_claim_uses_the_comparisons_verdict_and_the_published_size():
    # The case the report got wrong: "tanh is worse than ReLU (0.775 vs 0.909, -0.134)" against a
    # comparison whose interval [+0.0028, +0.0093] says "no difference larger than 0.0093".
    from dataclasses import replace

    from lenet_ablate.analysis.tables.level_rows import Judgement, LevelRow, Side
    from lenet_ablate.analysis.inference.stats import Difference
    from lenet_ablate.report.claims import _comparison_claim

    d = Difference("paired t", 0.006, 0.0028, 0.0093, 0.3, 0.004, 5)
    five = pd.Series([0.9] * 5, index=range(5))
    row = LevelRow("activation", "tanh", "activation=tanh", Side("a", five, set(range(5))), 0, 0.9, 0.0, 0.9, 0.9, "",
                   reference=Side("b", five, set(range(5))), diff=d,
                   judged=Judgement(p_adj=0.3, alpha=0.05, seeds_needed=5, detectable_80=0.01,
                                    verdict="no difference larger than 0.0093"))
    got = _comparison_claim("tanh is worse than ReLU", "-0.134", row, -1, "tanh − ReLU", "default lr", -0.134)
    assert got["verdict"] == ("contradicted: no difference larger than 0.0093; the published -0.134 is outside our "
                              "interval [+0.0028, +0.0093]")
    # Open, but the interval still excludes the published size; and without a published size.
    open_row = replace(row, diff=Difference("paired t", 0.006, 0.0001, 0.0119, 0.3, 0.004, 3),
                       judged=replace(row.judged, verdict="inconclusive"))
    assert _comparison_claim("c", "p", open_row, -1, "w", "v", -0.134)["verdict"].startswith("contradicted in size")
    assert _comparison_claim("c", "p", row, -1, "w", "v")["verdict"].startswith("not supported: no difference")


def test_shirt_is_the_hardest_class_is_checked_by_seed():
    from lenet_ablate.analysis.tables.classes import CLASS_NAMES
    from lenet_ablate.report.published import Evidence, hardest_class

    names = CLASS_NAMES["fashion_mnist"]
    def job(seed: int, shirt: int, pullover: int) -> dict:
        m = [[0] * 10 for _ in range(10)]
        for c in range(10):
            m[c][c] = {6: shirt, 2: pullover}.get(c, 95)
            m[c][(c + 1) % 10] = 100 - m[c][c]
        return {"seed": seed, "_confusion": m}
    # Shirt 70, 72, 71 of 100 against Pullover 83, 86, 84: -0.13, -0.14, -0.13 by seed, p < 0.05.
    jobs = pd.DataFrame([job(0, 70, 83), job(1, 72, 86), job(2, 71, 84)])
    got = hardest_class(Evidence({}, {("", ""): jobs}, names))
    assert got["verdict"] == "holds" and "hardest Shirt 0.710, next Pullover 0.843" in got["this study"]
    # Shirt lowest by the mean, but Pullover below it on one seed: not resolved.
    jobs = pd.DataFrame([job(0, 70, 90), job(1, 80, 75), job(2, 71, 84)])
    assert hardest_class(Evidence({}, {("", ""): jobs}, names))["verdict"].startswith("Shirt is lowest, but not resolved")


def test_the_seed_noise_section_says_what_the_seeds_show_and_what_to_do():
    from lenet_ablate.analysis.schedule import sequential
    from lenet_ablate.analysis.schedule.seed_noise import Shape
    from lenet_ablate.report.build import _noise_text
    from lenet_ablate.report.comparisons import Analysis

    skewed, clear, unsure = Shape(144, 14, -0.9, 0.001, 0.96), Shape(144, 14, -0.26, 0.096, 0.96), Shape(64, 7, -0.19, 0.246, 0.72)
    text = _noise_text(skewed, Analysis(design=sequential.EXACT))
    assert "(144 seeds): skewness -0.90; D'Agostino's test of a left tail p = 0.001" in text
    assert "**Left-skewed.** This sweep ran seeds_boundaries=exact" in text and "seeds_boundaries=bonferroni" in text
    assert "This sweep's design keeps its error rates" in _noise_text(skewed, Analysis(design=sequential.Design()))
    assert "were not simulated under such noise" in _noise_text(skewed, Analysis())
    assert _noise_text(clear, Analysis()).endswith("No left tail found.")
    assert _noise_text(unsure, Analysis()).endswith("too few seeds to be sure (power below 0.8).")
    assert "Too few seeds to tell" in _noise_text(None, Analysis())


def test_effects_figure_marks_each_verdict_kind_and_both_lr_views():
    from types import SimpleNamespace as R

    from lenet_ablate.report.effects import effects_figure, verdict_kind

    assert [verdict_kind(v) for v in ("differs (-0.0100)", "no difference larger than 0.0040",
                                      "not resolved at n=3 seeds", "")] == \
        ["differs", "no difference", "not resolved", "not resolved"]
    rows = [R(outcome="test_acc", experiment="activation", level="tanh", lr_view=view, n_level=5,
              difference=d, ci95_low=d - 0.004, ci95_high=d + 0.004, verdict=v)
            for view, d, v in (("default", -0.01, "differs (-0.0100)"), ("tuned", 0.001, "no difference larger than 0.005"))]
    rows.append(R(outcome="gap", experiment="activation", level="tanh", lr_view="default", n_level=5,
                  difference=float("nan"), ci95_low=0, ci95_high=0, verdict=""))
    png = effects_figure(rows, "test_acc", 0.01, "test accuracy")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert effects_figure(rows, "mean_val_acc", 0.01, "x") is None  # no comparison of that outcome


WINDOW = 1280  # px: the window the report must fit without horizontal scrolling
MEASURE = """<html><body style="margin:0"><iframe id="f" src="{src}" style="width:{w}px;height:900px;border:0"></iframe>
<script>document.getElementById('f').onload = function() {{ var d = this.contentDocument, e = [];
d.querySelectorAll('table').forEach(function(t) {{ e.push(Math.round(t.getBoundingClientRect().right)); }});
var p = document.createElement('pre'); p.textContent = 'WIDTH ' + d.documentElement.scrollWidth + ' ' + e.join(',');
document.body.appendChild(p); }};</script></body></html>"""


def browser_widths(report: Path, tmp_path: Path) -> tuple[int, list[int]] | None:
    """(page scroll width, each table's right edge) of `report` in headless Chromium in a
    1280-pixel-wide frame; None where no Chromium is installed."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return None
    page = tmp_path / "measure.html"
    page.write_text(MEASURE.format(src=report.resolve().as_uri(), w=WINDOW))
    proc = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
                           "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    found = re.search(r"WIDTH (\d+) ([\d,]*)", proc.stdout)
    assert found, proc.stderr[-2000:]
    return int(found.group(1)), [int(x) for x in found.group(2).split(",") if x]


def min_content_widths(report_html: str) -> list[float]:
    """Each table's narrowest possible width, estimated without a browser: per column its longest
    unbreakable word at 7.5 px a character (13 px sans-serif) plus 15 px of padding and border."""
    widths = []
    for table in re.findall(r"<table.*?</table>", report_html, flags=re.S):
        columns: dict[int, int] = {}
        for row in re.findall(r"<tr>(.*?)</tr>", table, flags=re.S):
            for i, text in enumerate(re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S)):
                words = html_lib.unescape(re.sub(r"<[^>]+>", "", text)).split() or [""]
                columns[i] = max(columns.get(i, 0), max(map(len, words)))
        widths.append(sum(7.5 * n + 15 for n in columns.values()))
    return widths


def test_no_table_is_wider_than_a_1280_pixel_window(sweep, tmp_path):
    out = tmp_path / "reports"
    assert report_main([str(sweep), "--out", str(out)]) == 0
    report = out / "activation" / "report.html"
    assert max(min_content_widths(report.read_text())) < WINDOW - 180  # the page's margins
    wide = "<table><tr>" + "<td>averyveryverylongidentifier</td>" * 12 + "</tr></table>"
    assert min_content_widths(wide)[0] > WINDOW  # the estimate sees a table that cannot fit
    measured = browser_widths(report, tmp_path)
    if measured is not None:  # a real browser's layout, where one is installed (CI installs Chromium)
        scroll, edges = measured
        assert scroll <= WINDOW and max(edges) <= WINDOW, (scroll, edges)
        (tmp_path / "wide.html").write_text(f"<html><body>{wide}</body></html>")
        assert browser_widths(tmp_path / "wide.html", tmp_path)[0] > WINDOW  # the measurement can fail


def test_a_study_of_two_numeric_environments_says_so():
    from lenet_ablate.analysis.tables.collect import environment_label
    from lenet_ablate.report.build import _environments

    amd = {"cpu_model": "AMD EPYC 9654", "cpu_capability": "AVX512", "threads": 1, "pins": {}}
    intel = {"cpu_model": "Intel Xeon", "cpu_capability": "AVX2", "threads": 1, "pins": {"MKL_CBWR": "AVX2"}}
    assert environment_label(intel) == "Intel Xeon (AVX2), 1 thread(s), pinned MKL_CBWR=AVX2"
    assert environment_label(None) == "not recorded"
    runs = pd.DataFrame({"numeric_env": [environment_label(amd)] * 2 + [environment_label(intel)]})
    assert _environments(runs) == (" Numbers: 2 jobs on AMD EPYC 9654 (AVX512), 1 thread(s); 1 jobs on Intel Xeon "
                                   "(AVX2), 1 thread(s), pinned MKL_CBWR=AVX2: the verdicts are valid, but the numbers "
                                   "reproduce bit for bit only on the same kind of CPU and kernels (docs/performance.md).")
    assert _environments(runs.iloc[:2]) == " Numbers: 2 jobs on AMD EPYC 9654 (AVX512), 1 thread(s)."
