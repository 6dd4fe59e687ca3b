"""Write an idx data set as a folder of PNG images in the ImageFolder layout (DIR/train/<class>/,
DIR/test/<class>/), for trying `data=folder` on known data (docs/your_own.md; `make folder-data`).

python -m lenet_ablate.data.export [fashion_mnist|mnist] DIR [--every N]

--every N writes every N-th image of each split only (a fixed subset: make demo's).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import torch
from omegaconf import OmegaConf

from lenet_ablate.data.files import read_idx_images
from lenet_ablate.errors import DataError


def folder_name(label: int, name: str) -> str:
    """A class's folder: its label first (so the folders sort in label order) and its name, made
    safe for a file system ('T-shirt/top' -> '0_T-shirt_top')."""
    return f"{label}_{re.sub(r'[^A-Za-z0-9._-]+', '_', name)}"


def export(name: str, out: Path, root: str | None = None, md5: dict | None = None, every: int = 1) -> int:
    """Write every image (or every `every`-th) of data set `name` (found as data.root / data.md5
    would find it) as out/<split>/<class>/<index>.png; returns the count. Files already there are
    kept (a rerun after a kill completes the folder)."""
    from PIL import Image

    images = read_idx_images(OmegaConf.create({"name": name, "root": root, "md5": md5}))
    count = 0
    for split, x, y in (("train", images.train_x, images.train_y), ("test", images.test_x, images.test_y)):
        folders = [out / split / folder_name(i, c) for i, c in enumerate(images.classes)]
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
        for i, (img, label) in enumerate(zip(x[:, 0].numpy(), y.tolist())):
            if i % every:
                continue
            path = folders[label] / f"{i:05d}.png"
            if not path.exists():
                tmp = path.with_name(f".{path.name}.tmp")
                Image.fromarray(img, mode="L").save(tmp, format="PNG")
                tmp.replace(path)
            count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    every = 1
    if len(args) == 4 and args[2] == "--every" and args[3].isdigit() and int(args[3]) >= 1:
        args, every = args[:2], int(args[3])
    if len(args) != 2:
        print("usage: python -m lenet_ablate.data.export [fashion_mnist|mnist] DIR [--every N]", file=sys.stderr)
        return 2
    try:
        count = export(args[0], Path(args[1]), every=every)
    except DataError as exc:
        print(f"export: {exc}", file=sys.stderr)
        return 1
    print(f"export: {count} images in {args[1]}/train and {args[1]}/test")
    return 0


if __name__ == "__main__":
    torch.set_num_threads(1)
    sys.exit(main())
