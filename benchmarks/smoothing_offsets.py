"""Label smoothing under a logit adjustment: on the adjusted logits or on the balanced ones.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/smoothing_offsets.py run --seeds 0 1 2 3 4
    python benchmarks/smoothing_offsets.py table

Fashion-MNIST-LT (profile ``deepsmote-mnist``, drawn with the run's seed), the official test
set ("balanced") and its ``deepsmote-imbalanced-test`` draw ("imbalanced"), ``TrainConfig()``
(the default recipe: label smoothing 0.1), as ``benchmarks/recipe.py compare``, for balanced
softmax and logit adjustment with ``smoothing="uniform"`` (PyTorch's label smoothing applied
after the offsets), ``smoothing="balanced"`` (``LogitAdjustment.smoothed_target``) and without
label smoothing (logit adjustment at ``tau = 1`` is balanced softmax: the same loss, the same
numbers; seeds 0 and 1 ran it to check). Plain CE and the ``uniform`` rows of the defaults are in
``benchmarks/results/recipe.jsonl`` (the same runs). One JSON line per run in
``benchmarks/results/smoothing_offsets.jsonl``; recorded runs are skipped.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "smoothing_offsets.jsonl"
#: (method, method params, label smoothing of the training config)
CASES = (
    ("balanced-softmax", {"smoothing": "balanced"}, 0.1),
    ("balanced-softmax", {}, 0.0),
    ("logit-adjustment", {"smoothing": "balanced"}, 0.1),
    ("logit-adjustment", {}, 0.0),
    ("none", {}, 0.0),
)


def _key(method, params, smoothing, seed) -> str:
    return json.dumps([method, params, smoothing, seed], sort_keys=True)


def recorded() -> dict:
    if not RESULTS.is_file():
        return {}
    rows = [json.loads(line) for line in RESULTS.read_text().splitlines() if line.strip()]
    return {_key(r["method"], r["params"], r["label_smoothing"], r["seed"]): r for r in rows}


def run(seeds) -> None:
    from deepbalance import load_dataset, make_imbalanced
    from deepbalance.methods import get_method, run_method
    from deepbalance.training import TrainConfig

    done = recorded()
    full = load_dataset("fashion-mnist", split="train")
    test = load_dataset("fashion-mnist", split="test")
    imbalanced = make_imbalanced(test, "deepsmote-imbalanced-test", seed=0)
    sets = {"balanced": test, "imbalanced": imbalanced}
    for seed in seeds:
        train = make_imbalanced(full, "deepsmote-mnist", seed=seed)
        for method, params, smoothing in CASES:
            if _key(method, params, smoothing, seed) in done:
                continue
            config = TrainConfig(eval_every=TrainConfig().epochs, label_smoothing=smoothing)
            wall, cpu = time.perf_counter(), time.process_time()
            result = run_method(
                get_method(method, **params), train, sets, config=config, seed=seed, progress=False
            )
            record = {
                "method": method,
                "params": params,
                "label_smoothing": smoothing,
                "seed": seed,
                "acsa": {k: round(v["acsa"], 4) for k, v in result.final.items()},
                "wall_s": round(time.perf_counter() - wall, 1),
                "cpu_s": round(time.process_time() - cpu, 1),
                "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                "date": datetime.date.today().isoformat(),
            }
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            with open(RESULTS, "a") as f:  # one line per run: an interruption loses one run
                f.write(json.dumps(record) + "\n")
            print(method, params, smoothing, seed, record["acsa"], flush=True)


def table() -> str:
    import numpy as np

    rows = list(recorded().values())
    groups: dict = {}
    for r in rows:
        key = (r["method"], json.dumps(r["params"], sort_keys=True), r["label_smoothing"])
        groups.setdefault(key, []).append(r)

    def sd(a):
        return f" ± {a.std(ddof=1):.3f}" if len(a) > 1 else ""

    lines = [
        "| method | params | label smoothing | seeds | balanced ACSA | imbalanced ACSA |",
        "|---|---|---|---|---|---|",
    ]
    for (method, params, smoothing), group in sorted(groups.items()):
        bal = np.array([g["acsa"]["balanced"] for g in group])
        imb = np.array([g["acsa"]["imbalanced"] for g in group])
        lines.append(
            f"| {method} | {params} | {smoothing} | {len(group)} | {bal.mean():.3f}{sd(bal)} | "
            f"{imb.mean():.3f}{sd(imb)} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="label smoothing under a logit adjustment")
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--seeds", type=int, nargs="+", default=[0])
    sub.add_parser("table")
    args = parser.parse_args(argv)
    if args.command == "run":
        run(args.seeds)
    else:
        print(table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
