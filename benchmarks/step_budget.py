"""Accuracy against the number of optimisation steps, across training-set sizes: the evidence
behind ``TrainConfig.min_steps``.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/step_budget.py run      # appends to the JSONL
    python benchmarks/step_budget.py table                      # markdown of what is recorded
    python benchmarks/step_budget.py plot docs/step_budget.png  # the curves, rule marked

Plain cross-entropy (``none``) and random oversampling train with ``TrainConfig()`` (the
default recipe: batch 128, one-cycle SGD) and ``min_steps=S`` for each step budget ``S`` of
the grid (``epochs=1``, so the budget alone sets the epochs; the actual steps are whole
epochs, at least ``S``). Data:

- ``fmnist-lt-N``: Fashion-MNIST-LT (profile ``deepsmote-mnist``, seed 0, 9,000 rows, ratio
  100) cut per class to about ``N`` rows (``bench.runner.stratified_subset``, seed 0, at least
  6 per class), tested on the official 10,000-image test set;
- ``digits``: scikit-learn's digits, its fixed 75 % training split (1,347 rows, balanced),
  tested on the other 25 %;
- ``folder-975``: the 975-image folder of ``benchmarks/make_fashion_folder.py`` (tshirt 600,
  pullover 300, coat 60, shirt 15), fold 1 of a stratified 5-fold split (seed 0): 780
  training rows, 195 test images.

Every run appends one JSON line to ``benchmarks/results/step_budget.jsonl`` (dataset, method,
budget, rows, epochs, steps, ACSA, per-class recall, wall and CPU seconds); recorded runs are
skipped, so the script resumes.
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

RESULTS = Path(__file__).parent / "results" / "step_budget.jsonl"
FOLDER = Path(tempfile.gettempdir()) / "deepbalance-fashion-975"
#: dataset -> (methods -> step budgets); reduced where a run is expensive (9,000 rows)
GRID = {
    "folder-975": {"none": (100, 250, 500, 1000), "random-oversampling": (250, 500, 1000)},
    "fmnist-lt-1000": {"none": (100, 250, 500, 1000), "random-oversampling": (250, 500)},
    "fmnist-lt-500": {"none": (100, 250, 500, 1000), "random-oversampling": (250, 500)},
    "digits": {"none": (100, 250, 500, 1000), "random-oversampling": (250, 500)},
    "fmnist-lt-3000": {"none": (100, 250, 500, 1000), "random-oversampling": (250, 500)},
    "fmnist-lt-9000": {"none": (355, 710), "random-oversampling": (710,)},
}


def load(name: str):
    """``(train, {"test": test})`` of a dataset of :data:`GRID`."""
    import numpy as np

    from deepbalance import load_dataset, make_imbalanced
    from deepbalance.bench.runner import cv_folds, stratified_subset

    if name == "digits":
        return load_dataset("digits", split="train"), {"test": load_dataset("digits", "test")}
    if name.startswith("fmnist-lt-"):
        full = load_dataset("fashion-mnist", split="train")
        lt = make_imbalanced(full, "deepsmote-mnist", seed=0)
        n = int(name.rsplit("-", 1)[1])
        train = stratified_subset(lt, n, 0) if n < len(lt) else lt
        return train, {"test": load_dataset("fashion-mnist", split="test")}
    if name == "folder-975":
        from deepbalance.data.user_images import read_inventory, scan_images

        if not FOLDER.is_dir():
            sys.path.insert(0, str(Path(__file__).parent))
            from make_fashion_folder import write_folder

            write_folder(FOLDER)
        decoded = read_inventory(scan_images(FOLDER))
        data = decoded.image_set(tuple(sorted(set(decoded.classes))))
        train_rows, test_rows = cv_folds(data.labels, 5, 0)[0]
        return data.subset(np.sort(train_rows)), {"test": data.subset(np.sort(test_rows))}
    raise ValueError(f"unknown dataset {name!r}; one of {', '.join(GRID)}")


def recorded() -> set:
    if not RESULTS.is_file():
        return set()
    rows = [json.loads(line) for line in RESULTS.read_text().splitlines() if line.strip()]
    return {(r["dataset"], r["method"], r["min_steps"]) for r in rows}


def append(record: dict) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with open(RESULTS, "a") as f:  # one line per run: an interruption loses at most one
        f.write(json.dumps(record) + "\n")
        f.flush()
        os.fsync(f.fileno())


def run(datasets) -> None:
    from deepbalance.methods import run_method
    from deepbalance.training import TrainConfig

    done = recorded()
    for name in datasets:
        todo = [
            (m, s) for m, budgets in GRID[name].items() for s in budgets if (name, m, s) not in done
        ]
        if not todo:
            continue
        train, tests = load(name)
        for method, budget in todo:
            config = TrainConfig(epochs=1, min_steps=budget)
            rows = config.rows_per_epoch(len(train))
            wall, cpu = time.perf_counter(), time.process_time()
            result = run_method(method, train, tests, config=config, seed=0, progress=False)
            final = result.final["test"]
            append(
                {
                    "dataset": name,
                    "method": method,
                    "min_steps": budget,
                    "rows": rows,
                    "epochs": config.epochs_for(rows),
                    "steps": int(result.train.steps),
                    "acsa": final["acsa"],
                    "recall": final.get("per_class_recall"),
                    "seed": 0,
                    "wall_s": time.perf_counter() - wall,
                    "cpu_s": time.process_time() - cpu,
                    "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                    "threads": __import__("torch").get_num_threads(),
                    "date": datetime.date.today().isoformat(),
                }
            )
            print(f"{name} {method} {budget}: acsa {final['acsa']:.3f}", flush=True)


def _rows():
    return [json.loads(line) for line in RESULTS.read_text().splitlines() if line.strip()]


def table() -> str:
    rows = _rows()
    lines = [
        "| data | training rows | method | steps (epochs) | ACSA | wall s | CPU s |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for r in sorted(rows, key=lambda r: (list(GRID).index(r["dataset"]), r["method"], r["steps"])):
        lines.append(
            f"| {r['dataset']} | {r['rows']} | {r['method']} | {r['steps']} ({r['epochs']}) | "
            f"{r['acsa']:.3f} | {r['wall_s']:.0f} | {r['cpu_s']:.0f} |"
        )
    return "\n".join(lines)


def plot(out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from deepbalance.training.config import DEFAULT_MIN_STEPS

    rows = _rows()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharex=True, sharey=True)
    for ax, method in zip(axes, ("none", "random-oversampling"), strict=True):
        for name in GRID:
            pts = sorted(
                (r["steps"], r["acsa"])
                for r in rows
                if (r["dataset"], r["method"]) == (name, method)
            )
            if pts:
                ax.plot(*zip(*pts, strict=True), marker="o", label=name)
        ax.axvline(DEFAULT_MIN_STEPS, color="grey", ls="--", lw=1)
        ax.text(
            DEFAULT_MIN_STEPS,
            0.02,
            f" min_steps={DEFAULT_MIN_STEPS}",
            color="grey",
            transform=ax.get_xaxis_transform(),
        )
        ax.set_xscale("log")
        ax.set_xlabel("optimisation steps (batch 128)")
        ax.set_title({"none": "plain CE", "random-oversampling": "random oversampling"}[method])
    axes[0].set_ylabel("ACSA (final epoch, 1 seed)")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    tmp = out.with_name(out.stem + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="ACSA against optimisation steps")
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--datasets", nargs="+", default=list(GRID), choices=list(GRID))
    sub.add_parser("table")
    p = sub.add_parser("plot")
    p.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    if args.command == "run":
        run(args.datasets)
    elif args.command == "table":
        print(table())
    else:
        plot(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
