"""The seeds=auto settings are declared once (lenet_ablate.design): the config check, the job
identity, sweep folder names, Design and the simulation's options all follow that declaration."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from lenet_ablate import _with_design_keys, compose, design
from lenet_ablate.analysis.schedule import simulate
from lenet_ablate.analysis.tables.outcomes import SEQUENTIAL
from lenet_ablate.analysis.schedule.sequential import Design
from lenet_ablate.config import validate
from lenet_ablate.errors import ConfigError
from lenet_ablate.runs.identity import job_id

FIXTURE = design.Setting("seeds_fixture", "fixture", float, 0.2, "a setting added by this test",
                         check=lambda v: 0 < v < 0.5, rule="must be in (0, 0.5)")


@pytest.fixture
def extra_setting(monkeypatch):
    monkeypatch.setattr(design, "SETTINGS", (*design.SETTINGS, FIXTURE))


def test_a_new_setting_reaches_the_check_the_identity_the_folder_names_and_the_simulation(extra_setting):
    with pytest.raises(ConfigError, match=r"seeds_fixture=0\.7 is not allowed: must be in \(0, 0\.5\)"):
        validate(compose("+seeds_fixture=0.7"))
    a, b = (validate(compose(f"+seeds_fixture={v}")) for v in (0.1, 0.3))
    assert job_id(a) == job_id(b)  # it chooses seeds, never what a job computes
    assert "seeds_fixture" in _with_design_keys(["force"])  # left out of sweep folder names
    args = simulate.parser().parse_args(["--fixture", "0.4"])
    assert args.fixture == 0.4 and args.beta == 0.025


def test_the_declaration_agrees_with_the_yaml_design_and_outcomes():
    cfg = compose()
    assert {s.key: OmegaConf.to_object(cfg)[s.key] for s in design.SETTINGS} == \
        {s.key: list(s.default) if s.type is list else s.default for s in design.SETTINGS}
    assert Design.from_config(validate(cfg)) == Design()
    assert design.SEQUENTIAL_OUTCOMES == SEQUENTIAL
    names = list(compose(hydra=True).hydra.job.config.override_dirname.exclude_keys)
    assert set(design.keys()) <= set(names) and "force" in names
