"""Smoke test of the benchmark's own code on a tiny generated data set."""

from __future__ import annotations

import importlib.util
import json

import pytest

from conftest import ROOT


@pytest.mark.processes
def test_bench_runs_on_tiny_data(tiny_data, tmp_path, monkeypatch):
    folder, md5 = tiny_data
    spec = importlib.util.spec_from_file_location("bench", ROOT / "bench" / "bench.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    out = tmp_path / "r.json"
    results = bench.main(["--epochs", "2", "--out", str(out), "--data-root", str(folder),
                          "--md5-json", json.dumps(md5), "--device", "cpu", "--concurrent", "2",
                          "--folder-rounds", "1"])
    saved = json.loads(out.read_text())
    assert set(saved["runs"]) == {"conventional_plain", "lenet_ablate_plain", "conventional_augment",
                                  "lenet_ablate_augment"}
    for r in saved["runs"].values():
        assert len(r["epoch_times_s"]) == 2 and r["s_per_epoch"] > 0 and 0 <= r["test_acc"] <= 1
    assert saved["runs"]["conventional_plain"]["images"] == 800
    assert saved["runs"]["lenet_ablate_plain"]["images"] == 700
    assert 1.5e6 < saved["flops_per_image"] < 3.5e6  # ~2.3 MFLOP forward + backward
    assert saved["matmul_peak_gflops"] > 0 and results["speedup_augment"] > 0
    assert saved["machine"]["device"] == "cpu"
    (two,) = saved["concurrent"]  # two jobs at once, one thread each on this 2-core default
    assert two["jobs"] == 2 and len(two["runs"]) == 2 and two["total_images_per_s"] > 0
    assert all(len(r["epoch_times_s"]) == 2 for r in two["runs"])
    png = saved["folder"]  # the same 1,100 images as a PNG folder, decoded once, then trained as idx
    assert png["images"] == 1100 and png["first_decode_s"] > 0
    assert len(png["runs"]["idx"]) == len(png["runs"]["folder"]) == 1 and png["folder_vs_idx"] > 0
    cost = saved["portable"]  # (e): one native and one portable run, each in a fresh process
    assert len(cost["runs"]["native"]) == len(cost["runs"]["portable"]) == 1
    assert cost["portable_vs_native"] == cost["runs"]["portable"][0] / cost["runs"]["native"][0]
    assert set(cost["test_acc"]) == {"native", "portable"}
