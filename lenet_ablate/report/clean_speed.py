"""The report's "Speed, measured cleanly" section: what `python -m lenet_ablate.speed` measured for
the report's sweeps (their speed.json), beside the study's own timings, which are judged only where
the machine was not shared."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from lenet_ablate.report.render import Report
from lenet_ablate.runs.layout import SPEED
from lenet_ablate.runs.records import read_json


def _ratio(r: dict[str, float]) -> str:
    return f"x{r['ratio']:.2f} [x{r['low']:.2f}, x{r['high']:.2f}]"


def speed_rows(record: dict[str, Any]) -> list[dict[str, str]]:
    """One row per level of one speed.json."""
    return [{"level": lv["level"], "time per epoch, wall (ratio)": _ratio(lv["wall"]),
             "time per epoch, CPU (ratio)": _ratio(lv["cpu"])} for lv in record["levels"]]


def speed_section(rep: Report, runs: pd.DataFrame) -> None:
    """A table per sweep of the report that holds a speed.json; nothing where none does."""
    sweeps = sorted({Path(d).parent for d in runs.get("job_dir", pd.Series(dtype=str)).dropna()})
    records = [(s, read_json(s / SPEED)) for s in sweeps]
    records = [(s, r) for s, r in records if r and r.get("levels")]
    if not records:
        return
    rep.heading("Speed, measured cleanly")
    for sweep, r in records:
        shared = (f" The machine was shared while measuring (load up to {r['max_load']:g} on {r['cpus']} CPUs): "
                  f"measure again on an idle machine." if r.get("shared") else "")
        rep.text(f"`{r['command']}` ({r['measured_at']}): each configuration {r['rounds']} times, "
                 f"{r['epochs']} epochs each, seed 0, one thread, interleaved in one worker process; per level the "
                 f"ratio of its median epoch time (after the warm-up epoch) to the reference's, paired by round, "
                 f"with its 95% interval (paired t on logs).{shared}")
        rep.table(pd.DataFrame(speed_rows(r)))
