"""Where a job's images come from (`data.name`): an idx data set, a folder of one's own, or a
torchvision data set; `read_images` reads any of them, `data_shape` says what a network is built for."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from omegaconf import DictConfig, OmegaConf

from lenet_ablate.data.files import DATASETS, read_idx_images
from lenet_ablate.data.folder import folder_geometry, read_folder
from lenet_ablate.data.images import FOLDER, TORCHVISION, DataShape, Images
from lenet_ablate.data.inputs import input_side
from lenet_ablate.data.tvsets import read_torchvision


def read_images(data: Any) -> Images:
    """The images a `data` node (conf/data) names: an idx data set (fashion_mnist, mnist or one's
    own DatasetSpec), `folder` (data.root in the ImageFolder layout) or `torchvision` (data.dataset).
    Raises DataError saying what is wrong and how to fix it."""
    if data.name == FOLDER:
        return read_folder(data.root, data.get("image_size"))
    if data.name == TORCHVISION:
        return read_torchvision(data.dataset, data.root, data.get("image_size"), data.get("dataset_args"))
    return read_idx_images(data)


@lru_cache(maxsize=16)
def _torchvision_geometry(dataset: str, root: str | None, image_size: int | None, args: str) -> tuple[int, int, int]:
    """(channels, side, classes) of a torchvision set, read once per process (a sweep builds each
    configuration's network before it starts: the set is not read again for each)."""
    images = read_torchvision(dataset, root, image_size, json.loads(args))
    return images.channels, images.side, len(images.classes)


def _plain(value: Any) -> Any:
    return OmegaConf.to_container(value) if isinstance(value, DictConfig) else (value or {})


def data_shape(data: Any) -> DataShape:
    """The shape a `data` node gives the network, known before training: an idx set's from its spec,
    a folder's from its cache record (decoding and caching it on first use), a torchvision set's by
    reading it."""
    if data.name == FOLDER:
        channels, side, classes = folder_geometry(str(data.root), data.get("image_size"))
    elif data.name == TORCHVISION:
        channels, side, classes = _torchvision_geometry(str(data.dataset), data.root, data.get("image_size"),
                                                        json.dumps(_plain(data.get("dataset_args")), sort_keys=True))
    else:
        channels, side, classes = 1, data.get("image_size") or 28, DATASETS.get(data.name).num_classes
    return DataShape(channels, classes, input_side(data.input, side, channels))
