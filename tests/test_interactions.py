"""Verdicts on a grid, by hand: main effects averaged over the other factor, the interaction as a
difference of differences per seed, a paired t over seeds and one Hommel family."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from lenet_ablate.analysis.tables.interactions import contrasts, grid_factors, judged, pair_means

# Four seeds of a 2 x 2 grid. tanh - relu under sgd: -0.02 -0.01 -0.02 -0.02; under adam: 0 +0.02
# -0.01 0; so the interaction per seed is +0.02 +0.03 +0.01 +0.02.
CELLS = {("relu", "sgd"): [0.80, 0.81, 0.79, 0.80], ("tanh", "sgd"): [0.78, 0.80, 0.77, 0.78],
         ("relu", "adam"): [0.85, 0.86, 0.84, 0.85], ("tanh", "adam"): [0.85, 0.88, 0.83, 0.85]}
T_975_3 = 3.182446  # t quantile, 3 degrees of freedom


def _grid() -> pd.DataFrame:
    return pd.DataFrame([{"activation": a, "optimizer": o, "seed": s, "test_acc": x}
                         for (a, o), values in CELLS.items() for s, x in enumerate(values)])


def test_main_effects_and_the_interaction_by_hand():
    done = _grid()
    assert grid_factors(done, ["activation", "optimizer", "pooling"]) == ["activation", "optimizer"]
    assert grid_factors(done[done.activation == "relu"], ["activation", "optimizer"]) == []
    table = judged(contrasts(done, ["activation", "optimizer"], {"activation": "relu", "optimizer": "sgd"}),
                   min_effect=0.01).set_index("contrast")
    inter = table.loc["activation=tanh x optimizer=adam"]
    # mean 0.02; sd sqrt((0 + 0.01^2 + 0.01^2 + 0) / 3) = 0.0081650; half-width t * sd / 2
    assert inter.kind == "interaction" and inter.n == 4
    assert inter.estimate == pytest.approx(0.02)
    assert inter.ci95_low == pytest.approx(0.02 - T_975_3 * 0.0081650 / 2, abs=1e-6)
    # raw p 0.0163 (t = 4.899, 3 df); Hommel over 3 is at most Holm's 2 x 0.0163 < 0.05
    assert inter.p_raw == pytest.approx(0.01628, abs=2e-4) and inter.verdict == "interacts (+0.0200)"
    adam = table.loc["optimizer=adam"]  # (0.05 + 0.07) / 2 ... per seed: 0.06 0.065 0.055 0.06
    assert adam.estimate == pytest.approx(0.06) and adam.verdict == "differs (+0.0600)"
    tanh = table.loc["activation=tanh"]  # per seed: -0.01 +0.005 -0.015 -0.01, sd 0.0086603
    assert tanh.estimate == pytest.approx(-0.0075)
    assert tanh.ci95_high == pytest.approx(-0.0075 + T_975_3 * 0.0086603 / 2, abs=1e-6)
    assert tanh.verdict.startswith("inconclusive at n=4 seeds")


def test_an_interaction_within_the_bound_is_no_interaction_larger_than_it():
    done = _grid()
    flat = done.copy()  # tanh - relu equal under both optimizers, up to a small wobble
    wobble = [0.001, -0.001, 0.0005, -0.0005]
    for s, w in enumerate(wobble):
        under_adam = (flat.activation == "tanh") & (flat.optimizer == "adam") & (flat.seed == s)
        relu_adam = float(flat[(flat.activation == "relu") & (flat.optimizer == "adam") & (flat.seed == s)].test_acc.iloc[0])
        tanh_sgd = float(flat[(flat.activation == "tanh") & (flat.optimizer == "sgd") & (flat.seed == s)].test_acc.iloc[0])
        relu_sgd = float(flat[(flat.activation == "relu") & (flat.optimizer == "sgd") & (flat.seed == s)].test_acc.iloc[0])
        flat.loc[under_adam, "test_acc"] = relu_adam + (tanh_sgd - relu_sgd) + w
    table = judged(contrasts(flat, ["activation", "optimizer"], {"activation": "relu", "optimizer": "sgd"}),
                   min_effect=0.01).set_index("contrast")
    inter = table.loc["activation=tanh x optimizer=adam"]
    assert inter.estimate == pytest.approx(0.0, abs=1e-12)
    assert inter.verdict.startswith("no interaction larger than 0.00")


def test_the_interaction_plots_means_by_hand():
    table = pair_means(_grid(), ["activation", "optimizer"], {"activation": "relu", "optimizer": "sgd"},
                       "activation", "optimizer").set_index(["activation", "optimizer"])
    assert list(table.index) == [("relu", "sgd"), ("relu", "adam"), ("tanh", "sgd"), ("tanh", "adam")]
    assert table.loc[("tanh", "sgd"), "mean"] == pytest.approx(0.7825)  # (0.78 + 0.80 + 0.77 + 0.78) / 4
    relu_sgd = table.loc[("relu", "sgd")]  # sd 0.0081650 over 4 seeds
    assert relu_sgd["low"] == pytest.approx(0.80 - T_975_3 * 0.0081650 / 2, abs=1e-6) and relu_sgd["n"] == 4


def test_a_fractional_screen_expands_to_the_published_fraction():
    from omegaconf import OmegaConf

    from lenet_ablate.runs.designs import design
    from lenet_ablate.runs.expansion import expand

    plan = design(7)  # the example: 7 factors in 16 configurations, resolution IV
    assert (len(plan.runs()), plan.resolution, plan.generators) == (16, 4, ("E=ABC", "F=BCD", "G=ACD"))
    assert plan.aliases("AB")[:2] == ["CE", "FG"]  # AB = CE = FG
    base = OmegaConf.create({"study": {"factors": [], "sweep": "fractional"}, "seed_count": 2,
                             "k": {c: 0 for c in "abcd"}, "hydra": {"runtime": {"choices": {}}}})
    jobs = expand(base, [f"k.{c}=choice(1)" for c in "abcd"] + ["seed=0,1"]).jobs()
    assert len(jobs) == 8 * 2  # 2^(4-1) x 2 seeds, not the 16-run grid
    runs = {tuple(int(o.split("=")[1]) for o in job[:4]) for job in jobs}
    # D = ABC in +-1 signs (0 is the reference, 1 the level): d = 1 exactly where a + b + c is odd
    assert runs == {(a, b, c, (a + b + c) % 2) for a in (0, 1) for b in (0, 1) for c in (0, 1)}


def test_a_fractional_screens_main_effects_are_judged_and_its_chains_are_not():
    from lenet_ablate.analysis.tables.interactions import fraction_contrasts, fraction_design
    from lenet_ablate.runs.designs import design

    plan, wobble = design(4), [0.001, -0.001, 0.002, -0.002]
    rows = []
    for signs in plan.runs():
        for seed, w in enumerate(wobble):  # only A matters: +0.02 (and a per-seed wobble) at its level
            rows.append({**{f: ("hi" if s > 0 else "lo") for f, s in zip("ABCD", signs)}, "seed": seed,
                         "test_acc": 0.80 + 0.005 * seed + (0.02 + w) * (signs[0] > 0)})
    done = pd.DataFrame(rows)
    varied, found_plan = fraction_design(done, ["A", "B", "C", "D"])
    assert varied == ["A", "B", "C", "D"] and found_plan == plan
    found, confounded = fraction_contrasts(done, varied, plan, {f: "lo" for f in "ABCD"})
    table = judged(found, 0.01, confounded=confounded).set_index("contrast")
    assert table.loc["A=hi", "estimate"] == pytest.approx(0.02) and table.loc["A=hi", "verdict"] == "differs (+0.0200)"
    assert table.loc["B=hi", "estimate"] == pytest.approx(0.0, abs=1e-12)
    assert confounded["A=hi x B=hi"] == "C x D"  # AB = CD at resolution IV
    assert table.loc["A=hi x B=hi", "verdict"] == "confounded with C x D: not judged alone"
    assert math.isnan(table.loc["A=hi x B=hi", "p_adjusted"])


def test_a_fractional_sweep_trains_the_fraction_and_reports_its_design(tmp_path, tiny_data):
    from conftest import data_overrides, run_cli
    from lenet_ablate.report.__main__ import main as report_main

    sweep = tmp_path / "multirun" / "screen"
    proc = run_cli(["-m", "study.sweep=fractional", "activation=relu,tanh", "dropout=none,p0.5",
                    "augmentation=standard,none", "optimizer.weight_decay=choice(0.001)", "seeds=2",
                    f"hydra.sweep.dir={sweep}", *data_overrides(*tiny_data), "trainer.max_epochs=1"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(list(sweep.glob("*/summary.json"))) == 8 * 2  # 2^(4-1) configurations x 2 seeds
    out = tmp_path / "reports"
    assert report_main([str(sweep), "--out", str(out)]) == 0
    md = (out / "screen" / "report.md").read_text()
    assert "## Fractional screen: 2^(4-1) design, resolution 4 (test accuracy)" in md
    assert "generators D=ABC" in md and "defining relation I = ABCD" in md
    table = pd.read_csv(out / "screen" / "interactions.csv")
    assert (table.kind == "main effect").sum() == 4 and (table.kind == "interaction").sum() == 6
    assert table[table.kind == "interaction"].verdict.str.startswith("confounded with").all()
