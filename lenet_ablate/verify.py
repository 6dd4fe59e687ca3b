"""`python -m lenet_ablate.verify JOB_DIR`: retrain one recorded job from its own summary (its
config, seed and threads) in a temporary folder and compare what it computed, bit for bit: the
metrics, the best epoch, the per-epoch accuracies and losses, and the confusion matrix. Prints
"identical", or each difference and both numeric environments (the recorded one and this
machine's). This is how a reader checks a published study on their own machine.

Exit status: 0 identical, 1 different, 2 the folder holds no completed job to verify.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from lenet_ablate.errors import LenetAblateError
from lenet_ablate.runs.records import SUMMARY, read_json

# What a job computed (its timings excepted), as its summary records it.
HISTORY = ("epoch", "train_acc", "train_loss", "val_acc", "val_loss")


class NothingToVerify(LenetAblateError):
    """The folder holds no completed job's summary."""


@dataclass
class Verification:
    """The recorded and the retrained job's computed values that differ (empty: identical), and
    both numeric environments."""

    differences: list[str] = field(default_factory=list)
    recorded_env: dict[str, Any] | None = None
    this_env: dict[str, Any] | None = None


def computed(summary: dict[str, Any]) -> dict[str, Any]:
    """The values of a summary that the training computed (no timings, paths or hosts)."""
    history = summary.get("history") or {}
    out = {f"metrics.{k}": v for k, v in (summary.get("metrics") or {}).items()}
    out.update({f"history.{k}": history.get(k) for k in HISTORY})
    out.update(best_epoch=summary.get("best_epoch"), confusion_matrix=summary.get("confusion_matrix"))
    return out


def compare(recorded: dict[str, Any], again: dict[str, Any]) -> list[str]:
    """One line per value that is not bit-identical (floats compared exactly, as stored)."""
    a, b = computed(recorded), computed(again)
    return [f"{k}: recorded {a[k]!r}, now {b.get(k)!r}" for k in a if a[k] != b.get(k)]


def verify(job_dir: Path) -> Verification:
    """Retrain the job of `job_dir` from its summary and compare. Raises NothingToVerify."""
    from lenet_ablate.training.job import run_job  # the torch boundary
    from lenet_ablate.training.numerics import numeric_environment

    summary = read_json(Path(job_dir) / SUMMARY)
    if not summary or summary.get("status") != "completed" or not summary.get("config"):
        raise NothingToVerify(f"{job_dir}: no completed job's {SUMMARY} to verify (status: "
                              f"{(summary or {}).get('status', 'no summary')})")
    cfg = OmegaConf.create({**summary["config"], "force": True})
    with tempfile.TemporaryDirectory(prefix="lenet_ablate_verify_") as tmp:
        again = run_job(cfg, Path(tmp) / "job", quiet=True, threads=summary.get("threads"))
    return Verification(compare(summary, again), summary.get("numeric_env"), numeric_environment())


def main(argv: list[str] | None = None) -> int:
    """Command line; returns the exit status."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m lenet_ablate.verify JOB_DIR", file=sys.stderr)
        return 2
    try:
        result = verify(Path(args[0]))
    except LenetAblateError as exc:
        print(f"verify: error: {exc}", file=sys.stderr)
        return 2
    if not result.differences:
        print("identical")
        return 0
    print(f"different: {len(result.differences)} value(s)")
    for line in result.differences:
        print(f"  {line}")
    print(f"recorded on: {result.recorded_env or 'not recorded (a summary before 0.7)'}")
    print(f"this machine: {result.this_env}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
