"""Run a spec's grid (method × seed × variant) and store every finished run.

:func:`run_spec` skips the runs already in the store, claims each of the others in the store
just before handing it to an executor (so several processes on one store split the grid, and
a dead process's runs are taken over), and writes each result in one transaction as it
arrives, so a grid killed mid-way loses only the runs in flight. Everything that can be
checked without running (names, parameters, device, the data of the first run) is checked
before the store file is created. Data is loaded and subsampled once per (dataset, profile,
seed) per process and autoencoders are cached per spec in ``<store folder>/cache/<spec
hash>``, shared by the methods that fit the same one.

The functions a run calls (dataset loading, profiles, methods, training config, image grids)
come from a :class:`Toolkit`, by default the library's; tests pass a toolkit of fakes.

A spec with a ``policy = "cv"`` test set (DeepSMOTE's 5-fold cross-validation, Dablain et al. 2022
§4) runs every method × seed once per fold: :func:`cv_folds` splits the run's imbalanced training
set into stratified folds, the run trains on the other folds and is tested on its own (and on the
spec's other test sets). The fold is part of the stored run's variant (``fold-2-of-5``, or
``<variant>/fold-2-of-5``), so the report averages over seeds and folds.

Every run whose sampler made synthetic rows also stores per-class diagnostics of those rows
(:func:`deepbalance.samplers.diagnostics.synthetic_diagnostics`; fidelity, novelty,
diversity, reconstruction error) in its ``data`` JSON, measured against real held-out images:
the run's validation split when it has one, otherwise its first test set.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import platform
import re
import sys
import tempfile
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._console import make_console
from .executors import Executor, LocalExecutor
from .spec import MethodSpec, Spec, VariantSpec, check_names, spec_error
from .store import CLAIMED, FINISHED, GRID_KIND, Claimant, RunRecord, Store, StoreError

__all__ = [
    "GridPoint",
    "GridSummary",
    "RunTask",
    "Toolkit",
    "build_test_sets",
    "build_train_set",
    "check_device",
    "check_folds",
    "cv_folds",
    "run_folds",
    "expand_grid",
    "execute_run",
    "run_spec",
    "stratified_subset",
]

#: Each class keeps at least this many images under ``--subset`` (SMOTE's k=5 needs 6).
SUBSET_MIN_PER_CLASS = 6
#: Images per class the synthetic-image diagnostics use for their distances.
DIAGNOSTICS_MAX_IMAGES = 500
#: How every run asks ``run_method`` for the diagnostics of its synthetic rows.
DIAGNOSE = {"diagnose": True, "diagnose_max_images": DIAGNOSTICS_MAX_IMAGES}


# --------------------------------------------------------------------------------------------
# the toolkit


@dataclass(frozen=True)
class Toolkit:
    """The functions a run calls. Fields left None are the library's (imported lazily).

    Every field must be picklable (module-level functions, registries) for the process-pool
    and Ray executors.

    Parameters
    ----------
    load_dataset, make_imbalanced, get_method, run_method : callable
        As in ``deepbalance.data``, ``deepbalance.data.profiles`` and ``deepbalance.methods``.
    train_config : callable
        ``train_config(**settings) -> config`` (``deepbalance.training.config.TrainConfig``).
    create_classifier : callable
        ``deepbalance.nets.create_classifier``; used once before the grid to check the
        classifier's settings against the data.
    image_grid : callable or None
        ``deepbalance.samplers.image_grid``; without it no sample grids are saved.
    methods, datasets, profiles, classifiers : registry
        What spec names are checked against.
    """

    load_dataset: Callable | None = None
    make_imbalanced: Callable | None = None
    get_method: Callable | None = None
    run_method: Callable | None = None
    train_config: Callable | None = None
    create_classifier: Callable | None = None
    image_grid: Callable | None = None
    methods: Any = None
    datasets: Any = None
    profiles: Any = None
    classifiers: Any = None

    def resolved(self, names: Sequence[str] | None = None) -> Toolkit:
        """A copy with the None fields among ``names`` (default: all) set to the library's."""
        names = [f.name for f in dataclasses.fields(self)] if names is None else list(names)
        missing = [name for name in names if getattr(self, name) is None]
        if not missing:
            return self
        import importlib

        filled = {}
        for name in missing:
            module, attr = _LIBRARY[name]
            try:
                filled[name] = getattr(importlib.import_module(module), attr)
            except (ImportError, AttributeError):
                if name not in _OPTIONAL:
                    raise
        return dataclasses.replace(self, **filled)

    def for_workers(self) -> Toolkit:
        """The functions only: registries (not always picklable) stay in this process."""
        return dataclasses.replace(self, **dict.fromkeys(_REGISTRIES))


_LIBRARY = {
    "load_dataset": ("deepbalance.data", "load_dataset"),
    "datasets": ("deepbalance.data", "DATASETS"),
    "make_imbalanced": ("deepbalance.data.profiles", "make_imbalanced"),
    "profiles": ("deepbalance.data.profiles", "PROFILES"),
    "get_method": ("deepbalance.methods", "get_method"),
    "run_method": ("deepbalance.methods", "run_method"),
    "methods": ("deepbalance.methods", "METHODS"),
    "train_config": ("deepbalance.training.config", "TrainConfig"),
    "create_classifier": ("deepbalance.nets", "create_classifier"),
    "classifiers": ("deepbalance.nets", "CLASSIFIERS"),
    "image_grid": ("deepbalance.samplers", "image_grid"),
}
_OPTIONAL = ("image_grid",)
_REGISTRIES = ("methods", "datasets", "profiles", "classifiers")
_FUNCTIONS = tuple(name for name in _LIBRARY if name not in _REGISTRIES)


