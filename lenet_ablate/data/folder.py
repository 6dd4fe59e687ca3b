"""Images of one's own (`data=folder data.root=DIR`): DIR/train/<class>/* and DIR/test/<class>/*, the
torchvision ImageFolder layout, PNG or JPEG, grey or RGB, any size.

The images are decoded once and cached as uint8 tensors in DIR/.lenet_ablate_cache/ (written
atomically, under a lock, so parallel jobs decode once), with the MD5 of the tensors; every later job
loads the cache and checks that MD5. The cache's name hashes every file's path, size and time and the
target size, so a changed folder is decoded again and an old cache is never used for it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from contextlib import nullcontext
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from filelock import FileLock

from lenet_ablate.data.images import Images, tensors_md5
from lenet_ablate.errors import DataError

log = logging.getLogger("lenet_ablate")

EXTENSIONS = (".png", ".jpg", ".jpeg")
CACHE = ".lenet_ablate_cache"
FORMAT = 1  # of the cache files; a new format decodes again
GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")
MEMORY_SHARE = 0.8  # of the memory available now that a data set may take


@dataclass(frozen=True)
class FolderIndex:
    """The image files of both splits with their labels (class folder names, sorted)."""

    root: Path
    classes: tuple[str, ...]
    train: tuple[tuple[Path, int], ...]
    test: tuple[tuple[Path, int], ...]

    def key(self, image_size: int | None) -> str:
        """16 hex digits naming this folder's content (paths, sizes, times) at `image_size`."""
        h = hashlib.sha256(f"{FORMAT} {image_size} {self.classes}".encode())
        for path, label in (*self.train, *self.test):
            st = path.stat()
            h.update(f"{path.relative_to(self.root)} {label} {st.st_size} {st.st_mtime_ns}\n".encode())
        return h.hexdigest()[:16]


def _class_dirs(split: Path) -> list[str]:
    return sorted(p.name for p in split.iterdir() if p.is_dir() and not p.name.startswith("."))


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in EXTENSIONS)


def scan_folder(root: str | Path | None) -> FolderIndex:
    """The layout of DIR (data.root): class folders under train/ and test/, their images. Raises
    DataError for a missing folder, no class folders, classes that differ between the splits, or a
    class folder without images."""
    if not root:
        raise DataError("data=folder needs data.root=DIR (DIR/train/<class>/*.png and DIR/test/<class>/*.png).")
    base = Path(root)
    for split in ("train", "test"):
        if not (base / split).is_dir():
            raise DataError(f"data.root={root}: no {split}/ folder; expected {base}/train/<class>/*.png and "
                            f"{base}/test/<class>/*.png (PNG or JPEG).")
    classes = _class_dirs(base / "train")
    if not classes:
        raise DataError(f"data.root={root}: {base / 'train'} has no class folders; put each class's images "
                        f"in a folder named after the class ({base}/train/<class>/*.png).")
    missing = [c for c in classes if not (base / "test" / c).is_dir()]
    extra = [c for c in _class_dirs(base / "test") if c not in classes]
    if missing or extra:
        raise DataError(f"data.root={root}: train/ and test/ must hold the same class folders; "
                        + "; ".join(filter(None, [missing and f"missing from test/: {', '.join(missing)}",
                                                  extra and f"only in test/: {', '.join(extra)}"])) + ".")
    splits = {}
    for split in ("train", "test"):
        files = []
        for label, name in enumerate(classes):
            found = _files(base / split / name)
            if not found:
                raise DataError(f"data.root={root}: {base / split / name} holds no PNG or JPEG image.")
            files += [(p, label) for p in found]
        splits[split] = tuple(files)
    return FolderIndex(base, tuple(classes), splits["train"], splits["test"])


def _headers(files: list[Path]) -> tuple[int, set[tuple[int, int]]]:
    """Channels (3 if any image is in colour, else 1) and the distinct (width, height) of `files`,
    from their headers only."""
    from PIL import Image, UnidentifiedImageError

    colour, sizes = False, set()
    for path in files:
        try:
            with Image.open(path) as im:
                colour |= im.mode not in GREY_MODES
                sizes.add(im.size)
        except (OSError, UnidentifiedImageError) as exc:
            raise DataError(f"{path}: not a readable image ({exc}); remove or replace it.") from None
    return (3 if colour else 1), sizes


def _decode(files: tuple[tuple[Path, int], ...], channels: int, side: int) -> tuple[torch.Tensor, torch.Tensor]:
    from PIL import Image

    x = np.empty((len(files), side, side, channels), dtype=np.uint8)
    for i, (path, _) in enumerate(files):
        try:
            with Image.open(path) as im:
                im = im.convert("RGB" if channels == 3 else "L")
                if im.size != (side, side):
                    im = im.resize((side, side), Image.Resampling.BILINEAR)
                x[i] = np.asarray(im).reshape(side, side, channels)
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: cannot decode the image ({exc}); remove or replace it.") from None
    y = torch.tensor([label for _, label in files], dtype=torch.int64)
    return torch.from_numpy(x).permute(0, 3, 1, 2).contiguous(), y


