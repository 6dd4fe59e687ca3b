"""The error rates and the cost of seeds=auto over the conditions users meet, by simulation.

    python -m lenet_ablate.analysis.schedule.simulate [--reps 2000] [--spending obrien_fleming] [--quick]
        [--alpha 0.03] [--beta 0.025] [--boundaries exact] [--seeds-max 30] [--looks 5 8 12 18]
        [--pilot 3] [--cells 7:1:normal 14:2:skewed ...] [--no-today] [--fixed-n]

For the configured design and 0.4's design beside it, in every cell of the grid (seed spreads x0.5
to x10 of the measured ones; normal, t(3), t(2.5), left-skewed, contaminated and collapse noise, a
baseline with its own sd; 7 and 14 comparisons) it prints the family-wise error under the null,
the false "no difference" rate at |difference| = min_effect of the worst comparison and the
average, P(all settled) at the measured differences and the mean and 90th percentile of jobs, each
with its Monte Carlo standard error. Then the fixed-n analyses. No torch here.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace

import numpy as np

from lenet_ablate.analysis.schedule import sequential
from lenet_ablate import design as declared
from lenet_ablate.analysis.schedule.montecarlo import (COLLAPSE, DROPOUT, MEASURED, SPREADS, FixedPlan, LookRates,
                                                       simulate, simulate_looks)
from lenet_ablate.analysis.schedule.noise_models import Noise

SCALES = (0.5, 1.0, 2.0, 4.0, 10.0)
NOISES = ("normal", "t(3)", "t(2.5)", "skewed", "contaminated", "collapse", "baseline sd 0.006")
FAMILIES = (7, 14)
# 0.4's design: every look at 0.02, 95% intervals.
TODAY = sequential.Design(alpha=0.02, beta=0.025, spending="none")


@dataclass(frozen=True)
class Cell:
    """One condition of the grid: comparisons, spread multiplier, noise."""

    m: int
    scale: float
    noise: str

    def spreads(self) -> np.ndarray:
        return np.resize(np.asarray(SPREADS), self.m) * self.scale

    def measured(self) -> np.ndarray:
        return np.resize(np.asarray(MEASURED), self.m)

    def edge(self, min_effect: float) -> np.ndarray:
        return min_effect * (-1.0) ** np.arange(self.m)

    def model(self) -> Noise:
        """The noise of the cell (collapse: dropout's seeds, each copy of it in a family of 14)."""
        kinds = {"normal": "normal", "t(3)": "t3", "t(2.5)": "t2.5", "skewed": "skewed",
                 "contaminated": "contaminated"}
        if self.noise == "collapse":
            return Noise(collapse=tuple(COLLAPSE if i % len(SPREADS) == DROPOUT else 0.0 for i in range(self.m)))
        if self.noise.startswith("baseline"):
            return Noise(baseline=0.006 * self.scale)
        return Noise(kinds[self.noise])


@dataclass
class CellRates:
    """A design in one cell: the null (family-wise error), the edge (false "no difference") and the
    measured differences (settled, jobs)."""

    cell: Cell
    null: LookRates
    edge: LookRates
    measured: LookRates


def run_cell(design: sequential.Design, cell: Cell, reps: int, seed: int = 0) -> CellRates:
    """The three scenarios of one cell, each on its own seeded draws."""
    zero = np.zeros(cell.m)
    runs = [simulate_looks(tuple(cell.spreads()), tuple(e), design, reps, seed + k, cell.model())
            for k, e in enumerate((zero, cell.edge(design.min_effect), cell.measured()))]
    return CellRates(cell, *runs)


def grid(quick: bool = False) -> list[Cell]:
    """Every cell (quick: x1, x4 and x10 under normal and skewed noise, 7 comparisons)."""
    if quick:
        return [Cell(7, s, n) for s in (1.0, 4.0, 10.0) for n in ("normal", "skewed")]
    return [Cell(m, s, n) for m in FAMILIES for s in SCALES for n in NOISES]


def _cell(text: str) -> Cell:
    """A cell from "M:X:NOISE" (e.g. "7:1:normal")."""
    m, scale, noise = text.split(":", 2)
    if noise not in NOISES:
        raise SystemExit(f"--cells {text!r}: noise must be one of {', '.join(NOISES)}")
    return Cell(int(m), float(scale), noise)


def _line(name: str, r: CellRates) -> str:
    c, n, e, x = r.cell, r.null, r.edge, r.measured
    return (f"{name:9s} {c.m:3d} {c.scale:5g} {c.noise:18s} {n.fwer:.3f}±{n.se(n.fwer):.3f} "
            f"{e.worst_false_equivalence:.3f}±{e.se(e.worst_false_equivalence):.3f} {e.false_equivalence:.3f} "
            f"{x.all_settled:.2f}±{x.se(x.all_settled):.2f} {x.mean_jobs:6.1f}±{x.jobs_se:.1f} "
            f"{x.p90_jobs:5.0f}±{x.p90_se:.0f}")


def _fixed_n(reps: int) -> None:
    """The fixed-n analyses the report chooses between (one family of 7 at 3 or 6 seeds)."""
    null = (0.0,) * len(SPREADS)
    # (statsmodels' Holm runs a full gc.collect() per call: its line uses at most 500 replicates.)
    designs = [("paired t, Holm, 3 seeds", dict(n=3, method="holm")), ("paired t, Hommel, 3 seeds", dict(n=3)),
               ("pooled variance, Hommel, 3 seeds", dict(n=3, pooled=True)), ("paired t, Hommel, 6 seeds", dict(n=6))]
    edge = tuple(0.01 * (-1) ** i for i in range(len(SPREADS)))
    print(f"{'fixed-n analysis':40s} {'FWER (null)':>11s} {'resolved':>9s} {'all 7':>6s} {'worst f.eq.':>11s} {'mean':>5s}")
    for name, kw in designs:
        r = min(reps, 500) if kw.get("method") == "holm" else reps
        plan = FixedPlan(**kw)
        under_null, measured = simulate(SPREADS, null, r, plan=plan), simulate(SPREADS, MEASURED, r, seed=1, plan=plan)
        at_edge = simulate(SPREADS, edge, r, seed=15, plan=plan)
        print(f"{name:40s} {under_null.fwer:11.3f} {measured.resolved:9.2f} {measured.all_resolved:6.2f} "
              f"{at_edge.worst_false_equivalence:11.3f} {at_edge.false_equivalence:5.3f}")


def parser() -> argparse.ArgumentParser:
    """The command line: the simulation's own options and one per design setting."""
    out = argparse.ArgumentParser(prog="python -m lenet_ablate.analysis.schedule.simulate",
                                  description=__doc__.split("\n\n")[0].replace("\n", " "))
    out.add_argument("--reps", type=int, default=2000)
    for setting in declared.SETTINGS:  # the design's settings, as declared once (lenet_ablate.design)
        many = setting.type is list
        out.add_argument(setting.option(), type=int if many else setting.type, nargs="*" if many else None,
                         default=list(setting.default) if many else setting.default, choices=setting.allowed,
                         help=f"{setting.key}: {setting.meaning}")
    out.add_argument("--cells", nargs="*", default=None, metavar="M:X:NOISE",
                     help="only these cells, e.g. 7:1:normal 14:2:skewed")
    out.add_argument("--quick", action="store_true", help="only x1, x4, x10 under normal and skewed noise")
    out.add_argument("--no-today", action="store_true", help="leave 0.4's design out")
    out.add_argument("--fixed-n", action="store_true", help="only the fixed-n analyses")
    return out


def main(argv: list[str] | None = None) -> int:
    """Print the grid for the configured design and 0.4's, then the fixed-n analyses."""
    args = parser().parse_args(argv)
    if args.fixed_n:
        _fixed_n(args.reps)
        return 0
    design = sequential.Design(**{s.field: tuple(v) if isinstance(v, list) else v
                                  for s in declared.SETTINGS for v in [getattr(args, s.field)]})
    today = replace(TODAY, pilot=args.pilot, looks=tuple(args.looks), seeds_max=args.seeds_max)
    print(f"seeds=auto, {args.reps} studies per cell and scenario. new: {design.name()}; looks "
          f"{design.schedule()}; levels per look (alpha, beta): "
          + ", ".join(f"{lv.n}: ({lv.alpha:.2g}, {lv.beta:.2g})" for lv in design.levels()))
    print(f"{'design':9s} {'m':>3s} {'x':>5s} {'noise':18s} {'FWER':>11s} {'worst f.eq.':>11s} {'mean':>5s} "
          f"{'P(all)':>9s} {'mean jobs':>10s} {'p90':>8s}")
    designs = [("new", design)] + ([] if args.no_today else [("0.4", today)])
    cells = grid(args.quick) if args.cells is None else [_cell(text) for text in args.cells]
    for cell in cells:
        for name, d in designs:
            print(_line(name, run_cell(d, cell, args.reps)), flush=True)
    if not args.quick and args.cells is None:
        print()
        _fixed_n(args.reps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
