"""The package as a wheel installs it: built from this checkout, unpacked into a folder of its own
and put first on the import path of a new Python with the checkout removed from it. Every option
of every config group under conf/ must compose from the wheel's copy, and a 1-epoch job must train.
A subprocess is the point: the test process has the checkout on its path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, data_overrides

# Run in the new Python: drop the checkout from sys.path, import from the wheel only, compose every
# option of every group (a group missing from the wheel fails here), then train one job.
PROBE = """
import json, os, runpy, sys
from pathlib import Path
root, wheel, groups, job = Path(sys.argv[1]).resolve(), sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
sys.path[:] = [wheel] + [p for p in sys.path if p and Path(p).resolve() != root]
os.chdir(sys.argv[5])
import lenet_ablate, hydra_plugins.lenet_ablate_tuner as tuner
assert Path(lenet_ablate.__file__).is_relative_to(wheel), lenet_ablate.__file__
assert Path(tuner.__file__).is_relative_to(wheel), tuner.__file__
assert Path(lenet_ablate.config_dir()).is_relative_to(wheel), lenet_ablate.config_dir()
from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
assert "StudySweeper" in [c.__name__ for c in Plugins.instance().discover(Sweeper)]  # Hydra finds the sweeper
from lenet_ablate import compose
composed = 0
for group, options in groups.items():
    for option in options:  # variant is not in the defaults list: it is added (+)
        compose(f"{'+' if group == 'variant' else ''}{group}={option}", hydra=group.startswith("hydra"))
        composed += 1
print("composed", composed)
sys.argv = ["lenet_ablate", *job]
runpy.run_module("lenet_ablate", run_name="__main__")
"""


# A user's network (a module outside the package, on PYTHONPATH) on a user's image folder, from the
# wheel: the package's conf/ plus the user's --config-dir.
PROBE_OWN = """
import os, runpy, sys
from pathlib import Path
root, wheel, code, cwd = Path(sys.argv[1]).resolve(), sys.argv[2], sys.argv[3], sys.argv[4]
sys.path[:] = [wheel, code] + [p for p in sys.path if p and Path(p).resolve() != root]
os.chdir(cwd)
import lenet_ablate
assert Path(lenet_ablate.__file__).is_relative_to(wheel), lenet_ablate.__file__
sys.argv = ["lenet_ablate", *sys.argv[5:]]
runpy.run_module("lenet_ablate", run_name="__main__")
"""


def _groups() -> dict[str, list[str]]:
    """Every config group of the checkout's conf/ and its options (hydra/launcher included)."""
    conf = ROOT / "conf"
    groups: dict[str, list[str]] = {}
    for path in sorted(conf.rglob("*.yaml")):
        if path.parent != conf:
            groups.setdefault(str(path.parent.relative_to(conf)), []).append(path.stem)
    return groups


LOCAL = {".git", ".venv", "build", "dist", "multirun", "outputs", "multirun_reports", "data", ".pytest_cache"}


def _not_sources(folder: str, names: list[str]) -> set[str]:
    """What copytree leaves out: the checkout's local folders (top level) and caches anywhere."""
    top = LOCAL if Path(folder).resolve() == ROOT else set()
    return {n for n in names if n in top or n == "__pycache__" or n.endswith(".egg-info")}


@pytest.fixture(scope="module")
def wheel_dir(tmp_path_factory) -> Path:
    """The wheel built from a copy of this checkout's sources (a build/ folder left from an earlier
    build would ship whatever it holds), with no network (this environment's setuptools), unpacked."""
    out = tmp_path_factory.mktemp("wheel")
    shutil.copytree(ROOT, out / "src", ignore=_not_sources, symlinks=True)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(out / "dist"), str(out / "src")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (wheel,) = (out / "dist").glob("lenet_ablate-*.whl")
    with zipfile.ZipFile(wheel) as z:
        z.extractall(out / "site")
    return out / "site"


@pytest.mark.processes
def test_the_wheel_ships_every_config_group_and_trains_lenet5_and_a_users_network(wheel_dir, tmp_path, tiny_data):
    groups = _groups()
    shipped = {str(p.relative_to(wheel_dir / "lenet_ablate" / "conf")) for p in (wheel_dir / "lenet_ablate" / "conf").rglob("*.yaml")}
    expected = {str(p.relative_to(ROOT / "conf")) for p in (ROOT / "conf").rglob("*.yaml")}
    assert shipped == expected  # every YAML of conf/, none left out
    job = [*data_overrides(*tiny_data), "trainer.max_epochs=1", f"hydra.run.dir={tmp_path / 'run'}"]
    proc = subprocess.run([sys.executable, "-c", PROBE, str(ROOT), str(wheel_dir), json.dumps(groups),
                           json.dumps(job), str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"composed {sum(map(len, groups.values()))}" in proc.stdout
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["epochs"] == 1
    from test_own import NETS, _folder_args, _user_conf, bar_folder

    code = tmp_path / "code"
    code.mkdir()
    (code / "usernets.py").write_text(NETS)
    own = [str(ROOT), str(wheel_dir), str(code), str(tmp_path), "--config-dir", str(_user_conf(tmp_path)),
           "model=pooled", *_folder_args(bar_folder(tmp_path / "imgs", train=20, test=4)),
           f"hydra.run.dir={tmp_path / 'own'}"]
    proc = subprocess.run([sys.executable, "-c", PROBE_OWN, *own], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((tmp_path / "own" / "summary.json").read_text())
    assert summary["status"] == "completed" and summary["network"]["model"] == "pooled"


@pytest.mark.processes
def test_the_installed_package_lets_hydra_find_the_sweeper_from_any_folder(tmp_path):
    # The editable install (make install: setuptools' default mode) from a folder outside the
    # checkout, with no PYTHONPATH: Hydra's plugin discovery must see hydra_plugins/lenet_ablate_tuner.
    probe = ("from hydra.core.plugins import Plugins; from hydra.plugins.sweeper import Sweeper; "
             "print(sorted(c.__name__ for c in Plugins.instance().discover(Sweeper)))")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "StudySweeper" in proc.stdout