# --------------------------------------------------------------------------------------------
# the grid


@dataclass(frozen=True)
class GridPoint:
    """One run of a spec: a method, a seed, a variant (None when the spec has none) and, with
    a cross-validation test set, a fold (1-based; None without one) of ``folds``."""

    method: MethodSpec
    seed: int
    variant: VariantSpec | None = None
    fold: int | None = None
    folds: int | None = None

    @property
    def variant_name(self) -> str:
        """The stored variant: the variant's name, with the fold appended (:func:`fold_tag`)."""
        name = self.variant.name if self.variant is not None else ""
        if self.fold is None:
            return name
        return (
            f"{name}/{fold_tag(self.fold, self.folds)}" if name else fold_tag(self.fold, self.folds)
        )

    @property
    def variant_hash(self) -> str:
        return self.variant.hash if self.variant is not None else ""

    @property
    def key(self) -> tuple:
        """The store key: (method id, method hash, seed, variant name, variant hash)."""
        return (self.method.id, self.method.hash, self.seed, self.variant_name, self.variant_hash)

    def describe(self) -> str:
        text = f"{self.method.label or self.method.id} seed={self.seed}"
        if self.variant is not None:
            text += f" variant={self.variant.name}"
        return text + (f" fold={self.fold}/{self.folds}" if self.fold is not None else "")


def fold_tag(fold: int, folds: int) -> str:
    """How a fold is written in a stored run's variant: ``fold-2-of-5``."""
    return f"fold-{fold}-of-{folds}"


#: A stored variant that ends in a fold: ``fold-2-of-5`` or ``<variant>/fold-2-of-5``.
FOLD_PATTERN = re.compile(r"^(?:(?P<variant>.*)/)?fold-(?P<fold>\d+)-of-(?P<folds>\d+)$")


def expand_grid(spec: Spec) -> list[GridPoint]:
    """Every run of ``spec``: variants × seeds × folds × methods, in that nesting order.

    Methods vary fastest so consecutive runs share their data (and cached autoencoders).
    Without a ``policy = "cv"`` test set there is one "fold" (None).
    """
    variants: Sequence[VariantSpec | None] = spec.variants or (None,)
    cv = spec.cv
    folds: Sequence[int | None] = range(1, cv.folds + 1) if cv is not None else (None,)
    n_folds = cv.folds if cv is not None else None
    return [
        GridPoint(method, seed, variant, fold, n_folds if fold is not None else None)
        for variant in variants
        for seed in spec.seeds
        for fold in folds
        for method in spec.methods
    ]


# --------------------------------------------------------------------------------------------
# data, memoised per process


_MEMO: dict[str, OrderedDict] = {}
_MEMO_SIZE = {"dataset": 2, "train": 2, "tests": 2}


def _memo(kind: str, key, make: Callable):
    cache = _MEMO.setdefault(kind, OrderedDict())
    text = json.dumps(key, sort_keys=True, default=str)
    if text in cache:
        cache.move_to_end(text)
        return cache[text]
    value = make()
    cache[text] = value
    while len(cache) > _MEMO_SIZE[kind]:
        cache.popitem(last=False)
    return value


def clear_memo() -> None:
    """Forget the datasets memoised in this process."""
    _MEMO.clear()


def _load(toolkit: Toolkit, spec: Spec, split: str, variant: VariantSpec | None):
    options = {**spec.data.options, **(variant.dataset_options if variant else {})}
    key = (spec.data.dataset, split, spec.data.data_dir, options)

    def make():
        return toolkit.load_dataset(
            spec.data.dataset, split, data_dir=spec.data.data_dir, **options
        )

    return _memo("dataset", key, make)


def stratified_subset(data, subset: float | int, seed: int):
    """Keep a fraction (float in (0, 1]) or a count (int) of ``data``'s images, per class.

    Each class keeps ``round(fraction * n_c)`` images but at least ``min(n_c, 6)``, drawn with
    ``numpy.random.RandomState(seed)``; kept rows stay in their order.
    """
    n = len(data)
    if isinstance(subset, bool) or not isinstance(subset, int | float):
        raise TypeError(f"subset={subset!r} must be a fraction in (0, 1] or a count >= 1")
    fraction = subset / n if isinstance(subset, int) else float(subset)
    if not 0.0 < fraction:
        raise ValueError(f"subset={subset!r} must be a fraction in (0, 1] or a count >= 1")
    if fraction >= 1.0:
        return data
    rng = np.random.RandomState(seed)
    keep = []
    for cls in range(data.n_classes):
        rows = np.flatnonzero(data.labels == cls)
        n_keep = max(min(len(rows), SUBSET_MIN_PER_CLASS), int(round(fraction * len(rows))))
        keep.append(rows[np.sort(rng.permutation(len(rows))[:n_keep])])
    rows = np.sort(np.concatenate(keep)) if keep else np.zeros(0, dtype=np.int64)
    return data.subset(rows, source=f"{data.source} | subset {subset} seed {seed}")


