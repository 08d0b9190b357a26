"""Held-out reconstruction error against training time for autoencoder recipes.

Usage::

    python benchmarks/autoencoder_curves.py --recipes fast16-b64-p64 previous official --threads 2
    python benchmarks/autoencoder_curves.py --plot docs/autoencoder_curves.png
    python benchmarks/autoencoder_curves.py --autoencoder denoising --recipes previous --threads 1

Data: Fashion-MNIST-LT (``deepsmote-mnist`` profile, 9,000 images, seed 0); after every epoch
the reconstruction MSE (in [0, 1] pixel units) of 2,000 test images is recorded with the
cumulative training seconds (wall, without the evaluation) and CPU seconds of the process.
Recipes (all the plain DeepSMOTE autoencoder, latent 300, DeepSMOTE's penalty, batch 128, seed 0,
no early stopping so the whole curve is seen):

- ``official``: DeepSMOTE's script, width 64, Adam 2e-4 (200 epochs there; ``--official-epochs``
  here).
- ``previous``: the former library default, width 32, Adam 2e-4 (up to 30 epochs).
- ``fast``: width 32, Adam with a one-cycle schedule peaking at 2e-3, 10 epochs.
- ``fast16``: width 16, the same schedule, 12 epochs.
- ``fast16-b64`` / ``fast32-b64``: widths 16 / 32, batches of 64, 20 / 12 epochs.
- ``fast16-30``: width 16, one-cycle at 2e-3, 30 epochs.
- ``slow16``: width 16, Adam 2e-4 (DeepSMOTE's rate), 30 epochs.
- ``fast16-b64-p64``: ``fast16-b64`` with penalty batches of 64 (the main batch's size, as the
  official script uses 100 for both); the default until 2026-12-02.
- ``default``: ``fast16-b64-p64`` with the penalty batch normalised by BatchNorm's running
  statistics (``penalty_batchnorm="running"``); every other recipe normalises it by its own
  statistics, as the official script does.

``--autoencoder denoising|sparse|vae`` trains the regularised autoencoders of the dissertation
(Mandal 2024) with the same recipes instead of the plain one (their presets share the plain one's
defaults, penalty included); their lines carry ``"autoencoder"`` and their recipe names end
in ``[denoising]`` etc.

Each recipe appends one JSON line per epoch to ``benchmarks/results/autoencoder_curves.jsonl``
and the script prints a markdown summary. Wall seconds depend on other load; CPU seconds less.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from deepbalance.data import load_dataset
from deepbalance.data.profiles import make_imbalanced
from deepbalance.nets import AutoencoderConfig, TrainSettings, train_autoencoder
from deepbalance.nets.autoencoders import VARIANTS, decode_latents, encode_images

OUT = Path(__file__).parent / "results" / "autoencoder_curves.jsonl"

RECIPES = {
    "official": ({"dim_h": 64}, {"lr": 2e-4, "schedule": "constant"}, 200),
    "previous": ({"dim_h": 32}, {"lr": 2e-4, "schedule": "constant"}, 30),
    "fast": ({"dim_h": 32}, {"lr": 2e-3, "schedule": "onecycle"}, 10),
    "fast16": ({"dim_h": 16}, {"lr": 2e-3, "schedule": "onecycle"}, 12),
    "fast16-b64": ({"dim_h": 16}, {"lr": 2e-3, "schedule": "onecycle", "batch_size": 64}, 20),
    "fast16-30": ({"dim_h": 16}, {"lr": 2e-3, "schedule": "onecycle"}, 30),
    "slow16": ({"dim_h": 16}, {"lr": 2e-4, "schedule": "constant"}, 30),
    "fast16-b64-p64": (
        {"dim_h": 16},
        {"lr": 2e-3, "schedule": "onecycle", "batch_size": 64, "penalty_batch": 64},
        20,
    ),
    "fast32-b64": ({"dim_h": 32}, {"lr": 2e-3, "schedule": "onecycle", "batch_size": 64}, 12),
    # today's default: fast16-b64-p64 with the penalty batch normalised by the running statistics
    "default": (
        {"dim_h": 16},
        {
            "lr": 2e-3,
            "schedule": "onecycle",
            "batch_size": 64,
            "penalty_batch": 64,
            "penalty_batchnorm": "running",
        },
        20,
    ),
}


def plot(path: str, autoencoders=("plain",)) -> None:
    """Held-out MSE against training CPU seconds, one line per recipe, from the JSON lines
    of the given autoencoders (lines written before ``"autoencoder"`` was recorded are
    the plain one's)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from deepbalance._checks import atomic_path

    rows = [json.loads(line) for line in OUT.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r.get("autoencoder", "plain") in autoencoders]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name in dict.fromkeys(r["recipe"] for r in rows):
        mine = [r for r in rows if r["recipe"] == name]
        pts = sorted((r["train_cpu_s"], r["heldout_mse"]) for r in mine)
        threads = sorted({r["threads"] for r in mine})
        label = f"{name} ({'/'.join(map(str, threads))} thr.)"
        ax.plot(*zip(*pts, strict=True), marker=".", label=label)
    ax.axhline(
        0.0123, color="grey", linestyle=":", label="0.0123 (plain autoencoder, former default)"
    )
    ax.set(xlabel="training CPU seconds", ylabel="held-out MSE, [0, 1] pixels")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    kinds = ", ".join(autoencoders)
    ax.set_title(f"Autoencoders ({kinds}) on Fashion-MNIST-LT")
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--official-epochs", type=int, default=8)
    parser.add_argument("--previous-epochs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--autoencoder", default="plain", choices=VARIANTS)
    parser.add_argument("--plot", metavar="PNG", help="only draw the recorded curves to PNG")
    parser.add_argument(
        "--plot-autoencoders",
        nargs="+",
        default=["plain"],
        choices=VARIANTS,
        help="whose curves --plot draws (default: the plain one's)",
    )
    args = parser.parse_args(argv)
    if args.plot:
        plot(args.plot, tuple(args.plot_autoencoders))
        return 0
    if args.threads:
        torch.set_num_threads(args.threads)
    train = make_imbalanced(load_dataset("fashion-mnist", split="train"), "deepsmote-mnist", seed=0)
    test = load_dataset("fashion-mnist", split="test")
    held = test.images[np.random.RandomState(0).choice(len(test), 2000, replace=False)]
    held01 = held.astype(np.float32) / 255.0
    X01 = train.images.astype(np.float32) / 255.0
    OUT.parent.mkdir(parents=True, exist_ok=True)
    summary = []
    for name in args.recipes:
        arch, opt, epochs = RECIPES[name]
        epochs = {"official": args.official_epochs, "previous": args.previous_epochs}.get(
            name, epochs
        )
        config = AutoencoderConfig((1, 28, 28), args.autoencoder, **arch)
        if args.autoencoder != "plain":
            name = f"{name}[{args.autoencoder}]"
        # every recipe but "default" normalises the penalty batch as the official script does
        # (how all of them were measured before "running" became the default)
        base = {"batch_size": 128, "penalty_batchnorm": "batch"}
        settings = TrainSettings(
            epochs=epochs, patience=None, penalty="deepsmote", **{**base, **opt}
        )
        state = {"wall": 0.0, "cpu0": time.process_time(), "cpu_eval": 0.0}

        def record(entry, model, name=name, state=state):
            state["wall"] += entry["seconds"]
            c = time.process_time()
            mse = float(
                np.mean((decode_latents(model, encode_images(model, held01)) - held01) ** 2)
            )
            state["cpu_eval"] += time.process_time() - c
            line = {
                "recipe": name,
                "autoencoder": args.autoencoder,
                "epoch": entry["epoch"],
                "train_wall_s": round(state["wall"], 1),
                "train_cpu_s": round(time.process_time() - state["cpu0"] - state["cpu_eval"], 1),
                "heldout_mse": round(mse, 5),
                "threads": torch.get_num_threads(),
                "date": dt.date.today().isoformat(),
                "cores": os.cpu_count(),
            }
            with OUT.open("a") as f:
                f.write(json.dumps(line) + "\n")
            print(json.dumps(line), flush=True)
            state["last"] = line

        train_autoencoder(config, X01, train.labels, settings, seed=0, on_epoch=record)
        last = state["last"]
        summary.append(
            f"| {name} | {arch['dim_h']} | {opt['lr']} {opt['schedule']} | {last['epoch']} "
            f"| {last['train_wall_s']} | {last['train_cpu_s']} | {last['heldout_mse']:.4f} |"
        )
    print("| recipe | dim_h | lr, schedule | epochs | train wall s | train CPU s | held-out MSE |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
