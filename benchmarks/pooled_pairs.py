"""Every method of a stored spec against baselines, paired over all its (seed, variant) runs.

``deepbalance report`` tests a method against a baseline per variant (3 seeds each on the chest
X-ray proxy, too few for a test to say much); this pools every (seed, variant) pair the two
rows share — 51 on ``cxr-frameworks-fmnist`` (3 seeds × 17 variants) — into one paired test of
:mod:`deepbalance.stats` (Wilcoxon signed-rank from 6 pairs). Only runs under today's method
hashes count (runs of a method before a revision of its defaults are left out, as the report
leaves them out).

Usage::

    python benchmarks/pooled_pairs.py docs/results/cxr-frameworks-fmnist/results.sqlite \\
        cxr-frameworks-fmnist --metric auroc_abnormal --split test
"""

from __future__ import annotations

import argparse
import sys

from deepbalance.bench.spec import load_spec
from deepbalance.bench.store import Store
from deepbalance.stats import paired_test


def pooled(store_path, spec_name, *, metric, split, selection, baselines):
    """``{method id: (n, mean, {baseline: PairedResult})}``, best mean first."""
    spec = load_spec(spec_name)
    current = {m.id: m.hash for m in spec.methods}
    values: dict[str, dict] = {}
    with Store(store_path, read_only=True) as store:
        for run in store.runs(spec_name):
            if current.get(run.method_id) != run.method_hash:
                continue
            scores = (run.best if selection == "best" else run.final).get(split, {})
            if metric in scores:
                values.setdefault(run.method_id, {})[(run.seed, run.variant)] = scores[metric]
    missing = [b for b in baselines if b not in values]
    if missing:
        raise SystemExit(
            f"baseline(s) {missing} have no runs in {store_path}; pick from {sorted(values)}"
        )
    out = {}
    for method, by_key in values.items():
        mean = sum(by_key.values()) / len(by_key)
        tests = {}
        for base in baselines:
            if base == method:
                continue
            keys = sorted(set(by_key) & set(values[base]))
            tests[base] = paired_test([by_key[k] for k in keys], [values[base][k] for k in keys])
        out[method] = (len(by_key), mean, tests)
    return dict(sorted(out.items(), key=lambda kv: -kv[1][1]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store")
    parser.add_argument("spec")
    parser.add_argument("--metric", default="auroc_abnormal")
    parser.add_argument("--split", default="test")
    parser.add_argument("--baselines", default="random-oversampling,none")
    args = parser.parse_args(argv)
    baselines = args.baselines.split(",")
    for selection in ("best", "final"):
        table = pooled(
            args.store,
            args.spec,
            metric=args.metric,
            split=args.split,
            selection=selection,
            baselines=baselines,
        )
        print(f"\n{args.metric} on {args.split}, {selection} evaluation")
        print("| method | runs | mean | " + " | ".join(f"vs {b}" for b in baselines) + " |")
        print("|---|---|---|" + "---|" * len(baselines))
        for method, (n, mean, tests) in table.items():
            cells = []
            for base in baselines:
                t = tests.get(base)
                cells.append(
                    "—" if t is None else f"{t.difference:+.3f} (p = {t.p_value:.2g}, n = {t.n})"
                )
            print(f"| {method} | {n} | {mean:.3f} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
