"""Time and peak memory of the samplers against image count N and image size.

Data: Fashion-MNIST training split made long-tailed with the ``deepsmote-mnist`` profile
(4000/2000/1000/750/500/350/200/100/60/40 = 9,000 images, seed 0). Smaller N keep the
first half or quarter of every class (2,250 / 4,500 / 9,000 images, the same shape of
imbalance); larger sizes repeat each pixel (nearest-neighbour upsampling, 28 → 56 → 112 →
224 px). Every sampler balances every class to the largest (9,000 → 40,000 images).

Each case runs in a fresh subprocess, which reports the seconds of ``fit_resample`` and its
own peak resident memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``, the whole process:
Python, the loaded data set, the input and the output). The fit of ``time ∝ N^a · D^b``
(D = pixels per image) is least squares on the logs of all measured cells of a sampler.

Samplers: ``RandomOversampler``, ``PixelSMOTE``, ``PixelADASYN`` (all ``random_state=0``),
``DeepSMOTE`` (1 autoencoder epoch, ``dim_h=8``, ``latent_dim=300``, batches of 64,
one-cycle Adam 2e-3) and
``LatentOversampler`` with ``WeightedCalibration(covariance_type="diag")`` (the same
autoencoder). The latent code is fixed at 300 for every size so that only the autoencoder
grows with D.

Usage::

    python benchmarks/sampler_scaling.py [--grid default|quick] [--threads 2] \\
        [--output benchmarks/results/sampler_scaling]
    python benchmarks/sampler_scaling.py --case pixel-smote 9000 224   # one cell
    python benchmarks/sampler_scaling.py --epoch-time 224 300   # autoencoder s/epoch

``--epoch-time SIZE N`` trains a DeepSMOTE autoencoder (plain, ``dim_h=32``, latent 600
above 28 px, the official penalty, ``TrainSettings`` defaults: batch 128, Adam 2e-4) and
the benchmark's small one (``dim_h=8``, latent 300) for one epoch on N images at SIZE px
and prints the seconds, the parameter count and the number of stride-2 stages.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SAMPLERS = ("random", "pixel-smote", "pixel-adasyn", "deepsmote", "calibration")
COUNTS = (2250, 4500, 9000)
SIZES = (28, 56, 112, 224)


#: cells left out of the size sweep (about 15 minutes of machine time in all): ADASYN at
#: 224 px on 9,000 images (its density weights search all 9,000 rows for each of 5,000) and
#: the calibration sampler at 224 px (its autoencoder is DeepSMOTE's, measured there)
SKIPPED = {("pixel-adasyn", 9000, 224), ("calibration", 2250, 224)}
#: image count of each sampler's size sweep: the autoencoder samplers train at 2,250
SIZE_SWEEP_N = {"deepsmote": 2250, "calibration": 2250}


def default_grid() -> list[tuple[str, int, int]]:
    """N at 28 px for every sampler; sizes at N = 9,000 (2,250 for the autoencoder
    samplers), without :data:`SKIPPED`; ADASYN's 224 px cell is measured at N = 2,250."""
    cells = []
    for name in SAMPLERS:
        cells += [(name, n, 28) for n in COUNTS]
        n_size = SIZE_SWEEP_N.get(name, 9000)
        cells += [(name, n_size, s) for s in SIZES[1:] if (name, n_size, s) not in SKIPPED]
    cells.append(("pixel-adasyn", 2250, 224))
    return cells


def quick_grid() -> list[tuple[str, int, int]]:
    return [(name, n, 28) for name in SAMPLERS for n in (2250, 4500)]


#: a .npz of the 28-px Fashion-MNIST-LT images, written once by the driver for its cells
DATA_ENV = "SAMPLER_SCALING_DATA"


def load_lt() -> tuple[np.ndarray, np.ndarray]:
    """The 9,000 Fashion-MNIST-LT images (28 px, uint8) and labels."""
    cached = os.environ.get(DATA_ENV)
    if cached:
        with np.load(cached) as d:
            return d["X"], d["y"]
    from deepbalance import load_dataset, make_imbalanced

    lt = make_imbalanced(load_dataset("fashion-mnist", split="train"), "deepsmote-mnist", seed=0)
    return lt.images, lt.labels


