"""Which oversampling method works on *your* images, in one call (``deepbalance compare``).

:func:`compare_images` takes a folder (one sub-folder per class, or ``train/``/``test/``
folders) or a CSV of ``path,label[,split]``, and:

1. lists and decodes the images (:mod:`deepbalance.data.user_images`): grayscale files stay one
   channel, mixed sizes are refused unless ``size`` is given, undecodable or non-image files
   are skipped with one warning (fatal above 10%);
2. uses the source's test split; without one it evaluates by stratified k-fold
   cross-validation (``folds``, default 5: every image is tested once per repeat, each seed
   one repeat with its own folds, cut before any resampling and the same for every method;
   :func:`~deepbalance.bench.runner.run_folds`), or with ``test_fraction`` carves one
   stratified, seeded hold-out split (:func:`~deepbalance.data.user_images.carve_test_split`).
   The file list and the split recipe are part of the spec, so the results store records
   them (and every fold run its held-out rows), a rerun finds them there and reuses exactly
   those splits, and a folder that changed since is refused unless ``resplit=True``;
3. builds a benchmark spec programmatically — the default training recipe
   (``TrainConfig()``, whose ``min_steps`` gives a small folder more epochs), the methods,
   the seeds — and runs it with the benchmark runner
   (:func:`~deepbalance.bench.runner.run_spec`): resumable, every finished run stored, a rich
   progress bar; before it starts, it prints an estimate of the total time (one short timed
   training pass plus a per-image cost model, see :func:`estimate_seconds`);
4. writes a report that opens with a recommendation (:mod:`deepbalance.workflows.verdict`).

No model selection is made (the final epoch is reported), so no validation split is carved
and a ``val/`` folder is not used.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import re
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._checks import check_float
from .._console import make_console
from ..bench.spec import DataSpec, MethodSpec, Source, Spec, TestSetSpec, TrainSpec, apply_overrides
from ..data.decode import GRAY_MODES
from ..data.user_images import (
    MAX_BAD_FRACTION,
    DecodedImages,
    ImageInventory,
    carve_test_split,
    load_listed_images,
    read_inventory,
    scan_images,
)
from ..registry import Registry

__all__ = [
    "DATASET",
    "DEFAULT_METHODS",
    "CompareResult",
    "Estimate",
    "PreparedComparison",
    "compare_images",
    "estimate_seconds",
    "prepare_comparison",
]

#: What ``compare`` runs by default: plain CE, the two cheap fixes and the three oversamplers.
#: DeepSMOTE is the method ``deepsmote``, ``DeepSMOTE()`` with its defaults (``residual=True``,
#: ``copy_fraction=0.5``): on Fashion-MNIST-LT the published plain decodings
#: (``deepsmote-published``) trained a worse classifier than no oversampling, the defaults one
#: as good as random oversampling (docs/benchmarks.md, "Deep oversampling").
DEFAULT_METHODS = (
    "none",
    "random-oversampling",
    "logit-adjustment",
    "pixel-smote",
    "deepsmote",
    "cle-smote",
)
LABELS = {
    "none": "Plain CE",
    "random-oversampling": "Random oversampling",
    "logit-adjustment": "Logit adjustment",
    "pixel-smote": "SMOTE (pixels)",
    "deepsmote": "DeepSMOTE (residual + copies)",
    "deepsmote-published": "DeepSMOTE (as published)",
    "deepsmote-residual": "DeepSMOTE (residual)",
    "cle-smote": "CLE-SMOTE",
    "class-weighted": "Class-weighted CE",
}
#: The dataset name of a recorded file list (served by ``load_listed_images``).
DATASET = "image-list"
#: ``--budget quick``: a smoke-sized comparison (2 seeds so a paired test exists, 2 epochs,
#: short autoencoder and triplet stages). No subset: your folder is used whole.
BUDGETS = {
    "quick": {
        "seeds": 2,
        "epochs": 2,
        "subset": 1.0,
        "method_params": {
            "deepsmote": {"sampler_params": {"epochs": 3}},
            "deepsmote-published": {"sampler_params": {"epochs": 3}},
            "deepsmote-residual": {"sampler_params": {"epochs": 3}},
            "cle-smote": {"pretrain_epochs": 1},
        },
    }
}
#: Share of each class a ``test_fraction`` hold-out split keeps for testing (the CLI's help).
DEFAULT_TEST_FRACTION = 0.2
#: Folds of the cross-validation used when the source has no test split (and no
#: ``test_fraction`` is given), and its repeats (seeds) when ``seeds`` is not given.
DEFAULT_FOLDS = 3
DEFAULT_REPEATS = 1

LISTED_DATASETS: Registry = Registry("dataset")
LISTED_DATASETS.register(DATASET, load_listed_images)


def load_dataset(name: str, split: str = "train", *, data_dir=None, download=False, **options):
    """The runner's dataset loader: recorded file lists here, the library's otherwise."""
    if name == DATASET:
        return load_listed_images(name, split, data_dir=data_dir, **options)
    from ..data import load_dataset as library

    return library(name, split, data_dir=data_dir, download=download, **options)


# --------------------------------------------------------------------------------------------
# preparing: data, split, spec


@dataclass
class PreparedComparison:
    """Everything :func:`compare_images` decides before the first run."""

    spec: Spec
    inventory: ImageInventory
    decoded: DecodedImages
    split_reused: bool
    train_counts: dict
    test_counts: dict
    notes: list = field(default_factory=list)
    data_lines: list = field(default_factory=list)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.") or "images"


def _seed_list(seeds) -> tuple[int, ...]:
    if isinstance(seeds, bool):
        raise TypeError(f"seeds={seeds!r} must be a count (e.g. 3) or a list of seeds")
    if isinstance(seeds, numbers.Integral):
        if seeds < 1:
            raise ValueError(f"seeds={seeds} must be >= 1; pass e.g. seeds=3")
        return tuple(range(int(seeds)))
    if isinstance(seeds, Sequence) and not isinstance(seeds, str):
        out = []
        for s in seeds:
            if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0:
                raise ValueError(f"seeds={list(seeds)!r}: every seed must be an integer >= 0")
            out.append(int(s))
        if not out or len(set(out)) != len(out):
            raise ValueError(f"seeds={list(seeds)!r} must be non-empty and not repeat")
        return tuple(out)
    raise TypeError(f"seeds={seeds!r} must be a count (e.g. 3) or a list of seeds (e.g. [0, 1])")


def _method_list(methods) -> tuple[tuple[str, ...], bool]:
    """The method names (a former name replaced by today's, with a ``FutureWarning``) and
    whether they are the defaults."""
    if methods is None:
        return DEFAULT_METHODS, True
    if isinstance(methods, str):
        methods = [m.strip() for m in methods.split(",") if m.strip()]
    methods = list(methods)
    if not methods or not all(isinstance(m, str) for m in methods):
        raise ValueError(
            f"methods={methods!r} must be method names, e.g. 'none,random-oversampling'; "
            "see deepbalance.methods.METHODS"
        )
    from ..methods import METHODS

    methods = [METHODS.resolve(m, stacklevel=4) for m in methods]
    if len(set(methods)) != len(methods):
        raise ValueError(f"methods={methods!r} repeats a method; list each once")
    return tuple(methods), False


def _current_name(name, names):
    """A ``method_params`` key: a former name of one of ``names`` stands for it."""
    from ..methods import METHODS

    if not isinstance(name, str) or name in names:
        return name
    return METHODS.resolve(name, stacklevel=4) if name in METHODS.renamed() else name


def _neighbours_needed(method) -> int | None:
    """Images a class needs for the method's sampler (k_neighbors + 1), or None."""
    sampler = method.make_sampler(random_state=0)
    if sampler is None or not bool(getattr(sampler, "_uses_neighbors", False)):
        return None
    k = getattr(sampler, "k_neighbors", None)
    if isinstance(k, numbers.Integral) and not isinstance(k, bool):
        return int(k) + 1
    return 2


def _stored_split(store_path: Path, spec_name: str, root: Path, record: dict):
    """The file lists of the latest stored spec of this source and split recipe, or None."""
    if not store_path.is_file():
        return None
    from ..bench.store import Store

    with Store(store_path) as store:
        rows = store.specs(spec_name)
    found = None
    for row in rows:
        data = row["spec"].get("data", {})
        options = data.get("options", {})
        stored = options.get("split_record", {})
        if data.get("dataset") != DATASET or data.get("data_dir") != str(root):
            continue
        recipe = ("kind", "test_fraction", "folds", "seed")
        if {k: stored.get(k) for k in recipe} != {k: record.get(k) for k in recipe}:
            continue
        if found is None or row["updated_at"] >= found[0]:
            found = (row["updated_at"], options["files"], stored, row["spec_hash"])
    return found


def _changed(stored_files: dict, stored_skipped, decoded: DecodedImages) -> tuple[list, list]:
    before = {f for rows in stored_files.values() for f, _ in rows} | set(stored_skipped)
    classes = {f: c for rows in stored_files.values() for f, c in rows}
    now = set(decoded.files) | {f for f, _ in decoded.skipped}
    added = sorted(now - before)
    removed = sorted(before - now)
    moved = sorted(
        f for f, c in zip(decoded.files, decoded.classes, strict=True) if classes.get(f, c) != c
    )
    return added + moved, removed + moved


def _default_train() -> TrainSpec:
    from ..training.config import TrainConfig

    config = TrainConfig()
    return TrainSpec(**{f.name: getattr(config, f.name) for f in dataclasses.fields(TrainSpec)})


def _check_folds(folds, counts: dict) -> int:
    """``folds`` validated against the class counts (classes of one image are only trained
    on, so they do not limit it)."""
    if isinstance(folds, bool) or not isinstance(folds, numbers.Integral):
        raise TypeError(f"folds={folds!r} must be an integer >= 2; pass e.g. --folds 5")
    if folds < 2:
        raise ValueError(
            f"--folds {folds}: cross-validation needs at least 2 folds; pass --folds 5 (or "
            "--test-fraction 0.2 for one hold-out split)"
        )
    testable = {c: n for c, n in counts.items() if n >= 2}
    if not testable:
        raise ValueError("no class has two images, so none can be tested; add images")
    rarest = min(testable, key=lambda c: (testable[c], c))
    if folds > testable[rarest]:
        raise ValueError(
            f"--folds {folds} is more than the {testable[rarest]} images of class {rarest!r}, "
            f"the rarest class, so some fold would test none of it; pass --folds "
            f"{testable[rarest]} or fewer (at least 2), or add images of {rarest!r}"
        )
    return int(folds)


def prepare_comparison(
    source,
    *,
    methods=None,
    seeds=None,
    budget: str | None = None,
    epochs: int | None = None,
    store="results.sqlite",
    size=None,
    mode: str | None = None,
    test_fraction: float | None = None,
    folds: int | None = None,
    split_seed: int = 0,
    resplit: bool = False,
    method_params: dict | None = None,
    max_bad: float = MAX_BAD_FRACTION,
    min_steps: int | None = None,
) -> PreparedComparison:
    """Read ``source``, settle its test split and build the comparison's spec (no training).

    Parameters are those of :func:`compare_images`.
    """
    from ..methods import get_method

    names, defaults = _method_list(methods)
    if test_fraction is not None and folds is not None:
        raise ValueError(
            f"--test-fraction {test_fraction} and --folds {folds} both given: they are two "
            "protocols (one hold-out split, or k-fold cross-validation); pass only one"
        )
    if min_steps is not None and (
        isinstance(min_steps, bool) or not isinstance(min_steps, numbers.Integral)
    ):
        raise TypeError(f"min_steps={min_steps!r} must be an integer >= 1; pass e.g. 500")
    if min_steps is not None and min_steps < 1:
        raise ValueError(
            f"--min-steps {min_steps}: the step budget must be >= 1; pass e.g. --min-steps 500 "
            "(or --epochs N to train exactly N epochs)"
        )
    if epochs is not None and min_steps is not None:
        raise ValueError(
            f"--epochs {epochs} and --min-steps {min_steps} both given: --epochs trains exactly "
            "that many epochs, --min-steps at least that many steps; pass only one"
        )
    seed_list = _seed_list(3 if seeds is None else seeds)
    if budget is not None and budget not in ("quick", "full"):
        raise ValueError(f"budget={budget!r} is not supported; choose one of 'quick', 'full'")
    if not isinstance(resplit, bool):
        raise TypeError(f"resplit={resplit!r} must be True or False")
    method_params = {} if method_params is None else method_params
    if not isinstance(method_params, dict):
        raise TypeError(f"method_params={method_params!r} must be a dict of method -> params")
    method_params = {_current_name(k, names): v for k, v in method_params.items()}
    unknown = sorted(set(method_params) - set(names))
    if unknown:
        raise ValueError(
            f"method_params names {unknown}, which are not among methods {list(names)}; "
            "drop them or add the methods"
        )
    found = {name: get_method(name, **method_params.get(name, {})) for name in names}
    store_path = Path(store)

    inventory = scan_images(source)
    decoded = read_inventory(inventory, size=size, mode=mode, max_bad=max_bad)
    notes: list[str] = []
    class_names = tuple(sorted(set(decoded.classes)))
    named = inventory.source.stem if inventory.kind == "csv" else inventory.source.name
    spec_name = f"compare-{_slug(named)}"
    split_reused = False
    if inventory.has_test_split and folds is not None:
        raise ValueError(
            f"--folds {folds}: {inventory.source} has its own test split (test/ folder or "
            "split column), which compare uses as it is; drop --folds, or merge the test "
            "images into the class folders to cross-validate"
        )
    cross_validate = not inventory.has_test_split and test_fraction is None
    if cross_validate:
        all_counts = {c: sum(1 for k in decoded.classes if k == c) for c in class_names}
        folds = _check_folds(DEFAULT_FOLDS if folds is None else folds, all_counts)
    elif test_fraction is not None:
        test_fraction = check_float(
            test_fraction, "test_fraction", min_value=0.0, max_value=0.5, min_inclusive=False
        )
    seed_list = _seed_list(seeds if seeds is not None else DEFAULT_REPEATS if cross_validate else 3)
    if inventory.has_test_split:
        splits = list(decoded.splits)
        record = {"kind": "given", "source": inventory.kind}
        if "val" in splits:
            notes.append(
                f"{splits.count('val')} validation image(s) are not used: compare reports the "
                "final epoch and selects nothing"
            )
        files = {
            s: [
                [f, c]
                for f, c, t in zip(decoded.files, decoded.classes, splits, strict=True)
                if t == s
            ]
            for s in ("train", "test")
        }
    else:
        if cross_validate:
            record = {
                "kind": "kfold",
                "folds": folds,
                "seed": int(split_seed),
                "how": "sklearn.model_selection.StratifiedKFold(shuffle=True) per repeat (seed), "
                "shuffled by numpy SeedSequence([seed, split seed]); classes of one image "
                "only trained on (deepbalance.bench.runner.run_folds)",
                "skipped": sorted(f for f, _ in decoded.skipped),
            }
        else:
            record = {
                "kind": "carved",
                "test_fraction": float(test_fraction),
                "seed": int(split_seed),
                "how": "per class, sklearn.model_selection.train_test_split",
                "skipped": sorted(f for f, _ in decoded.skipped),
            }
        parts = ("train",) if cross_validate else ("train", "test")
        what = "file list and folds" if cross_validate else "test split"
        stored = None if resplit else _stored_split(store_path, spec_name, inventory.root, record)
        if stored is not None:
            _, stored_files, stored_record, stored_hash = stored
            added, removed = _changed(stored_files, stored_record.get("skipped", []), decoded)
            if added or removed:
                raise ValueError(
                    f"{inventory.source} changed since its {what} were recorded in "
                    f"{store_path} (spec hash {stored_hash}): {len(added)} file(s) new or "
                    f"relabelled{' (e.g. ' + added[0] + ')' if added else ''}, {len(removed)} "
                    f"gone or relabelled{' (e.g. ' + removed[0] + ')' if removed else ''}. Pass "
                    "--resplit (resplit=True) to carve a new split and start a new comparison "
                    "(the stored runs stay under the old hash), restore the files, or pass "
                    "another --store"
                )
            files = {s: [list(r) for r in stored_files[s]] for s in parts}
            split_reused = True
            notes.append(f"reusing the {what} recorded in {store_path} (spec hash {stored_hash})")
        elif cross_validate:
            files = {"train": [[f, c] for f, c in zip(decoded.files, decoded.classes, strict=True)]}
        else:
            carved = carve_test_split(decoded.classes, test_fraction=test_fraction, seed=split_seed)
            files = {
                s: [
                    [f, c]
                    for f, c, t in zip(decoded.files, decoded.classes, carved, strict=True)
                    if t == s
                ]
                for s in ("train", "test")
            }
    if cross_validate:
        counts = {c: sum(1 for _, k in files["train"] if k == c) for c in class_names}
        # the fewest training images a fold leaves a class (what a sampler's neighbours need)
        train_counts = {c: n if n < 2 else n - math.ceil(n / folds) for c, n in counts.items()}
        test_counts = {c: n if n >= 2 else 0 for c, n in counts.items()}
        total_counts = counts
    else:
        train_counts = {c: sum(1 for _, k in files["train"] if k == c) for c in class_names}
        test_counts = {c: sum(1 for _, k in files["test"] if k == c) for c in class_names}
        total_counts = {c: train_counts[c] + test_counts[c] for c in class_names}
    untested = [c for c in class_names if test_counts[c] == 0]
    if not any(test_counts.values()):
        raise ValueError(
            f"{inventory.source}: the test split is empty; add images to test/ or pass a "
            "larger test_fraction"
        )
    for c in untested:
        notes.append(
            f"class {c!r} has no test image ({total_counts[c]} image(s) in all): it is trained "
            "on but not scored; ACSA averages the other classes. Add images of it"
        )
    smallest = min(train_counts.values())
    kept = []
    for name in names:
        need = _neighbours_needed(found[name])
        if need is not None and smallest < need:
            small = [c for c, n in train_counts.items() if n < need]
            message = (
                f"method {name!r} interpolates between neighbours and needs at least {need} "
                f"training images per class (k_neighbors + 1), but class(es) "
                f"{', '.join(f'{c!r} ({train_counts[c]})' for c in small)} have fewer"
            )
            if not defaults:
                raise ValueError(
                    f"{message}; add images, drop {name!r} from --methods, or pass a smaller "
                    "k_neighbors through method_params (random oversampling, logit adjustment "
                    "and plain CE work with any class size)"
                )
            notes.append(f"skipped {message} (random oversampling still works)")
            continue
        kept.append(name)
    names = tuple(kept)
    mode_used = decoded.mode
    image_shape = decoded.images.shape[1:]
    options = {
        "files": files,
        "mode": mode_used,
        "size": None if size is None else list(image_shape[1:]),
        "split_record": record,
    }
    train = _default_train()
    if epochs is not None or budget == "quick":
        train = dataclasses.replace(train, min_steps=None)  # exactly the epochs asked for
    elif min_steps is not None:
        train = dataclasses.replace(train, min_steps=int(min_steps))
    test_set = (
        TestSetSpec(name="test", policy="cv", folds=folds, seed=int(split_seed))
        if cross_validate
        else TestSetSpec(name="test", policy="official")
    )
    spec = Spec(
        name=spec_name,
        data=DataSpec(dataset=DATASET, data_dir=str(inventory.root), options=options),
        test_sets=(test_set,),
        methods=tuple(
            MethodSpec(id=n, name=n, params=dict(method_params.get(n, {})), label=LABELS.get(n, n))
            for n in names
        ),
        seeds=seed_list,
        train=train,
        metrics=("acsa", "gm", "macro_f1"),
        selection="final",
        source=Source(paper="your images"),
        description=str(inventory.source),
        budgets=BUDGETS,
        full_seeds=seed_list,
        full_methods=names,
    )
    # an explicit seed choice wins over the budget's
    explicit = seed_list if seeds is not None else None
    spec = apply_overrides(spec, budget=budget, epochs=epochs, seeds=explicit)
    channels = {"L": "1 channel (every file is grayscale)", "RGB": "3 channels"}[mode_used]
    if mode is None and mode_used == "RGB" and any(m in GRAY_MODES for m in decoded.modes):
        channels = (
            "3 channels (the grayscale files are read as RGB because others are colour; "
            "pass --mode L for one channel)"
        )
    elif mode is not None:
        channels = f"{'1 channel' if mode_used == 'L' else '3 channels'} (mode {mode} as asked)"
    counts = ", ".join(f"{c} {total_counts[c]}" for c in class_names)
    order = f"(classes in the order {', '.join(class_names)})"
    stored = " and reused" if split_reused else ""
    if cross_validate:
        repeats = len(spec.seeds)
        evaluation = (
            f"Evaluation: {folds}-fold stratified cross-validation × {repeats} repeat(s) (one "
            f"per seed, each with its own folds; scikit-learn's StratifiedKFold, split seed "
            f"{split_seed}): every image is tested once per repeat, by a model that never saw "
            "it; folds are cut before any resampling and shared by every method, recorded in "
            f"the results store{stored}. Each fold trains on about "
            f"{', '.join(str(train_counts[c]) for c in class_names)} and tests about "
            f"{', '.join(str(math.ceil(n / folds)) for n in test_counts.values())} images "
            f"{order}"
        )
    else:
        how = (
            f"given by the source ({inventory.kind})"
            if record["kind"] == "given"
            else f"carved per class with scikit-learn's train_test_split (test_fraction "
            f"{record['test_fraction']}, seed {record['seed']}), recorded in the results "
            f"store{stored}"
        )
        evaluation = (
            f"Test split {how}: train {', '.join(str(train_counts[c]) for c in class_names)}; "
            f"test {', '.join(str(test_counts[c]) for c in class_names)} {order}"
        )
    data_lines = [
        f"Source: `{inventory.source}`: {len(decoded.files)} images in {len(class_names)} "
        f"classes ({counts}), {image_shape[1]}x{image_shape[2]} pixels, {channels}"
        + (" (resized)" if size is not None else ""),
        evaluation,
        f"Training: {_budget_line(spec, files, class_names)} — the default recipe, "
        f"{spec.train.classifier}, batch {spec.train.batch_size}, {spec.train.optimizer} lr "
        f"{spec.train.lr}; seeds {', '.join(map(str, spec.seeds))}",
    ]
    if decoded.skipped:
        data_lines.append(
            f"Skipped {len(decoded.skipped)} of {decoded.n_files} file(s): not images or not "
            f"decodable (first: {decoded.skipped[0][0]}: {decoded.skipped[0][1]})"
        )
    data_lines += [f"Note: {n}" for n in notes]
    return PreparedComparison(
        spec, inventory, decoded, split_reused, train_counts, test_counts, notes, data_lines
    )


def _budget_line(spec: Spec, files: dict, class_names) -> str:
    """``"504 steps = 72 epochs of 780 rows (at least 500 steps)"``: the training budget of a
    run (the first fold's training rows under cross-validation)."""
    from ..training.config import TrainConfig

    config = TrainConfig(**spec.train.as_dict())
    rows = len(files["train"])
    if spec.cv is not None:
        from ..bench.runner import run_folds

        index = {c: i for i, c in enumerate(class_names)}
        labels = np.array([index[c] for _, c in files["train"]])
        rows = len(run_folds(spec, labels, spec.seeds[0])[0][0])
    where = " (fold 1)" if spec.cv is not None else ""
    return f"{config.budget_text(rows)}{where}"


# --------------------------------------------------------------------------------------------
# the time estimate


@dataclass(frozen=True)
class Estimate:
    """What :func:`estimate_seconds` predicts."""

    seconds: float
    per_method: dict
    n_runs: int
    classifier_seconds_per_image: float
    autoencoder_seconds_per_image: float | None
    run_overhead_seconds: float = 0.0
    classifier_seconds_per_step: float = 0.0

    def text(self) -> str:
        total = self.seconds
        when = f"{total:.0f} s" if total < 120 else f"{total / 60:.1f} min"
        parts = (
            f"classifier {1000 * self.classifier_seconds_per_step:.0f} ms per step, "
            f"{self.run_overhead_seconds:.1f} s per run"
        )
        if self.autoencoder_seconds_per_image is not None:
            parts += f", autoencoder {1000 * self.autoencoder_seconds_per_image:.2f} ms per image"
        return (
            f"estimated time: about {when} for {self.n_runs} run(s) (timed on this machine: "
            f"{parts}; rough, from the cost model of "
            "deepbalance.workflows.compare.estimate_seconds)"
        )


def estimate_seconds(
    spec: Spec, train, test, points, *, device: str = "cpu", n_time: int = 1024
) -> Estimate:
    """Estimate the seconds ``points`` (grid points of ``spec``) take: time one short thing,
    then apply a per-step cost model.

    The short thing: after a warm-up on 16 images, the spec's classifier (plain CE) trained
    for one and for eight epochs on up to ``n_time`` training images (the whole training set
    when it is no larger, so the timed epoch has the same batches as a real one: a small
    set's epochs end in a short batch that costs nearly as much as a full one), each with
    one evaluation of up to ``n_time`` test images. The difference is the cost of an epoch,
    which gives ``s``, seconds per optimisation step (per-epoch work included), and ``c``,
    seconds per training image pass; the rest of the shorter run is the fixed cost of a run
    (model, evaluation at ``c / 3`` per image). With a latent method, one and eight epochs
    of its autoencoder on the same images give ``c_ae``, seconds per image pass. Per run:

    - classifier: ``overhead + s * epochs * steps + c * evaluations * n_test / 3``, where
      ``epochs`` and the evaluations are the recipe's resolved for this training set
      (``min_steps``: :meth:`~deepbalance.training.TrainConfig.for_rows`) and ``steps`` those
      of one epoch of ``epoch_rows`` rows (``TrainConfig.rows_per_epoch``: ``n_train`` with
      the default ``"real"``; with ``"all"`` the set after resampling, ``n_classes *
      largest class`` for a sampler, which balances fully by default);
    - triplet pretraining (CLE-SMOTE): ``3 * c * pretrain_epochs * rows`` (anchor, positive,
      negative passes over the resampled set);
    - autoencoder (latent samplers): ``c_ae * epochs * n_train``, once per seed, fold and
      autoencoder (the runner's cache shares it); early stopping can make it shorter.

    Parameters
    ----------
    spec : Spec
    train, test : ImageSet
        The comparison's training and test sets.
    points : list of GridPoint
        The runs still to do.
    device : str
    n_time : int
        Most images of the timed epochs.
    """
    from ..methods import get_method, run_method
    from ..training.config import TrainConfig

    settings = {
        **spec.train.as_dict(),
        "device": device,
        "epochs": 1,
        "eval_every": 1,
        "min_steps": None,
    }
    config = TrainConfig(**settings)
    rng = np.random.RandomState(0)
    rows = np.sort(rng.permutation(len(train))[: min(n_time, len(train))])
    test_rows = np.sort(rng.permutation(len(test))[: min(n_time, len(test))])
    sub, sub_test = train.subset(rows), test.subset(test_rows)
    longer = config.replace(epochs=1 + _EXTRA_EPOCHS, eval_every=1 + _EXTRA_EPOCHS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tiny subsets miss classes; irrelevant for timing
        warm = train.subset(rows[:16])
        run_method("none", warm, {"test": warm}, config=config, seed=0, progress=False)
        seconds = []
        for timed in (config, longer):
            clock = time.perf_counter()
            run_method("none", sub, {"test": sub_test}, config=timed, seed=0, progress=False)
            seconds.append(time.perf_counter() - clock)
    # the slope between the two is the cost of one epoch; the rest is per run (building the
    # model, one evaluation at a third of a training pass per image)
    epoch = max((seconds[1] - seconds[0]) / _EXTRA_EPOCHS, 1e-7)
    timed_rows = config.rows_per_epoch(len(sub))
    per_step = epoch / max(config.steps_per_epoch(timed_rows), 1)
    c = epoch / max(timed_rows, 1)
    overhead = max(seconds[0] - epoch - c / 3 * len(sub_test), 0.0)
    c_ae = None
    latent = [p for p in points if _is_latent(get_method(p.method.name, **p.method.params))]
    if latent:
        c_ae = _time_autoencoder(
            get_method(latent[0].method.name, **latent[0].method.params), sub, device
        )
    counts = train.class_counts()
    n_train, n_test = len(train), len(test)
    balanced = int(len(counts) * counts.max())
    recipe = TrainConfig(**{**spec.train.as_dict(), "device": device})
    per_method: dict[str, float] = {}
    autoencoders = set()
    for point in points:
        method = get_method(point.method.name, **point.method.params)
        rows_m = n_train if method.sampler is None else balanced
        epoch_rows = recipe.rows_per_epoch(rows_m, n_train)
        run = recipe.for_rows(epoch_rows)
        evals = math.ceil(run.epochs / run.eval_every) + bool(run.epochs % run.eval_every)
        steps = run.epochs * recipe.steps_per_epoch(epoch_rows)
        cost = overhead + per_step * steps + c * evals * n_test / 3
        if method.recipe.pretrain:
            cost += 3 * c * method.recipe.pretrain_epochs * rows_m
        if _is_latent(method) and c_ae is not None:
            sampler = method.make_sampler(random_state=0)
            key = (
                point.seed,
                point.fold,
                repr(sampler.autoencoder_config(train.image_shape)),
                repr(sampler.train_settings()),
            )
            if key not in autoencoders:
                autoencoders.add(key)
                cost += c_ae * sampler.train_settings().epochs * n_train
        per_method[point.method.id] = per_method.get(point.method.id, 0.0) + cost
    return Estimate(sum(per_method.values()), per_method, len(points), c, c_ae, overhead, per_step)


#: Epochs the second timed run of :func:`estimate_seconds` adds to the first.
_EXTRA_EPOCHS = 7


def _is_latent(method) -> bool:
    if method.sampler is None:
        return False
    sampler = method.make_sampler(random_state=0)
    return hasattr(sampler, "autoencoder_config") and hasattr(sampler, "train_settings")


def _time_autoencoder(method, data, device: str) -> float:
    from ..nets.autoencoder_training import train_autoencoder

    sampler = method.make_sampler(random_state=0)
    config = sampler.autoencoder_config(data.image_shape)
    X = data.as_float()
    seconds = []
    for epochs in (1, 1 + _EXTRA_EPOCHS):
        settings = dataclasses.replace(sampler.train_settings(), epochs=epochs)
        clock = time.perf_counter()
        train_autoencoder(config, X, data.labels, settings, seed=0, device=device)
        seconds.append(time.perf_counter() - clock)
    return max((seconds[1] - seconds[0]) / (_EXTRA_EPOCHS * len(data)), 1e-7)


# --------------------------------------------------------------------------------------------
# the comparison


@dataclass
class CompareResult:
    """What :func:`compare_images` did.

    Attributes
    ----------
    prepared : PreparedComparison
        Data, split and spec.
    summary : GridSummary
        The runner's summary (runs done, skipped, failed).
    verdict : Verdict or None
        None when no run finished.
    report : list of Path
        ``report.md`` (and ``report.html``) first, then the figures.
    estimate : Estimate or None
    """

    prepared: PreparedComparison
    summary: object
    verdict: object
    report: list
    estimate: Estimate | None

    @property
    def spec(self) -> Spec:
        return self.prepared.spec


def compare_images(
    source,
    *,
    methods=None,
    seeds=None,
    budget: str | None = None,
    epochs: int | None = None,
    store="results.sqlite",
    out="report",
    size=None,
    mode: str | None = None,
    test_fraction: float | None = None,
    folds: int | None = None,
    split_seed: int = 0,
    resplit: bool = False,
    method_params: dict | None = None,
    max_bad: float = MAX_BAD_FRACTION,
    min_steps: int | None = None,
    device: str = "cpu",
    estimate: bool = True,
    progress: bool | None = None,
    console=None,
    html_output: bool = False,
) -> CompareResult:
    """Compare oversampling methods on a folder or CSV of images; write a report with a verdict.

    Parameters
    ----------
    source : path
        A folder with one sub-folder per class (or ``train/`` and ``test/`` folders each with
        one per class), or a CSV file of ``path,label[,split]`` (paths relative to the CSV).
    methods : list of str or comma-separated str, optional
        Registered method names; default :data:`DEFAULT_METHODS`. Default methods that need
        more images per class than the data has (SMOTE: ``k_neighbors + 1``) are skipped with a
        note; named ones fail instead.
    seeds : int or list of int, optional
        Number of seeds (``0..n-1``) or the seeds; each seed is one training run per method
        (per fold under cross-validation, where each seed is one repeat with its own folds).
        Default: 1 repeat of the cross-validation, 3 seeds with a test split (2 with
        ``budget="quick"``).
    budget : {None, "quick", "full"}
        ``"quick"``: 2 seeds, 2 epochs, short autoencoder/pretraining (marked REDUCED).
    epochs : int, optional
        Train exactly this many epochs instead of the default recipe's budget (marked
        REDUCED).
    store : path
        The SQLite results store; finished runs there are skipped (resumable).
    out : path
        Report folder.
    size : int or (H, W), optional
        Resize every image; without it the images must share one size.
    mode : {None, "L", "RGB"}
        ``None`` infers it: 1 channel when every file is grayscale.
    test_fraction : float, optional
        Evaluate on one hold-out split instead of cross-validation: this share of each class
        is held out (when the source has no test split). Not with ``folds``.
    folds : int, optional
        Folds of the stratified cross-validation used when the source has no test split
        (default :data:`DEFAULT_FOLDS`, 5): at least 2 and at most the images of the rarest
        class (classes of one image are trained on and not tested).
    split_seed : int
        Seed of the split (of the folds: mixed with each repeat's seed).
    resplit : bool
        Carve a new split even if the store holds one for this source that no longer matches
        its files.
    method_params : dict, optional
        ``{method: params}`` passed to ``get_method`` (e.g. a small autoencoder:
        ``{"deepsmote": {"sampler_params": {"epochs": 5, "dim_h": 16}}}``).
    max_bad : float
        Largest share of files that may be skipped as not images or undecodable.
    min_steps : int, optional
        The fewest optimisation steps of a training run (default: ``TrainConfig``'s, 500);
        a small training set gets more epochs. Not with ``epochs``.
    device : str
        "cpu", "cuda", "cuda:N" or "auto".
    estimate : bool
        Time one short thing and print the estimated total before running.
    progress : bool, optional
        Progress bar (default: on a terminal).
    console : rich.console.Console, optional
    html_output : bool
        Also write ``report.html``.

    Returns
    -------
    CompareResult
    """
    from ..bench.runner import (
        Toolkit,
        build_fold_test,
        build_test_sets,
        build_train_set,
        expand_grid,
        run_spec,
    )
    from ..bench.store import Store
    from .verdict import write_compare_report

    if not isinstance(estimate, bool):
        raise TypeError(f"estimate={estimate!r} must be True or False")
    console = console or make_console()
    prepared = prepare_comparison(
        source,
        methods=methods,
        seeds=seeds,
        budget=budget,
        epochs=epochs,
        store=store,
        size=size,
        mode=mode,
        test_fraction=test_fraction,
        folds=folds,
        split_seed=split_seed,
        resplit=resplit,
        method_params=method_params,
        max_bad=max_bad,
        min_steps=min_steps,
    )
    spec = prepared.spec
    for line in prepared.data_lines:
        console.print(line.replace("`", ""), markup=False, highlight=False)
    toolkit = Toolkit(load_dataset=load_dataset, datasets=LISTED_DATASETS)
    planned = None
    if estimate:
        with Store(store) as opened:
            done = opened.finished_keys(spec.name, spec.hash)
        todo = [p for p in expand_grid(spec) if p.key not in done]
        if todo:
            resolved = toolkit.resolved()
            train = build_train_set(resolved, spec, todo[0])
            test = build_fold_test(resolved, spec, todo[0])
            if test is None:
                test = build_test_sets(resolved, spec)["test"]
            planned = estimate_seconds(spec, train, test, todo, device=device)
            console.print(planned.text(), markup=False, highlight=False)
    summary = run_spec(
        spec,
        store=store,
        toolkit=toolkit,
        device=device,
        progress=progress,
        console=console,
        save_grids=True,
    )
    verdict, written = None, []
    if summary.ran + summary.skipped:
        written, verdict = write_compare_report(
            store,
            out,
            spec_name=spec.name,
            spec_hash=spec.hash,
            data_lines=prepared.data_lines,
            html_output=html_output,
        )
        console.print("")
        console.print(verdict.plain(), markup=False, highlight=False, soft_wrap=True)
        console.print(f"report: {written[0]}", markup=False, highlight=False)
    for point, message in summary.failed:
        console.print(f"failed: {point.describe()}: {message}", markup=False, highlight=False)
    return CompareResult(prepared, summary, verdict, written, planned)