def cv_folds(labels, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified k-fold split of ``labels``: ``[(train rows, test rows), ...]``, one per fold.

    scikit-learn's ``StratifiedKFold(folds, shuffle=True, random_state=seed)``: every fold
    holds about ``1/folds`` of each class, the test rows of the folds partition all rows, and
    fold ``k`` trains on the rest. This is DeepSMOTE's evaluation (Dablain et al. 2022 §4: 5-fold
    cross-validation on the imbalanced data). A class with a single image cannot be both
    trained on and tested: its row is in every fold's training rows and in no test fold (the
    other rows are split as if it were absent).

    Parameters
    ----------
    labels : array of int, shape (n,)
    folds : int
        At least 2 and at most the smallest count of a class with two or more images.
    seed : int
        Seeds the shuffle; the same seed gives the same folds.

    Raises
    ------
    ValueError
        If ``folds`` is below 2 or above the smallest count of a class with two or more
        images, or no class has two images.
    """
    from sklearn.model_selection import StratifiedKFold

    labels = np.asarray(labels)
    if labels.ndim != 1 or not len(labels):
        raise ValueError(f"labels has shape {labels.shape}; pass a non-empty 1-d label array")
    if isinstance(folds, bool) or not isinstance(folds, int | np.integer) or folds < 2:
        raise ValueError(f"folds={folds!r} must be an integer >= 2; pass e.g. folds=5")
    classes, counts = np.unique(labels, return_counts=True)
    if not (counts >= 2).any():
        raise ValueError("no class has two images, so no image can be tested; add images")
    smallest = int(counts[counts >= 2].min())
    if folds > smallest:
        raise ValueError(
            f"folds={folds} is more than the smallest class's {smallest} images, so "
            f"some fold would hold none of it; pass folds <= {smallest}"
        )
    alone = np.isin(labels, classes[counts == 1])
    rows = np.flatnonzero(~alone)
    split = StratifiedKFold(n_splits=int(folds), shuffle=True, random_state=int(seed))
    out = []
    for train, test in split.split(np.zeros(len(rows)), labels[rows]):
        train_rows = np.sort(np.concatenate([rows[train], np.flatnonzero(alone)]))
        out.append((train_rows, rows[test]))
    return out


def _plain_key(value) -> str:
    return json.dumps(dataclasses.asdict(value) if value is not None else None, sort_keys=True)


def run_folds(spec: Spec, labels, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The folds of a run with seed ``seed`` of ``spec`` (its ``policy = "cv"`` test set) on a
    training set with ``labels``: :func:`cv_folds` shuffled with a seed drawn from the run's
    seed and the test set's ``seed``, the same for every method."""
    if spec.cv is None:
        raise ValueError(f'spec {spec.name!r} has no policy = "cv" test set, so no folds')
    shuffle = int(np.random.SeedSequence([int(seed), spec.cv.seed]).generate_state(1)[0])
    return cv_folds(labels, spec.cv.folds, shuffle)


def check_folds(spec: Spec, train, point: GridPoint | None = None) -> None:
    """Raise a :class:`SpecError` naming ``folds`` (file, line) if ``train`` cannot be split
    into that many stratified folds (a class of two or more images with fewer images than
    folds; a class of one image is only trained on)."""
    cv = spec.cv
    if cv is None:
        return
    index = spec.test_sets.index(cv)
    counts = train.class_counts()
    present = counts[counts > 1] if (counts > 1).any() else counts[counts > 0]
    if cv.folds > present.min():
        small = train.class_names[int(np.flatnonzero(counts == present.min())[0])]
        who = f" of {point.method.id!r}" if point is not None else ""
        raise spec_error(
            spec,
            ("test_sets", index, "folds"),
            cv.folds,
            f"the training set{who} has {int(present.min())} image(s) of class {small!r}, fewer "
            f"than the folds; give folds <= {int(present.min())} (at least 2)",
        )


def build_train_set(toolkit: Toolkit, spec: Spec, point: GridPoint):
    """The training set of a run: the dataset, the (method's or spec's) profile, the subset,
    and with a cross-validation test set the run's training folds."""
    full = _full_train_set(toolkit, spec, point)
    if point.fold is None:
        return full
    return _fold_parts(spec, full, point)[0]


def build_fold_test(toolkit: Toolkit, spec: Spec, point: GridPoint):
    """The held-out fold of a cross-validation run (None for other runs)."""
    if point.fold is None:
        return None
    return _fold_parts(spec, _full_train_set(toolkit, spec, point), point)[1]


def fold_test_rows(toolkit: Toolkit, spec: Spec, point: GridPoint) -> list[int]:
    """Rows (of the run's training set before the fold split) that a cross-validation run
    holds out; recorded with the run, so the store says which images each fold tested."""
    if point.fold is None:
        return []
    full = _full_train_set(toolkit, spec, point)
    return [int(r) for r in run_folds(spec, full.labels, point.seed)[point.fold - 1][1]]


def _fold_parts(spec: Spec, full, point: GridPoint):
    check_folds(spec, full, point)
    train_rows, test_rows = run_folds(spec, full.labels, point.seed)[point.fold - 1]
    tag = f"fold {point.fold} of {spec.cv.folds}"
    return (
        full.subset(np.sort(train_rows), source=f"{full.source} | {tag}: training folds"),
        full.subset(np.sort(test_rows), source=f"{full.source} | {tag}: held out"),
    )


