"""The default training recipe on Fashion-MNIST-LT: plain CE, oversampling and the loss-level
baselines over several seeds, on a balanced and an imbalanced test set.

Usage::

    python benchmarks/recipe.py tune --seeds 0          # pick tau / beta / DRW on validation
    python benchmarks/recipe.py compare --seeds 0 1 2 3 4 --workers 2
    python benchmarks/recipe.py table                   # markdown of everything recorded

``tune`` carves a stratified 15 % validation split from the imbalanced training rows
(``TrainConfig(val_fraction=0.15)``, before any resampling), trains each candidate setting and
records its validation ACSA; the test ACSA is recorded too but never used to choose.
``compare`` trains every method with its registered (validation-chosen) settings on the full
imbalanced training set (profile ``deepsmote-mnist``: 4000 ... 40 images, ratio 100) and
evaluates on the official test set (1,000 per class: "balanced") and on the
``deepsmote-imbalanced-test`` draw of it ("imbalanced"). Every run uses ``TrainConfig()``, the
library's default recipe, with evaluation after the last epoch only.

Each run is one process (``--workers`` at a time, one torch thread each unless
``--threads``), and appends one JSON line to ``benchmarks/results/recipe.jsonl``: method,
parameters, seed, metrics, wall and CPU seconds. Runs already in the file are skipped, so the
script resumes. Wall time is only meaningful on an otherwise idle machine; CPU time (user +
system of the run's process) is recorded beside it because it is much less sensitive to other
load.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "recipe.jsonl"

#: method -> list of parameter sets tried on the validation split
TUNING = {
    "none": [{}],
    "random-oversampling": [{}],
    "logit-adjustment": [{"tau": t} for t in (0.25, 0.5, 0.75, 1.0, 1.5)],
    "class-weighted": [{}],
    "class-weighted-effective": [{"effective_beta": b} for b in (0.99, 0.999, 0.9999)],
    "drw": [{"drw_start": s} for s in (0.5, 0.8)],
}
COMPARE = (
    "none",
    "random-oversampling",
    "pixel-smote",
    "logit-adjustment",
    "balanced-softmax",
    "class-weighted",
    "class-weighted-effective",
    "drw",
)


def run_one(mode: str, method: str, params: dict, seed: int) -> dict:
    """Train one method in this process and return its record."""
    from deepbalance import load_dataset, make_imbalanced
    from deepbalance.methods import get_method, run_method
    from deepbalance.training import TrainConfig

    full = load_dataset("fashion-mnist", split="train")
    train = make_imbalanced(full, "deepsmote-mnist", seed=seed)
    test = load_dataset("fashion-mnist", split="test")
    sets = {"balanced": test}
    if mode == "compare":
        sets["imbalanced"] = make_imbalanced(test, "deepsmote-imbalanced-test", seed=0)
    val_fraction = 0.15 if mode == "tune" else 0.0
    config = TrainConfig(eval_every=TrainConfig().epochs, val_fraction=val_fraction)
    wall, cpu = time.perf_counter(), time.process_time()
    result = run_method(
        get_method(method, **params), train, sets, config=config, seed=seed, progress=False
    )
    metrics = {
        split: {k: round(v, 4) for k, v in m.items() if k in ("acsa", "gm", "macro_f1")}
        for split, m in result.final.items()
    }
    return {
        "mode": mode,
        "method": method,
        "params": params,
        "seed": seed,
        "metrics": metrics,
        "wall_s": round(time.perf_counter() - wall, 1),
        "cpu_s": round(time.process_time() - cpu, 1),
        "n_train": result.n_train,
        "threads": int(os.environ.get("OMP_NUM_THREADS", "0") or 0),
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()} {os.cpu_count()} cores",
    }


def _key(record: dict) -> tuple:
    return (
        record["mode"],
        record["method"],
        json.dumps(record["params"], sort_keys=True),
        record["seed"],
    )


def recorded() -> list[dict]:
    if not RESULTS.exists():
        return []
    return [json.loads(line) for line in RESULTS.read_text().splitlines() if line.strip()]


def _launch(job: tuple, threads: int) -> None:
    mode, method, params, seed = job
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "OMP_WAIT_POLICY": "PASSIVE"}
    args = [sys.executable, __file__, "one", mode, method, json.dumps(params), str(seed)]
    out = subprocess.run(args, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        print(f"FAILED {job}: {out.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return
    line = out.stdout.strip().splitlines()[-1]
    with RESULTS.open("a") as f:  # one short line per write: appends do not interleave
        f.write(line + "\n")
    print(line, flush=True)


def run_jobs(jobs: list[tuple], workers: int, threads: int) -> None:
    done = {_key(r) for r in recorded()}
    todo = [j for j in jobs if (j[0], j[1], json.dumps(j[2], sort_keys=True), j[3]) not in done]
    print(f"{len(todo)} run(s) to do ({len(jobs) - len(todo)} already recorded)", flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda j: _launch(j, threads), todo))


def table() -> str:
    """Markdown tables of the recorded tuning and comparison runs."""
    import numpy as np

    records = recorded()
    lines = []
    tune = [r for r in records if r["mode"] == "tune"]
    if tune:
        lines += [
            "| method | setting | seeds | val ACSA | (test ACSA, not used to choose) |",
            "|---|---|---|---|---|",
        ]
        groups: dict = {}
        for r in tune:
            groups.setdefault((r["method"], json.dumps(r["params"])), []).append(r)
        for (method, params), rs in sorted(groups.items()):
            val = np.mean([r["metrics"]["val"]["acsa"] for r in rs])
            test = np.mean([r["metrics"]["balanced"]["acsa"] for r in rs])
            lines.append(f"| {method} | {params} | {len(rs)} | {val:.3f} | {test:.3f} |")
        lines.append("")
    comp = [r for r in records if r["mode"] == "compare"]
    if comp:
        lines += [
            "| method | seeds | balanced ACSA | balanced GM | imbalanced ACSA | imbalanced F1 "
            "| wall s | CPU s |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for method in dict.fromkeys(r["method"] for r in comp):
            rs = [r for r in comp if r["method"] == method]

            def stat(split, metric, rs=rs):
                v = [r["metrics"][split][metric] for r in rs]
                return f"{np.mean(v):.3f} ± {np.std(v):.3f}"

            wall = np.mean([r["wall_s"] for r in rs])
            cpu = np.mean([r["cpu_s"] for r in rs])
            lines.append(
                f"| {method} | {len(rs)} | {stat('balanced', 'acsa')} | {stat('balanced', 'gm')} "
                f"| {stat('imbalanced', 'acsa')} | {stat('imbalanced', 'macro_f1')} "
                f"| {wall:.0f} | {cpu:.0f} |"
            )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("tune", "compare"):
        p = sub.add_parser(name)
        p.add_argument("--seeds", type=int, nargs="+", default=[0])
        p.add_argument("--methods", nargs="+")
        p.add_argument("--workers", type=int, default=2)
        p.add_argument("--threads", type=int, default=1)
    sub.add_parser("table")
    one = sub.add_parser("one")
    one.add_argument("mode")
    one.add_argument("method")
    one.add_argument("params")
    one.add_argument("seed", type=int)
    args = parser.parse_args(argv)
    if args.command == "one":
        print(json.dumps(run_one(args.mode, args.method, json.loads(args.params), args.seed)))
        return 0
    if args.command == "table":
        print(table())
        return 0
    if args.command == "tune":
        grid = {m: TUNING[m] for m in (args.methods or TUNING)}
        jobs = [("tune", m, p, s) for s in args.seeds for m, ps in grid.items() for p in ps]
    else:
        jobs = [("compare", m, {}, s) for s in args.seeds for m in (args.methods or COMPARE)]
    run_jobs(jobs, args.workers, args.threads)
    print(table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
