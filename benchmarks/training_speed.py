"""Training speed on CPU: ``small-cnn`` epoch time and one CLE-SMOTE run.

Usage::

    OMP_NUM_THREADS=2 python benchmarks/training_speed.py
    OMP_NUM_THREADS=2 python benchmarks/training_speed.py --output speed.md --cle-epochs 30

Measures

1. ``small-cnn`` (Adam 1e-3, batch 128, no augmentation: the recipe before the tuned
   default) on 40,000 Fashion-MNIST training images (28x28): seconds per epoch (mean of
   ``--cnn-epochs`` epochs, no evaluation).
   Target: <= 15 s/epoch on 2 cores.
2. ``cle-smote`` on binary Fashion-MNIST at 100:1 (profile ``cle-binary``: T-shirt/top 6000,
   Trouser 60; tested on the 2000 test images of those classes) with ``cle-cnn``, 30 epochs,
   one seed, default recipe (pixel SMOTE k=5, triplet pretraining, cosine cap): wall time of
   ``run_method``. Target: <= 5 minutes.

Prints a markdown table (command, machine, torch version, date) and writes it to
``--output``. Timings on a shared machine are noisy; run it when the machine is otherwise idle.
Without the Fashion-MNIST files, uniform random images of the same shapes are timed instead
(the table says so).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time

import numpy as np
import torch

from deepbalance._checks import atomic_write_text
from deepbalance.data.imageset import ImageSet
from deepbalance.methods import run_method
from deepbalance.training import Callback, TrainConfig, Trainer
from former_recipe import FORMER_RECIPE


class EpochTimer(Callback):
    """Wall time of each training epoch."""

    def __init__(self):
        self.seconds: list[float] = []
        self._start = 0.0

    def on_epoch_start(self, state):
        self._start = time.perf_counter()

    def on_epoch_end(self, state):
        self.seconds.append(time.perf_counter() - self._start)


def fashion_mnist() -> tuple[ImageSet, ImageSet, str]:
    """Fashion-MNIST train/test, or random stand-ins of the same shape."""
    try:
        from deepbalance.data import load_dataset

        return load_dataset("fashion-mnist", "train"), load_dataset("fashion-mnist", "test"), ""
    except Exception as err:  # any reason the files cannot be read: time random images instead
        rng = np.random.RandomState(0)
        names = tuple(str(c) for c in range(10))

        def fake(n):
            images = rng.randint(0, 256, (n, 1, 28, 28)).astype(np.uint8)
            return ImageSet(images, np.arange(n) % 10, names, "random")

        return fake(60000), fake(10000), f" (random images: Fashion-MNIST unavailable, {err})"


def time_small_cnn(train: ImageSet, n_images: int, epochs: int) -> float:
    data = train.subset(np.arange(n_images))
    timer = EpochTimer()
    config = TrainConfig(  # the recipe of the recorded results
        classifier="small-cnn",
        epochs=epochs,
        **FORMER_RECIPE,
    )
    Trainer(config, progress=False, callbacks=[timer]).fit(data)
    return float(np.mean(timer.seconds))


def time_cle_smote(train: ImageSet, test: ImageSet, epochs: int):
    from deepbalance.data.profiles import make_imbalanced

    binary = make_imbalanced(train, "cle-binary", seed=0)
    binary_test = make_imbalanced(test, "cle-binary-balanced", seed=0)
    config = TrainConfig(
        classifier="cle-cnn",
        epochs=epochs,
        eval_every=epochs,
        **FORMER_RECIPE,
    )
    started = time.perf_counter()
    result = run_method(
        "cle-smote", binary, {"test": binary_test}, config=config, seed=0, progress=False
    )
    return time.perf_counter() - started, result, binary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", default="benchmarks/results/training_speed.md")
    parser.add_argument("--cnn-images", type=int, default=40_000)
    parser.add_argument("--cnn-epochs", type=int, default=2)
    parser.add_argument("--cle-epochs", type=int, default=30)
    parser.add_argument("--skip-cle", action="store_true", help="only time small-cnn")
    args = parser.parse_args(argv)

    train, test, note = fashion_mnist()
    rows = []
    per_epoch = time_small_cnn(train, args.cnn_images, args.cnn_epochs)
    rows.append(
        (
            f"small-cnn, {args.cnn_images:,} images 28x28{note}",
            f"Adam, batch 128, mean of {args.cnn_epochs} epochs",
            f"{per_epoch:.1f} s/epoch",
            "<= 15 s/epoch",
        )
    )
    print(rows[-1])
    if not args.skip_cle:
        seconds, result, binary = time_cle_smote(train, test, args.cle_epochs)
        t = result.timings
        metrics = result.final["test"]
        pre = sum(r["stage"] == "pretrain" for r in result.losses)
        rows.append(
            (
                f"cle-smote, binary Fashion-MNIST {binary.class_counts().tolist()}{note}",
                f"cle-cnn, {args.cle_epochs} epochs (+{pre} triplet epochs), seed 0; "
                f"resample {t['resample']:.1f} s, train {t['train']:.1f} s; final test "
                f"ACSA {metrics['acsa']:.3f}, AUROC {metrics['auroc']:.3f}",
                f"{seconds:.0f} s",
                "<= 300 s",
            )
        )
        print(rows[-1])

    command = "OMP_NUM_THREADS={} python benchmarks/training_speed.py {}".format(
        os.environ.get("OMP_NUM_THREADS", "unset"), " ".join(argv or sys.argv[1:])
    ).rstrip()
    machine = (
        f"{platform.machine()}, {os.cpu_count()} CPU cores visible, "
        f"torch threads {torch.get_num_threads()}, {platform.platform()}"
    )
    lines = [
        "# Training speed",
        "",
        f"- command: `{command}`",
        f"- machine: {machine}",
        f"- torch: {torch.__version__}, Python {platform.python_version()}",
        f"- date: {datetime.date.today().isoformat()}",
        "- note: wall-clock times on a machine shared with other jobs; expect noise.",
        "",
        "| benchmark | setting | time | target |",
        "| --- | --- | --- | --- |",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    atomic_write_text(args.output, text)
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