def _full_train_set(toolkit: Toolkit, spec: Spec, point: GridPoint):
    """The training set of a run before any fold split."""
    profile = point.method.profile or spec.profile
    variant = point.variant
    params = dict(profile.params) if profile else {}
    if profile and variant is not None:
        params.update(variant.profile_params)
    key = (
        spec.data.dataset,
        spec.data.split,
        spec.data.data_dir,
        {**spec.data.options, **(variant.dataset_options if variant else {})},
        profile.name if profile else None,
        params,
        point.seed,
        spec.subset,
    )

    def make():
        data = _load(toolkit, spec, spec.data.split, variant)
        if profile is not None:
            data = toolkit.make_imbalanced(data, profile.name, seed=point.seed, **params)
        if spec.subset is not None:
            data = stratified_subset(data, spec.subset, point.seed)
        return data

    return _memo("train", key, make)


def _test_base(toolkit: Toolkit, spec: Spec, test, variant: VariantSpec | None):
    """The split a test set is drawn from: the spec's test split, another split of its
    dataset, or a split of the test set's own dataset (``dataset``, ``options``, ``data_dir``)."""
    if test.dataset is None:
        return _load(toolkit, spec, test.split or spec.data.test_split, variant)
    split = test.own_split

    def make():
        return toolkit.load_dataset(test.dataset, split, data_dir=test.data_dir, **test.options)

    return _memo("dataset", (test.dataset, split, test.data_dir, test.options), make)


def build_test_sets(toolkit: Toolkit, spec: Spec, variant: VariantSpec | None = None) -> dict:
    """The spec's test sets ``{name: ImageSet}``, the same for every seed (all but a
    ``policy = "cv"`` one, which :func:`run_tests` adds per run)."""
    key = (
        spec.data.dataset,
        spec.data.test_split,
        spec.data.data_dir,
        {**spec.data.options, **(variant.dataset_options if variant else {})},
        dataclasses.asdict(spec)["test_sets"],
    )

    def make():
        sets = {}
        for test in spec.test_sets:
            if test.policy == "cv":
                continue  # drawn per run from its training set (build_fold_test)
            base = _test_base(toolkit, spec, test, variant)
            if test.policy == "official":
                sets[test.name] = base
            elif test.policy == "balanced":
                counts = base.class_counts()
                per_class = test.per_class or int(counts[counts > 0].min())
                sets[test.name] = toolkit.make_imbalanced(
                    base, [min(per_class, int(c)) for c in counts], seed=test.seed
                )
            else:
                sets[test.name] = toolkit.make_imbalanced(
                    base, test.profile.name, seed=test.seed, **test.profile.params
                )
        return sets

    return _memo("tests", key, make)


def run_tests(toolkit: Toolkit, spec: Spec, point: GridPoint) -> dict:
    """A run's test sets ``{name: ImageSet}`` in the spec's order, its held-out fold included."""
    shared = build_test_sets(toolkit, spec, point.variant)
    fold = build_fold_test(toolkit, spec, point)
    return {t.name: fold if t.policy == "cv" else shared[t.name] for t in spec.test_sets}


def _check_classes(spec: Spec, train, tests: dict, point: GridPoint) -> None:
    from ..metrics import metric_suites_for

    for index, (name, test) in enumerate(tests.items()):
        if not any("labels" in s.needs for s in metric_suites_for(test, train.n_classes)):
            continue  # e.g. normal/abnormal labels (chest X-ray tests): no suite reads classes
        if tuple(test.class_names) != tuple(train.class_names):
            raise spec_error(
                spec,
                ("test_sets", index, "policy"),
                spec.test_sets[index].policy,
                f"test set {name!r} has classes {list(test.class_names)} but the training data "
                f"of {point.method.id!r} has {list(train.class_names)}; give the test set "
                'policy = "profile" with the matching profile (e.g. cle-binary-balanced)',
            )


