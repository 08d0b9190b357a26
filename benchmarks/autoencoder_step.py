"""Milliseconds per training step of DeepSMOTE's default autoencoder, by how the step runs.

One step is the reconstruction loss on a batch of 64 plus the DeepSMOTE penalty on 64 images
of one class, backward, Adam (``deepbalance.nets.autoencoder_training``), on 28×28 images
(Fashion-MNIST's size; the pixel values do not change the cost). Modes:

- ``one-model``: one model does both passes and one backward through their sum (how steps
  ran before the penalty moved to a replica), with torch's intra-op threads at ``--threads``;
- ``task-inline``: the penalty on the weight-sharing replica, both tasks in turn on one
  thread (what the trainer does when torch has one thread);
- ``task-thread``: the penalty on the replica on a second thread, half of ``--threads`` per
  task (what the trainer does when torch has two or more threads).

Usage::

    python benchmarks/autoencoder_step.py [--threads 1 2] [--steps 60]

Timings depend on what else runs on the machine; run it on an otherwise idle one.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import torch

from deepbalance.nets import AutoencoderConfig, build_autoencoder
from deepbalance.nets import autoencoder_training as training


def _step_fn(mode: str, threads: int):
    torch.manual_seed(0)
    model = build_autoencoder(AutoencoderConfig((1, 28, 28), dim_h=16)).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    x = torch.rand(64, 1, 28, 28) * 2 - 1
    xc = torch.rand(64, 1, 28, 28) * 2 - 1
    task = None
    if mode != "one-model":
        task = training._PenaltyTask(model, "deepsmote", None, parallel=mode == "task-thread")

    def step():
        optimizer.zero_grad(set_to_none=True)
        if task is None:
            loss = model.training_loss(x)[0] + training.deepsmote_penalty(model, xc)
            loss.backward()
        else:
            task.start(xc)
            model.training_loss(x)[0].backward()
            task.finish()
        optimizer.step()

    per_task = max(1, threads // 2) if mode == "task-thread" else threads
    return step, task, per_task


def measure(mode: str, threads: int, steps: int) -> float:
    step, task, per_task = _step_fn(mode, threads)
    before = torch.get_num_threads()
    torch.set_num_threads(per_task)
    try:
        for _ in range(5):  # warm-up
            step()
        start = time.perf_counter()
        for _ in range(steps):
            step()
        return (time.perf_counter() - start) / steps * 1000.0
    finally:
        torch.set_num_threads(before)
        if task is not None:
            task.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args(argv)
    print(f"# {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}")
    print("| mode | torch threads | ms/step |")
    print("|---|---|---|")
    for threads in args.threads:
        modes = ["one-model", "task-inline"] + (["task-thread"] if threads >= 2 else [])
        for mode in modes:
            ms = measure(mode, threads, args.steps)
            print(f"| {mode} | {threads} | {ms:.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
