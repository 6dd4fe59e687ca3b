"""Factors as data: a user's own option and factor from a config directory, the built-in
normalization and init factors, and a reduced factorial, end to end through the CLI and the report."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from conftest import data_overrides, run_cli
from lenet_ablate.report.__main__ import main as report_main

SMALL = """# @package _global_
batching:
  name: {name}
  size: {size}
data:
  batch_size: ${{batching.size}}
"""


def test_users_own_option_and_factor_need_no_package_code(tmp_path, tiny_data):
    conf = tmp_path / "myconf"
    (conf / "activation").mkdir(parents=True)
    (conf / "activation" / "gelu.yaml").write_text("_target_: torch.nn.GELU\n")
    (conf / "batching").mkdir()
    for name, size in (("small", 32), ("large", 64)):
        (conf / "batching" / f"{name}.yaml").write_text(SMALL.format(name=name, size=size))
    factors = "study.factors=[activation,pooling,optimizer,dropout,augmentation,normalization,init,head,batching]"
    sweep = tmp_path / "multirun" / "batching"
    data = [o for o in data_overrides(*tiny_data) if not o.startswith("data.batch_size")]  # the factor sets it
    proc = run_cli(["-m", "--config-dir", str(conf), "+batching=small,large", "activation=gelu", factors, "seed=0,1",
                    f"hydra.sweep.dir={sweep}", *data, "trainer.max_epochs=1"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summaries = [json.loads(p.read_text()) for p in sweep.glob("*/summary.json")]
    assert len(summaries) == 4 and {s["status"] for s in summaries} == {"completed"}
    assert {(s["factors"]["activation"], s["factors"]["batching"], s["config"]["data"]["batch_size"])
            for s in summaries} == {("gelu", "small", 32), ("gelu", "large", 64)}
    from tbparse import SummaryReader

    hparams = SummaryReader(str(Path(summaries[0]["job_dir"]) / "tb")).hparams
    assert {"activation", "batching"} <= set(hparams.tag)
    out = tmp_path / "reports"
    assert report_main([str(sweep), "--out", str(out)]) == 0
    md = (out / "batching" / "report.md").read_text()
    assert "### Experiment: batching" in md and "activation=gelu" in md
    assert "Could not find 'activation/swish'" in run_cli(["activation=swish"], tmp_path).stderr


def test_normalization_and_init_experiments_reach_the_report(tmp_path, tiny_data):
    study = tmp_path / "multirun"
    common = [*data_overrides(*tiny_data), "trainer.max_epochs=1", "seed=0,1"]
    for sweep in (["normalization=none,batch"], ["init=kaiming,default,lecun"]):
        proc = run_cli(["-m", *sweep, f"hydra.sweep.dir={study / sweep[0].split('=')[0]}", *common], tmp_path)
        assert proc.returncode == 0, proc.stderr[-2000:]
    out = tmp_path / "reports"
    assert report_main([str(study), "--out", str(out)]) == 0
    md = (out / "study" / "report.md").read_text()
    assert "### Experiment: normalization" in md and "### Experiment: init" in md
    assert "| batch " in md and "| lecun " in md and "| default " in md
    # batch, default and lecun vs their references; a pair counts where both seeds learned (1 epoch
    # of tiny data leaves some nets at chance: those seeds are counted, not tested)
    runs = pd.read_csv(out / "study" / "runs.csv")
    learned = {(r.normalization, r.init, int(r.seed)) for r in runs.itertuples() if r.val_acc >= 0.15}
    pairs = [(("batch", "kaiming"), ("none", "kaiming")), (("none", "default"), ("none", "kaiming")),
             (("none", "lecun"), ("none", "kaiming"))]
    testable = sum(sum((*a, s) in learned and (*b, s) in learned for s in (0, 1)) >= 2 for a, b in pairs)
    assert f"Family: all {testable} testable comparisons" in md


def test_reduced_factorial_shows_the_anova(tmp_path, tiny_data):
    sweep = tmp_path / "multirun" / "factorial"
    proc = run_cli(["-m", "activation=relu,tanh", "pooling=max,avg", "augmentation=standard,none", "seed=0,1",
                    f"hydra.sweep.dir={sweep}", *data_overrides(*tiny_data), "trainer.max_epochs=1"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = tmp_path / "reports"
    assert report_main([str(sweep), "--out", str(out)]) == 0
    md = (out / "factorial" / "report.md").read_text()
    anova = md.split("type-II ANOVA on test accuracy, seeds that learned)")[1]
    for term in ("| activation ", "| pooling ", "| augmentation ", "| activation:pooling ", "| Residual "):
        assert term in anova
    residual = next(line for line in anova.splitlines() if line.startswith("| Residual "))
    runs = pd.read_csv(out / "factorial" / "runs.csv")
    learned = int((runs.val_acc >= 0.15).sum())  # seeds that never learned (1.5x chance) are left out
    # learned jobs - 1 - 3 main effects - 3 interactions (16 - 7 = 9 when every seed learned)
    assert residual.split("|")[3].strip() == f"{learned - 7:.4f}"
    # Verdicts on the grid: 3 main effects and 3 two-factor interactions of two-level factors.
    assert "## Factorial verdicts: main effects and two-factor interactions (test accuracy)" in md
    contrasts = pd.read_csv(out / "factorial" / "interactions.csv")
    assert sorted(contrasts.contrast) == sorted(["activation=tanh", "pooling=avg", "augmentation=none",
                                                 "activation=tanh x pooling=avg", "activation=tanh x augmentation=none",
                                                 "pooling=avg x augmentation=none"])
    assert len(list((out / "factorial").glob("interaction_*.png"))) == 3  # one plot per factor pair