# --------------------------------------------------------------------------------------------
# one run


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs to compute one run (picklable)."""

    spec: Spec
    point: GridPoint
    toolkit: Toolkit
    cache_dir: str
    device: str = "cpu"
    progress: bool = False
    save_grid: bool = False


def environment(device: str) -> dict:
    """Library versions and machine of this process."""
    from .._version import __version__

    env = {
        "deepbalance": __version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "host": platform.node(),
        "host_cores": os.cpu_count(),
        "pid": os.getpid(),
        "device": device,
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        env["torch"] = torch.__version__
        env["torch_threads"] = torch.get_num_threads()
    return env


def _train_settings(spec: Spec, variant: VariantSpec | None, device: str) -> dict:
    settings = spec.train.as_dict()
    if variant is not None:
        settings.update(variant.train)
    settings["device"] = device
    return settings


def _resolve_device(device: str) -> str:
    if device != "auto":
        return device
    try:
        from ..nets.device import resolve_device
    except ImportError:
        return device
    return str(resolve_device(device))


def execute_run(task: RunTask) -> RunRecord:
    """Compute one run (in a worker or in this process) and return its record."""
    toolkit = task.toolkit.resolved(_FUNCTIONS)
    spec, point = task.spec, task.point
    started = time.time()
    clock = time.perf_counter()
    train = build_train_set(toolkit, spec, point)
    tests = run_tests(toolkit, spec, point)
    _check_classes(spec, train, tests, point)
    settings = _train_settings(spec, point.variant, task.device)
    config = toolkit.train_config(**settings)
    method = toolkit.get_method(point.method.name, **point.method.params)
    Path(task.cache_dir).mkdir(parents=True, exist_ok=True)
    lr_search = result = None
    if spec.lr_search:
        from ..tuning import search_learning_rate

        # with the recipe's own validation split, a candidate's run is the run to report
        # (same split, seed and rate): evaluate the test sets in it, and keep it
        own_split = config.val_fraction > 0
        lr_search = search_learning_rate(
            method,
            train,
            config=config,
            seed=point.seed,
            grid=spec.lr_search,
            metric=spec.train.best_metric,
            selection=spec.selection,
            eval_sets=tests if own_split else None,
            cache_dir=task.cache_dir,
            progress=task.progress,
            run=functools.partial(toolkit.run_method, **DIAGNOSE),
        )
        config = config.replace(lr=lr_search.chosen)
        if own_split:
            result = lr_search.results[lr_search.chosen]
    if result is None:
        result = toolkit.run_method(
            method,
            train,
            tests,
            config=config,
            seed=point.seed,
            cache_dir=task.cache_dir,
            progress=task.progress,
            **DIAGNOSE,
        )
    wall = time.perf_counter() - clock
    artifacts, notes = {}, {}
    diagnostics = diagnostics_record(result)
    if diagnostics is not None:
        notes["diagnostics"] = diagnostics
    if getattr(result, "diagnostics_error", None):
        notes["diagnostics_error"] = result.diagnostics_error
    if getattr(result, "post_hoc", None) is not None:  # e.g. tau-norm's tau, chosen on val
        notes["post_hoc"] = result.post_hoc
    if task.save_grid:
        try:
            png = synthetic_grid_png(toolkit, result, train)
        except Exception as exc:  # a failed picture must not lose a finished run
            notes["grid_error"] = f"{type(exc).__name__}: {exc}"
        else:
            if png is not None:
                artifacts[GRID_KIND] = png
    device = _resolve_device(task.device)
    env = environment(device)
    timings = {k: float(v) for k, v in dict(result.timings).items()}
    timings["wall"] = wall
    if lr_search is not None:
        timings["lr_search"] = lr_search.seconds
        notes["lr_search"] = lr_search.as_dict()
    return RunRecord(
        spec_name=spec.name,
        spec_hash=spec.hash,
        method_id=point.method.id,
        method_name=point.method.name,
        method_hash=point.method.hash,
        method=dataclasses.asdict(point.method),
        seed=point.seed,
        variant=point.variant_name,
        variant_hash=point.variant_hash,
        variant_params={
            **(dataclasses.asdict(point.variant) if point.variant else {}),
            **({"fold": point.fold, "folds": point.folds} if point.fold is not None else {}),
        },
        history=list(result.history),
        final=dict(result.final),
        best=dict(result.best),
        timings=timings,
        n_train=None if result.n_train is None else int(result.n_train),
        n_synthetic=None if result.n_synthetic is None else int(result.n_synthetic),
        data={
            "class_names": list(train.class_names),
            "train_counts": [int(c) for c in train.class_counts()],
            "test_counts": {k: [int(c) for c in v.class_counts()] for k, v in tests.items()},
            "selection": _selection_info(result),
            **(
                {"fold_test_rows": fold_test_rows(toolkit, spec, point)}
                if point.fold is not None
                else {}
            ),
            **notes,
        },
        environment=env,
        device=device,
        host_cores=os.cpu_count(),
        reduced=spec.reduced,
        overrides=dict(spec.overrides),
        started_at=started,
        finished_at=time.time(),
        artifacts=artifacts,
    )


def _selection_info(result) -> dict:
    """The epochs behind a run's ``best`` and validation-``selected`` numbers (the
    ``selected`` metrics themselves are the history's entries at ``selected_epoch``)."""
    best_epoch = getattr(result, "best_epoch", None)
    return {
        "best_metric": getattr(result, "best_metric", None),
        "best_epoch": {k: int(v) for k, v in dict(best_epoch or {}).items()},
        "selected_epoch": getattr(result, "selected_epoch", None),
    }


def diagnostics_record(result) -> dict | None:
    """A run's synthetic-image diagnostics as small JSON data (or None).

    ``run_method(..., diagnose=True)`` made them from the run's own resampling
    (:func:`deepbalance.methods.diagnose_resampling`): real held-out images (the validation
    split when the run has one, otherwise the first test set) give the reference recall and
    reconstruction error.

    Returns
    -------
    dict or None
        ``{"holdout": what the held-out images were, "rows": [per-class dict]}``, or
        ``{"note": why it was skipped}`` (a class with fewer than 2 real training images);
        None when the run has no synthetic rows.
    """
    note = getattr(result, "diagnostics_note", None)
    if note:
        return {"note": note}
    rows = getattr(result, "diagnostics", None)
    if not rows:
        return None
    out = []
    for row in rows:
        item = {}
        for key, value in row.items():
            if hasattr(value, "item"):
                value = value.item()
            if isinstance(value, float) and not np.isfinite(value):
                value = None
            item[key] = value
        out.append(item)
    return {"holdout": result.diagnostics_holdout, "rows": out}


