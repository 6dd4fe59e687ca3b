"""A report as a list of blocks, rendered by one table of renderers to Markdown and to a single
self-contained HTML page, and written so that the previous report stays whole until the new one
is complete."""

from __future__ import annotations

import base64
import html
import math
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from lenet_ablate.runs.records import atomic_write_bytes, atomic_write_text, normal_mode

_STYLE = ("<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
          "table{border-collapse:collapse;font-size:13px;margin:.5em 0}td,th{border:1px solid #ccc;"
          "padding:3px 7px;text-align:right}th{background:#f3f3f3}img{max-width:100%}</style>")


def _inline(text: str) -> str:
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", re.sub(r"`(.+?)`", r"<code>\1</code>", html.escape(text)))


def _cell(value: object) -> object:
    """A table cell as Markdown shows it: floats to 4 decimals, missing values empty, text as given."""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4f}"
    return "" if value is None else value


def _markdown_table(frame: "pd.DataFrame") -> str:
    """The frame as a Markdown table; strings are never re-parsed as numbers (so "+0.0063" keeps its sign)."""
    return frame.astype(object).map(_cell).to_markdown(index=False, disable_numparse=True)


# kind -> (Markdown, HTML) renderer of a block's value; figures get the report for their bytes.
RENDERERS: dict[str, tuple[Callable[..., str], Callable[..., str]]] = {
    "h": (lambda v, r: "#" * v[0] + " " + v[1],
          lambda v, r: f"<h{v[0]}>{html.escape(v[1])}</h{v[0]}>"),
    "p": (lambda v, r: v,
          lambda v, r: "<p>" + "<br>".join(_inline(line) for line in v.splitlines()) + "</p>"),
    "table": (lambda v, r: _markdown_table(v),
              lambda v, r: v.to_html(index=False, float_format=lambda x: f"{x:.4f}", na_rep="", border=0)),
    "img": (lambda v, r: f"![{v[1]}]({v[0]})",
            lambda v, r: f"<figure><img alt='{html.escape(v[1])}' src='data:image/png;base64,"
                         f"{base64.b64encode(r.figures[v[0]]).decode()}'><figcaption>{html.escape(v[1])}"
                         "</figcaption></figure>"),
}


@dataclass
class Report:
    """Blocks of a report: headings, paragraphs, tables and figures."""

    title: str
    blocks: list[tuple[str, Any]] = field(default_factory=list)
    figures: dict[str, bytes] = field(default_factory=dict)
    csv: dict[str, pd.DataFrame] = field(default_factory=dict)  # further tables written beside runs.csv

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
        return "\n\n".join([f"# {self.title}"] + [RENDERERS[k][0](v, self) for k, v in self.blocks]) + "\n"

    def html(self) -> str:
        head = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}</title>"
                f"{_STYLE}</head><body><h1>{html.escape(self.title)}</h1>")
        return "\n".join([head] + [RENDERERS[k][1](v, self) for k, v in self.blocks] + ["</body></html>"])

    def write(self, out_dir: Path, runs: pd.DataFrame) -> None:
        """Write runs.csv, figures, report.md and report.html into a new folder, then point
        `out_dir` (a symbolic link) at it in one rename: at every moment `out_dir` is the complete
        old report or the complete new one. Old versions are removed afterwards; a kill before
        that leaves a hidden folder that the next write removes."""
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        new = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
        try:
            os.chmod(new, normal_mode(0o777))
            atomic_write_text(new / "runs.csv", runs.to_csv(index=False))
            for name, table in self.csv.items():
                atomic_write_text(new / name, table.to_csv(index=False))
            for name, png in self.figures.items():
                atomic_write_bytes(new / name, png)
            atomic_write_text(new / "report.md", self.markdown())
            atomic_write_text(new / "report.html", self.html())
            if out_dir.is_dir() and not out_dir.is_symlink():  # a report folder of an older version
                out_dir.rename(out_dir.with_name(f".{out_dir.name}.old{time.time_ns()}"))
            link = out_dir.with_name(f".{out_dir.name}.link{os.getpid()}")
            link.unlink(missing_ok=True)
            link.symlink_to(new.name)
            os.replace(link, out_dir)
        except BaseException:
            shutil.rmtree(new, ignore_errors=True)
            raise
        current = os.readlink(out_dir)  # another writer may have swapped in its own since
        for old in out_dir.parent.glob(f".{out_dir.name}.*"):
            if old.name not in (new.name, current) and not old.is_symlink():
                shutil.rmtree(old, ignore_errors=True)


def remove_report(out_dir: Path) -> None:
    """Remove a report written by Report.write: its link, the folder it points at and any hidden
    versions of it (an older version's plain folder too)."""
    out_dir = Path(out_dir)
    if out_dir.is_symlink():
        target = out_dir.parent / os.readlink(out_dir)
        out_dir.unlink()
        shutil.rmtree(target, ignore_errors=True)
    elif out_dir.is_dir():
        shutil.rmtree(out_dir)
    for old in out_dir.parent.glob(f".{out_dir.name}.*"):
        if old.is_symlink():
            old.unlink()
        else:
            shutil.rmtree(old, ignore_errors=True)