def make_data(n: int, size: int):
    X, y = load_lt()
    if n != len(y):
        if n not in COUNTS:
            raise ValueError(f"n={n} must be one of {COUNTS}")
        share = n / len(y)
        rows = np.concatenate(
            [np.flatnonzero(y == c)[: round(share * (y == c).sum())] for c in np.unique(y)]
        )
        X, y = X[rows], y[rows]
    if size % 28:
        raise ValueError(f"size={size} must be a multiple of 28")
    f = size // 28
    if f > 1:
        X = np.repeat(np.repeat(X, f, axis=2), f, axis=3)
    return np.ascontiguousarray(X), y


def make_sampler(name: str):
    from deepbalance.samplers import (
        DeepSMOTE,
        LatentOversampler,
        PixelADASYN,
        PixelSMOTE,
        RandomOversampler,
        WeightedCalibration,
    )

    ae = {
        "epochs": 1,
        "dim_h": 8,
        "latent_dim": 300,
        "patience": None,
        "batch_size": 64,
        "lr": 2e-3,
        "schedule": "onecycle",
    }
    return {
        "random": lambda: RandomOversampler(random_state=0),
        "pixel-smote": lambda: PixelSMOTE(random_state=0),
        "pixel-adasyn": lambda: PixelADASYN(random_state=0),
        "deepsmote": lambda: DeepSMOTE(
            random_state=0, autoencoder=DeepSMOTE.default_autoencoder().set_params(**ae)
        ),
        "calibration": lambda: LatentOversampler(
            strategy=WeightedCalibration(covariance_type="diag"),
            random_state=0,
            autoencoder=LatentOversampler.default_autoencoder().set_params(**ae),
        ),
    }[name]()


def run_case(name: str, n: int, size: int) -> dict:
    """One cell, in this process: seconds of fit_resample and this process's peak RSS."""
    import warnings

    X, y = make_data(n, size)
    sampler = make_sampler(name)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X_res, y_res = sampler.fit_resample(X, y)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "sampler": name,
        "n": n,
        "size": size,
        "pixels": size * size,
        "n_out": len(y_res),
        "seconds": round(seconds, 2),
        "peak_rss": peak,
        "rss_before_fit": rss_before,
        "input_bytes": int(X.nbytes),
        "output_bytes": int(X_res.nbytes),
    }


