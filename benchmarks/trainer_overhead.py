"""The trainer's own cost: ``Trainer.fit`` against a plain PyTorch loop of the same work.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/trainer_overhead.py --repeats 2 \\
        --output benchmarks/results/trainer_overhead.jsonl

On Fashion-MNIST-LT (profile ``deepsmote-mnist``, seed 0: 9,000 images, 71 batches of 128 an
epoch, 10 epochs = 710 steps; tested on the official 10,000 test images) it times, interleaved
``--repeats`` times in one process with one torch thread:

- ``trainer-default``: ``Trainer(TrainConfig())`` as ``deepbalance compare`` and ``run_method``
  use it (evaluation after every epoch: ``eval_every=1``);
- ``trainer-eval-end``: the same with ``eval_every=10`` (one evaluation, after the last epoch,
  as the benchmark specs);
- ``plain``: a hand-written loop of the same network (``fast-cnn``, same initial weights), the
  same steps, batch size, optimizer (SGD, Nesterov 0.9, weight decay 5e-4), one-cycle rate,
  label smoothing 0.1, per-image random shifts and flips as tensor ops, and one evaluation of
  the test set at the end.

CPU seconds of the process (``time.process_time``) are the measure, so other processes on the
machine slow each arm alike; the ratios to ``plain`` are the result. Each line of ``--output``
is one timed run (JSON). Needs the Fashion-MNIST files (``deepbalance datasets``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from deepbalance._checks import atomic_write_text
from deepbalance.data import load_dataset
from deepbalance.data.profiles import make_imbalanced
from deepbalance.nets import create_classifier
from deepbalance.training import TrainConfig, Trainer


def plain_loop(train, test, *, seed: int, epochs: int = 10, batch_size: int = 128) -> float:
    """A plain PyTorch training of ``fast-cnn``; returns the test set's balanced accuracy."""
    torch.manual_seed(seed)
    x = torch.from_numpy(train.images).float().div_(255.0)
    mean, std = x.mean(), x.std()
    x = (x - mean) / std
    y = torch.from_numpy(train.labels)
    model = create_classifier("fast-cnn", train.image_shape, train.n_classes)
    opt = torch.optim.SGD(
        model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4
    )
    steps_per_epoch = -(-len(x) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=0.1, total_steps=epochs * steps_per_epoch, pct_start=0.25
    )
    n, _, h, w = x.shape
    pad = 2
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(n).split(batch_size):
            xb = F.pad(x[idx], (pad, pad, pad, pad))
            dy = torch.randint(0, 2 * pad + 1, (len(idx),))
            dx = torch.randint(0, 2 * pad + 1, (len(idx),))
            rows = dy[:, None] + torch.arange(h)
            cols = dx[:, None] + torch.arange(w)
            cols = torch.where(torch.rand(len(idx))[:, None] < 0.5, cols.flip(1), cols)
            xb = xb[torch.arange(len(idx))[:, None, None], :, rows[:, :, None], cols[:, None, :]]
            xb = xb.permute(0, 3, 1, 2)
            loss = F.cross_entropy(model(xb), y[idx], label_smoothing=0.1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    model.eval()
    xt = (torch.from_numpy(test.images).float().div_(255.0) - mean) / std
    with torch.no_grad():
        pred = torch.cat(
            [model(b).argmax(1) for b in xt.split(TrainConfig().eval_batch_size)]
        ).numpy()
    recalls = [np.mean(pred[test.labels == c] == c) for c in range(test.n_classes)]
    return float(np.mean(recalls))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--output", help="JSON lines file to write (atomically)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    full = load_dataset("fashion-mnist", "train")
    train = make_imbalanced(full, "deepsmote-mnist", seed=0)
    test = load_dataset("fashion-mnist", "test")
    arms = {
        "trainer-default": lambda: (
            Trainer(TrainConfig(), seed=0, progress=False)
            .fit(train, {"test": test})
            .final["test"]["acsa"]
        ),
        "trainer-eval-end": lambda: (
            Trainer(TrainConfig(eval_every=10), seed=0, progress=False)
            .fit(train, {"test": test})
            .final["test"]["acsa"]
        ),
        "plain": lambda: plain_loop(train, test, seed=0),
    }
    machine = f"{platform.machine()} {platform.processor() or ''}".strip()
    lines = []
    for repeat in range(args.repeats):
        for arm, run in arms.items():
            cpu, wall = time.process_time(), time.perf_counter()
            acsa = run()
            row = {
                "arm": arm,
                "repeat": repeat,
                "cpu_s": round(time.process_time() - cpu, 2),
                "wall_s": round(time.perf_counter() - wall, 2),
                "acsa": round(acsa, 4),
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
                "machine": machine,
                "cores": os.cpu_count(),
                "date": time.strftime("%Y-%m-%d"),
            }
            lines.append(json.dumps(row))
            print(json.dumps(row), flush=True)
    base = np.median([json.loads(r)["cpu_s"] for r in lines if '"plain"' in r])
    for arm in arms:
        cpu = np.median([json.loads(r)["cpu_s"] for r in lines if f'"{arm}"' in r])
        print(f"{arm}: median {cpu:.1f} CPU-s = {cpu / base:.2f}x plain")
    if args.output:
        atomic_write_text(args.output, "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