def synthetic_grid_png(toolkit: Toolkit, result, train, *, n_per_class: int = 8) -> bytes | None:
    """PNG bytes of real vs synthetic images of a sampler method's run, or None.

    The run's own synthetic rows (``result.synthetic_examples`` of ``run_method``) when it
    kept them. Otherwise latent samplers draw ``n_per_class`` new images per oversampled class
    with ``generate`` (cheap: the autoencoder is fitted), and other samplers resample ``train``
    again with their fixed ``random_state`` and show the synthetic rows.
    """
    sampler = getattr(result, "sampler", None)
    if sampler is None or toolkit.image_grid is None:
        return None
    examples = getattr(result, "synthetic_examples", None)
    if examples is not None:
        synthetic, synthetic_labels = examples
    elif hasattr(sampler, "generate") and hasattr(sampler, "latent_"):
        images, labels = [], []
        # a residual sampler adds back its base images' detail: it needs the fitted images
        fitted = train.images if getattr(sampler, "residual", False) else None
        for label, n in getattr(sampler, "sampling_strategy_", {}).items():
            if n > 0:
                new = sampler.generate(min(int(n), n_per_class), label, X=fitted)
                images.append(new)
                labels += [label] * len(new)
        if not images:
            return None
        synthetic, synthetic_labels = np.concatenate(images), np.asarray(labels)
    else:
        X, y = sampler.fit_resample(train.images, train.labels)
        mask = np.asarray(sampler.synthetic_mask_, dtype=bool)
        if not mask.any():
            return None
        synthetic, synthetic_labels = np.asarray(X)[mask], np.asarray(y)[mask]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "grid.png"
        toolkit.image_grid(
            train.images,
            train.labels,
            synthetic,
            synthetic_labels,
            path,
            n_per_class=n_per_class,
            class_names=list(train.class_names),
        )
        return path.read_bytes()


# --------------------------------------------------------------------------------------------
# the whole grid


@dataclass
class GridSummary:
    """What :func:`run_spec` did."""

    spec: Spec
    store_path: Path
    total: int
    skipped: int
    ran: int = 0
    failed: list = field(default_factory=list)  # (GridPoint, error message)
    records: list = field(default_factory=list)
    elapsed: float = 0.0
    #: Runs another live process had claimed when this one got to them (it computes them).
    elsewhere: list = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.failed and self.skipped + self.ran == self.total


class GridError(RuntimeError):
    """Some runs of a grid failed (the others are stored; rerun to retry the failed ones)."""

    def __init__(self, summary: GridSummary):
        self.summary = summary
        lines = [f"{p.describe()}: {msg}" for p, msg in summary.failed]
        super().__init__(
            f"{len(summary.failed)} of {summary.total} runs of {summary.spec.name!r} failed "
            f"(the {summary.ran} finished runs are stored; rerun to retry): " + "; ".join(lines)
        )


def _check_classifier(toolkit: Toolkit, spec: Spec, train) -> None:
    for index, variant in enumerate(spec.variants or (None,)):
        settings = _train_settings(spec, variant, "cpu")
        try:
            toolkit.create_classifier(
                settings["classifier"],
                train.image_shape,
                train.n_classes,
                **settings["classifier_params"],
            )
        except (TypeError, ValueError) as exc:
            path = ("train", "classifier_params")
            if variant is not None and {"classifier", "classifier_params"} & set(variant.train):
                path = ("variants", index, "train")
            raise spec_error(
                spec,
                path,
                settings["classifier_params"],
                f"classifier {settings['classifier']!r} cannot be built for images "
                f"{train.image_shape} with {train.n_classes} classes: {exc}",
            ) from None


_DEVICE = re.compile(r"^(cpu|auto|cuda(:\d+)?)$")


def check_device(device: str) -> str:
    """Return ``device`` if runs can use it here; else raise naming it and the fix.

    ``"cpu"`` and ``"auto"`` always work; ``"cuda"``/``"cuda:N"`` need that CUDA GPU to be
    visible to PyTorch (checked without building anything).

    Raises
    ------
    TypeError
        If ``device`` is not a string.
    ValueError
        If it is not a device name, or names a CUDA GPU this machine does not have.
    """
    if not isinstance(device, str):
        raise TypeError(
            f"device={device!r} must be a string; pass 'cpu', 'cuda', 'cuda:N' or 'auto'"
        )
    if not _DEVICE.match(device.strip().lower()):
        raise ValueError(
            f"device={device!r} is not a device name; pass 'cpu', 'cuda', 'cuda:N' or 'auto'"
        )
    if device.strip().lower().startswith("cuda"):
        from ..nets.device import resolve_device

        resolve_device(device)  # raises ValueError when no such CUDA GPU is visible
    return device


def preflight(spec: Spec, toolkit: Toolkit, device: str = "cpu") -> None:
    """Check names, method parameters, the training recipe and the data before any run.

    Raises the library's ``ValueError``/``TypeError``/``FileNotFoundError`` (e.g. a dataset
    whose files are missing says where it looked and how to get them).
    """
    check_device(device)
    toolkit = toolkit.resolved()
    check_names(
        spec,
        methods=toolkit.methods,
        datasets=toolkit.datasets,
        profiles=toolkit.profiles,
        classifiers=toolkit.classifiers,
    )
    built = []
    for method in spec.methods:
        index = spec.full_methods.index(method.id) if method.id in spec.full_methods else 0
        try:
            built.append((method, index, toolkit.get_method(method.name, **method.params)))
        except (TypeError, ValueError) as exc:
            raise spec_error(
                spec, ("methods", index, "params"), method.params, f"method {method.id!r}: {exc}"
            ) from None
    configs = [
        toolkit.train_config(**_train_settings(spec, variant, device))
        for variant in spec.variants or (None,)
    ]
    for method, index, built_method in built:  # e.g. tau-norm without a validation split
        check = getattr(getattr(built_method, "recipe", None), "check_validation", None)
        for config in configs if check is not None else ():
            try:
                check(getattr(config, "val_fraction", 0) > 0)
            except ValueError as exc:
                raise spec_error(
                    spec, ("methods", index, "name"), method.name, f"method {method.id!r}: {exc}"
                ) from None


