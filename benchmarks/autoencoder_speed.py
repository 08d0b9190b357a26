"""Autoencoder speed and reconstruction on Fashion-MNIST-LT, and DeepSMOTE's fit+generate time.

Data: Fashion-MNIST training split subsampled with the ``deepsmote-mnist`` profile
(4000/2000/1000/750/500/350/200/100/60/40 = 9,000 images, seed 0). For each width
``dim_h`` the DeepSMOTE autoencoder (plain, latent 300, DeepSMOTE penalty, batch
128, Adam 2e-4) trains for ``--epochs`` epochs without early stopping; the table
gives seconds per epoch, training images per second and the reconstruction MSE
(in [0, 1] pixel units) on 2,000 held-out test images. The last row is
``DeepSMOTE(random_state=0)`` with its defaults: ``fit_resample`` wall time
(training, encoding, SMOTE to 4,000 per class, decoding 31,000 images).

Timings depend on what else runs on the machine; run it on an otherwise idle one.

Usage::

    python benchmarks/autoencoder_speed.py [--epochs 3] [--widths 16 32 64] \\
        [--output benchmarks/results/autoencoder_speed.md]
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
from deepbalance.data.profiles import make_imbalanced
from deepbalance.nets import (
    AutoencoderConfig,
    TrainSettings,
    decode_latents,
    encode_images,
    resolve_device,
    train_autoencoder,
)
from deepbalance.samplers.grid import sampler_grid
from deepbalance.samplers.presets import DeepSMOTE


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _recon_mse(model, X01: np.ndarray) -> float:
    return float(np.mean((decode_latents(model, encode_images(model, X01)) - X01) ** 2))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs per width")
    parser.add_argument("--widths", type=int, nargs="*", default=[16, 32, 64])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--skip-deepsmote", action="store_true")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--output", default="benchmarks/results/autoencoder_speed.md")
    parser.add_argument(
        "--grid", default=None, help="also write a PNG of real vs DeepSMOTE images here"
    )
    args = parser.parse_args(argv)
    device = resolve_device(args.device)

    train = make_imbalanced(
        load_dataset("fashion-mnist", split="train", data_dir=args.data_dir),
        "deepsmote-mnist",
        seed=0,
    )
    test = load_dataset("fashion-mnist", split="test", data_dir=args.data_dir)
    X01 = train.images.astype(np.float32) / 255.0
    held_out = test.images[np.random.RandomState(0).choice(len(test.images), 2000, replace=False)]
    held_out01 = held_out.astype(np.float32) / 255.0
    n = len(X01)

    rows = []
    for dim_h in args.widths:
        config = AutoencoderConfig((1, 28, 28), "plain", dim_h=dim_h)
        settings = TrainSettings(
            epochs=args.epochs, batch_size=128, patience=None, penalty="deepsmote"
        )
        model, history = train_autoencoder(
            config, X01, train.labels, settings, seed=0, device=device
        )
        seconds = float(np.mean([h["seconds"] for h in history]))
        params = sum(p.numel() for p in model.parameters())
        rows.append(
            f"| AE dim_h={dim_h} ({params / 1e6:.2f} M params) | {args.epochs} | {seconds:.1f} "
            f"| {n / seconds:.0f} | {_recon_mse(model, held_out01):.4f} | – |"
        )
        print(rows[-1], flush=True)
    if not args.skip_deepsmote:
        sampler = DeepSMOTE(random_state=0, device=args.device)
        start = time.perf_counter()
        X_res, _ = sampler.fit_resample(train.images, train.labels)
        wall = time.perf_counter() - start
        epochs = len(sampler.history_)
        seconds = float(np.mean([h["seconds"] for h in sampler.history_]))
        rows.append(
            f"| DeepSMOTE defaults (dim_h={sampler.autoencoder_settings().dim_h}, "
            f"≤{sampler.train_settings().epochs} epochs) | {epochs} "
            f"| {seconds:.1f} | {n / seconds:.0f} "
            f"| {_recon_mse(sampler.autoencoder_, held_out01):.4f} | {wall:.0f} "
            f"({len(X_res) - n} images made) |"
        )
        print(rows[-1], flush=True)
        if args.grid:
            sampler_grid(
                sampler,
                train.images,
                train.labels,
                args.grid,
                class_names=train.class_names,
                title="Fashion-MNIST-LT: real (left) vs DeepSMOTE (right)",
            )

    where = torch.cuda.get_device_name(device) if device.type == "cuda" else _cpu_name()
    lines = [
        f"Command: `python {' '.join(['benchmarks/autoencoder_speed.py', *sys.argv[1:]])}`",
        "",
        f"Machine: `nproc` = {os.cpu_count()}, {where}, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), device {device}, {dt.date.today().isoformat()}.",
        "Data: Fashion-MNIST-LT (deepsmote-mnist profile, 9,000 images, seed 0); "
        "reconstruction MSE in [0, 1] pixel units on 2,000 test images.",
        "",
        "| autoencoder | epochs | s/epoch | images/s | held-out MSE | fit+generate s |",
        "|---|---|---|---|---|---|",
        *rows,
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    atomic_write_text(args.output, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
