"""Wall time of the two headline operations, for an otherwise idle machine.

Usage::

    OMP_NUM_THREADS=2 python benchmarks/idle_timings.py [--only classifier|deepsmote]

1. ``run_method("none", ...)`` on Fashion-MNIST-LT (profile ``deepsmote-mnist``, seed 0) with
   ``TrainConfig()`` and one evaluation on the official test set.
2. ``DeepSMOTE(random_state=0).fit_resample`` on the same images (autoencoder training,
   encoding, SMOTE to 4,000 per class, decoding), with its held-out reconstruction MSE on 2,000
   test images.

Prints one JSON line per measurement with wall and CPU seconds and the thread count.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

from deepbalance import load_dataset, make_imbalanced
from deepbalance.methods import run_method
from deepbalance.nets.autoencoders import decode_latents, encode_images
from deepbalance.samplers import DeepSMOTE
from deepbalance.training import TrainConfig

#: DeepSMOTE's autoencoder defaults before the fast recipe (docs/benchmarks.md, "Autoencoders")
FORMER_DEFAULT = {
    "dim_h": 32,
    "epochs": 30,
    "batch_size": 128,
    "lr": 2e-4,
    "schedule": "constant",
    "patience": 5,
    "penalty_batch": 100,
    "penalty_batchnorm": "batch",
}


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, round(time.perf_counter() - wall, 1), round(time.process_time() - cpu, 1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("classifier", "deepsmote"), help="one measurement")
    parser.add_argument(
        "--former-default",
        action="store_true",
        help="time DeepSMOTE with the autoencoder defaults before 2026-12-01 (width 32, 30 "
        "epochs, batches of 128, constant Adam 2e-4, patience 5, penalty batches of 100 "
        "normalised by their own BatchNorm statistics)",
    )
    parser.add_argument("--epochs", type=int, help="autoencoder epochs instead of the default")
    args = parser.parse_args(argv)
    train = make_imbalanced(load_dataset("fashion-mnist", split="train"), "deepsmote-mnist", seed=0)
    test = load_dataset("fashion-mnist", split="test")
    common = {"threads": torch.get_num_threads(), "cores": os.cpu_count()}
    if args.only != "deepsmote":
        config = TrainConfig(eval_every=TrainConfig().epochs)
        result, wall, cpu = _timed(
            lambda: run_method("none", train, {"test": test}, config=config, seed=0, progress=False)
        )
        line = {"what": "run_method none", "acsa": round(result.final["test"]["acsa"], 4)}
        print(json.dumps({**line, "wall_s": wall, "cpu_s": cpu, **common}), flush=True)
        if args.only == "classifier":
            return 0
    params = dict(FORMER_DEFAULT) if args.former_default else {}
    if args.epochs is not None:
        params["epochs"] = args.epochs
    sampler = DeepSMOTE(**DeepSMOTE.fold_autoencoder_params({"random_state": 0, **params}))
    _, wall, cpu = _timed(lambda: sampler.fit_resample(train.images, train.labels))
    held = test.images[np.random.RandomState(0).choice(len(test), 2000, replace=False)]
    held01 = held.astype(np.float32) / 255.0
    model = sampler.autoencoder_
    mse = float(np.mean((decode_latents(model, encode_images(model, held01)) - held01) ** 2))
    what = "DeepSMOTE(former defaults)" if args.former_default else "DeepSMOTE()"
    if args.epochs is not None:
        what = what.replace(")", f", epochs={args.epochs})").replace("(, ", "(")
    line = {"what": f"{what}.fit_resample", "heldout_mse": round(mse, 5)}
    line["autoencoder_epochs"] = len(sampler.history_)
    print(json.dumps({**line, "wall_s": wall, "cpu_s": cpu, **common}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
