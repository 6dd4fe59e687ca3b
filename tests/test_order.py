"""The order a batch of jobs runs in (lenet_ablate.study.order): random, seeded by the batch, a
seed's jobs together."""

from __future__ import annotations

from lenet_ablate.study.order import order_record, run_order
from lenet_ablate.study.planning import Job


def jobs(configs: str, seeds: range) -> list[Job]:
    return [Job([f"x={c}", f"seed={s}"], f"{c}-seed{s}", f"{c}{s}", c, s) for s in seeds for c in configs]


def test_a_batch_runs_in_a_random_order_that_a_rerun_keeps():
    batch = jobs("abcdefgh", range(5))
    order = run_order(batch)
    assert sorted(j.subdir for j in order) == sorted(j.subdir for j in batch)  # a permutation
    assert [j.subdir for j in order] != [j.subdir for j in batch]
    assert run_order(list(reversed(batch))) == order  # seeded by the batch, not by how it was listed
    assert run_order(jobs("abcdefgh", range(6))) != order  # another batch, another order


def test_a_seeds_jobs_run_as_one_block():
    order = run_order(jobs("abcdefgh", range(5)))
    seeds = [j.seed for j in order]
    blocks = [seeds[i:i + 8] for i in range(0, 40, 8)]
    assert all(len(set(b)) == 1 for b in blocks) and sorted(b[0] for b in blocks) == [0, 1, 2, 3, 4]
    assert [b[0] for b in blocks] != [0, 1, 2, 3, 4]  # the blocks' order is random too
    assert [j.config_id for j in order[:8]] != list("abcdefgh")  # and so is each block's
    assert order_record("pilot", order[:2]) == {"batch": "pilot", "jobs": [order[0].subdir, order[1].subdir]}