def epoch_time(size: int, n: int) -> list[dict]:
    """Seconds of one autoencoder epoch on ``n`` images of ``size`` px (2 widths)."""
    from deepbalance.nets import AutoencoderConfig, TrainSettings, train_autoencoder

    X, y = make_data(9000, size)
    rows = np.random.RandomState(0).choice(len(y), size=n, replace=False)
    X01 = (X[rows] / np.float32(255)).astype(np.float32)
    out = []
    for dim_h, latent in ((32, None), (8, 300)):
        config = AutoencoderConfig(X01.shape[1:], dim_h=dim_h, latent_dim=latent)
        settings = TrainSettings(epochs=1, patience=None)
        t0 = time.perf_counter()
        model, _ = train_autoencoder(config, X01, y[rows], settings, seed=0)
        seconds = time.perf_counter() - t0
        out.append(
            {
                "size": size,
                "n": n,
                "dim_h": dim_h,
                "latent_dim": config.latent_dim,
                "stages": config.n_stages,
                "params": sum(p.numel() for p in model.parameters()),
                "seconds_per_epoch": round(seconds, 2),
                "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            }
        )
    return out


def fit_exponents(rows: list[dict]) -> dict:
    """``log t = c + a log N + b log D`` by least squares, per sampler (None if too few)."""
    out = {}
    for name in SAMPLERS:
        cells = [r for r in rows if r["sampler"] == name and "seconds" in r]
        ns = {r["n"] for r in cells}
        ds = {r["pixels"] for r in cells}
        if len(cells) < 3 or len(ns) < 2 or len(ds) < 2:
            out[name] = None
            continue
        A = np.array([[1.0, np.log(r["n"]), np.log(r["pixels"])] for r in cells])
        t = np.log([max(r["seconds"], 1e-3) for r in cells])
        coef, *_ = np.linalg.lstsq(A, t, rcond=None)
        m = np.log([max(r["peak_rss"], 1) for r in cells])
        mem, *_ = np.linalg.lstsq(A, m, rcond=None)
        out[name] = {
            "time_a": round(float(coef[1]), 2),
            "time_b": round(float(coef[2]), 2),
            "rss_a": round(float(mem[1]), 2),
            "rss_b": round(float(mem[2]), 2),
            "cells": len(cells),
        }
    return out


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _gb(b) -> str:
    return f"{b / 2**30:.2f}"


def write_report(rows, fits, meta, output: Path) -> None:
    lines = [
        "# Sampler scaling",
        "",
        f"`{meta['command']}` — {meta['machine']}, {meta['date']}; {meta['note']}",
        "",
        "| sampler | N | size | rows out | s | peak RSS GiB | input + output GiB | ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "seconds" in r:
            io = r["input_bytes"] + r["output_bytes"]
            lines.append(
                f"| {r['sampler']} | {r['n']} | {r['size']} | {r['n_out']} | {r['seconds']} "
                f"| {_gb(r['peak_rss'])} | {_gb(io)} | {r['peak_rss'] / io:.1f} |"
            )
        else:
            lines.append(f"| {r['sampler']} | {r['n']} | {r['size']} | – | {r['error']} | | | |")
    skipped = ", ".join(f"{name} N={n} {size} px" for name, n, size in sorted(SKIPPED))
    lines += ["", f"Skipped: {skipped}. Ratio: peak RSS / (input + output bytes)."]
    lines += [
        "",
        "Fitted growth (least squares on logs): time ∝ N^a · D^b, peak RSS ∝ N^a' · D^b' "
        "(the process's fixed ~0.35 GiB of Python, torch and the data set flattens a', b')",
        "",
        "| sampler | a | b | a' | b' | cells |",
        "|---|---|---|---|---|---|",
    ]
    for name, f in fits.items():
        if f:
            lines.append(
                f"| {name} | {f['time_a']} | {f['time_b']} | {f['rss_a']} | {f['rss_b']} "
                f"| {f['cells']} |"
            )
    output.with_suffix(".md").write_text("\n".join(lines) + "\n")
    output.with_suffix(".json").write_text(
        json.dumps({"meta": meta, "rows": rows, "fits": fits}, indent=1) + "\n"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", nargs=3, metavar=("SAMPLER", "N", "SIZE"))
    parser.add_argument("--epoch-time", nargs=2, type=int, metavar=("SIZE", "N"))
    parser.add_argument("--grid", choices=("default", "quick"), default="default")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=420.0, help="seconds per cell")
    parser.add_argument("--output", default="benchmarks/results/sampler_scaling")
    parser.add_argument("--note", default="")
    parser.add_argument(
        "--rerender", action="store_true", help="rewrite OUTPUT.md from OUTPUT.json, run nothing"
    )
    args = parser.parse_args(argv)
    if args.case:
        name, n, size = args.case[0], int(args.case[1]), int(args.case[2])
        if name not in SAMPLERS:
            parser.error(f"SAMPLER={name!r} must be one of {', '.join(SAMPLERS)}")
        print(json.dumps(run_case(name, n, size)))
        return 0
    if args.rerender:
        saved = json.loads(Path(args.output).with_suffix(".json").read_text())
        rows = saved["rows"]
        write_report(rows, fit_exponents(rows), saved["meta"], Path(args.output))
        return 0
    if args.epoch_time:
        for row in epoch_time(*args.epoch_time):
            print(json.dumps(row), flush=True)
        return 0
    grid = default_grid() if args.grid == "default" else quick_grid()
    tmp = tempfile.TemporaryDirectory()
    data = Path(tmp.name) / "fmnist-lt.npz"
    X, y = load_lt()
    np.savez(data, X=X, y=y)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OMP_WAIT_POLICY="PASSIVE")
    env[DATA_ENV] = str(data)
    rows = []
    start = time.perf_counter()
    for name, n, size in grid:
        cmd = [sys.executable, __file__, "--case", name, str(n), str(size)]
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, env=env, timeout=args.timeout, check=False
            )
        except subprocess.TimeoutExpired:
            row = {"sampler": name, "n": n, "size": size, "error": f"> {args.timeout:.0f} s"}
        else:
            if proc.returncode == 0:
                row = json.loads(proc.stdout.strip().splitlines()[-1])
            else:
                tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
                row = {"sampler": name, "n": n, "size": size, "error": tail[:200]}
        rows.append(row)
        print(json.dumps(row), flush=True)
    import torch

    meta = {
        "command": "python benchmarks/sampler_scaling.py"
        + ("" if args.grid == "default" else f" --grid {args.grid}"),
        "machine": f"{os.cpu_count()} CPUs ({_cpu_name()}), OMP_NUM_THREADS={args.threads}, "
        f"torch {torch.__version__}, numpy {np.__version__}",
        "date": dt.date.today().isoformat(),
        "note": args.note or "each cell in a fresh subprocess",
        "wall_seconds": round(time.perf_counter() - start, 1),
    }
    tmp.cleanup()
    fits = fit_exponents(rows)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    write_report(rows, fits, meta, output)
    print(json.dumps(fits, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
