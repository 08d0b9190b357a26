"""Why DeepSMOTE's images help or hurt, and what fixes them: remedies measured on
Fashion-MNIST-LT with the default training recipe, with per-class diagnostics.

Usage::

    python benchmarks/deep_oversampling.py run --seeds 0 1 2 3 4
    python benchmarks/deep_oversampling.py table
    python benchmarks/deep_oversampling.py grids        # the real-vs-synthetic pictures in docs/

Every variant is a registered method (with overrides) run by ``run_method`` exactly as
``benchmarks/recipe.py compare`` runs its methods: profile ``deepsmote-mnist`` (seed = run
seed), ``TrainConfig()``, evaluated after the last epoch on the official test set
("balanced", 1,000 per class) and the ``deepsmote-imbalanced-test`` draw ("imbalanced"); so
its rows pair with that script's plain-CE and random-oversampling rows seed by seed.
Variants of one seed share one autoencoder (``cache_dir``): they differ only in what is done
with its codes and images. ``diagnose=True`` records, per class, the fidelity, novelty and
diversity of the synthetic images and the autoencoder's held-out reconstruction error
(``deepbalance.samplers.diagnostics``), measured against the balanced test images.

Each run appends one JSON line to ``benchmarks/results/deep_oversampling.jsonl`` (skipped
when already there, so the script resumes). Lines carry the autoencoder's
``penalty_batchnorm``; lines without it were trained with ``"batch"`` (the official script's
BatchNorm in the penalty pass, the default until 2026-12-02). The table keeps the two apart.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "deep_oversampling.jsonl"
RECIPE_RESULTS = Path(__file__).parent / "results" / "recipe.jsonl"

#: variant -> (registered method, overrides for get_method). The variant names are this
#: script's (and its results file's): "deepsmote" is the published variant, the method
#: "deepsmote-published"; "deepsmote-residual+copies" is what the method "deepsmote" runs.
VARIANTS = {
    "deepsmote": ("deepsmote-published", {}),
    "deepsmote-residual": ("deepsmote-residual", {}),
    "deepsmote+cap": ("deepsmote-published+cap", {}),
    "deepsmote-residual+cap": (
        "deepsmote-published+cap",
        {"sampler_params": {"residual": True}},
    ),
    "deepsmote-residual+logit-adjustment": (
        "deepsmote-residual",
        {"logit_adjustment": "logit-adjustment", "tau": 0.75},
    ),
    # half of every class's new rows are copies of its real images (random over-sampling)
    "deepsmote+copies": ("deepsmote-published", {"sampler_params": {"copy_fraction": 0.5}}),
    "deepsmote-residual+copies": (
        "deepsmote-residual",
        {"sampler_params": {"copy_fraction": 0.5}},
    ),
    # the dissertation's denoising autoencoder, its images as published and with DeepSMOTE()'s
    # remedies; trained with DeepSMOTE's penalty, as these rows were measured (the preset's
    # default since 2026-12-03 is the dissertation's: no penalty)
    "deep-denoising-smote": ("deep-denoising-smote", {"sampler_params": {"penalty": "deepsmote"}}),
    "deep-denoising-smote-residual+copies": (
        "deep-denoising-smote",
        {"sampler_params": {"residual": True, "copy_fraction": 0.5, "penalty": "deepsmote"}},
    ),
}


def run_one(variant: str, seed: int, cache_dir: str) -> dict:
    from deepbalance import load_dataset, make_imbalanced
    from deepbalance.methods import get_method, run_method
    from deepbalance.training import TrainConfig

    name, overrides = VARIANTS[variant]
    method = get_method(name, **overrides)
    train = make_imbalanced(
        load_dataset("fashion-mnist", split="train"), "deepsmote-mnist", seed=seed
    )
    test = load_dataset("fashion-mnist", split="test")
    sets = {
        "balanced": test,
        "imbalanced": make_imbalanced(test, "deepsmote-imbalanced-test", seed=0),
    }
    config = TrainConfig(eval_every=TrainConfig().epochs)
    wall, cpu = time.perf_counter(), time.process_time()
    result = run_method(
        method,
        train,
        sets,
        config=config,
        seed=seed,
        cache_dir=cache_dir,
        progress=False,
        diagnose=True,
    )
    sampler = result.sampler
    return {
        "variant": variant,
        "penalty_batchnorm": sampler.train_settings().penalty_batchnorm,
        "method": method.to_dict(),
        "seed": seed,
        "metrics": {
            split: {k: round(v, 4) for k, v in m.items() if k in ("acsa", "gm", "macro_f1")}
            for split, m in result.final.items()
        },
        "per_class_recall": {s: m["per_class_recall"] for s, m in result.final.items()},
        "diagnostics": result.diagnostics,
        "autoencoder_from_cache": bool(getattr(sampler, "autoencoder_from_cache_", False)),
        "autoencoder_epochs": len(getattr(sampler, "history_", []) or []),
        "timings": {k: round(v, 1) for k, v in result.timings.items()},
        "wall_s": round(time.perf_counter() - wall, 1),
        "cpu_s": round(time.process_time() - cpu, 1),
        "threads": int(os.environ.get("OMP_NUM_THREADS", "0") or 0),
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()} {os.cpu_count()} cores",
    }


def _records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _key(record: dict) -> tuple[str, int, str]:
    """(variant, seed, penalty_batchnorm) of a result line."""
    return record["variant"], record["seed"], record.get("penalty_batchnorm", "batch")


def table() -> str:
    """Markdown: each variant beside plain CE and random oversampling, paired by seed."""
    import numpy as np
    from scipy import stats

    runs = list({_key(r): r for r in reversed(_records(RESULTS))}.values())
    ref = {
        (r["method"], r["seed"]): r["metrics"]["balanced"]["acsa"]
        for r in _records(RECIPE_RESULTS)
        if r["mode"] == "compare"
    }
    lines = [
        "| variant | penalty BatchNorm | seeds | balanced ACSA | Δ vs CE (p) "
        "| Δ vs random oversampling (p) | fidelity | novelty | diversity | AE recon MSE |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for variant, batchnorm in [(v, b) for b in ("batch", "running") for v in VARIANTS]:
        rs = [r for r in runs if _key(r)[::2] == (variant, batchnorm)]
        if not rs:
            continue
        acsa = np.array([r["metrics"]["balanced"]["acsa"] for r in rs])
        cells = []
        for other in ("none", "random-oversampling"):
            pairs = [
                (a, ref[(other, r["seed"])])
                for a, r in zip(acsa, rs, strict=True)
                if (other, r["seed"]) in ref
            ]
            if len(pairs) >= 2:
                a, b = np.array(pairs).T
                p = stats.ttest_rel(a, b).pvalue
                cells.append(f"{np.mean(a - b):+.3f} (p={p:.2f}, n={len(pairs)})")
            else:
                cells.append("–")

        def mean_diag(key, rs=rs):
            vals = [row[key] for r in rs for row in (r["diagnostics"] or [])]
            vals = [v for v in vals if v is not None and v == v]
            return f"{np.mean(vals):.3f}" if vals else "–"

        lines.append(
            f"| {variant} | {batchnorm} | {len(rs)} | {acsa.mean():.3f} ± {acsa.std():.3f} "
            f"| {cells[0]} | {cells[1]} | {mean_diag('fidelity')} | {mean_diag('novelty')} "
            f"| {mean_diag('diversity')} | {mean_diag('reconstruction_mse')} |"
        )
    return "\n".join(lines)


def class_table(variant: str = "deepsmote", seed: int = 0, batchnorm: str = "running") -> str:
    """Per-class diagnostics of one run."""
    from deepbalance.samplers.diagnostics import format_diagnostics

    for r in _records(RESULTS):
        if _key(r) == (variant, seed, batchnorm) and r["diagnostics"]:
            return format_diagnostics(r["diagnostics"])
    return ""


def grids(cache_dir: str, seed: int = 0) -> None:
    """docs/deepsmote_fmnist_grid.png and docs/deepsmote_residual_fmnist_grid.png: real vs
    synthetic images of DeepSMOTE without and with ``residual=True``, from the autoencoder the
    runs of ``seed`` trained (loaded from ``cache_dir``; trained again if absent)."""
    from deepbalance import load_dataset, make_imbalanced
    from deepbalance.methods import run_seeds
    from deepbalance.samplers import DeepSMOTE, image_grid

    train = make_imbalanced(
        load_dataset("fashion-mnist", split="train"), "deepsmote-mnist", seed=seed
    )
    sampler_seed = run_seeds(seed)[1]  # the sampler seed run_method used
    docs = Path(__file__).parents[1] / "docs"
    for residual, name, title in [
        (False, "deepsmote_fmnist_grid.png", "DeepSMOTE as published: real (left) vs decoded"),
        (True, "deepsmote_residual_fmnist_grid.png", "DeepSMOTE, residual=True: real vs synthetic"),
    ]:
        # decoded rows only (DeepSMOTE()'s copies would show real images as synthetic)
        sampler = DeepSMOTE(
            random_state=sampler_seed, cache_dir=cache_dir, residual=residual, copy_fraction=0.0
        )
        X, y = sampler.fit_resample(train.images, train.labels)
        mask = sampler.synthetic_mask_
        image_grid(
            train.images,
            train.labels,
            X[mask],
            y[mask],
            docs / name,
            class_names=list(train.class_names),
            title=title,
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run")
    run.add_argument("--seeds", type=int, nargs="+", default=[0])
    run.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    run.add_argument("--cache-dir", default=os.path.join(tempfile.gettempdir(), "deepbalance-ae"))
    tab = sub.add_parser("table")
    tab.add_argument("--classes", metavar="VARIANT", help="per-class diagnostics of seed 0")
    tab.add_argument(
        "--batchnorm", default="running", choices=["running", "batch"], help="with --classes"
    )
    grid = sub.add_parser("grids", help="draw the real-vs-synthetic grids of docs/")
    grid.add_argument("--cache-dir", default=os.path.join(tempfile.gettempdir(), "deepbalance-ae"))
    one = sub.add_parser("one")
    one.add_argument("variant")
    one.add_argument("seed", type=int)
    one.add_argument("cache_dir")
    args = parser.parse_args(argv)
    if args.command == "one":
        print(json.dumps(run_one(args.variant, args.seed, args.cache_dir)))
        return 0
    if args.command == "grids":
        grids(args.cache_dir)
        return 0
    if args.command == "table":
        print(class_table(args.classes, batchnorm=args.batchnorm) if args.classes else table())
        return 0
    import subprocess

    from deepbalance.samplers import DeepSMOTE

    batchnorm = (
        DeepSMOTE().train_settings().penalty_batchnorm
    )  # what every variant's autoencoder uses now
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:  # in order: variants of a seed reuse its autoencoder
        for variant in args.variants:
            # read again before every run, so several processes on other seeds can share a file
            if (variant, seed, batchnorm) in {_key(r) for r in _records(RESULTS)}:
                continue
            cmd = [sys.executable, __file__, "one", variant, str(seed), args.cache_dir]
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode != 0:
                print(f"FAILED {variant} {seed}: {out.stderr.strip().splitlines()[-1:]}")
                continue
            line = out.stdout.strip().splitlines()[-1]
            with RESULTS.open("a") as f:
                f.write(line + "\n")
            print(line[:300], flush=True)
    print(table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
