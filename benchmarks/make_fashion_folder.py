"""Write a folder of real Fashion-MNIST images as PNG files, one sub-folder per class.

Usage::

    python benchmarks/make_fashion_folder.py /tmp/fashion-folder                 # 975 images
    python benchmarks/make_fashion_folder.py /tmp/fashion-200 --counts 120 60 15 5

The default is the small, imbalanced folder a practitioner might have: four classes of the
official training split, ``tshirt`` 600, ``pullover`` 300, ``coat`` 60, ``shirt`` 15 (975
grey 28x28 images), drawn without replacement with ``numpy.random.RandomState(seed)``. Every
file is written to a temporary name and renamed, so an interrupted run leaves no half image;
an existing folder is refused unless ``--overwrite``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import numpy as np

#: Fashion-MNIST class index -> folder name, in the order the counts are given
CLASSES = {0: "tshirt", 2: "pullover", 4: "coat", 6: "shirt"}
DEFAULT_COUNTS = (600, 300, 60, 15)


def write_folder(out: Path, counts=DEFAULT_COUNTS, seed: int = 0, overwrite: bool = False):
    """Write ``counts[i]`` images of the i-th class of :data:`CLASSES` under ``out``."""
    from PIL import Image

    from deepbalance import load_dataset

    counts = tuple(int(c) for c in counts)
    if len(counts) != len(CLASSES) or min(counts) < 1:
        raise ValueError(f"counts={counts} must be {len(CLASSES)} positive integers")
    out = Path(out)
    if out.exists():
        if not overwrite:
            raise ValueError(f"{out} exists; pass --overwrite to replace it")
        shutil.rmtree(out)
    full = load_dataset("fashion-mnist", split="train")
    rng = np.random.RandomState(seed)
    tmp = out.with_name(out.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    for (label, name), n in zip(CLASSES.items(), counts, strict=True):
        rows = np.flatnonzero(full.labels == label)
        chosen = np.sort(rng.choice(rows, size=n, replace=False))
        folder = tmp / name
        folder.mkdir(parents=True)
        for row in chosen:
            Image.fromarray(full.images[row, 0]).save(folder / f"{name}-{row:05d}.png")
    os.replace(tmp, out)
    return {name: n for name, n in zip(CLASSES.values(), counts, strict=True)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write")
    parser.add_argument(
        "--counts",
        type=int,
        nargs=4,
        default=DEFAULT_COUNTS,
        metavar=("TSHIRT", "PULLOVER", "COAT", "SHIRT"),
        help="images per class (default: 600 300 60 15)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the draw (default: 0)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing folder")
    args = parser.parse_args(argv)
    written = write_folder(args.out, args.counts, args.seed, args.overwrite)
    print(f"wrote {sum(written.values())} images to {args.out}: {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
