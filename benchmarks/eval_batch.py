"""What the evaluation batch size costs: one forward pass of a test set at several batch sizes.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/eval_batch.py --repeats 3 \\
        --output benchmarks/results/eval_batch.jsonl

The default classifier (``fast-cnn``, seed 0, evaluation mode, no gradient) scores 10,000
images of 1×28×28 (Fashion-MNIST's test-set shape) and 5,000 of 3×32×32 (CIFAR-10's) at
batches of 128, 256, 512 and 1,024 rows, the sizes interleaved within each repeat. CPU seconds
of the process (``time.process_time``) are the measure. The logits of every batch size are
compared with those of the first: evaluation is per image, so they must be identical (the
script exits 1 if they are not). Each line of ``--output`` is one timed pass (JSON).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time

import torch

from deepbalance._checks import atomic_write_text
from deepbalance.nets.classifiers import create_classifier

SHAPES = {"fashion-mnist": ((1, 28, 28), 10_000), "cifar10": ((3, 32, 32), 5_000)}
BATCHES = (128, 256, 512, 1024)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batches", type=int, nargs="+", default=list(BATCHES))
    parser.add_argument("--output", help="JSON lines file to write (atomically)")
    args = parser.parse_args(argv)
    if args.repeats < 1 or min(args.batches) < 1:
        parser.error(f"--repeats {args.repeats} and --batches {args.batches} must be >= 1")

    lines, identical = [], True
    for name, (shape, n) in SHAPES.items():
        torch.manual_seed(0)
        model = create_classifier("fast-cnn", shape, 10).eval()
        images = torch.rand(n, *shape, generator=torch.Generator().manual_seed(0))
        reference = None
        for repeat in range(args.repeats):
            for batch in args.batches:
                start = time.process_time()
                with torch.no_grad():
                    logits = torch.cat([model(b) for b in images.split(batch)])
                cpu = time.process_time() - start
                if reference is None:
                    reference = logits
                same = bool(torch.equal(logits, reference))
                identical &= same
                line = {
                    "shape": name,
                    "images": n,
                    "batch": batch,
                    "repeat": repeat,
                    "cpu_s": round(cpu, 3),
                    "identical_logits": same,
                    "threads": torch.get_num_threads(),
                    "torch": torch.__version__,
                    "machine": f"{platform.machine()} {os.cpu_count()} cores",
                    "date": dt.date.today().isoformat(),
                }
                lines.append(line)
                print(json.dumps(line), flush=True)
    for name in SHAPES:
        for batch in args.batches:
            times = sorted(x["cpu_s"] for x in lines if x["shape"] == name and x["batch"] == batch)
            print(f"{name:14s} batch {batch:5d}: median {times[len(times) // 2]:.2f} CPU-s")
    if args.output:
        atomic_write_text(args.output, "".join(json.dumps(x) + "\n" for x in lines))
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
