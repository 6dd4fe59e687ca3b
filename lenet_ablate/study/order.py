"""The order a batch of jobs runs in. A load that rises or falls while a study runs reaches every
configuration alike only if the jobs' order cannot line up with it, so each batch (the pilot, a
look, tune=lr's screening and finals) runs in a random order. The order is seeded by the batch
itself, so a rerun of the same sweep keeps it, and recorded in seeds.json. A seed's jobs (its
reference and its levels, which the comparisons pair) run as one block: close together in time.
No torch here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from lenet_ablate.runs.records import read_json
from lenet_ablate.study.planning import SEEDS, Job


def run_order(jobs: list[Job]) -> list[Job]:
    """`jobs` in blocks of one seed each, the blocks and the jobs within each in a random order
    seeded by the batch's job ids (the same batch, the same order)."""
    digest = hashlib.sha256("\n".join(sorted(j.job_id for j in jobs)).encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "big"))
    by_seed: dict[int, list[Job]] = {}
    for job in jobs:
        by_seed.setdefault(job.seed, []).append(job)
    blocks = [sorted(by_seed[seed], key=lambda j: j.job_id) for seed in sorted(by_seed)]
    return [block[i] for b in rng.permutation(len(blocks)) for block in [blocks[b]]
            for i in rng.permutation(len(block))]


def order_record(label: str, jobs: list[Job]) -> dict[str, Any]:
    """One batch's entry in seeds.json's `orders`: its name and its job folders in launch order."""
    return {"batch": label, "jobs": [j.subdir for j in jobs]}


def recorded_orders(sweep_dir: Path) -> list[dict[str, Any]]:
    """The orders seeds.json holds (a rerun launches only some batches again; the others stay)."""
    return list((read_json(Path(sweep_dir) / SEEDS) or {}).get("orders") or [])


def with_order(orders: list[dict[str, Any]], record: dict[str, Any]) -> list[dict[str, Any]]:
    """`orders` with `record` in place of its batch's entry (a rerun's is the same), else at the end."""
    labels = [o["batch"] for o in orders]
    if record["batch"] in labels:
        return [record if o["batch"] == record["batch"] else o for o in orders]
    return [*orders, record]
