"""Portable numerics (trainer.portable): the kernel pins reach every job process, are recorded, and
are refused where they would come too late."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT, data_overrides, run_cli
from lenet_ablate.errors import ConfigError
from lenet_ablate.training import portable
from lenet_ablate.training.portable import PINS, pin

def run_unpinned(args: list[str], cwd) -> subprocess.CompletedProcess:
    """`python -m lenet_ablate ARGS` in a new process from an environment without the pins."""
    env = {**{k: v for k, v in os.environ.items() if k not in PINS}, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "lenet_ablate", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)
needs_avx2 = pytest.mark.skipif(not portable.applicable(), reason="portable mode needs an x86-64 CPU with AVX2")


@needs_avx2
def test_pin_puts_the_three_pins_into_the_environment(monkeypatch):
    for key in PINS:
        monkeypatch.delenv(key, raising=False)
    assert pin(False) is False and not any(k in os.environ for k in PINS)
    assert pin(True) is True
    assert {k: os.environ[k] for k in PINS} == {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2",
                                                "MKL_CBWR": "AVX2,STRICT"}


@needs_avx2
def test_pins_set_after_aten_chose_wider_kernels_are_refused(monkeypatch):
    import torch

    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    with pytest.raises(ConfigError, match="already runs ATen's AVX512 kernels"):
        pin(True)


def test_off_x86_portable_mode_is_not_in_force(monkeypatch):
    monkeypatch.setattr(portable.platform, "machine", lambda: "arm64")
    assert pin(True) is False


def test_a_sweep_may_not_mix_portable_and_native_jobs(tmp_path, tiny_data):
    proc = run_cli(["-m", "trainer.portable=true,false", *data_overrides(*tiny_data),
                    f"hydra.sweep.dir={tmp_path / 'sweep'}"], tmp_path)
    assert proc.returncode == 2 and "trainer.portable cannot differ between the jobs of one sweep" in proc.stderr
    assert not (tmp_path / "sweep").exists() or not list((tmp_path / "sweep").glob("*/summary.json"))


@pytest.mark.processes
@needs_avx2
def test_every_job_process_records_its_kernels(tmp_path, tiny_data):
    """Fresh processes from a shell without pins: a joblib sweep in portable mode, a native run."""
    sweep, native = tmp_path / "sweep", tmp_path / "native"
    common = [*data_overrides(*tiny_data), "trainer.max_epochs=1"]
    proc = run_unpinned(["-m", "seed=0,1", *common, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
                         f"hydra.sweep.dir={sweep}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    envs = [json.loads(p.read_text())["numeric_env"] for p in sorted(sweep.glob("*/summary.json"))]
    assert len(envs) == 2 and all(e["portable"] and e["pins"] == PINS and e["cpu_capability"] == "AVX2"
                                  for e in envs)
    proc = run_unpinned([*common, "trainer.portable=false", f"hydra.run.dir={native}"], tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    env = json.loads((native / "summary.json").read_text())["numeric_env"]
    assert env["portable"] is False and env["pins"] == {}
