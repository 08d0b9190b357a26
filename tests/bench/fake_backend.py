"""A fast stand-in for the library's datasets, methods and training, for the benchmark tests.

Imported as a top-level module (its folder is put on ``sys.path``) so spawned pool workers,
Ray workers and subprocesses can unpickle references to it.

Environment variables:
- ``FAKE_BENCH_LOG``: file to which every ``run_method`` call appends one JSON line.
- ``FAKE_BENCH_BLOCK_AFTER``: once the log holds this many lines, ``run_method`` blocks for
  good (so a test can kill the process mid-grid at a known point).
- ``FAKE_BENCH_GATE``: a file path; every ``run_method`` call, once logged, waits until that
  file exists (so a test can hold several processes mid-run at once).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field

import numpy as np

from deepbalance.data.imageset import ImageSet
from deepbalance.data.profiles import PROFILES, make_imbalanced
from deepbalance.metrics import evaluate
from deepbalance.registry import Registry

DATASETS = Registry("dataset")
METHODS = Registry("method")
CLASSIFIERS = Registry("classifier")
CLASSIFIERS.register("fast-cnn", object())
CLASSIFIERS.register("small-cnn", object())
CLASSIFIERS.register("cle-cnn", object())

# method name -> (error rate of its fake predictions, synthetic rows per real row)
_BEHAVIOUR = {"fake-none": (0.4, 0.0), "fake-smote": (0.25, 0.5), "fake-best": (0.1, 1.0)}
for _name in (*_BEHAVIOUR, "fake-fail"):
    METHODS.register(_name, _name)


def _images(n_per_class, seed):
    rng = np.random.RandomState(seed)
    labels = np.repeat(np.arange(len(n_per_class)), n_per_class)
    images = rng.randint(0, 256, size=(len(labels), 1, 8, 8)).astype(np.uint8)
    return images, labels


@DATASETS.register("fake-digits")
def _fake_digits(split="train", data_dir=None, **options):
    unknown = set(options) - {"scale"}
    if unknown:
        raise TypeError(f"dataset 'fake-digits' has no option {sorted(unknown)[0]!r}")
    counts = [40, 40, 40] if split == "train" else [12, 12, 12]
    images, labels = _images(counts, 0 if split == "train" else 1)
    return ImageSet(images, labels, ("a", "b", "c"), f"fake-digits ({split})")


def load_dataset(name, split="train", *, data_dir=None, download=False, **options):
    if data_dir is not None and not os.path.isdir(data_dir):
        raise FileNotFoundError(
            f"{name}: no files in {data_dir}; looked in {data_dir} — put the files there"
        )
    return DATASETS.get(name)(split, data_dir, **options)


@dataclass(frozen=True)
class FakeMethod:
    name: str
    params: dict = field(default_factory=dict)


def get_method(name, **params):
    METHODS.get(name)
    unknown = set(params) - {"strength"}
    if unknown:
        raise ValueError(f"method {name!r} got unknown parameter {sorted(unknown)[0]!r}")
    return FakeMethod(name, params)


@dataclass(frozen=True)
class FakeConfig:
    classifier: str = "fast-cnn"
    classifier_params: dict = field(default_factory=dict)
    epochs: int = 2
    min_steps: int | None = None
    epoch_rows: str | int = "real"
    eval_every: int = 1
    batch_size: int = 128
    lr: float = 0.1
    optimizer: str = "sgd"
    schedule: str = "onecycle"
    weight_decay: float = 5e-4
    momentum: float = 0.9
    nesterov: bool = True
    label_smoothing: float = 0.1
    augment: str = "auto"
    shift: int | None = None
    val_fraction: float = 0.0
    device: str = "cpu"
    best_metric: str = "acsa"

    def __post_init__(self):
        if self.epochs < 1:
            raise ValueError(f"epochs={self.epochs} must be >= 1")


@dataclass
class FakeResult:
    method: FakeMethod
    history: list
    final: dict
    best: dict
    timings: dict
    n_train: int
    n_synthetic: int
    sampler: object = None
    diagnostics: list | None = None
    diagnostics_holdout: str | None = None
    diagnostics_note: str | None = None


class FakeSampler:
    """Resamples by repeating the first rows (enough for a sample grid)."""

    def __init__(self, n_new):
        self.n_new = n_new

    def fit_resample(self, X, y):
        self.synthetic_mask_ = np.r_[np.zeros(len(X), bool), np.ones(self.n_new, bool)]
        return np.concatenate([X, X[: self.n_new]]), np.concatenate([y, y[: self.n_new]])


def _log(entry):
    path = os.environ.get("FAKE_BENCH_LOG")
    if not path:
        return 0
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry) + "\n")
    with open(path, encoding="utf-8") as fh:
        return sum(1 for _ in fh)


def run_method(
    method,
    train,
    eval_sets,
    *,
    config,
    seed,
    cache_dir=None,
    progress=True,
    diagnose=False,
    diagnose_max_images=None,
):
    if method.name == "fake-fail":
        raise RuntimeError("this method always fails")
    entry = {"method": method.name, "params": method.params, "seed": seed, "cache_dir": cache_dir}
    calls = _log({**entry, "pid": os.getpid()})
    gate = os.environ.get("FAKE_BENCH_GATE")
    while gate and not os.path.exists(gate):
        time.sleep(0.02)
    block_after = os.environ.get("FAKE_BENCH_BLOCK_AFTER")
    if block_after and calls > int(block_after):
        while True:  # wait to be killed
            time.sleep(0.05)
    error, synth_rate = _BEHAVIOUR[method.name]
    error = error / float(method.params.get("strength", 1.0))
    rng = np.random.RandomState(seed * 1000 + sum(map(ord, method.name)))
    history, best = [], {}
    epochs = [e for e in range(1, config.epochs + 1) if e % config.eval_every == 0]
    if not epochs or epochs[-1] != config.epochs:
        epochs.append(config.epochs)
    for epoch in epochs:
        rate = error * (1.5 - epoch / config.epochs / 2)
        for split, data in eval_sets.items():
            y = data.labels
            wrong = rng.rand(len(y)) < rate
            y_pred = np.where(wrong, (y + 1) % data.n_classes, y)
            scores = np.eye(data.n_classes)[y_pred] * 0.8 + rng.rand(len(y), data.n_classes) * 0.2
            metrics = evaluate(y, y_pred, scores / scores.sum(1, keepdims=True))
            history.append({"epoch": epoch, "split": split, "metrics": metrics})
            if split not in best or metrics[config.best_metric] > best[split][config.best_metric]:
                best[split] = metrics
    final = {e["split"]: e["metrics"] for e in history if e["epoch"] == epochs[-1]}
    n_syn = int(synth_rate * len(train))
    sampler = FakeSampler(n_syn) if n_syn else None
    diagnosed = (None, None, None)
    if diagnose and sampler is not None:
        from deepbalance.methods import diagnose_resampling

        X_res, y_res = sampler.fit_resample(train.images, train.labels)
        diagnosed = diagnose_resampling(
            sampler,
            train,
            X_res,
            y_res,
            eval_sets,
            random_state=seed,
            max_images=diagnose_max_images,
        )
    return FakeResult(
        method,
        history,
        final,
        best,
        {"resample": 0.01, "train": 0.02, "total": 0.03},
        len(train) + n_syn,
        n_syn,
        sampler=sampler,
        diagnostics=diagnosed[0],
        diagnostics_holdout=diagnosed[1],
        diagnostics_note=diagnosed[2],
    )


def image_grid(*args, **kwargs):
    """The library's image grid, imported only where a grid is drawn."""
    from deepbalance.samplers.grid import image_grid as draw

    return draw(*args, **kwargs)


