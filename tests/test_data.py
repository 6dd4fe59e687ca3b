"""Reading, verifying and batching the data: real idx/.gz code on files the tests write."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import FASHION_DIR, datamodule, write_dataset, write_idx
from lenet_ablate.data.datamodule import augment_batch, to_input
from lenet_ablate.data.files import DataError, find_files, load_split, read_idx


def test_read_idx_roundtrip(tmp_path):
    arr = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    write_idx(tmp_path / "x.gz", arr)
    assert torch.equal(read_idx(tmp_path / "x.gz"), torch.from_numpy(arr))


def test_wrong_magic_truncated_and_not_gzip_are_named(tmp_path):
    bad = tmp_path / "bad.gz"
    with gzip.open(bad, "wb") as f:
        f.write(b"\x12\x34\x08\x03" + b"\x00" * 20)
    with pytest.raises(DataError, match="wrong magic.*bad.gz|bad.gz.*wrong magic"):
        read_idx(bad)
    write_idx(tmp_path / "full.gz", np.zeros((4, 28, 28), np.uint8))
    raw = gzip.decompress((tmp_path / "full.gz").read_bytes())
    with gzip.open(tmp_path / "short.gz", "wb") as f:
        f.write(raw[:-100])
    with pytest.raises(DataError, match="short.gz: truncated"):
        read_idx(tmp_path / "short.gz")
    (tmp_path / "plain.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="plain.gz: not a readable gzip"):
        read_idx(tmp_path / "plain.gz")


def test_image_label_count_mismatch(tmp_path):
    write_idx(tmp_path / "i.gz", np.zeros((5, 28, 28), np.uint8))
    write_idx(tmp_path / "l.gz", np.zeros(4, np.uint8))
    with pytest.raises(DataError, match="5 images but .* 4 labels"):
        load_split(tmp_path / "i.gz", tmp_path / "l.gz")


def test_md5_checked_and_wrong_copy_rejected(tmp_path):
    md5 = write_dataset(tmp_path / "d", 50, 20)
    files = find_files("fashion_mnist", str(tmp_path / "d"), md5=md5, download=False)
    assert files["train_images"].name == "train-images-idx3-ubyte.gz"
    # The same files do not carry the published Fashion-MNIST sums: refused, never used silently.
    with pytest.raises(DataError, match="MD5 .* does not match the published sum"):
        find_files("fashion_mnist", str(tmp_path / "d"), download=False)


def test_torchvision_layout_is_found(tmp_path):
    md5 = write_dataset(tmp_path / "FashionMNIST" / "raw", 50, 20)
    files = find_files("fashion_mnist", str(tmp_path), md5=md5, download=False)
    assert files["test_labels"].parent == tmp_path / "FashionMNIST" / "raw"


def test_missing_data_gives_where_and_how(tmp_path):
    with pytest.raises(DataError) as err:
        find_files("fashion_mnist", str(tmp_path / "nothing"), download=False)
    msg = str(err.value)
    assert "not found" in msg and str(tmp_path / "nothing") in msg and "make data" in msg
    with pytest.raises(DataError, match="unknown data set 'cifar'"):
        find_files("cifar", None)


def test_datamodule_split_sizes_and_normalisation(tiny_data):
    folder, md5 = tiny_data
    dm = datamodule(folder, md5, "data.mean=0.5", "data.std=0.25", "data.batch_size=64")
    dm.load()
    assert [len(dm.splits[s][1]) for s in ("train", "val", "test")] == [700, 100, 300]
    x, _ = dm.splits["train"]
    assert x.dtype == torch.float32 and x.shape[1:] == (1, 28, 28)
    assert x.min().item() == pytest.approx((0 - 0.5) / 0.25, abs=0.02)
    # The split is fixed by split_seed, independent of the run seed.
    other = datamodule(folder, md5, "data.mean=0.5", "data.std=0.25", order_seed=7)
    other.load()
    assert torch.equal(dm.splits["val"][1], other.splits["val"][1])
    batches = list(dm.train_dataloader())
    assert len(batches) == len(dm.train_dataloader()) == 11
    seen = torch.cat([b[1] for b in batches])
    assert torch.equal(seen.sort().values, dm.splits["train"][1].sort().values)  # a permutation


def test_lecun32_input_range():
    x, bg = to_input(torch.tensor([[[[0, 255] + [0] * 26] * 28]], dtype=torch.uint8), "lecun32", 0, 1)
    assert x.shape == (1, 1, 32, 32) and bg == pytest.approx(-0.1)
    assert x.min().item() == pytest.approx(-0.1) and x.max().item() == pytest.approx(1.175)


def test_augmentation_shifts_and_flips_whole_batches():
    g = torch.Generator().manual_seed(0)
    x = torch.arange(2 * 28 * 28, dtype=torch.float32).view(2, 1, 28, 28)
    assert torch.equal(augment_batch(x, 0, False, 0.0, g), x)
    out = augment_batch(x, 2, False, -1.0, g)
    assert out.shape == x.shape
    for i in range(2):  # each image is its padded original cropped at some offset in [0, 4]^2
        padded = torch.nn.functional.pad(x[i, 0], (2, 2, 2, 2), value=-1.0)
        assert any(torch.equal(out[i, 0], padded[r:r + 28, c:c + 28]) for r in range(5) for c in range(5))
    flips = augment_batch(x.repeat(50, 1, 1, 1), 0, True, 0.0, g)
    flipped = (flips == x.repeat(50, 1, 1, 1).flip(3)).flatten(1).all(1)
    assert 20 < int(flipped.sum()) < 80  # about half, each image whole


def test_shift_and_flip_together_keep_channels_aligned():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(40, 3, 12, 10)
    out = augment_batch(x, 2, True, 0.5, g)
    kinds = []
    for i in range(40):  # one offset and one flip decision per image, shared by its channels
        padded = torch.nn.functional.pad(x[i], (2, 2, 2, 2), value=0.5)
        crops = [(f, padded[:, r:r + 12, c:c + 10]) for r in range(5) for c in range(5) for f in (False, True)]
        match = [f for f, crop in crops if torch.equal(out[i], crop.flip(2) if f else crop)]
        assert match, f"image {i} is not a shifted (and possibly flipped) crop of its input"
        kinds.append(match[0])
    assert 5 < sum(kinds) < 35


def test_digits_are_never_flipped(tiny_data):
    folder, md5 = tiny_data
    dm = datamodule(folder, md5, "data=mnist", "augmentation.shift=0", "augmentation.flip=true")
    assert dm.flip is False


@pytest.mark.slow
@pytest.mark.skipif(not FASHION_DIR.is_dir(), reason="Fashion-MNIST not installed (make data)")
def test_real_fashion_mnist_verifies_and_loads():
    files = find_files("fashion_mnist", str(FASHION_DIR), download=False)
    x, y = load_split(files["train_images"], files["train_labels"])
    assert x.shape == (60000, 28, 28) and y.bincount().tolist() == [6000] * 10


MNIST_TEST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"


@pytest.mark.slow
@pytest.mark.skipif(not (MNIST_TEST / "t10k-images-idx3-ubyte.gz").is_file(), reason="MNIST test set absent")
def test_real_mnist_test_set_matches_published_md5(tmp_path):
    from lenet_ablate.data.files import DATASETS, md5sum
    for f in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        assert md5sum(MNIST_TEST / f) in DATASETS.get("mnist").md5[f]
    x, y = load_split(MNIST_TEST / "t10k-images-idx3-ubyte.gz", MNIST_TEST / "t10k-labels-idx1-ubyte.gz")
    assert x.shape == (10000, 28, 28) and int(y.max()) == 9
