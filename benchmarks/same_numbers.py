"""Numbers a restructuring must not move: run them before and after, compare the two files.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/same_numbers.py --out before.json
    # ... change the code ...
    OMP_NUM_THREADS=1 python benchmarks/same_numbers.py --out after.json
    python benchmarks/same_numbers.py --compare before.json after.json

It records, at full float precision,

- the ``quickstart`` spec (every core method on digits, seed 0): each method's final test
  metrics, through ``run_spec`` and the SQLite store as ``deepbalance bench run`` does;
- Fashion-MNIST-LT (profile ``deepsmote-mnist``, seed 0, ``TrainConfig()``, the official test
  set): plain CE, random oversampling, DeepSMOTE as published and ``DeepSMOTE()``'s defaults,
  through ``run_method``.

Same code, same machine and same thread count give the same numbers bit for bit, so
``--compare`` asks for equality, not closeness. Methods are recorded under today's names; a file
recorded before ``deepsmote`` came to mean ``DeepSMOTE()`` (no ``method_names`` entry) is
compared with its names translated (``deepbalance.methods.current_name``). The Fashion-MNIST
part needs the dataset (``apt-get install dataset-fashion-mnist``); ``--digits-only`` skips it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

#: Fashion-MNIST-LT rows: label -> method names to try, first registered wins (so the script
#: runs on both sides of a rename: before it, "deepsmote" was the published variant and
#: "deepsmote-residual+copies" DeepSMOTE()'s defaults; since, the former name is no longer
#: listed by METHODS.names()).
FMNIST_METHODS = {
    "plain CE": ("none",),
    "random oversampling": ("random-oversampling",),
    "DeepSMOTE as published": ("deepsmote-published", "deepsmote"),
    "DeepSMOTE()": ("deepsmote-residual+copies", "deepsmote"),
}
#: 2: methods recorded under today's names ("deepsmote" = DeepSMOTE())
METHOD_NAMES = 2


def _metrics(final: dict) -> dict:
    return {
        split: {k: v for k, v in m.items() if isinstance(v, (int, float, list))}
        for split, m in sorted(final.items())
    }


def quickstart() -> dict:
    from deepbalance.bench import Store, load_spec, run_spec

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "quickstart.sqlite")
        run_spec(load_spec("quickstart"), store=store, progress=False, save_grids=False)
        return {
            r.method_id: _metrics(r.final) for r in sorted(store.runs(), key=lambda r: r.method_id)
        }


def fashion_mnist() -> dict:
    from deepbalance import load_dataset, make_imbalanced
    from deepbalance.methods import METHODS, get_method, run_method
    from deepbalance.training import TrainConfig

    train = make_imbalanced(load_dataset("fashion-mnist", split="train"), "deepsmote-mnist", seed=0)
    test = load_dataset("fashion-mnist", split="test")
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        for label, names in FMNIST_METHODS.items():
            name = next(n for n in names if n in METHODS.names())
            result = run_method(
                get_method(name),
                train,
                {"test": test},
                config=TrainConfig(),
                seed=0,
                cache_dir=cache,
                progress=False,
            )
            out[label] = {"method": name, "steps": result.train.steps, **_metrics(result.final)}
            print(label, name, result.final["test"]["acsa"], flush=True)
    return out


def _today(result: dict) -> dict:
    """``result`` with its method names in today's names (files without ``method_names``)."""
    if result.get("method_names", 1) >= METHOD_NAMES:
        return result
    from deepbalance.methods import current_name

    out = dict(result)
    if "quickstart" in out:
        out["quickstart"] = {current_name(k): v for k, v in out["quickstart"].items()}
    for part, rows in out.items():
        if part.startswith("fashion-mnist") and isinstance(rows, dict):
            out[part] = {
                label: {**row, "method": current_name(row["method"])} if "method" in row else row
                for label, row in rows.items()
            }
    out["method_names"] = METHOD_NAMES
    return out


def compare(before: Path, after: Path) -> int:
    a = _today(json.loads(before.read_text()))
    b = _today(json.loads(after.read_text()))
    differ = 0
    for part in sorted(set(a) | set(b)):
        if part in ("environment", "method_names"):
            continue
        for key in sorted(set(a.get(part, {})) | set(b.get(part, {}))):
            same = a.get(part, {}).get(key) == b.get(part, {}).get(key)
            differ += not same
            print(f"{'same   ' if same else 'DIFFERS'} {part}: {key}")
    print(f"{differ} of the recorded rows differ")
    return 1 if differ else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the numbers here (JSON)")
    parser.add_argument("--digits-only", action="store_true", help="skip Fashion-MNIST")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args(argv)
    if args.compare:
        return compare(*args.compare)
    if args.out is None:
        parser.error("pass --out FILE (or --compare BEFORE AFTER)")
    import platform

    import torch

    result = {
        "environment": {
            "threads": torch.get_num_threads(),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
            "machine": platform.machine(),
            "processor": platform.processor(),
            "torch": torch.__version__,
        },
        "method_names": METHOD_NAMES,
        "quickstart": quickstart(),
    }
    if not args.digits_only:
        result["fashion-mnist-lt seed 0"] = fashion_mnist()
    tmp = args.out.with_suffix(args.out.suffix + ".tmp")
    tmp.write_text(json.dumps(result, indent=1, sort_keys=True))
    os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