def create_classifier(name, image_shape, n_classes, **params):
    CLASSIFIERS.get(name)
    if params:
        raise TypeError(f"classifier {name!r} takes no parameters, got {sorted(params)}")


def toolkit():
    """The fake toolkit for ``run_spec``."""
    from deepbalance.bench.runner import Toolkit

    return Toolkit(
        load_dataset=load_dataset,
        make_imbalanced=make_imbalanced,
        get_method=get_method,
        run_method=run_method,
        train_config=FakeConfig,
        create_classifier=create_classifier,
        image_grid=image_grid,
        methods=METHODS,
        datasets=DATASETS,
        profiles=PROFILES,
        classifiers=CLASSIFIERS,
    )


SPEC_TOML = """
name = "fake-grid"
description = "a tiny grid of fake methods"
seeds = [0, 1, 2]
metrics = ["acsa", "gm", "macro_f1"]
selection = "final"

[source]
paper = "none"
table = "none"

[data]
dataset = "fake-digits"

[profile]
name = "counts"
params = { counts = [40, 20, 8] }

[[test_sets]]
name = "balanced"
policy = "balanced"

[[test_sets]]
name = "official"
policy = "official"

[train]
epochs = 4
eval_every = 2

[[methods]]
name = "fake-none"
label = "Baseline"

[[methods]]
name = "fake-smote"

[[methods]]
name = "fake-best"
id = "fake-best-strong"
params = { strength = 2.0 }

[paper.balanced.fake-none]
acsa = 0.5
"""


def slow_square(x):
    """A task for executor tests: waits a moment, then returns ``x * x``."""
    time.sleep(0.2)
    return x * x
