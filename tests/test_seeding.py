"""Independent random streams: one factor's randomness never shifts another's."""

from __future__ import annotations

import numpy as np
import torch

from conftest import datamodule

from lenet_ablate import compose
from lenet_ablate.config import validate
from lenet_ablate.training.seeding import STREAMS, stream_seeds
from lenet_ablate.training.job import initial_model


def cfg(*overrides: str):
    return validate(compose(*overrides))


def test_streams_are_distinct_stable_and_seed_sequence_children():
    a = stream_seeds(0)
    assert list(a) == list(STREAMS) and len(set(a.values())) == len(STREAMS)
    assert a == stream_seeds(0) and a != stream_seeds(1)
    # The k-th purpose is numpy's k-th spawned child, its first 64-bit word shifted to 63 bits.
    child = np.random.SeedSequence(0).spawn(4)[2]
    assert a["augmentation"] == int(child.generate_state(1, dtype=np.uint64)[0]) >> 1


def test_initial_weights_do_not_depend_on_augmentation_or_dropout():
    base = initial_model(cfg()).state_dict()
    for other in (["augmentation=none"], ["dropout=p0.5"], ["optimizer=adam"]):
        weights = initial_model(cfg(*other)).state_dict()
        assert all(torch.equal(base[k], weights[k]) for k in base), other
    reseeded = initial_model(cfg("seed=1")).state_dict()
    assert not torch.equal(base["features.C1.weight"], reseeded["features.C1.weight"])


def test_batch_order_does_not_depend_on_augmentation(tiny_data):
    folder, md5 = tiny_data
    orders = []
    for shift in (0, 2):
        dm = datamodule(folder, md5, f"augmentation.shift={shift}", order_seed=5, augment_seed=9)
        dm.load()
        orders.append(torch.cat([y for _, y in dm.train_dataloader()]))
    assert torch.equal(orders[0], orders[1])
