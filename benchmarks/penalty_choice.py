"""Which DeepSMOTE penalty should be the default? Classifier quality per penalty.

For each penalty ("deepsmote", "permute", none) and seed: ``DeepSMOTE(penalty=...)``
balances Fashion-MNIST-LT (profile ``deepsmote-mnist``: 4000/2000/.../40, 9,000
images from the training split), a classifier is trained on the balanced set with
``deepbalance.training.Trainer``, and its balanced accuracy (ACSA) on the full
Fashion-MNIST test split is reported, with the autoencoder's reconstruction MSE on
2,000 test images (in [0, 1] pixel units). A row without over-sampling is the
reference. Prints a markdown table and writes it to ``--output``.

Example (what the default-choice note in the docs ran)::

    python benchmarks/penalty_choice.py --seeds 0 --clf-epochs 5 --output penalty.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time

import numpy as np
import torch

from deepbalance._checks import atomic_write_text
from deepbalance.data import load_dataset
from deepbalance.data.imageset import ImageSet
from deepbalance.data.profiles import make_imbalanced
from deepbalance.nets.autoencoders import decode_latents, encode_images
from deepbalance.samplers.presets import DeepSMOTE
from deepbalance.training import TrainConfig, Trainer
from former_recipe import FORMER_RECIPE


def _recon_mse(sampler, X01: np.ndarray) -> float:
    model = sampler.autoencoder_
    out = decode_latents(model, encode_images(model, X01))
    return float(np.mean((out - X01) ** 2))


def _classify(train: ImageSet, test: ImageSet, args, seed: int) -> float:
    config = TrainConfig(
        classifier=args.classifier,
        epochs=args.clf_epochs,
        eval_every=args.clf_epochs,
        device=args.device,
        **FORMER_RECIPE,  # the recipe these results were measured with
    )
    result = Trainer(config, seed=seed, progress=False).fit(train, {"test": test})
    return float(result.final["test"]["acsa"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--penalties", nargs="+", default=["deepsmote", "permute", "none"])
    parser.add_argument("--ae-epochs", type=int, default=None, help="default: DeepSMOTE's")
    parser.add_argument("--clf-epochs", type=int, default=5)
    parser.add_argument("--classifier", default="small-cnn")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--output", default="benchmarks/results/penalty_choice.md")
    args = parser.parse_args(argv)

    full = load_dataset("fashion-mnist", split="train", data_dir=args.data_dir)
    test = load_dataset("fashion-mnist", split="test", data_dir=args.data_dir)
    recon_rows = np.random.RandomState(0).choice(len(test.images), 2000, replace=False)
    X_recon = test.images[recon_rows].astype(np.float32) / 255.0
    rows = []
    for seed in args.seeds:
        lt = make_imbalanced(full, "deepsmote-mnist", seed=seed)
        acsa = _classify(lt, test, args, seed)
        rows.append(("no over-sampling", seed, acsa, float("nan"), 0, 0.0))
        print(rows[-1], flush=True)
        for name in args.penalties:
            penalty = None if name == "none" else name
            params = {"penalty": penalty, "random_state": seed, "device": args.device}
            if args.ae_epochs is not None:
                params["epochs"] = args.ae_epochs
            sampler = DeepSMOTE(**DeepSMOTE.fold_autoencoder_params(params))
            start = time.perf_counter()
            X_res, y_res = sampler.fit_resample(lt.images, lt.labels)
            seconds = time.perf_counter() - start
            train = ImageSet(X_res, y_res, lt.class_names, source="deepsmote")
            acsa = _classify(train, test, args, seed)
            mse = _recon_mse(sampler, X_recon)
            rows.append(
                (f"DeepSMOTE penalty={penalty}", seed, acsa, mse, len(sampler.history_), seconds)
            )
            print(rows[-1], flush=True)

    lines = [
        "| method | seed | test ACSA | test recon MSE | AE epochs | resample s |",
        "|---|---|---|---|---|---|",
    ]
    for method, seed, acsa, mse, epochs, seconds in rows:
        mse_txt = "–" if np.isnan(mse) else f"{mse:.4f}"
        lines.append(f"| {method} | {seed} | {acsa:.4f} | {mse_txt} | {epochs} | {seconds:.0f} |")
    device = (
        torch.cuda.get_device_name(0) if args.device.startswith("cuda") else platform.processor()
    )
    header = [
        f"Command: `python {' '.join(['benchmarks/penalty_choice.py', *sys.argv[1:]])}`",
        f"Machine: {os.cpu_count()} CPUs (`nproc`), device {args.device} ({device or 'cpu'}), "
        f"torch {torch.__version__}, {torch.get_num_threads()} torch threads, "
        f"{dt.date.today().isoformat()}",
        f"Classifier: {args.classifier}, {args.clf_epochs} epochs, Adam 1e-3 (TrainConfig "
        "defaults otherwise); ACSA = balanced accuracy on the 10,000 test images.",
        "",
    ]
    text = "\n".join(header + lines) + "\n"
    print(text)
    atomic_write_text(args.output, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