def run_spec(
    spec: Spec,
    *,
    store: str | os.PathLike | Store = "results.sqlite",
    executor: Executor | None = None,
    toolkit: Toolkit | None = None,
    device: str = "cpu",
    data_dir: str | os.PathLike | None = None,
    progress: bool | None = None,
    save_grids: bool = True,
    console=None,
    raise_on_failure: bool = False,
    stale_after: float | None = None,
) -> GridSummary:
    """Run every missing run of ``spec`` and store each as it finishes.

    Several processes may run one spec on one store at once: each claims a run in the store
    just before computing it and skips the runs another live process has claimed, so
    together they compute every run once. Claims of a process that died (same host) or
    stopped refreshing them for ``stale_after`` seconds are taken over.

    Parameters
    ----------
    spec : Spec
        From :func:`~deepbalance.bench.spec.load_spec` (with overrides applied, if any).
    store : path or Store
        The SQLite results store. Runs already there are skipped. A path is created only
        once the spec, the device and the first run's data have been checked.
    executor : Executor, optional
        Default: :class:`~deepbalance.bench.executors.LocalExecutor` (one run at a time here).
    toolkit : Toolkit, optional
        The functions runs call; default the library's.
    device : str
        Training (and autoencoder) device: "cpu", "cuda", "cuda:N" or "auto"; checked
        (:func:`check_device`) before anything is stored.
    data_dir : path, optional
        Replaces the spec's ``data.data_dir``.
    progress : bool, optional
        Show progress (rich). Default: when stdout is a terminal; otherwise one line per run.
    save_grids : bool
        Save one grid of synthetic samples per sampler method and spec (first run of each).
    raise_on_failure : bool
        Raise :class:`GridError` if a run failed (default: report it in the summary).
    stale_after : float, optional
        Seconds without heartbeat after which another process's claim is taken over
        (default :data:`~deepbalance.bench.store.STALE_AFTER`).

    Returns
    -------
    GridSummary
    """
    from .store import STALE_AFTER

    if not isinstance(spec, Spec):
        raise TypeError(f"spec={spec!r} must be a Spec; load one with load_spec(name)")
    if not isinstance(store, Store | str | os.PathLike):
        raise TypeError(f"store={store!r} must be a path or a Store; pass e.g. 'results.sqlite'")
    stale_after = STALE_AFTER if stale_after is None else stale_after
    if isinstance(stale_after, bool) or not isinstance(stale_after, int | float):
        raise TypeError(f"stale_after={stale_after!r} must be a number of seconds, e.g. 600")
    if not stale_after > 0:
        raise ValueError(f"stale_after={stale_after!r} must be > 0 seconds; pass e.g. 600")
    if data_dir is not None:
        spec = dataclasses.replace(
            spec, data=dataclasses.replace(spec.data, data_dir=str(data_dir))
        )
    toolkit = (toolkit or Toolkit()).resolved()
    console = console or make_console()
    own_store = not isinstance(store, Store)
    clock = time.perf_counter()
    executor_given = executor
    try:
        preflight(spec, toolkit, device)
        grid = expand_grid(spec)
        done = _finished_keys(store, spec)
        _warn_former_meanings(spec, done)
        todo = [p for p in grid if p.key not in done]
        if todo:
            # The data of the first run, loaded here: a missing dataset or a classifier that
            # does not fit the images fails now, once, not in every run (and before the
            # store file is created). Test sets from other datasets come first, so their
            # missing files fail before the training images are decoded.
            if any(test.dataset is not None for test in spec.test_sets):
                build_test_sets(toolkit, spec, todo[0].variant)
            train = build_train_set(toolkit, spec, todo[0])
            _check_classes(spec, train, run_tests(toolkit, spec, todo[0]), todo[0])
            _check_classifier(toolkit, spec, train)
            if spec.cv is not None:  # every training profile must split into the folds
                profiles = {}
                for point in todo:  # counts depend on the profile, not the seed
                    profiles.setdefault(_plain_key(point.method.profile), point)
                for point in profiles.values():
                    check_folds(spec, _full_train_set(toolkit, spec, point), point)
        store = Store(store) if own_store else store
    except BaseException:
        if executor_given is not None:
            executor_given.close()
        raise
    executor = executor or LocalExecutor()
    claimant = Claimant.new()
    try:
        summary = GridSummary(spec, store.path, total=len(grid), skipped=len(grid) - len(todo))
        store.record_spec(spec)
        cache_dir = str(store.path.resolve().parent / "cache" / spec.hash)
        live = console.is_terminal if progress is None else bool(progress)
        worker_toolkit = toolkit if executor.in_process else toolkit.for_workers()
        grid_pending = {
            m.id
            for m in spec.methods
            if not store.has_artifact(spec.name, spec.hash, m.id, GRID_KIND)
        }
        display = _Display(console, live, spec, summary, executor)

        def claimed_tasks():
            """The runs, each claimed just before the executor takes it."""
            for point in todo:
                status = store.claim(
                    spec.name, spec.hash, point.key, claimant, stale_after=stale_after
                )
                if status == FINISHED:  # stored by another process meanwhile
                    summary.skipped += 1
                    display.elsewhere(point, "stored by another process")
                    continue
                if status != CLAIMED:
                    summary.elsewhere.append(point)
                    display.elsewhere(point, "claimed by another process")
                    continue
                save_grid = save_grids and point.method.id in grid_pending
                grid_pending.discard(point.method.id)
                yield RunTask(
                    spec,
                    point,
                    worker_toolkit,
                    cache_dir,
                    device=device,
                    progress=live and executor.in_process,
                    save_grid=save_grid,
                )

        with store.keep_claims(claimant), display:
            for task, record, error in executor.map(execute_run, claimed_tasks()):
                if error is not None:
                    # the claim stays until this grid ends: no other process retries the
                    # run meanwhile; a rerun does
                    message = f"{type(error).__name__}: {error}"
                    summary.failed.append((task.point, message))
                    display.failed(task.point, message)
                    continue
                store.write_run(record)  # drops the claim in the same transaction
                summary.ran += 1
                record.artifacts = {}
                summary.records.append(record)
                display.finished(task.point, record)
        summary.elapsed = time.perf_counter() - clock
    finally:
        executor.close()
        try:
            store.release(claimant)  # the failed runs' claims: a rerun retries them
        except StoreError:
            pass  # unwritable now: the claims go stale once this process has ended
        finally:
            if own_store:
                store.close()
    if raise_on_failure and summary.failed:
        raise GridError(summary)
    return summary


