"""The trainer's own cost: ``run_method`` against a plain PyTorch loop of the same network.

Usage::

    OMP_NUM_THREADS=2 python benchmarks/trainer_overhead.py --repeats 2

Fashion-MNIST-LT (profile ``deepsmote-mnist``, seed 0, 9,000 rows), plain cross-entropy,
``TrainConfig()``'s network (``fast-cnn``), batch 128, 710 steps (10 epochs), SGD with
Nesterov momentum and the one-cycle schedule, label smoothing 0.1, random shifts and flips.
Three ways, interleaved ``--repeats`` times so that drifting load hits each alike:

- ``trainer``: ``run_method("none", train, {"balanced": test}, config=TrainConfig())`` — the
  default, evaluated on the 10,000 test images after every epoch (``eval_every=1``);
- ``trainer, eval at end``: the same with ``eval_every=10`` (one evaluation);
- ``plain loop``: the same network built by ``create_classifier``, the same normalisation,
  augmentation (``random_crop_flip``), optimiser and schedule (``make_optimizer``,
  ``make_schedule``), batches drawn from one permutation per epoch, one evaluation at the end:
  the floor a hand-written script sets.

Prints seconds and the ratio to the plain loop per repeat, and appends them to
``benchmarks/results/trainer_overhead.jsonl``.
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

RESULTS = Path(__file__).parent / "results" / "trainer_overhead.jsonl"


def plain_loop(train, test, config, seed: int) -> tuple[float, float]:
    """Train like the trainer, without its machinery; ``(seconds, balanced accuracy)``."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    from deepbalance.nets.classifiers import create_classifier
    from deepbalance.training.data import random_crop_flip
    from deepbalance.training.trainer import make_optimizer, make_schedule

    clock = time.perf_counter()
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    x = torch.as_tensor(train.images, dtype=torch.float32) / 255.0
    mean, std = x.mean(), x.std()
    x = (x - mean) / std
    y = torch.as_tensor(train.labels, dtype=torch.long)
    model = create_classifier(config.classifier, train.image_shape, train.n_classes)
    optimizer = make_optimizer(config, model.parameters())
    steps_per_epoch = -(-len(x) // config.batch_size)
    schedule = make_schedule(config, optimizer, config.epochs * steps_per_epoch)
    model.train()
    for _ in range(config.epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), config.batch_size):
            rows = order[start : start + config.batch_size]
            batch = random_crop_flip(x[rows], generator, pad=2, flip=True)
            loss = F.cross_entropy(model(batch), y[rows], label_smoothing=config.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if schedule is not None:
                schedule.step()
    model.eval()
    xt = (torch.as_tensor(test.images, dtype=torch.float32) / 255.0 - mean) / std
    with torch.no_grad():
        pred = torch.cat([model(xt[i : i + 1024]).argmax(1) for i in range(0, len(xt), 1024)])
    pred, truth = pred.numpy(), test.labels
    recall = [np.mean(pred[truth == c] == c) for c in np.unique(truth)]
    return time.perf_counter() - clock, float(np.mean(recall))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="trainer overhead vs a plain loop")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)

    import torch

    from deepbalance import load_dataset, make_imbalanced
    from deepbalance.methods import run_method
    from deepbalance.training import TrainConfig

    train = make_imbalanced(load_dataset("fashion-mnist", "train"), "deepsmote-mnist", seed=0)
    test = load_dataset("fashion-mnist", "test")
    config = TrainConfig()
    for repeat in range(args.repeats):
        row = {}
        for name, cfg in (
            ("trainer", config),
            ("trainer, eval at end", config.replace(eval_every=10)),
        ):
            clock = time.perf_counter()
            result = run_method(
                "none", train, {"balanced": test}, config=cfg, seed=0, progress=False
            )
            row[name] = (time.perf_counter() - clock, result.final["balanced"]["acsa"])
        row["plain loop"] = plain_loop(train, test, config, seed=0)
        base = row["plain loop"][0]
        record = {
            "repeat": repeat,
            **{f"{k} s": round(v[0], 1) for k, v in row.items()},
            **{f"{k} ratio": round(v[0] / base, 3) for k, v in row.items()},
            **{f"{k} acsa": round(v[1], 4) for k, v in row.items()},
            "threads": torch.get_num_threads(),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "date": datetime.date.today().isoformat(),
        }
        print(json.dumps(record), flush=True)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        with open(RESULTS, "a") as f:
            f.write(json.dumps(record) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
