"""`python -m lenet_ablate.speed`: every configuration of an experiment, interleaved in one worker
process, as ratios to the reference with intervals; written to the sweep folder, shown by its report."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from conftest import data_overrides
from lenet_ablate.report.clean_speed import speed_rows
from lenet_ablate.speed import main as speed_main


def test_the_speed_command_times_each_level_against_the_reference(tmp_path, tiny_data, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    overrides = ["experiment=pooling", f"study_dir={tmp_path}", *data_overrides(*tiny_data)]
    assert speed_main([*overrides, "--epochs", "2", "--rounds", "2"]) == 0
    record = json.loads((tmp_path / "pooling" / "speed.json").read_text())
    assert record["epochs"] == 2 and record["rounds"] == 2 and record["command"].startswith(
        "python -m lenet_ablate.speed experiment=pooling")
    reference, level = record["configurations"]
    assert reference["label"] == "reference" and level["label"] == "pooling=avg"  # max is the baseline's
    assert len(reference["wall"]) == len(level["cpu"]) == 2
    (avg,) = record["levels"]
    for clock in ("wall", "cpu"):  # the ratio of the rounds' geometric means, inside its interval
        ratios = [a / r for a, r in zip(level[clock], reference[clock])]
        assert avg[clock]["ratio"] == pytest.approx(math.exp(sum(map(math.log, ratios)) / 2), rel=1e-9)
        assert avg[clock]["low"] <= avg[clock]["ratio"] <= avg[clock]["high"]
    assert "pooling=avg: wall x" in capsys.readouterr().out


def test_bad_input_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert speed_main(["experiment=nosuch"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("speed: error: cannot compose experiment=nosuch")


def test_the_report_shows_what_the_speed_command_measured():
    record = {"levels": [{"level": "activation=tanh", "wall": {"ratio": 1.25, "low": 1.2, "high": 1.3, "p": 0.001},
                          "cpu": {"ratio": 1.24, "low": 1.21, "high": 1.27, "p": 0.001}}]}
    assert speed_rows(record) == [{"level": "activation=tanh", "time per epoch, wall (ratio)": "x1.25 [x1.20, x1.30]",
                                   "time per epoch, CPU (ratio)": "x1.24 [x1.21, x1.27]"}]
    assert not pd.DataFrame(speed_rows(record)).empty
