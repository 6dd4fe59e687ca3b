"""The package's layers: no import cycles, no process exits outside the command line, and the study
and report layers import without torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "lenet_ablate"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports(path: Path, known: set[str]) -> set[str]:
    """The package's modules that `path` imports anywhere (lazy imports inside functions count)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        out |= {n for n in names if n in known}
    return out


def test_no_import_cycles():
    mods = modules()
    graph = {m: imports(p, set(mods)) - {m} for m, p in mods.items()}
    # Importing lenet_ablate.x.y runs lenet_ablate and lenet_ablate.x first: not an edge back.
    graph = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in graph.items()}
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for d in graph[m]:
            assert state.get(d) != 1, "import cycle: " + " -> ".join(path + [m, d])
            if d not in state:
                visit(d, path + [m])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [])


def test_only_the_command_line_exits_the_process():
    allowed = {"lenet_ablate.cli"}
    mods = modules()
    for name, path in mods.items():
        assert name in allowed or name.endswith("__main__") or "lenet_ablate.cli" not in imports(path, set(mods)), \
            f"{name} imports the CLI"
        tree = ast.parse(path.read_text())
        guarded = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)
                   for n in ast.walk(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and ast.unparse(node.func) in ("sys.exit", "exit", "os._exit"):
                assert name in allowed or name.endswith("__main__") or id(node) in guarded, f"{name}: {ast.unparse(node)}"


# Each layer and the layers it must not import (lazy imports inside functions count).
BELOW = {"lenet_ablate.runs": ("lenet_ablate.training", "lenet_ablate.analysis", "lenet_ablate.study",
                               "lenet_ablate.report", "lenet_ablate.tensorboard", "lenet_ablate.cli"),
         "lenet_ablate.analysis": ("lenet_ablate.training", "lenet_ablate.study", "lenet_ablate.report",
                                   "lenet_ablate.tensorboard", "lenet_ablate.cli"),
         # Inside analysis: tables -> inference, schedule -> both; never back.
         "lenet_ablate.analysis.inference": ("lenet_ablate.analysis.tables", "lenet_ablate.analysis.schedule"),
         "lenet_ablate.analysis.tables": ("lenet_ablate.analysis.schedule",),
         "lenet_ablate.study": ("lenet_ablate.report", "lenet_ablate.tensorboard", "lenet_ablate.training"),
         "lenet_ablate.tensorboard": ("lenet_ablate.report",)}


def test_no_import_runs_back_up_a_layer():
    mods = modules()
    for name, path in mods.items():
        for layer, above in BELOW.items():
            if name == layer or name.startswith(layer + "."):
                bad = {d for d in imports(path, set(mods)) if d.startswith(above)}
                assert not bad, f"{name} imports {sorted(bad)} from a layer above it"


def test_runs_analysis_study_and_report_import_without_torch():
    names = sorted(m for m in modules() if m.startswith(("lenet_ablate.runs", "lenet_ablate.analysis",
                                                          "lenet_ablate.study", "lenet_ablate.report"))
                   and not m.endswith("__main__"))
    code = ("import sys\n"
            "class Block:  # any import of torch (or lightning, which needs it) fails\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] in ('torch', 'lightning', 'torchvision', 'torchmetrics'):\n"
            "            raise ImportError(f'{name} is blocked')\n"
            "sys.meta_path.insert(0, Block())\n"
            + "".join(f"import {m}\n" for m in names))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(names) >= 29 and "lenet_ablate.analysis.schedule.sequential" in names
