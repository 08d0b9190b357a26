"""Why the default autoencoder's held-out error is above its training error, and what closes
the gap: training-image and held-out reconstruction MSE of single changes to the default.

Usage::

    OMP_NUM_THREADS=2 python benchmarks/autoencoder_gap.py            # every probe
    OMP_NUM_THREADS=2 python benchmarks/autoencoder_gap.py --probes default batch
    OMP_NUM_THREADS=2 python benchmarks/autoencoder_gap.py --heldout train   # no test image

Data as in ``autoencoder_curves.py``: Fashion-MNIST-LT (``deepsmote-mnist`` profile, seed 0,
9,000 images); "held-out" is 2,000 test images, "train" 2,000 of the training images (both in
[0, 1] pixel units, the model in eval mode). With ``--heldout train`` no test image is used: a
stratified 20 % of the 9,000 training images (1,800) is held out, the autoencoder trains on the
other 7,200 and "held-out" is the 1,800 — the validation split a choice of recipe may be read
from. Every probe is ``DeepSMOTE()``'s autoencoder
recipe (plain, width 16, batches of 64, one-cycle Adam at 2e-3, 20 epochs, DeepSMOTE's
penalty on 64 images of one class) with one change:

- ``default``: as it is (the penalty batch normalised by BatchNorm's running statistics).
- ``batch``: the penalty batch normalised by its own statistics, which are folded into the
  running averages (the official script's behaviour, the default until 2026-12-02).
- ``batch-recalibrated``: ``batch``, then BatchNorm's running statistics recomputed over the
  training images (one pass in training mode, no gradient).
- ``no-penalty``: no penalty at all.
- ``width24``: ``batch`` at width 24.
- ``batch-shift1`` / ``batch-shift2``: ``batch`` with every training batch (the penalty's too)
  shifted at random by up to 1 / 2 pixels (zero padding, random crop).
- ``former-default``: the recipe before 2026-12-01 (width 32, Adam 2e-4 constant, batches of
  128, penalty batches of 100 on their own BatchNorm statistics, up to 30 epochs, stopping
  after 5 without improvement).

One JSON line per probe goes to ``benchmarks/results/autoencoder_gap.jsonl``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from deepbalance.data import load_dataset
from deepbalance.data.profiles import make_imbalanced
from deepbalance.nets import (
    AutoencoderConfig,
    TrainSettings,
    autoencoder_training,
    train_autoencoder,
)
from deepbalance.nets.autoencoders import decode_latents, encode_images, to_model_range
from deepbalance.training.data import random_crop_flip

OUT = Path(__file__).parent / "results" / "autoencoder_gap.jsonl"
DEFAULT = {
    "epochs": 20,
    "batch_size": 64,
    "lr": 2e-3,
    "schedule": "onecycle",
    "patience": None,
    "penalty": "deepsmote",
    "penalty_batch": 64,
    "penalty_batchnorm": "running",
}
#: probe -> (width, TrainSettings changes, largest shift in pixels, recalibrate BatchNorm)
PROBES = {
    "default": (16, {}, 0, False),
    "batch": (16, {"penalty_batchnorm": "batch"}, 0, False),
    "batch-recalibrated": (16, {"penalty_batchnorm": "batch"}, 0, True),
    "no-penalty": (16, {"penalty": None}, 0, False),
    "width24": (24, {"penalty_batchnorm": "batch"}, 0, False),
    "batch-shift1": (16, {"penalty_batchnorm": "batch"}, 1, False),
    "batch-shift2": (16, {"penalty_batchnorm": "batch"}, 2, False),
    "former-default": (
        32,
        {
            "epochs": 30,
            "batch_size": 128,
            "lr": 2e-4,
            "schedule": "constant",
            "patience": 5,
            "penalty_batch": 100,
            "penalty_batchnorm": "batch",
        },
        0,
        False,
    ),
}


@contextmanager
def shifted_batches(pad: int, seed: int = 0):
    """Every image batch the trainer reads is shifted at random by up to ``pad`` pixels.

    The library's trainer has no augmentation option (none is needed for its defaults), so
    this probe wraps the function the training loop reads its batches with.
    """
    original = autoencoder_training.unit_batch
    generator = torch.Generator().manual_seed(seed)

    def read(X, rows, device):
        return random_crop_flip(original(X, rows, device), generator, pad=pad, flip=False)

    autoencoder_training.unit_batch = read if pad else original
    try:
        yield
    finally:
        autoencoder_training.unit_batch = original


def recalibrate_batchnorm(model, X01: np.ndarray, batch_size: int = 64) -> None:
    """Recompute every BatchNorm layer's running statistics as plain averages over ``X01``."""
    norms = autoencoder_training._batchnorms(model)
    for bn in norms:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average
    model.train()
    with torch.no_grad():
        for i in range(0, len(X01), batch_size):
            model(to_model_range(torch.from_numpy(X01[i : i + batch_size])))
    model.eval()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--probes", nargs="+", default=list(PROBES), choices=list(PROBES))
    parser.add_argument(
        "--heldout",
        choices=["test", "train"],
        default="test",
        help="test: 2,000 test images; train: a stratified 20%% of the training images, "
        "held out from the autoencoder's training (no test image is read)",
    )
    args = parser.parse_args(argv)
    train = make_imbalanced(load_dataset("fashion-mnist", split="train"), "deepsmote-mnist", seed=0)
    X01 = train.images.astype(np.float32) / 255.0
    labels = train.labels
    if args.heldout == "train":
        fit_rows, held_rows = train_test_split(
            np.arange(len(X01)), test_size=0.2, stratify=labels, random_state=0
        )
        held, X01, labels = X01[held_rows], X01[fit_rows], labels[fit_rows]
    else:
        test = load_dataset("fashion-mnist", split="test")
        held = test.images[np.random.RandomState(0).choice(len(test), 2000, replace=False)]
        held = held.astype(np.float32) / 255.0
    seen = X01[np.random.RandomState(1).choice(len(X01), 2000, replace=False)]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    print("| probe | wall s | CPU s | train MSE | held-out MSE |\n|---|---|---|---|---|")
    for name in args.probes:
        width, changes, pad, recalibrate = PROBES[name]
        config = AutoencoderConfig((1, 28, 28), "plain", dim_h=width)
        settings = TrainSettings(**{**DEFAULT, **changes})
        wall, cpu = time.perf_counter(), time.process_time()
        with shifted_batches(pad):
            model, _ = train_autoencoder(config, X01, labels, settings, seed=0)
        if recalibrate:
            recalibrate_batchnorm(model, X01)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu

        def mse(images, model=model):
            return float(
                np.mean((decode_latents(model, encode_images(model, images)) - images) ** 2)
            )

        line = {
            "probe": name,
            "heldout": "test images" if args.heldout == "test" else "20% of the training images",
            "wall_s": round(wall, 1),
            "cpu_s": round(cpu, 1),
            "train_mse": round(mse(seen), 5),
            "heldout_mse": round(mse(held), 5),
            "threads": torch.get_num_threads(),
            "date": dt.date.today().isoformat(),
            "machine": f"{platform.machine()} {os.cpu_count()} cores",
        }
        with OUT.open("a") as f:
            f.write(json.dumps(line) + "\n")
        print(
            f"| {name} | {line['wall_s']} | {line['cpu_s']} | {line['train_mse']:.4f} "
            f"| {line['heldout_mse']:.4f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
