"""`make report`: merge the job summaries and TensorBoard logs of sweeps into tables, statistics,
figures, report.md and a self-contained report.html.

python -m lenet_ablate.report [SWEEP_DIR ...] [--out DIR]
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import itertools
import shutil
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from lenet_ablate.records import SUMMARY, atomic_write_text, read_json

FACTORS = ["activation", "pooling", "optimizer", "dropout", "augmentation"]
# Outside the five factors, shown in a configuration's name only where they differ from these.
OTHER_DEFAULTS = {"data": "fashion_mnist", "model": "lenet5", "head": "softmax"}
SPLITS = ["train", "val", "test"]
CLASS_NAMES = {
    "fashion_mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                      "Ankle boot"],
    "mnist": [str(d) for d in range(10)],
}
ALPHA = 0.05


class ReportError(RuntimeError):
    """Nothing to report, or the report cannot be written; the message says which."""


# ----------------------------------------------------------------------------- collecting

def find_sweeps(paths: list[Path]) -> list[Path]:
    """Sweep folders (holding Hydra's multirun.yaml) at or under each of `paths`."""
    sweeps: list[Path] = []
    for path in paths:
        if (path / "multirun.yaml").is_file():
            sweeps.append(path)
        elif path.is_dir():
            sweeps.extend(sorted(p.parent for p in path.rglob("multirun.yaml")))
    return list(dict.fromkeys(sweeps))


def _swept_axes(sweep: Path) -> list[list[str]]:
    """For each key the sweep varied (command-line sweeps and sweeper params): its "key=value" strings."""
    from omegaconf import OmegaConf

    from lenet_ablate.sweeps import sweep_axes

    try:
        return sweep_axes(OmegaConf.load(sweep / "multirun.yaml"))[1]
    except Exception:  # an old or hand-edited multirun.yaml: then no "never started" rows
        return []


def _job_row(job: Path, sweep: Path) -> dict[str, Any]:
    s = read_json(job / SUMMARY)
    row: dict[str, Any] = {"sweep": sweep.name, "job": job.name, "job_dir": str(job)}
    if s is None:
        return {**row, "status": "missing", "error": "no summary.json (the job never finished)"}
    status = s.get("status", "missing")
    row.update(status="missing" if status == "running" else status, **(s.get("factors") or {}),
               seed=s.get("seed"), epochs=s.get("epochs"), best_epoch=s.get("best_epoch"),
               wall_time_s=s.get("wall_time_s"), job_id=s.get("job_id", s.get("config_hash")), config_id=s.get("config_id"),
               version=s.get("version"), git_commit=(s.get("git") or {}).get("commit"),
               git_dirty=(s.get("git") or {}).get("dirty"), error=s.get("error"))
    if status == "running":
        row["error"] = "killed while running (summary still says running)"
    for split in SPLITS:
        for metric in ("acc", "loss"):
            row[f"{split}_{metric}"] = (s.get("metrics") or {}).get(f"{split}_{metric}")
    row["_confusion"] = s.get("confusion_matrix")
    return row


def load_jobs(sweep: Path) -> pd.DataFrame:
    """One row per job of a sweep, including jobs that were asked for but never started (missing)."""
    import yaml

    axes = _swept_axes(sweep)
    swept = {item for axis in axes for item in axis}
    rows, seen = [], set()
    for hydra_dir in sorted(sweep.glob("*/.hydra")):
        rows.append(_job_row(hydra_dir.parent, sweep))
        try:
            overrides = yaml.safe_load((hydra_dir / "overrides.yaml").read_text()) or []
        except (OSError, yaml.YAMLError):
            continue
        seen.add(frozenset(o for o in overrides if o in swept))
    for combo in map(frozenset, itertools.product(*axes)):
        if combo not in seen:
            rows.append({"sweep": sweep.name, "job": ",".join(sorted(combo)), "job_dir": str(sweep),
                         "status": "missing", "error": "never started"})
    for row in rows:
        for events in sorted(Path(row["job_dir"]).glob("tb/events.out.tfevents*")):
            if not event_file_complete(events):
                print(f"report: warning: {events} is truncated (partial last record); its curves may end early")
                row["error"] = (row.get("error") or "") + f" truncated event file {events.name}"
    return pd.DataFrame(rows)


def event_file_complete(path: Path) -> bool:
    """True if a TensorBoard event file ends on a whole record (TFRecord framing: 8-byte length,
    4-byte CRC, payload, 4-byte CRC); a killed writer leaves a partial last record."""
    size, pos = path.stat().st_size, 0
    with open(path, "rb") as f:
        while pos < size:
            header = f.read(8)
            if len(header) < 8:
                return False
            pos += 16 + int.from_bytes(header, "little")
            f.seek(pos)
    return pos == size


def load_curves(job_dir: str) -> pd.DataFrame | None:
    """Per-epoch train/val accuracy and loss of one job from its TensorBoard run (None if unreadable)."""
    from tbparse import SummaryReader

    tb = Path(job_dir) / "tb"
    if not tb.is_dir():
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scalars = SummaryReader(str(tb)).scalars
    except Exception:
        return None
    if scalars.empty:
        return None
    keep = scalars[scalars.tag.isin(["train/acc", "train/loss", "val/acc", "val/loss"])]
    return keep.pivot_table(index="step", columns="tag", values="value", aggfunc="last")


# ----------------------------------------------------------------------------- statistics

def config_key(row: pd.Series) -> str:
    """A configuration's name in the tables: its five factor levels (and data/model/head if not default)."""
    parts = [f"{f}={row[f]}" for f in FACTORS]
    parts += [f"{c}={row[c]}" for c, default in OTHER_DEFAULTS.items() if c in row and row[c] not in (default, None)
              and row[c] == row[c]]
    return ", ".join(parts)


def config_labels(done: pd.DataFrame) -> pd.Series:
    """One label per configuration (all seeds of one config share it). Jobs that share factor levels
    but differ elsewhere (lr, epochs, ...) have different config ids and get the id appended."""
    names = done.apply(config_key, axis=1)
    if "config_id" not in done or done["config_id"].isna().any():
        return names  # summaries from before config ids: the factor levels are the configuration
    ids_per_name = done.groupby(names)["config_id"].transform("nunique")
    return names.where(ids_per_name == 1, names + " [" + done["config_id"].str[:6] + "]")


def mean_ci(values: np.ndarray) -> tuple[float, float, float, float]:
    """Mean, sample std, and the 95% t-interval of the mean (nan-wide for n < 2)."""
    values = np.asarray(values, dtype=float)
    n = len(values)
    mean = float(values.mean())
    if n < 2:
        return mean, float("nan"), float("nan"), float("nan")
    std = float(values.std(ddof=1))
    lo, hi = stats.t.interval(0.95, n - 1, loc=mean, scale=std / np.sqrt(n)) if std > 0 else (mean, mean)
    return mean, std, float(lo), float(hi)


def compare(level: pd.DataFrame, base: pd.DataFrame, metric: str = "test_acc") -> tuple[str, float]:
    """Significance test of a level against the baseline: paired t-test where both have the same seeds,
    Welch's t-test otherwise. Returns (test name, p-value)."""
    a, b = level.set_index("seed")[metric], base.set_index("seed")[metric]
    if len(a) < 2 or len(b) < 2:
        return "n<2", float("nan")
    if set(a.index) == set(b.index):
        a, b = a.sort_index(), b.loc[a.sort_index().index]
        if np.allclose(a.values - b.values, (a.values - b.values)[0]):
            return "paired t", 0.0 if a.values[0] != b.values[0] else 1.0  # zero-variance differences
        return "paired t", float(stats.ttest_rel(a.values, b.values).pvalue)
    return "Welch t", float(stats.ttest_ind(a.values, b.values, equal_var=False).pvalue)


def completed(df: pd.DataFrame) -> pd.DataFrame:
    """Completed jobs, each (configuration, seed) once."""
    done = df[df.status == "completed"].copy()
    if done.empty:
        return done
    subset = [c for c in ("job_id", "seed") if c in done]
    return done.drop_duplicates(subset=subset)


def config_summary(done: pd.DataFrame) -> pd.DataFrame:
    """Mean and std over seeds of train/val/test accuracy per configuration, best val first."""
    rows = []
    for key, g in done.groupby(config_labels(done)):
        row = {"configuration": key, "n": len(g)}
        for split in SPLITS:
            row[f"{split}_acc"] = g[f"{split}_acc"].mean()
            row[f"{split}_acc_std"] = g[f"{split}_acc"].std(ddof=1) if len(g) > 1 else float("nan")
        rows.append(row)
    return pd.DataFrame(rows).sort_values("val_acc", ascending=False).reset_index(drop=True)


def experiments(done: pd.DataFrame, baseline: dict[str, str]) -> dict[str, pd.DataFrame]:
    """For each factor with two or more levels among jobs equal to the baseline in every other
    factor: those jobs (the one-factor-at-a-time experiment around the baseline)."""
    out = {}
    for factor in FACTORS:
        others = [f for f in FACTORS if f != factor]
        mask = np.logical_and.reduce([done[f] == baseline[f] for f in others])
        sub = done[mask]
        if sub[factor].nunique() >= 2 and (sub[factor] == baseline[factor]).any():
            out[factor] = sub
    return out


def factor_table(sub: pd.DataFrame, factor: str, base_level: str) -> tuple[pd.DataFrame, str]:
    """Per level: mean/std/CI/n of test accuracy, difference from the baseline level and its test;
    plus one sentence saying whether the factor mattered beyond seed noise."""
    base = sub[sub[factor] == base_level]
    rows, significant = [], []
    levels = [base_level] + sorted(set(sub[factor]) - {base_level})
    for level in levels:
        g = sub[sub[factor] == level]
        mean, std, lo, hi = mean_ci(g.test_acc.values)
        test, p = ("baseline", float("nan")) if level == base_level else compare(g, base)
        diff = mean - base.test_acc.mean()
        rows.append({factor: level, "n": len(g), "mean": mean, "std": std, "ci95_low": lo, "ci95_high": hi,
                     "diff_vs_baseline": diff, "test": test, "p_value": p})
        if level != base_level and p == p and p < ALPHA:
            significant.append(f"{level} ({diff:+.4f}, p={p:.3g})")
    n = len(base)
    if n < 2 or (sub.groupby(factor).size() < 2).any():
        sentence = (f"With fewer than 2 seeds per level no significance test of {factor} is possible; "
                    "run more seeds (e.g. seeds=3).")
    elif significant:
        sentence = (f"**{factor} made a difference beyond seed noise**: " + "; ".join(significant) +
                    f" differ from {base_level} at the 5% level (n={n} seeds).")
    else:
        sentence = (f"No level of {factor} differs from {base_level} beyond seed noise at the 5% level "
                    f"(n={n} seeds); the differences are within what reseeding alone produces.")
    return pd.DataFrame(rows), sentence


def anova_table(done: pd.DataFrame) -> pd.DataFrame | None:
    """Main effects and two-factor interactions of test accuracy (type-II ANOVA), when the jobs
    form a full grid over at least two varied factors with replicates."""
    varied = [f for f in FACTORS if done[f].nunique() > 1]
    if len(varied) < 2:
        return None
    cells = done.groupby(varied).size()
    if len(cells) != np.prod([done[f].nunique() for f in varied]) or len(done) <= len(cells):
        return None
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    terms = [f"C({f})" for f in varied]
    formula = "test_acc ~ " + " + ".join(terms + [f"{a}:{b}" for a, b in itertools.combinations(terms, 2)])
    model = smf.ols(formula, data=done.assign(test_acc=done.test_acc.astype(float))).fit()
    table = anova_lm(model, typ=2).reset_index().rename(columns={"index": "term", "PR(>F)": "p_value"})
    table["term"] = table["term"].str.replace(r"C\((\w+)\)", r"\1", regex=True)
    return table


# ----------------------------------------------------------------------------- figures

def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


def curves_figure(jobs: pd.DataFrame, title: str) -> bytes | None:
    """Train vs val accuracy and loss per epoch: mean over seeds with a min-max band."""
    import matplotlib.pyplot as plt

    curves = [c for c in (load_curves(d) for d in jobs.job_dir) if c is not None]
    if not curves:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, metric in zip(axes, ("acc", "loss")):
        for split, color in (("train", "tab:blue"), ("val", "tab:orange")):
            tag = f"{split}/{metric}"
            series = pd.concat([c[tag] for c in curves if tag in c], axis=1)
            epochs = series.index + 1
            ax.plot(epochs, series.mean(axis=1), "o-", markersize=3, color=color, label=f"{split} (mean of {series.shape[1]})")
            ax.fill_between(epochs, series.min(axis=1), series.max(axis=1), color=color, alpha=0.2)
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy" if metric == "acc" else "loss")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=9)
    return _png(fig)


def bars_figure(table: pd.DataFrame, factor: str) -> bytes:
    """Mean test accuracy per level with 95% confidence-interval error bars."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * len(table), 3.2))
    err = np.vstack([table["mean"] - table["ci95_low"], table["ci95_high"] - table["mean"]])
    ax.bar(table[factor].astype(str), table["mean"], yerr=np.nan_to_num(err), capsize=6,
           color=["tab:gray"] + ["tab:blue"] * (len(table) - 1))
    low = np.nanmin(np.r_[table["ci95_low"].values, table["mean"].values])
    ax.set_ylim(max(0.0, low - 0.02), min(1.0, np.nanmax(np.r_[table["ci95_high"].values, table["mean"]]) + 0.01))
    ax.set_ylabel("test accuracy")
    ax.set_title(f"{factor} (grey: baseline; bars: 95% CI over seeds)", fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def confusion_figure(jobs: pd.DataFrame, title: str) -> bytes | None:
    """Confusion matrix (summed over seeds) and per-class test accuracy."""
    import matplotlib.pyplot as plt

    mats = [np.array(m) for m in jobs["_confusion"] if isinstance(m, list) and m]
    if not mats:
        return None
    cm = np.sum(mats, axis=0)
    names = CLASS_NAMES.get(str(jobs["data"].iloc[0]), [str(i) for i in range(len(cm))])
    per_class = cm.diagonal() / np.maximum(cm.sum(1), 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1.2, 1]})
    ax1.imshow(cm, cmap="Blues")
    ax1.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=7)
    ax1.set_yticks(range(len(names)), names, fontsize=7)
    ax1.set_xlabel("predicted")
    ax1.set_ylabel("true")
    for i, j in itertools.product(range(len(cm)), repeat=2):
        ax1.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=6,
                 color="white" if cm[i, j] > cm.max() / 2 else "black")
    ax2.barh(names, per_class, color="tab:blue")
    ax2.invert_yaxis()
    ax2.set_xlim(0, 1)
    ax2.set_xlabel("per-class test accuracy")
    ax2.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=9)
    return _png(fig)


# ----------------------------------------------------------------------------- rendering

@dataclass
class Report:
    """Blocks of a report, rendered once as Markdown (figures as files) and once as one HTML page."""

    title: str
    blocks: list[tuple[str, Any]] = field(default_factory=list)
    figures: dict[str, bytes] = field(default_factory=dict)

    def heading(self, text: str, level: int = 2) -> None:
        self.blocks.append(("h", (level, text)))

    def text(self, text: str) -> None:
        self.blocks.append(("p", text))

    def table(self, df: pd.DataFrame) -> None:
        self.blocks.append(("table", df))

    def figure(self, name: str, png: bytes | None, caption: str) -> None:
        if png is not None:
            self.figures[name] = png
            self.blocks.append(("img", (name, caption)))

    def markdown(self) -> str:
        out = [f"# {self.title}", ""]
        for kind, value in self.blocks:
            if kind == "h":
                out += ["#" * value[0] + " " + value[1], ""]
            elif kind == "p":
                out += [value, ""]
            elif kind == "table":
                out += [value.to_markdown(index=False, floatfmt=".4f"), ""]
            else:
                out += [f"![{value[1]}]({value[0]})", ""]
        return "\n".join(out)

    def html(self) -> str:
        import re

        def inline(text: str) -> str:
            return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", re.sub(r"`(.+?)`", r"<code>\1</code>", html.escape(text)))

        parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}</title>",
                 "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
                 "table{border-collapse:collapse;font-size:13px;margin:.5em 0}td,th{border:1px solid #ccc;"
                 "padding:3px 7px;text-align:right}th{background:#f3f3f3}img{max-width:100%}</style></head><body>",
                 f"<h1>{html.escape(self.title)}</h1>"]
        for kind, value in self.blocks:
            if kind == "h":
                parts.append(f"<h{value[0]}>{html.escape(value[1])}</h{value[0]}>")
            elif kind == "p":
                parts.append("<p>" + "<br>".join(inline(line) for line in value.splitlines()) + "</p>")
            elif kind == "table":
                parts.append(value.to_html(index=False, float_format=lambda v: f"{v:.4f}", na_rep="", border=0))
            else:
                data = base64.b64encode(self.figures[value[0]]).decode()
                parts.append(f"<figure><img alt='{html.escape(value[1])}' src='data:image/png;base64,{data}'>"
                             f"<figcaption>{html.escape(value[1])}</figcaption></figure>")
        return "\n".join(parts + ["</body></html>"])

    def write(self, out_dir: Path, runs: pd.DataFrame) -> None:
        """Write runs.csv, the figures, report.md and report.html into a fresh folder that then
        replaces out_dir: a failure (disk full) leaves the previous report whole, never a partial one."""
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
        try:
            atomic_write_text(tmp / "runs.csv", runs.to_csv(index=False))
            for name, png in self.figures.items():
                (tmp / name).write_bytes(png)
            atomic_write_text(tmp / "report.md", self.markdown())
            atomic_write_text(tmp / "report.html", self.html())
            if out_dir.exists():
                shutil.rmtree(out_dir)
            tmp.rename(out_dir)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


# ----------------------------------------------------------------------------- the report

def baseline_factors() -> dict[str, str]:
    """The study baseline's factor levels, from conf/config.yaml's defaults."""
    from hydra import compose, initialize_config_dir

    from lenet_ablate.cli import config_dir
    from lenet_ablate.identity import factors

    with initialize_config_dir(config_dir=config_dir(), version_base="1.3"):
        return factors(compose("config"))


def _fmt_config_rows(table: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({"configuration": table.configuration, "n": table.n})
    for split in SPLITS:
        out[f"{split} acc"] = [f"{m:.4f}" + (f" ± {s:.4f}" if s == s else "")
                               for m, s in zip(table[f"{split}_acc"], table[f"{split}_acc_std"])]
    return out


def build_report(runs: pd.DataFrame, title: str, baseline: dict[str, str]) -> Report:
    """All tables, sentences and figures for one set of jobs."""
    rep = Report(title)
    counts = runs.status.value_counts().to_dict()
    rep.text(f"{len(runs)} jobs: " + ", ".join(f"{counts.get(s, 0)} {s}" for s in
                                              ("completed", "diverged", "failed", "interrupted", "missing")) +
             ". Accuracies are of the best-validation checkpoint; ± is the standard deviation over seeds. "
             f"Baseline: {', '.join(f'{f}={baseline[f]}' for f in FACTORS)}.")
    versions = runs.dropna(subset=["git_commit"]) if "git_commit" in runs else runs.iloc[0:0]
    if not versions.empty:
        prov = versions.groupby(["version", "git_commit", "git_dirty"], dropna=False).size().reset_index(name="jobs")
        rep.text("Code: " + "; ".join(f"lenet_ablate {r.version}, commit {str(r.git_commit)[:10]}"
                                      f"{' (dirty tree)' if r.git_dirty else ''}: {r.jobs} jobs"
                                      for r in prov.itertuples()))
    done = completed(runs)
    if done.empty:
        rep.text("No job completed, so there is nothing to compare.")
    else:
        summary = config_summary(done)
        rep.heading("Best and worst model (by mean validation accuracy)")
        rep.table(_fmt_config_rows(summary.iloc[[0, -1]]).assign(rank=["best", "worst"]))
        best, worst = summary.configuration.iloc[0], summary.configuration.iloc[-1]
        keys = config_labels(done)
        for label, key in (("best", best), ("worst", worst)):
            jobs = done[keys == key]
            rep.figure(f"curves_{label}.png", curves_figure(jobs, f"{label}: {key}"),
                       f"Training vs validation accuracy and loss of the {label} model (band: min-max over seeds)")
            rep.figure(f"confusion_{label}.png", confusion_figure(jobs, f"{label}: {key}"),
                       f"Confusion matrix (summed over seeds) and per-class test accuracy of the {label} model")
        rep.heading("All configurations")
        rep.table(_fmt_config_rows(summary))
        for factor, sub in experiments(done, baseline).items():
            rep.heading(f"Experiment: {factor}")
            sub_summary = config_summary(sub)
            rep.table(_fmt_config_rows(sub_summary.iloc[[0, -1]]).assign(rank=["best", "worst"]))
            table, sentence = factor_table(sub, factor, baseline[factor])
            rep.table(table)
            rep.text(sentence)
            rep.figure(f"bars_{factor}.png", bars_figure(table, factor),
                       f"{factor}: mean test accuracy per level with 95% confidence intervals")
        anova = anova_table(done)
        if anova is not None:
            rep.heading("Factorial: main effects and two-factor interactions (type-II ANOVA on test accuracy)")
            rep.table(anova)
    problems = runs[runs.status != "completed"]
    rep.heading("Jobs that diverged, failed, were interrupted or are missing")
    if problems.empty:
        rep.text("None.")
    else:
        rep.table(problems[["sweep", "job", "status", "error"]].fillna(""))
    return rep


def report_runs(runs: pd.DataFrame, out_dir: Path, title: str, baseline: dict[str, str]) -> None:
    """Build and write one report (runs.csv without internal columns)."""
    rep = build_report(runs, title, baseline)
    rep.write(out_dir, runs.drop(columns=[c for c in runs if c.startswith("_")]))


def main(argv: list[str] | None = None) -> int:
    """Command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m lenet_ablate.report", description=__doc__.splitlines()[0])
    parser.add_argument("sweeps", nargs="*", type=Path, help="sweep folders (default: every sweep under multirun/)")
    parser.add_argument("--out", type=Path, default=Path("multirun_reports"), help="output folder")
    args = parser.parse_args(argv)
    try:
        sweeps = find_sweeps(args.sweeps or [Path("multirun")])
        if not sweeps:
            raise ReportError(f"no runs found under {', '.join(map(str, args.sweeps or ['multirun']))} "
                              "(no Hydra multirun.yaml); run a sweep first, e.g. make ablate")
        baseline = baseline_factors()
        frames = []
        for sweep in sweeps:
            runs = load_jobs(sweep)
            if runs.empty:
                print(f"report: {sweep}: no jobs in this sweep folder, skipped")
                continue
            name = sweep.name if sum(s.name == sweep.name for s in sweeps) == 1 else f"{sweep.parent.name}_{sweep.name}"
            report_runs(runs, args.out / name, f"lenet_ablate report: {sweep}", baseline)
            print(f"report: {sweep} -> {args.out / name}/report.md, report.html ({len(runs)} jobs)")
            frames.append(runs)
        if not frames:
            raise ReportError("the sweep folders hold no jobs")
        if len(frames) > 1:
            report_runs(pd.concat(frames, ignore_index=True), args.out / "study", "lenet_ablate report: study",
                        baseline)
            print(f"report: all sweeps -> {args.out / 'study'}/report.md, report.html")
    except (ReportError, OSError) as exc:
        print(f"report: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
