"""`make data`: get a data set by whichever route works on this machine.

python -m lenet_ablate.data.getdata [fashion_mnist|mnist]
Order: already present (./data or the system folder) -> torchvision download ->
`apt-get install -y dataset-fashion-mnist` (Debian, as root).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from lenet_ablate.data.files import DATASETS, DataError, find_files


def main(argv: list[str] | None = None) -> int:
    """Find or fetch the data set named in argv (default fashion_mnist); 0 on success."""
    args = sys.argv[1:] if argv is None else argv
    name = args[0] if args else "fashion_mnist"
    if name not in DATASETS:
        print(f"getdata: unknown data set {name!r}; allowed: {', '.join(DATASETS)}", file=sys.stderr)
        return 2
    try:
        files = find_files(name, None, download=True)
    except DataError as exc:
        can_apt = name == "fashion_mnist" and shutil.which("apt-get") and os.geteuid() == 0
        if not can_apt:
            print(f"getdata: {exc}", file=sys.stderr)
            return 1
        print("getdata: download failed; trying apt-get install -y dataset-fashion-mnist", flush=True)
        subprocess.run(["apt-get", "install", "-y", "dataset-fashion-mnist"], check=False)
        try:
            files = find_files(name, None, download=False)
        except DataError as exc2:
            print(f"getdata: {exc2}", file=sys.stderr)
            return 1
    print(f"getdata: {name} ready in {files['train_images'].parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
