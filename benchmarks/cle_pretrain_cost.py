"""Wall time of CLE-SMOTE's triplet pretraining against the same method without it.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/cle_pretrain_cost.py run [--seeds 0 1 2]
    python benchmarks/cle_pretrain_cost.py table

One variant of spec ``cxr-frameworks-fmnist`` (Fashion-MNIST, the chest X-ray frameworks'
proxy): inter-intra multiple with Trouser, Pullover and Dress the majority sub-conditions,
unit 4 (5,208 real training rows; pixel SMOTE grows them to 29,760). ``cle-smote`` and
``cle-no-pretrain`` (``k_neighbors = 3``, as the spec) train with the spec's CPU recipe
(``fast-cnn``, 10 epochs, ``epoch_rows = "real"``) and CLE-SMOTE's 10 pretraining epochs. Each
run appends one JSON line to ``benchmarks/results/cle_pretrain_cost.jsonl`` (method, seed,
wall seconds, the triplets of one pretraining epoch, AUROC normal/abnormal best of the
evaluations, the code's git revision); recorded runs are skipped, so the script resumes.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "cle_pretrain_cost.jsonl"
SPEC = "cxr-frameworks-fmnist"
VARIANT = "inter-intra-multiple[Trouser, Pullover, Dress]"
METHODS = ("cle-no-pretrain", "cle-smote")


def _revision() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


def _recorded() -> set:
    if not RESULTS.is_file():
        return set()
    rows = [json.loads(line) for line in RESULTS.read_text().splitlines() if line.strip()]
    return {(r["method"], r["seed"], r["revision"]) for r in rows}


def run(seeds) -> None:
    import torch

    from deepbalance.bench.runner import (
        GridPoint,
        Toolkit,
        build_train_set,
        run_tests,
    )
    from deepbalance.bench.spec import MethodSpec, load_spec
    from deepbalance.methods import get_method, run_method
    from deepbalance.training.config import TrainConfig
    from deepbalance.training.triplet import TripletPretraining

    spec = load_spec(SPEC)
    (variant,) = [v for v in spec.variants if v.name == VARIANT]
    toolkit = Toolkit().resolved()
    revision = _revision()
    done = _recorded()
    settings = {**spec.train.as_dict(), **variant.train}
    config = TrainConfig(**settings)
    for seed in seeds:
        for name in METHODS:
            if (name, seed, revision) in done:
                continue
            point = GridPoint(MethodSpec(name, name), seed, variant)
            train = build_train_set(toolkit, spec, point)
            tests = run_tests(toolkit, spec, point)
            method = get_method(name, sampler_params={"k_neighbors": 3})
            start, cpu = time.perf_counter(), time.process_time()
            result = run_method(method, train, tests, config=config, seed=seed, progress=False)
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
            real = len(train)
            row = {
                "method": name,
                "seed": seed,
                "variant": VARIANT,
                "wall_s": round(wall, 1),
                "cpu_s": round(cpu, 1),
                "n_real": real,
                "n_train": int(result.n_train),
                "pretrain_anchors_per_epoch": TripletPretraining.anchors_per_epoch(
                    int(result.n_train), config, config.rows_per_epoch(int(result.n_train), real)
                )
                if method.recipe.pretrain
                else 0,
                "auroc_abnormal_best": round(result.best["test"]["auroc_abnormal"], 4),
                "auroc_abnormal_final": round(result.final["test"]["auroc_abnormal"], 4),
                "threads": torch.get_num_threads(),
                "revision": revision,
                "date": datetime.date.today().isoformat(),
                "machine": f"{platform.machine()} {os.cpu_count()} cores, shared",
            }
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            with open(RESULTS, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)


def table() -> None:
    rows = [json.loads(line) for line in RESULTS.read_text().splitlines() if line.strip()]
    print(
        "| revision | method | seed | wall s | triplets / pretraining epoch | AUROC best | final |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['revision']} | {r['method']} | {r['seed']} | {r['wall_s']} | "
            f"{r.get('pretrain_anchors_per_epoch', r.get('pretrain_rows_per_epoch'))} | "
            f"{r['auroc_abnormal_best']} | "
            f"{r['auroc_abnormal_final']} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    go = sub.add_parser("run")
    go.add_argument("--seeds", type=int, nargs="+", default=[0])
    sub.add_parser("table")
    args = parser.parse_args()
    if args.command == "run":
        run(args.seeds)
    else:
        table()


if __name__ == "__main__":
    main()