def available_memory() -> int:
    """Bytes of memory available now (MemAvailable on Linux, else free pages)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def check_memory(root: Path, count: int, channels: int, side: int, available: int | None = None) -> None:
    """Refuse a data set whose uint8 cache plus float32 training tensors would not fit in memory."""
    need = count * channels * side * side * 5
    have = available_memory() if available is None else available
    if need > MEMORY_SHARE * have:
        raise DataError(f"data.root={root}: {count} images of {channels}x{side}x{side} need {need / 2**30:.1f} GiB "
                        f"in memory (uint8 cache and float32 tensors); {have / 2**30:.1f} GiB are available. "
                        f"Use a smaller data.image_size or fewer images.")


def _geometry(index: FolderIndex, image_size: int | None) -> tuple[int, int]:
    """Channels and side of the decoded images; refuses mixed or non-square sizes without image_size."""
    channels, sizes = _headers([p for p, _ in (*index.train, *index.test)])
    if image_size is not None:
        return channels, int(image_size)
    if len(sizes) > 1 or any(w != h for w, h in sizes):
        shown = ", ".join(f"{w}x{h}" for w, h in sorted(sizes)[:4])
        raise DataError(f"data.root={index.root}: the images are not all square of one size ({shown}); "
                        f"set data.image_size=N to resize them to N x N.")
    return channels, sizes.pop()[0]


def _decode_folder(index: FolderIndex, image_size: int | None) -> tuple[dict, float]:
    start = time.perf_counter()
    channels, side = _geometry(index, image_size)
    check_memory(index.root, len(index.train) + len(index.test), channels, side)
    train_x, train_y = _decode(index.train, channels, side)
    test_x, test_y = _decode(index.test, channels, side)
    seconds = round(time.perf_counter() - start, 2)
    return {"train_x": train_x, "train_y": train_y, "test_x": test_x, "test_y": test_y,
            "classes": list(index.classes), "md5": tensors_md5(train_x, train_y, test_x, test_y),
            "decode_s": seconds}, seconds


def _load_cache(path: Path) -> dict | None:
    """The cache at `path` if it is whole and its tensors still have their recorded MD5."""
    try:
        c = torch.load(path, weights_only=True)
        ok = c["md5"] == tensors_md5(c["train_x"], c["train_y"], c["test_x"], c["test_y"])
    except Exception:  # absent, truncated by a kill before 0.7's atomic write, or another format
        return None
    return c if ok else None


def _write_cache(path: Path, content: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(content, tmp)
    tmp.replace(path)
    meta = {k: content[k] for k in ("classes", "md5", "decode_s")}
    meta.update(channels=int(content["train_x"].shape[1]), side=int(content["train_x"].shape[-1]))
    tmp_meta = path.with_suffix(f".json.{os.getpid()}.tmp")
    tmp_meta.write_text(json.dumps(meta))
    tmp_meta.replace(path.with_suffix(".json"))


def read_folder(root: str | Path | None, image_size: int | None = None) -> Images:
    """The images of DIR (data.root), from the cache when it matches the folder, else decoded and
    cached (the first decode is timed and logged). A folder that cannot be written is decoded each
    time. Raises DataError naming the folder or the file that is wrong."""
    index = scan_folder(root)
    path = index.root / CACHE / f"{index.key(image_size)}.pt"
    content = _load_cache(path)
    if content is None:
        try:
            with FileLock(str(path) + ".lock", timeout=-1) if _writable(path.parent) else nullcontext():
                content = _load_cache(path)  # another job may have decoded it while this one waited
                if content is None:
                    content, seconds = _decode_folder(index, image_size)
                    log.info("data.root=%s: decoded %d images in %.1f s", root, len(index.train) + len(index.test),
                             seconds)
                    if _writable(path.parent):
                        _write_cache(path, content)
        except OSError as exc:
            raise DataError(f"data.root={root}: cannot write the image cache in {path.parent} ({exc}).") from None
    return Images(content["train_x"], content["train_y"], content["test_x"], content["test_y"],
                  tuple(content["classes"]), content["md5"])


@lru_cache(maxsize=16)
def folder_geometry(root: str, image_size: int | None) -> tuple[int, int, int]:
    """(channels, side, classes) of the folder's images, for building the network before a sweep
    starts: read from the cache's record, decoding the folder (and caching it) when there is none."""
    index = scan_folder(root)
    meta = (index.root / CACHE / f"{index.key(image_size)}.json")
    if meta.is_file():
        m = json.loads(meta.read_text())
        return int(m["channels"]), int(m["side"]), len(m["classes"])
    images = read_folder(root, image_size)
    return images.channels, images.side, len(images.classes)


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)