def _warn_former_meanings(spec: Spec, keys) -> None:
    """Warn (``FutureWarning``) where ``spec`` runs a method under a name that meant another
    method when the stored runs ``keys`` were made (``deepsmote``, once the published variant,
    is ``DeepSMOTE()`` now): those runs are kept under today's name of what they ran."""
    from ..method_names import current_name

    stored = {key[0] for key in keys}
    ids = {m.id for m in spec.methods}
    for method in spec.methods:
        then = current_name(method.name)  # what a run stored under this name ran
        if then != method.name and method.id == method.name and then in stored - ids:
            warnings.warn(
                f"spec {spec.name!r} runs method {method.name!r}, which today is "
                f"{_description(method.name)}; the store's runs stored as {method.name!r} "
                f"before it got that meaning ran the method now called {then!r} and are "
                f"reported under that name: add {then!r} to the spec to extend them",
                FutureWarning,
                stacklevel=3,
            )


def _description(name: str) -> str:
    from ..methods import METHODS

    return METHODS.get(name).description if name in METHODS else repr(name)


def _finished_keys(store: str | os.PathLike | Store, spec: Spec) -> set:
    """The stored run keys of ``spec``, read without creating (or writing) a store file."""
    if isinstance(store, Store):
        return store.finished_keys(spec.name, spec.hash)
    path = Path(store)
    if path.is_file() and path.stat().st_size > 0:
        with Store(path, read_only=True) as reader:
            return reader.finished_keys(spec.name, spec.hash)
    if path.is_dir():
        raise ValueError(f"store={str(path)!r} is a folder; pass a file path")
    return set()


class _Display:
    """Overall progress bar plus a line per finished run (rich), or plain lines off a terminal."""

    def __init__(self, console, live: bool, spec: Spec, summary: GridSummary, executor):
        self.console, self.live, self.spec, self.summary = console, live, spec, summary
        self.executor = executor
        self.progress = None
        self.todo = summary.total - summary.skipped

    def __enter__(self):
        s = self.summary
        reduced = " [REDUCED]" if self.spec.reduced else ""
        self.console.print(
            f"{self.spec.name}{reduced} (hash {self.spec.hash}): {s.total} runs, "
            f"{s.skipped} already stored, {self.todo} to run on {self.executor.describe()}",
            markup=False,
        )
        if self.live and self.todo:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
            )
            self.progress.start()
            self.task = self.progress.add_task(self.spec.name, total=self.todo)
        return self

    def _line(self, text: str) -> None:
        if self.progress is not None:
            self.progress.console.print(text, markup=False, highlight=False)
        else:
            self.console.print(text, markup=False, highlight=False)

    def finished(self, point: GridPoint, record: RunRecord) -> None:
        done = self._done()
        metric = self.spec.metrics[0]
        first = self.spec.test_sets[0].name
        stage = record.best if self.spec.selection == "best" else record.final
        value = stage.get(first, {}).get(metric)
        shown = f"{metric}={value:.4f}" if isinstance(value, int | float) else ""
        wall = record.timings.get("wall", 0.0)
        self._line(f"[{done}/{self.todo}] {point.describe()}: {shown} ({wall:.1f} s)")
        if self.progress is not None:
            self.progress.advance(self.task)

    def failed(self, point: GridPoint, message: str) -> None:
        self._line(f"[{self._done()}/{self.todo}] {point.describe()}: FAILED {message}")
        if self.progress is not None:
            self.progress.advance(self.task)

    def elsewhere(self, point: GridPoint, why: str) -> None:
        self._line(f"[{self._done()}/{self.todo}] {point.describe()}: skipped, {why}")
        if self.progress is not None:
            self.progress.advance(self.task)

    def _done(self) -> int:
        s = self.summary
        return s.ran + len(s.failed) + len(s.elsewhere) + s.skipped - (s.total - self.todo)

    def __exit__(self, *exc):
        if self.progress is not None:
            self.progress.stop()
