"""`make report`: merge the job summaries and TensorBoard logs of sweeps into tables, statistics,
figures, report.md and a self-contained report.html.

python -m lenet_ablate.report [SWEEP_DIR ...] [--out DIR] [--min-effect X] [--method hommel|holm]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from lenet_ablate.errors import ReportError
from lenet_ablate.analysis.schedule import sequential
from lenet_ablate.analysis.inference import stats
from lenet_ablate.report.build import report_runs
from lenet_ablate.report.comparisons import Analysis
from lenet_ablate.report.render import remove_report
from lenet_ablate.analysis.tables.collect import STUDY, load_jobs, sweep_names
from lenet_ablate.analysis.tables.experiments import baseline
from lenet_ablate.analysis.tables.outcomes import TARGET
from lenet_ablate.analysis.tables.tuned import annotate, default_view, load_tuning
from lenet_ablate.runs.records import read_json
from lenet_ablate.study.sweeps import Progress


def sweep_analysis(sweep: Path, method: str, min_effect: float | None, runs: pd.DataFrame) -> Analysis:
    """The analysis of one sweep: its min_effect from its multirun.yaml unless given; for a seeds=auto
    sweep its sequential design, and its pace (median job time of its trained jobs, parallel jobs)."""
    try:
        cfg = OmegaConf.load(sweep / "multirun.yaml")
    except Exception:  # an old or hand-edited multirun.yaml: the defaults
        cfg = OmegaConf.create({})
    effect = min_effect if min_effect is not None else float(cfg.get("min_effect", 0.01))
    chosen = dict(outcome=str(cfg.get("seeds_outcome", "test_acc")), target=float(cfg.get("convergence_target", TARGET)))
    if str(cfg.get("seeds", "")) != "auto":
        return Analysis(method, stats.ALPHA, effect, **chosen)
    design = replace(sequential.Design.from_config(cfg), min_effect=effect)
    return Analysis(method, design.alpha, effect, design, _pace(sweep, runs), **chosen)


def _pace(sweep: Path, runs: pd.DataFrame) -> tuple[float, int] | None:
    """(median seconds of a trained job, parallel jobs) of a sweep, None without timed jobs."""
    if "lr_role" in runs:  # tune=lr's short screening runs are not what an added seed costs
        runs = runs[runs.lr_role != "screening"]
    times = runs.wall_time_s.dropna().astype(float) if "wall_time_s" in runs else pd.Series(dtype=float)
    if times.empty:
        return None
    state = read_json(sweep / Progress.FILE) or {}
    return float(times.median()), max(1, int(state.get("parallel", 1)))


def remove_stale(out: Path, keep: set[str]) -> list[Path]:
    """Remove the report folders under `out` (those holding a report.md) whose name is not in
    `keep`: reports are derived data, rebuilt from the sweeps by make report."""
    stale = [p for p in sorted(Path(out).glob("[!.]*")) if p.name not in keep and (p / "report.md").is_file()]
    for folder in stale:
        remove_report(folder)
    return stale


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lenet_ablate.report",
                                     description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("sweeps", nargs="*", type=Path, help="sweep folders (default: every sweep under multirun/)")
    parser.add_argument("--out", type=Path, default=Path("multirun_reports"), help="output folder")
    parser.add_argument("--min-effect", type=float, default=None,
                        help="smallest test-accuracy difference of interest (default: the sweep's min_effect, 0.01)")
    parser.add_argument("--method", choices=stats.METHODS, default="hommel",
                        help="family-wise adjustment: hommel (default) or holm (the analysis of earlier reports)")
    parser.add_argument("--default-lr", action="store_true",
                        help="only the runs at each configuration's default lr (a tune=lr sweep's screening and "
                             "tuned runs left out): make ablate's study after make ablate-fair ran in its folder")
    return parser


def _report_sweep(sweep: Path, out: Path, args: argparse.Namespace, levels: dict[str, str],
                  default: dict) -> tuple[pd.DataFrame, list, Analysis] | None:
    """One sweep's report; returns its runs, tuning records and analysis (None: no jobs)."""
    runs = load_jobs(sweep)
    if runs.empty:
        print(f"report: {sweep}: no jobs in this sweep folder, skipped")
        return None
    tuning = load_tuning(sweep)
    if args.default_lr and tuning:
        runs, tuning = default_view(annotate(runs, tuning)).drop(columns=["lr_role", "selected_lr"]), []
    analysis = sweep_analysis(sweep, args.method, args.min_effect, annotate(runs, tuning))
    report_runs(runs, out, f"lenet_ablate report: {sweep}", levels, default, analysis, tuning)
    print(f"report: {sweep} -> {out}/report.md, report.html ({len(runs)} jobs)")
    return runs, tuning, analysis


def _setting(frame: pd.DataFrame) -> tuple[str, ...]:
    """The networks and data a sweep's jobs trained (sweeps are pooled only where these agree)."""
    if "model" not in frame:
        return ()
    return tuple(sorted({f"{m}|{d}|{r}" for m, d, r in zip(frame.model, frame.data, frame.data_root)
                         if isinstance(m, str)}))


def _pool(frames: list[pd.DataFrame], analyses: list[Analysis], records: list, out: Path,
          levels: dict[str, str], default: dict) -> set[str]:
    """The pooled reports: one per network and data setting that two or more sweeps share ("study"
    for the setting of the most sweeps, "study-<network>-<data>" for others); a sweep of another
    network or data set is never pooled with them. Returns the report folders' names."""
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, frame in enumerate(frames):
        groups.setdefault(_setting(frame), []).append(i)
    names = set()
    for rank, (setting, members) in enumerate(sorted(groups.items(), key=lambda kv: -len(kv[1]))):
        if len(members) < 2:
            continue
        name = "study" if rank == 0 else "study-" + "-".join(dict.fromkeys(
            part for s in setting for part in s.split("|")[:2]))
        # The pooled report is a fixed-n analysis of every seed: looks belong to one sweep's design.
        strictest = replace(min((analyses[i] for i in members), key=lambda a: (a.alpha, -a.min_effect)),
                            design=None, pace=None, pooled=True)
        report_runs(pd.concat([frames[i] for i in members], ignore_index=True), out / name,
                    f"lenet_ablate report: {name}", levels, default, strictest, records)
        print(f"report: {len(members)} sweeps of the same network and data -> {out / name}/report.md, report.html")
        names.add(name)
    return names


def main(argv: list[str] | None = None) -> int:
    """Command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        names = sweep_names(args.sweeps or [STUDY])
        sweeps = list(names)
        if not sweeps:
            raise ReportError(f"no runs found under {', '.join(map(str, args.sweeps or [STUDY]))} "
                              "(no Hydra multirun.yaml); run a sweep first, e.g. make ablate")
        levels, default = baseline()
        frames, records, analyses = [], [], []
        for sweep in sweeps:
            done = _report_sweep(sweep, args.out / names[sweep], args, levels, default)
            if done is not None:
                frames.append(done[0])
                records += done[1]
                analyses.append(done[2])
        if not frames:
            raise ReportError("the sweep folders hold no jobs")
        pooled = _pool(frames, analyses, records, args.out, levels, default)
        if not args.sweeps:  # every sweep was reported: reports of sweeps that no longer exist go
            for stale in remove_stale(args.out, {*names.values(), *pooled}):
                print(f"report: removed {stale} (no sweep maps to it any more)")
    except (ReportError, OSError) as exc:
        print(f"report: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
