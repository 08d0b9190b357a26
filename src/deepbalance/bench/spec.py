"""Experiment specs: TOML files validated (by pydantic) into frozen dataclasses.

A spec names everything a benchmark run needs: the dataset, the imbalance profile, the test
sets, the training recipe, the methods, the seeds, what to report and the paper's numbers to
print beside ours. :func:`load_spec` reads a built-in spec by name or a ``.toml`` path;
:func:`parse_spec` validates a parsed document. Every error names the file, the key, the bad
value and (where it can be found) the line. :func:`check_names` then checks the names against
the registries (datasets, profiles, classifiers, methods), which needs those layers imported.

The spec hash (:attr:`Spec.hash`) covers everything that changes the numbers of a run (data,
profile, test sets, training recipe, training subset) and the spec name. Seeds, methods and
variants are not in it: they are part of each run's key, so adding a seed or a method to a spec
keeps the runs already stored. A method is hashed by the name its runs were first stored under
(``deepbalance.method_names.STORED_AS``), so renaming a method keeps its runs, and with the
revision of its defaults (``deepbalance.method_names.REVISIONS``), so changing them does not; a
former method name (e.g. ``deepsmote-residual+copies``, now ``deepsmote``) still works, with a
``FutureWarning``, and an id that equals it follows the new name.

The format (every table but ``[data]``, ``[[test_sets]]`` and ``[[methods]]`` is optional)::

    name = "my-protocol"                 # letters, digits, - _ .
    description = "one line"
    seeds = [0, 1, 2]
    metrics = ["acsa", "gm", "macro_f1"]   # scalars of deepbalance.metrics.evaluate
    selection = "final"                  # or "best": the best of the evaluations (the report
                                         # also shows final and validation-selected numbers)
    subset = 0.5                         # keep a fraction (or a count) of the training images
    # lr_search = [0.1, 0.01, 0.001]     # per method, keep the rate best on a validation split
                                         # of the training rows (deepbalance.tuning)
    # variants_from = "cxr-frameworks"   # generate [[variants]]: a name (or { name, params })
                                         # in deepbalance.bench.variants.VARIANT_GENERATORS

    [source]                             # paper, table, url, note
    paper = "..."
    table = "Table 1"

    [data]
    dataset = "fashion-mnist"            # a name in deepbalance.data.DATASETS
    options = {}                         # dataset options; data_dir, split, test_split

    [profile]                            # the training set's imbalance (omit: use it as is)
    name = "deepsmote-mnist"
    params = {}

    [[test_sets]]                        # one or more
    name = "balanced"
    policy = "balanced"                  # official | balanced | deepsmote-imbalanced | profile | cv
    # per_class = 500                    # balanced: images per class (default: the fewest)
    # profile = { name = "cle-binary-balanced" }    # policy = "profile"

    # [[test_sets]]                      # a test set from another dataset (its test split)
    # name = "nih"
    # dataset = "chestxray14"
    # options = { size = 224 }            # its options; split = "...", data_dir = "..."

    # [[test_sets]]                      # k-fold cross-validation on the training set:
    # name = "cv"                        # each run becomes one run per fold, trained on the
    # policy = "cv"                      # other folds and tested on this one (DeepSMOTE §4)
    # folds = 5

    [train]                              # deepbalance.training.TrainConfig settings
    classifier = "resnet18"
    epochs = 30
    eval_every = 5

    [[methods]]                          # one row of the table each
    name = "beta-vae-smote"              # a name in deepbalance.methods.METHODS
    id = "beta-vae-2"                    # unique key (default: name)
    label = "beta-VAE SMOTE (beta=2)"    # what tables print (default: id)
    params = { beta = 2.0 }              # get_method(name, **params)
    # profile = { name = "..." }         # this method's own training profile

    [[variants]]                         # optional: each run once per variant
    name = "v1"
    group = "g1"                         # optional: the report averages over a group
    dataset_options = {}
    profile_params = {}
    train = {}

    [paper]                              # the paper's numbers, 0..1: [paper.<set>.<id>]
    note = "where the numbers come from; which rows have no method here"

    [paper.balanced.beta-vae-2]          # metrics must be among the spec's metrics
    acsa = 0.81

    [budgets.quick]                      # what --budget quick runs: seeds, epochs, subset,
    seeds = 1                            # classifier, classifier_params, method_params,
                                         # profile_params, train, lr_search
    epochs = 2
    # method_params = { beta-vae-2 = { sampler_params = { epochs = 1 } } }  # by method id

    [budgets.protocol]                   # --budget protocol: the paper's own recipe (GPU)
    train = { classifier = "resnet18", optimizer = "adam", lr = 0.001, epochs = 30 }
    lr_search = [0.01, 0.001]            # budgets may set the learning-rate search too
    # profile_params = { unit = "paper" }  # merged into [profile] params (the paper's counts;
                                         # the report names them under a table run without)
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import numbers
import re
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Strict,
    Tag,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic import dataclasses as pydantic_dataclasses
from pydantic_core import PydanticCustomError

from .. import (
    data,  # noqa: F401  (its modules register their metric suites)
    method_names,
)
from ..metrics import metric_names
from ..training.config import AUGMENTATIONS, EPOCH_ROWS, OPTIMIZERS, SCHEDULES, TrainConfig

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from .._plain import plain

__all__ = [
    "DataSpec",
    "MethodSpec",
    "ProfileSpec",
    "SCALAR_METRICS",
    "SELECTIONS",
    "Source",
    "Spec",
    "SpecError",
    "TEST_POLICIES",
    "TestSetSpec",
    "TrainSpec",
    "VariantSpec",
    "apply_overrides",
    "builtin_spec_names",
    "check_names",
    "load_spec",
    "loads_spec",
    "parse_spec",
]

#: Metrics a spec may report: the scalars of the registered metric suites
#: (:func:`deepbalance.metrics.metric_names`; test sets with a normal class add the
#: normal-vs-abnormal AUROC of :mod:`deepbalance.data.frameworks`).
SCALAR_METRICS = metric_names()
#: "final": the metrics after the last epoch; "best": the best of the evaluations.
SELECTIONS = ("final", "best")
#: How a test set is drawn: from the dataset's test split, or (``"cv"``) as the held-out fold
#: of a stratified k-fold split of each run's training set.
TEST_POLICIES = ("official", "balanced", "deepsmote-imbalanced", "profile", "cv")
#: ``folds`` of a ``policy = "cv"`` test set when the spec does not say (DeepSMOTE, Dablain et
#: al. 2022 §4).
DEFAULT_FOLDS = 5
#: Keys of a test set left out of the spec hash where unset (data_dir: always).
_OPTIONAL_TEST_KEYS = ("folds", "dataset", "split", "options", "data_dir")
#: The profile that ``policy = "deepsmote-imbalanced"`` applies to the test split.
DEEPSMOTE_TEST_PROFILE = "deepsmote-imbalanced-test"
#: Training settings of a spec's ``[train]`` table and their defaults: ``TrainConfig``'s
#: (``deepbalance.training.config`` imports without torch, so this module does), except that
#: a spec trains its stated epochs (``min_steps`` None; ``TrainConfig()`` and ``compare``
#: default to ``DEFAULT_MIN_STEPS``). ``device`` and ``eval_batch_size`` are how a run
#: executes, not the recipe: they come from the command line.
TRAIN_DEFAULTS: dict[str, Any] = {
    f.name: f.default_factory() if f.default is dataclasses.MISSING else f.default
    for f in dataclasses.fields(TrainConfig)
    if f.name not in ("device", "eval_batch_size")
} | {"min_steps": None}
#: ``--budget quick`` when the spec has no ``[budgets.quick]`` table.
QUICK_BUDGET: dict[str, Any] = {"seeds": 1, "epochs": 2, "subset": 0.25}
#: "quick": a smoke-sized REDUCED run; "full": the spec as written (the CPU recipe);
#: "protocol": the paper's own training protocol from ``[budgets.protocol]`` (e.g. ResNet-18,
#: meant for a GPU), not a reduction.
BUDGETS = ("quick", "full", "protocol")


class SpecError(ValueError):
    """A spec that cannot be used; the message names file, key, value and line."""

    def __init__(self, message: str, *, file=None, key=None, value=None, line=None):
        super().__init__(message)
        self.file, self.key, self.value, self.line = file, key, value, line


# --------------------------------------------------------------------------------------------
# the tables of a spec: frozen dataclasses that pydantic validates


def _invalid(problem: str, at: str | None = None) -> PydanticCustomError:
    """A validation error in our own words; ``at`` names the key of the table it is about (for
    rules across keys)."""
    return PydanticCustomError("spec", problem, {"at": at} if at else None)


def _check(test, problem: str, *, before: bool = False) -> AfterValidator | BeforeValidator:
    """An ``Annotated`` rule: a value that fails ``test`` is an error saying ``problem``
    (``before``: tested before pydantic's own validation)."""

    def check(value):
        if not test(value):
            raise _invalid(problem)
        return value

    return BeforeValidator(check) if before else AfterValidator(check)


def _given(what: str) -> AfterValidator:
    return _check(bool, f"give at least one {what}")


# Booleans are not integers and strings are not numbers (Strict); arrays become tuples.
_Text = Annotated[str, _check(str.strip, "must be a non-empty string")]
_Count = Annotated[int, Strict(), Field(ge=1)]
_Seed = Annotated[int, Strict(), Field(ge=0)]
_Number = Annotated[float, Strict(), Field(allow_inf_nan=False)]
_Fraction = Annotated[
    float,
    Strict(),
    _check(lambda f: 0 < f <= 1, "a fraction must be in (0, 1]; give an integer for a count"),
]
_Subset = Annotated[
    Annotated[_Count, Tag("count")] | Annotated[_Fraction, Tag("fraction")],
    Discriminator(lambda v: "count" if type(v) is int else "fraction"),
]
_EpochRows = Annotated[
    Annotated[Literal[EPOCH_ROWS], Tag("name")] | Annotated[_Count, Tag("count")],
    Discriminator(lambda v: "name" if isinstance(v, str) else "count"),
]
_Folds = Annotated[
    int,
    _check(
        lambda k: type(k) is int and k >= 2,
        "must be an integer >= 2 (k-fold cross-validation needs two folds); "
        "DeepSMOTE uses folds = 5",
        before=True,
    ),
]
_Augment = Annotated[
    Literal[AUGMENTATIONS],
    _check(
        lambda a: not isinstance(a, bool),
        f"name the augmentation: {', '.join(map(repr, AUGMENTATIONS))}",
        before=True,
    ),
]
_TrainKey = Annotated[
    str,
    _check(
        lambda key: key in TRAIN_DEFAULTS,
        f"unknown training setting; allowed: {', '.join(TRAIN_DEFAULTS)}",
    ),
]
_Rates = Annotated[
    tuple[Annotated[_Number, Field(gt=0)], ...],
    _check(lambda rates: len(set(rates)) == len(rates), "repeats a rate; list each once"),
]
_Metrics = Annotated[tuple[Literal[SCALAR_METRICS], ...], _given("metric")]
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
_table = pydantic_dataclasses.dataclass(frozen=True, config=ConfigDict(extra="forbid"))


@_table
class ProfileSpec:
    """An imbalance profile by registry name, with its parameters (in a spec: a table
    ``{ name = ..., params = ... }`` or just the name)."""

    name: _Text
    params: dict = field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _name_only(cls, value):
        return {"name": value} if isinstance(value, str) else value


@_table
class DataSpec:
    """The dataset a spec trains on (the ``train`` split unless ``split`` says otherwise)."""

    dataset: _Text
    data_dir: _Text | None = None
    options: dict = field(default_factory=dict)
    split: _Text = "train"
    test_split: _Text = "test"


@_table
class TestSetSpec:
    """One test set: how it is drawn from the dataset's test split.

    ``policy``: ``"official"`` (the split as is), ``"balanced"`` (``per_class`` images of every
    class, default the smallest class count), ``"deepsmote-imbalanced"`` (counts of the profile
    ``deepsmote-imbalanced-test`` with ``train=`` the spec's training profile, when that is a
    plain profile name) or ``"profile"`` (any profile, e.g. to keep the classes of
    a ``cle-*`` training profile). Drawn with ``seed``, the same for every run.

    ``dataset`` (with ``options``, ``split`` and ``data_dir``) draws the test set from another
    registered dataset than the spec's (its ``"test"`` split unless ``split`` says otherwise;
    ``data_dir`` default: that dataset's usual search, never the spec's ``data_dir``), e.g.
    ChestX-ray14's expert-labelled test images beside CheXpert's. ``split`` alone picks another
    split of the spec's own dataset (default ``data.test_split``).

    ``"cv"`` is DeepSMOTE's evaluation (Dablain et al. 2022 §4, 5-fold cross-validation): the run's
    (imbalanced) training set is split into ``folds`` stratified folds (scikit-learn's
    ``StratifiedKFold``, shuffled with a seed drawn from the run's seed and ``seed``); each run
    becomes ``folds`` runs, fold ``k`` trained on the other folds and tested on fold ``k`` (and
    on the spec's other test sets). A spec has at most one such test set.
    """

    name: _Text
    policy: Literal[TEST_POLICIES] = "official"
    profile: ProfileSpec | None = None
    per_class: _Count | None = None
    seed: _Seed = 0
    folds: _Folds | None = None
    dataset: _Text | None = None
    split: _Text | None = None
    options: dict = field(default_factory=dict)
    data_dir: _Text | None = None

    def __post_init__(self):  # the policy's defaults
        if self.policy == "cv" and self.folds is None:
            object.__setattr__(self, "folds", DEFAULT_FOLDS)
        if self.policy == "deepsmote-imbalanced" and self.profile is None:
            object.__setattr__(self, "profile", ProfileSpec(DEEPSMOTE_TEST_PROFILE))

    @model_validator(mode="after")
    def _keys_of_the_policy(self):
        if self.policy == "profile" and self.profile is None:
            raise _invalid("needs a profile = { name = ..., params = ... }", at="policy")
        needs = {"profile": "profile", "per_class": "balanced", "folds": "cv"}
        if self.policy == "deepsmote-imbalanced" and self.profile.name == DEEPSMOTE_TEST_PROFILE:
            del needs["profile"]  # its own (parse_spec passes it the training profile)
        for key, policy in needs.items():
            if getattr(self, key) is not None and self.policy != policy:
                raise _invalid(f'needs policy = "{policy}"', at=key)
        for key in ("dataset", "split", "options", "data_dir"):
            if getattr(self, key) and self.policy == "cv":
                raise _invalid(
                    "a cross-validation test set is drawn from the training set; drop it or "
                    'choose another policy (e.g. "official")',
                    at=key,
                )
        for key in ("options", "data_dir"):
            if getattr(self, key) and self.dataset is None:
                raise _invalid(
                    "applies to a test set with its own dataset = ...; the spec's dataset "
                    "takes its options and data_dir from [data]",
                    at=key,
                )
        return self

    @property
    def own_split(self) -> str | None:
        """The split this test set loads, when it names a dataset or split of its own."""
        if self.dataset is not None:
            return self.split or "test"
        return self.split


@_table
class TrainSpec:
    """The training recipe (turned into a ``TrainConfig`` at run time)."""

    classifier: _Text = TRAIN_DEFAULTS["classifier"]
    classifier_params: dict = field(default_factory=dict)
    epochs: _Count = TRAIN_DEFAULTS["epochs"]
    #: the fewest optimisation steps (``TrainConfig.min_steps``); None: exactly ``epochs``
    min_steps: _Count | None = TRAIN_DEFAULTS["min_steps"]
    epoch_rows: _EpochRows = TRAIN_DEFAULTS["epoch_rows"]
    eval_every: _Count = TRAIN_DEFAULTS["eval_every"]
    batch_size: _Count = TRAIN_DEFAULTS["batch_size"]
    lr: Annotated[_Number, Field(gt=0)] = TRAIN_DEFAULTS["lr"]
    optimizer: Literal[OPTIMIZERS] = TRAIN_DEFAULTS["optimizer"]
    schedule: Literal[SCHEDULES] = TRAIN_DEFAULTS["schedule"]
    weight_decay: Annotated[_Number, Field(ge=0)] = TRAIN_DEFAULTS["weight_decay"]
    momentum: Annotated[_Number, Field(ge=0)] = TRAIN_DEFAULTS["momentum"]
    nesterov: Annotated[bool, Strict()] = TRAIN_DEFAULTS["nesterov"]
    label_smoothing: Annotated[_Number, _check(lambda x: 0 <= x < 1, "must be in [0, 1)")] = (
        TRAIN_DEFAULTS["label_smoothing"]
    )
    augment: _Augment = TRAIN_DEFAULTS["augment"]
    shift: _Count | None = TRAIN_DEFAULTS["shift"]
    val_fraction: Annotated[_Number, _check(lambda x: 0 <= x <= 0.5, "must be in [0, 0.5]")] = (
        TRAIN_DEFAULTS["val_fraction"]
    )
    #: metric whose maximum over the evaluations defines the "best" numbers
    best_metric: Literal[SCALAR_METRICS] = TRAIN_DEFAULTS["best_metric"]

    @field_validator("eval_every")
    @classmethod
    def _within_epochs(cls, every, info):
        if every > info.data.get("epochs", every):
            raise _invalid("must be <= train.epochs")
        return every

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@_table
class MethodSpec:
    """One row of the results table: a registered method with parameters.

    ``id`` is unique within the spec (default: the method name) and keys the stored runs and
    the paper's numbers; ``label`` is what tables print (default: the id); ``profile`` replaces
    the spec's training profile for this method only (e.g. the "no class imbalance" upper
    bound). In a spec a method may be just its name. A former method name is replaced by its
    current one (with a ``FutureWarning``), and so is an id equal to it.
    """

    id: _Text
    name: _Text
    params: dict = field(default_factory=dict)
    profile: ProfileSpec | None = None
    label: str = ""

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, value):
        if isinstance(value, str):
            value = {"name": value}
        if isinstance(value, Mapping):
            value = {"id": value.get("name"), **value}
            name = value.get("name")
            current = _current_method_name(name)
            if current != name:
                value = {**value, "name": current}
                if value["id"] == name:
                    value["id"] = current
            value = {"label": value["id"], **value}
        return value

    @property
    def hash(self) -> str:
        """Hash of what changes this method's numbers: name (as its runs were first stored,
        ``deepbalance.method_names.stored_name``), params, profile override and the revision of
        the method's defaults that apply to these params (``deepbalance.methods.revision``)."""
        hashed = {
            "name": method_names.stored_name(self.name),
            "params": self.params,
            "profile": plain(self.profile),
        }
        revised = method_names.revision(self.name, self.params)
        if revised:  # left out for a method never revised, so its stored runs keep their hash
            hashed["revision"] = revised
        return stable_hash(hashed)


@_table
class VariantSpec:
    """A variant of the protocol (e.g. a framework permutation): each method × seed runs once
    per variant, with these dataset options, profile parameters and training settings merged in.
    ``group`` (e.g. the framework) only tells the report which variants to average together.
    """

    name: _Text
    dataset_options: dict = field(default_factory=dict)
    profile_params: dict = field(default_factory=dict)
    train: dict[_TrainKey, Any] = field(default_factory=dict)
    group: str = ""

    @property
    def hash(self) -> str:
        """Hash of what changes the variant's numbers (not its group)."""
        return stable_hash({k: v for k, v in plain(self).items() if k != "group"})


@_table
class Source:
    """Where the protocol comes from (paper and table)."""

    paper: str = ""
    table: str = ""
    url: str = ""
    note: str = ""


@dataclass(frozen=True)
class Spec:
    """A validated experiment spec. Build it with :func:`load_spec` or :func:`parse_spec`."""

    name: str
    data: DataSpec
    test_sets: tuple[TestSetSpec, ...]
    methods: tuple[MethodSpec, ...]
    seeds: tuple[int, ...]
    profile: ProfileSpec | None = None
    train: TrainSpec = field(default_factory=TrainSpec)
    metrics: tuple[str, ...] = ("acsa", "gm", "macro_f1")
    selection: str = "final"
    variants: tuple[VariantSpec, ...] = ()
    #: ``{test_set: {method_id: {metric: value}}}``, on the same scale as ours (0..1).
    paper: dict = field(default_factory=dict)
    paper_note: str = ""
    source: Source = field(default_factory=Source)
    description: str = ""
    #: Fraction (0, 1] or count (>= 1) of the training images to keep; None keeps all.
    subset: float | int | None = None
    #: ``{budget: {override: value}}`` from the ``[budgets]`` table.
    budgets: dict = field(default_factory=dict)
    #: Learning rates searched per run on a validation split (:mod:`deepbalance.tuning`);
    #: empty: the recipe's ``lr``.
    lr_search: tuple[float, ...] = ()
    #: The overrides that made this spec from its file; non-empty means REDUCED.
    overrides: dict = field(default_factory=dict)
    #: The seeds and method ids of the spec as written (before overrides).
    full_seeds: tuple[int, ...] = ()
    full_methods: tuple[str, ...] = ()
    full_variants: tuple[str, ...] = ()
    path: str = ""

    @property
    def cv(self) -> TestSetSpec | None:
        """The ``policy = "cv"`` test set, or None."""
        return next((t for t in self.test_sets if t.policy == "cv"), None)

    @property
    def reduced(self) -> bool:
        """True when overrides made this less than the spec as written: fewer seeds or
        methods, or changed epochs, data or classifier. (More seeds is not a reduction.)"""
        harmless = {"seeds", "methods", "variants"}
        if self.overrides.get("budget") == "protocol":
            # the paper's recipe and counts
            harmless |= {"budget", "train", "method_params", "profile_params", "lr_search"}
        if set(self.overrides) - harmless:
            return True
        return not (
            set(self.full_seeds) <= set(self.seeds)
            and set(self.full_methods) <= {m.id for m in self.methods}
            and set(self.full_variants) <= {v.name for v in self.variants}
        )

    def protocol(self) -> dict:
        """The part of the spec that changes a run's numbers, as plain JSON data."""
        return {
            "name": self.name,
            "data": {k: v for k, v in plain(self.data).items() if k != "data_dir"},
            "profile": plain(self.profile),
            # ``folds`` and a test set's own dataset keys are left out where unset, so specs
            # written before them keep their hash; a test set's data_dir never counts
            "test_sets": [
                {
                    k: v
                    for k, v in plain(t).items()
                    if k not in _OPTIONAL_TEST_KEYS or (v and k != "data_dir")
                }
                for t in self.test_sets
            ],
            # ``min_steps`` is left out where unset, so specs written before it keep their hash
            "train": {
                k: v for k, v in plain(self.train).items() if k != "min_steps" or v is not None
            },
            "subset": self.subset,
            # left out when empty, so specs without a search keep their hash
            **({"lr_search": list(self.lr_search)} if self.lr_search else {}),
        }

    @property
    def hash(self) -> str:
        """Stable hash of :meth:`protocol` (16 hex digits)."""
        return stable_hash(self.protocol())

    def method(self, method_id: str) -> MethodSpec:
        for method in self.methods:
            if method.id == method_id:
                return method
        raise KeyError(method_id)

    def to_dict(self) -> dict:
        """The whole spec as plain JSON data."""
        return plain(self)


# --------------------------------------------------------------------------------------------
# hashing and plain data


def stable_hash(value) -> str:
    """16 hex digits of SHA-256 over canonical JSON of ``value``."""
    text = json.dumps(plain(value), sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# --------------------------------------------------------------------------------------------
# locating keys in the TOML text (tomllib reports lines only for syntax errors)

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'. ]+?)\s*=")


def _split_key(text: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in text.split("."))


def _bracket_delta(line: str) -> int:
    depth, quote = 0, None
    for ch in line:
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            break
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
    return depth


def find_line(text: str, path: Sequence) -> int | None:
    """1-based line of the key ``path`` (e.g. ``("methods", 2, "params", "beta")``) in TOML
    ``text``; the line of the closest enclosing key or table when the key itself is not written
    out (e.g. a default); None if nothing matches."""
    target = tuple(path)
    best: tuple[int, int] | None = None  # (matched length, line)
    counts: dict[tuple, int] = {}
    header: tuple = ()
    depth = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if depth > 0:  # inside a multi-line array or inline table
            depth += _bracket_delta(line)
            continue
        match = _HEADER.match(line)
        if match and not _KEY.match(line):
            keys = _split_key(match.group(2))
            if match.group(1) == "[[":
                index = counts.get(keys, 0)
                counts[keys] = index + 1
                header = (*keys, index)
            else:
                header = keys
            full = header
            inline = ""
        else:
            match = _KEY.match(line)
            if not match:
                continue
            full = (*header, *_split_key(match.group(1)))
            inline = line[match.end() :]
            depth = _bracket_delta(inline)
        matched = _common_prefix(full, target)
        if matched == len(full) < len(target) and inline:
            # Keys nested in an inline table on this line: {beta = 2}.
            for key in target[matched:]:
                if isinstance(key, str) and re.search(
                    rf"[{{,]\s*\"?{re.escape(key)}\"?\s*=", inline
                ):
                    matched += 1
                else:
                    break
        if matched == len(full) or (matched == len(target) and matched > 0):
            if matched > 0 and (best is None or matched > best[0]):
                best = (matched, number)
    return best[1] if best else None


def _common_prefix(a: tuple, b: tuple) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


# --------------------------------------------------------------------------------------------
# parsing


class _Reader:
    """Raises :class:`SpecError` naming the file, key, value and line of a spec's text."""

    def __init__(self, text: str, file: str):
        self.text, self.file = text, file

    def fail(self, path: Sequence, value, problem: str) -> SpecError:
        key = _key_name(path)
        line = find_line(self.text, path) if path else None
        where = f"{self.file}:{line}" if line else self.file
        return SpecError(
            f"{where}: {key} = {_show(value)}: {problem}",
            file=self.file,
            key=key,
            value=value,
            line=line,
        )

    def validate(self, kind, value, path: tuple = ()):
        """``value`` (found at ``path``) validated as ``kind``: a table's class or a
        TypeAdapter."""
        adapter = kind if isinstance(kind, TypeAdapter) else _adapter(kind)
        try:
            return adapter.validate_python(value)
        except ValidationError as exc:
            raise self.error(exc, kind, value, path) from None

    def error(self, exc: ValidationError, kind, value, path: tuple) -> SpecError:
        """Pydantic's first error as a SpecError (in the order of :func:`_locate`'s rank)."""
        (keys, node, _), error = min(
            ((_locate(e, value), e) for e in exc.errors(include_url=False)),
            key=lambda pair: pair[0][2],
        )
        keys, ctx = [*path, *keys], error.get("ctx") or {}
        kind_of = error["type"]
        if kind_of in ("unexpected_keyword_argument", "extra_forbidden"):
            allowed = ", ".join(_keys_at(kind, keys[len(path) : -1]))
            problem = f"unknown key {keys[-1]!r}; allowed: {allowed}"
        elif kind_of == "missing":
            problem = f"missing required key {error['loc'][-1]!r}"
        elif kind_of == "literal_error":
            problem = "choose one of " + ctx["expected"].replace(" or ", ", ")
        elif kind_of in _BOUNDS:
            bound, op = _BOUNDS[kind_of]
            problem = f"must be {op} {ctx[bound]:g}"
        else:
            problem = _PROBLEMS.get(kind_of, error["msg"])
        return self.fail(keys, node, problem)


def _locate(error: dict, value) -> tuple[list, Any, int]:
    """Where in ``value`` an error is: the keys written there (not pydantic's union tags or
    "[key]"), the value at them, and the error's rank: unknown keys first, then bad values
    written in the spec, missing keys, the rest (e.g. a default taken from a bad key)."""
    ctx = error.get("ctx") or {}
    keys, node, written = [], value, True
    for part in (*error["loc"], ctx["at"]) if ctx.get("at") else error["loc"]:
        if (
            isinstance(node, Mapping)
            and part in node
            or (isinstance(node, list) and isinstance(part, int) and part < len(node))
        ):
            keys.append(part)
            node = node[part]
        elif isinstance(node, Mapping):
            written = False
    rank = {"unexpected_keyword_argument": 0, "extra_forbidden": 0, "missing": 2}
    return keys, node, rank.get(error["type"], 1 if written else 3)


_adapter = functools.cache(TypeAdapter)
_BOUNDS = {"greater_than_equal": ("ge", ">="), "greater_than": ("gt", ">")}
_PROBLEMS = {
    "int_type": "must be an integer",
    "float_type": "must be a number",
    "finite_number": "must be finite",
    "bool_type": "must be true or false",
    "string_type": "must be a non-empty string",
    "dict_type": "must be a table of parameters, e.g. { beta = 2 }",
    "dataclass_type": "must be a table",
    "tuple_type": "must be an array, e.g. [0, 1, 2]",
}
_SUBSET = TypeAdapter(_Subset)
_NOTE = TypeAdapter(_Text)
_PAPER_NUMBER = TypeAdapter(
    Annotated[
        float,
        Strict(),
        _check(
            lambda x: 0 <= x <= 1, "paper numbers are on the 0..1 scale (e.g. 84.88 % is 0.8488)"
        ),
    ]
)


def _keys_at(table: type, path: Sequence) -> list[str]:
    """The keys of the table at ``path`` inside the dataclass ``table``."""
    for part in path:
        hints = typing.get_type_hints(table)
        if part in hints:  # a field (else an index or a key of a mapping)
            hint = hints[part]
            table = next(t for t in (hint, *typing.get_args(hint)) if dataclasses.is_dataclass(t))
    return [f.name for f in dataclasses.fields(table)]


def _key_name(path: Sequence) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<spec>"


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


@_table
class _Budget:
    """A ``[budgets.<name>]`` table: what ``--budget <name>`` changes."""

    seeds: _Count | None = None
    epochs: _Count | None = None
    subset: _Subset | None = None
    classifier: _Text | None = None
    classifier_params: dict | None = None
    method_params: dict[str, dict] | None = None
    profile_params: dict | None = None
    train: TrainSpec | None = None
    lr_search: _Rates | None = None


@_table
class _Document:
    """The top-level keys of a spec file (assembled into a :class:`Spec` by parse_spec)."""

    name: Annotated[str, _check(_NAME.fullmatch, "use letters, digits, '-', '_' or '.' only")]
    data: DataSpec
    test_sets: Annotated[tuple[TestSetSpec, ...], _given("[[test_sets]] table")]
    methods: Annotated[tuple[MethodSpec, ...], _given("[[methods]] table")]
    seeds: Annotated[
        tuple[_Seed, ...],
        _given("seed, e.g. seeds = [0]"),
        _check(lambda seeds: len(set(seeds)) == len(seeds), "seeds must not repeat"),
    ]
    description: str = ""
    metrics: _Metrics = ("acsa", "gm", "macro_f1")
    selection: Literal[SELECTIONS] = "final"
    subset: _Subset | None = None
    source: Source = field(default_factory=Source)
    profile: ProfileSpec | None = None
    train: TrainSpec = field(default_factory=TrainSpec)
    variants: tuple[VariantSpec, ...] = ()
    #: the same shape as a profile: a generator's name, or { name, params }
    variants_from: ProfileSpec | None = None
    paper: dict = field(default_factory=dict)
    budgets: dict[Literal[BUDGETS], _Budget] = field(default_factory=dict)
    lr_search: _Rates = ()


def parse_spec(doc: Mapping, *, text: str = "", file: str = "<spec>") -> Spec:
    """Validate a parsed TOML document into a :class:`Spec`.

    Parameters
    ----------
    doc : mapping
        The document (``tomllib.loads(text)``).
    text : str
        The TOML text, used to find the line of a bad key.
    file : str
        Shown in error messages.

    Raises
    ------
    SpecError
        Naming the file, the key, the bad value and the line.
    """
    r = _Reader(text, file)
    d = r.validate(_Document, dict(doc) if isinstance(doc, Mapping) else doc)
    test_sets = d.test_sets
    if d.profile is not None and not d.profile.params:
        # DeepSMOTE's imbalanced test set keeps the spec's own training ratios (CIFAR-10 and
        # SVHN train on other counts than MNIST): deepsmote-imbalanced-test(train=<profile>)
        derived = ProfileSpec(DEEPSMOTE_TEST_PROFILE, {"train": d.profile.name})
        test_sets = tuple(
            dataclasses.replace(t, profile=derived)
            if t.policy == "deepsmote-imbalanced" and not t.profile.params
            else t
            for t in test_sets
        )
    _unique(r, [t.name for t in test_sets], "test_sets", "name")
    cv = [i for i, t in enumerate(test_sets) if t.policy == "cv"]
    if len(cv) > 1:
        raise r.fail(
            ("test_sets", cv[1], "policy"), "cv", "a spec takes one cross-validation test set"
        )
    method_ids = [m.id for m in d.methods]
    _unique(r, method_ids, "methods", "id")
    variants = d.variants
    if d.variants_from is not None:
        generated = _generated_variants(r, d.variants_from, doc["variants_from"], d.profile)
        variants = tuple(r.validate(VariantSpec, v, ("variants_from",)) for v in generated)
        variants += d.variants
    _unique(r, [v.name for v in variants], "variants", "name")
    paper, paper_note = _paper(r, d.paper, [t.name for t in test_sets], method_ids, d.metrics)
    return Spec(
        name=d.name,
        data=d.data,
        test_sets=test_sets,
        methods=d.methods,
        seeds=d.seeds,
        profile=d.profile,
        train=d.train,
        metrics=d.metrics,
        selection=d.selection,
        variants=variants,
        paper=paper,
        paper_note=paper_note,
        source=d.source,
        description=d.description,
        subset=d.subset,
        lr_search=d.lr_search,
        budgets=_budgets(r, doc.get("budgets", {}), d.budgets, method_ids, d.profile),
        full_seeds=d.seeds,
        full_methods=tuple(method_ids),
        full_variants=tuple(v.name for v in variants),
        path=file,
    )


def _unique(r: _Reader, values: list[str], table: str, key: str) -> None:
    seen = set()
    for i, value in enumerate(values):
        if value in seen:
            raise r.fail((table, i, key), value, f"repeats; each [[{table}]] needs its own {key}")
        seen.add(value)


def _generated_variants(r: _Reader, generator: ProfileSpec, value, profile) -> list:
    """The ``[[variants]]`` tables that ``variants_from`` names (bench.variants)."""
    from .variants import VARIANT_GENERATORS

    if generator.name not in VARIANT_GENERATORS:
        known = ", ".join(VARIANT_GENERATORS.names())
        problem = f"unknown variant generator; known: {known}"
        raise r.fail(("variants_from",), generator.name, problem)
    try:
        return list(VARIANT_GENERATORS.get(generator.name)(profile, **generator.params))
    except (TypeError, ValueError) as exc:
        raise r.fail(("variants_from",), value, str(exc)) from None


def _current_method_name(name):
    """``name``, or the current name of a former method name (with a ``FutureWarning``)."""
    if not isinstance(name, str):
        return name
    return method_names.resolve(name, stacklevel=4)


def _method_id(key, ids: Sequence[str]):
    """A method id written in a ``[paper]`` or ``method_params`` table: a former method name
    that is no id of the spec stands for its current name (see :class:`MethodSpec`)."""
    if not isinstance(key, str) or key in ids:
        return key
    current = method_names.RENAMED.get(key)
    return current if current in ids else key


def _paper(r: _Reader, doc: dict, test_sets, methods, metrics) -> tuple[dict, str]:
    """``[paper.<test set>.<method id>] metric = value``: every name must exist in the spec."""
    note = ""
    out: dict = {}
    for set_name, by_method in doc.items():
        p = ("paper", set_name)
        if set_name == "note":
            note = r.validate(_NOTE, by_method, p)
            continue
        if set_name not in test_sets:
            raise r.fail(p, by_method, f"not a test set of this spec ({', '.join(test_sets)})")
        if not isinstance(by_method, Mapping):
            raise r.fail(p, by_method, "must be a table of method ids")
        for written_id, by_metric in by_method.items():
            q = (*p, written_id)
            method_id = _method_id(written_id, methods)
            if method_id not in methods:
                raise r.fail(q, by_metric, f"not a method id of this spec ({', '.join(methods)})")
            if not isinstance(by_metric, Mapping):
                raise r.fail(q, by_metric, "must be a table { metric = value }")
            for metric, value in by_metric.items():
                if metric not in SCALAR_METRICS:
                    choices = ", ".join(map(repr, SCALAR_METRICS))
                    raise r.fail((*q, metric), metric, f"choose one of {choices}")
                if metric not in metrics:
                    raise r.fail(
                        (*q, metric),
                        value,
                        f"{metric!r} is not a metric this spec reports ({', '.join(metrics)}); "
                        "add it to metrics or drop the number",
                    )
                number = r.validate(_PAPER_NUMBER, value, (*q, metric))
                out.setdefault(set_name, {}).setdefault(method_id, {})[metric] = number
    return out, note


def _budgets(r: _Reader, doc: Mapping, budgets: dict, method_ids: Sequence[str], profile) -> dict:
    """``{budget: {key: value}}`` of the keys each ``[budgets.<name>]`` table sets."""
    out = {}
    for name, budget in budgets.items():
        if budget.profile_params and profile is None:
            path = ("budgets", name, "profile_params")
            problem = "the spec has no [profile] whose parameters it could set; add one or drop it"
            raise r.fail(path, budget.profile_params, problem)
        by_id = {}
        for written_id, params in (budget.method_params or {}).items():
            method_id = _method_id(written_id, method_ids)
            if method_id not in method_ids:
                path = ("budgets", name, "method_params", written_id)
                raise r.fail(path, params, f"not a method id ({', '.join(method_ids)})")
            by_id[method_id] = params
        written = doc[name]  # a train table keeps only its own keys
        out[name] = {k: dict(v) if k == "train" else getattr(budget, k) for k, v in written.items()}
        if "method_params" in out[name]:
            out[name]["method_params"] = by_id
    return out


# --------------------------------------------------------------------------------------------
# loading


def builtin_spec_names() -> list[str]:
    """Names of the specs shipped in ``deepbalance/bench/specs``."""
    folder = resources.files("deepbalance.bench") / "specs"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_spec(name_or_path: str | Path) -> Spec:
    """Load a built-in spec by name (see :func:`builtin_spec_names`) or a ``.toml`` file.

    Raises
    ------
    SpecError
        If the name is unknown, the file is missing or malformed, or a value is invalid.
    """
    if not isinstance(name_or_path, str | Path):
        raise TypeError(f"spec={name_or_path!r} must be a spec name or a path to a .toml file")
    path = Path(name_or_path)
    if isinstance(name_or_path, str) and path.suffix != ".toml" and not path.exists():
        names = builtin_spec_names()
        if name_or_path not in names:
            raise SpecError(
                f"unknown spec {name_or_path!r}; built-in specs: {', '.join(names)} "
                "(or pass a path to a .toml file)",
                key="spec",
                value=name_or_path,
            )
        resource = resources.files("deepbalance.bench") / "specs" / f"{name_or_path}.toml"
        return loads_spec(
            resource.read_text(encoding="utf-8"), file=f"<builtin>/{name_or_path}.toml"
        )
    if not path.is_file():
        raise SpecError(f"spec file {str(path)!r} does not exist", file=str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read the spec file: {exc}", file=str(path)) from None
    return loads_spec(text, file=str(path))


def loads_spec(text: str, *, file: str = "<spec>") -> Spec:
    """Parse and validate TOML ``text`` into a :class:`Spec`."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        if line is None:
            found = re.search(r"line (\d+)", str(exc))
            line = int(found.group(1)) if found else None
        where = f"{file}:{line}" if line else file
        raise SpecError(f"{where}: malformed TOML: {exc}", file=file, line=line) from None
    return parse_spec(doc, text=text, file=file)


# --------------------------------------------------------------------------------------------
# overrides


def apply_overrides(
    spec: Spec,
    *,
    seeds: int | Sequence[int] | None = None,
    epochs: int | None = None,
    subset: float | int | None = None,
    methods: Sequence[str] | None = None,
    budget: str | None = None,
    variants: Sequence[str] | None = None,
) -> Spec:
    """A copy of ``spec`` reduced by command-line overrides; any override marks it REDUCED.

    Parameters
    ----------
    seeds : int or list of int, optional
        The first ``seeds`` seeds of the spec, or these seeds.
    epochs : int, optional
        Training epochs (``eval_every`` is capped at it).
    subset : float or int, optional
        Fraction in (0, 1] or count of training images to keep (stratified, per seed).
    methods : list of str, optional
        Method ids (or registry names) to keep, in the spec's order.
    budget : {"quick", "full", "protocol"}, optional
        ``"quick"``: the spec's ``[budgets.quick]`` (seeds, epochs, subset, classifier,
        classifier_params, method_params, profile_params, train, lr_search; by default 1 seed,
        2 epochs, a quarter of the training data); explicit overrides win. ``"full"``: the spec
        as written (or its ``[budgets.full]``). ``"protocol"``: the spec's
        ``[budgets.protocol]``, the paper's own protocol (its ``train`` table replaces those
        settings; not REDUCED). ``method_params`` (``{method id: params}``) is merged into
        those methods' parameters, ``profile_params`` into the training profile's.
    variants : list of str, optional
        Variant names to keep, in the spec's order (e.g. run a longer-budget variant for a
        few methods only).
    """
    overrides: dict[str, Any] = {}
    preset: dict[str, Any] = {}
    if budget is not None:
        budget = _check_choice(budget, "budget", BUDGETS)
        preset = dict(spec.budgets.get(budget, {}))
        if budget == "quick":
            preset = {**QUICK_BUDGET, **preset}
            overrides["budget"] = "quick"
        seeds = preset.get("seeds") if seeds is None else seeds
        epochs = preset.get("epochs") if epochs is None else epochs
        subset = preset.get("subset") if subset is None else subset
    changes: dict[str, Any] = {}
    if seeds is not None:
        if isinstance(seeds, bool):
            raise TypeError(f"seeds={seeds!r} must be a count or a list of seeds")
        if isinstance(seeds, numbers.Integral):
            if not 1 <= seeds:
                raise ValueError(f"seeds={seeds} must be >= 1; pass e.g. seeds=1")
            chosen = spec.seeds[: int(seeds)]
            if int(seeds) > len(spec.seeds):
                # more seeds than the spec lists: continue counting after its last seed
                extra = range(max(spec.seeds) + 1, max(spec.seeds) + 1 + int(seeds) - len(chosen))
                chosen = (*chosen, *extra)
        else:
            chosen = tuple(seeds)
            for s in chosen:
                if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0:
                    raise ValueError(f"seeds={list(seeds)!r}: every seed must be an integer >= 0")
            if not chosen or len(set(chosen)) != len(chosen):
                raise ValueError(f"seeds={list(seeds)!r} must be non-empty and not repeat")
        chosen = tuple(int(s) for s in chosen)
        if chosen != spec.seeds:
            changes["seeds"] = chosen
            overrides["seeds"] = list(chosen)
    train = spec.train
    if preset.get("train"):
        settings = {"epochs": train.epochs, "eval_every": train.eval_every, **preset["train"]}
        settings["eval_every"] = min(settings["eval_every"], settings["epochs"])
        merged = dataclasses.replace(train, **settings)
        if merged != train:
            train = changes["train"] = merged
            overrides["train"] = dict(preset["train"])
        if budget == "protocol":
            overrides["budget"] = "protocol"
    if epochs is not None:
        if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 1:
            raise ValueError(f"epochs={epochs!r} must be an integer >= 1; pass e.g. epochs=2")
        if int(epochs) != train.epochs:
            train = dataclasses.replace(
                train, epochs=int(epochs), eval_every=min(train.eval_every, int(epochs))
            )
            changes["train"] = train
            overrides["epochs"] = int(epochs)
    if "classifier" in preset or "classifier_params" in preset:
        classifier = preset.get("classifier", train.classifier)
        params = preset.get("classifier_params", train.classifier_params)
        if (classifier, params) != (train.classifier, train.classifier_params):
            train = dataclasses.replace(train, classifier=classifier, classifier_params=params)
            changes["train"] = train
            overrides["classifier"] = f"{classifier} {params}" if params else classifier
    if subset is not None:
        try:
            value = _SUBSET.validate_python(subset)
        except ValidationError:
            raise ValueError(f"subset={subset!r}: a fraction in (0, 1] or a count >= 1") from None
        if value != spec.subset and value != 1.0:
            changes["subset"] = value
            overrides["subset"] = value
    if preset.get("profile_params") and spec.profile is not None:
        params = {**spec.profile.params, **preset["profile_params"]}
        if params != spec.profile.params:
            changes["profile"] = dataclasses.replace(spec.profile, params=params)
            overrides["profile_params"] = dict(preset["profile_params"])
    if "lr_search" in preset and tuple(preset["lr_search"]) != spec.lr_search:
        changes["lr_search"] = tuple(preset["lr_search"])
        overrides["lr_search"] = list(preset["lr_search"])
    if preset.get("method_params"):
        updated = tuple(
            dataclasses.replace(m, params={**m.params, **preset["method_params"][m.id]})
            if m.id in preset["method_params"]
            else m
            for m in spec.methods
        )
        if updated != spec.methods:
            changes["methods"] = updated
            overrides["method_params"] = preset["method_params"]
    if methods is not None:
        if isinstance(methods, str):
            methods = [m.strip() for m in methods.split(",") if m.strip()]
        known = {m.id for m in spec.methods} | {m.name for m in spec.methods}
        wanted = [m if m in known else _current_method_name(m) for m in methods]
        unknown = [m for m in wanted if m not in known]
        if unknown or not wanted:
            ids = ", ".join(m.id for m in spec.methods)
            raise ValueError(
                f"methods={wanted!r}: {unknown[0] if unknown else 'nothing'} is not a method "
                f"of spec {spec.name!r}; choose from {ids}"
            )
        current = changes.get("methods", spec.methods)
        kept = tuple(m for m in current if m.id in wanted or m.name in wanted)
        if kept != current:
            changes["methods"] = kept
            overrides["methods"] = [m.id for m in kept]
    if variants is not None:
        if isinstance(variants, str):
            variants = [v.strip() for v in variants.split(",") if v.strip()]
        names = [v.name for v in spec.variants]
        unknown = [v for v in variants if v not in names]
        if not spec.variants:
            raise ValueError(
                f"variants={list(variants)!r}: spec {spec.name!r} has no variants; drop --variants"
            )
        if unknown or not variants:
            raise ValueError(
                f"variants={list(variants)!r}: {unknown[0] if unknown else 'nothing'} is not a "
                f"variant of spec {spec.name!r}; choose from {', '.join(names)}"
            )
        kept = tuple(v for v in spec.variants if v.name in variants)
        if kept != spec.variants:
            changes["variants"] = kept
            overrides["variants"] = [v.name for v in kept]
    if budget == "protocol" and overrides:
        overrides["budget"] = "protocol"
    if not changes and not overrides:
        return spec
    return dataclasses.replace(spec, **changes, overrides={**spec.overrides, **overrides})


def _check_choice(value, name, choices):
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not supported; choose one of {', '.join(choices)}")
    return value


# --------------------------------------------------------------------------------------------
# names against the registries


def check_names(spec: Spec, *, methods=None, datasets=None, profiles=None, classifiers=None):
    """Check the spec's names against the registries; raise :class:`SpecError` naming the key.

    Registries default to the library's (imported here, lazily); pass others (objects with
    ``__contains__`` and ``names()``) to check against test doubles. A registry passed as None
    whose module cannot be imported is skipped.
    """
    text = _spec_text(spec)
    r = _Reader(text, spec.path or spec.name)
    datasets = _default_registry(datasets, "deepbalance.data", "DATASETS")
    profiles = _default_registry(profiles, "deepbalance.data.profiles", "PROFILES")
    classifiers = _default_registry(classifiers, "deepbalance.nets", "CLASSIFIERS")
    methods = _default_registry(methods, "deepbalance.methods", "METHODS")

    def need(registry, name, path, kind):
        if registry is not None and name not in registry:
            raise r.fail(path, name, f"unknown {kind}; known: {', '.join(registry.names())}")

    need(datasets, spec.data.dataset, ("data", "dataset"), "dataset")
    need(classifiers, spec.train.classifier, ("train", "classifier"), "classifier")
    if spec.profile is not None:
        need(profiles, spec.profile.name, ("profile", "name"), "profile")
        _check_profile_params(r, profiles, spec.profile, ("profile", "params"))
    for i, test in enumerate(spec.test_sets):
        if test.dataset is not None:
            need(datasets, test.dataset, ("test_sets", i, "dataset"), "dataset")
        if test.profile is not None and test.policy == "profile":
            need(profiles, test.profile.name, ("test_sets", i, "profile", "name"), "profile")
            _check_profile_params(r, profiles, test.profile, ("test_sets", i, "profile", "params"))
    for i, method in enumerate(spec.methods):
        index = spec.full_methods.index(method.id) if method.id in spec.full_methods else i
        need(methods, method.name, ("methods", index, "name"), "method")
        if method.profile is not None:
            need(profiles, method.profile.name, ("methods", index, "profile", "name"), "profile")
            p = ("methods", index, "profile", "params")
            _check_profile_params(r, profiles, method.profile, p)


def spec_error(spec: Spec, path: Sequence, value, problem: str) -> SpecError:
    """A :class:`SpecError` about ``spec``'s key ``path`` (file and line found in its text)."""
    return _Reader(_spec_text(spec), spec.path or spec.name).fail(path, value, problem)


def _check_profile_params(r: _Reader, profiles, profile: ProfileSpec, path) -> None:
    if profiles is None or profile.name not in profiles:
        return
    entry = profiles.get(profile.name)
    accepted = getattr(entry, "params", None)
    if accepted is None:
        return
    for key, value in profile.params.items():
        if key not in accepted:
            raise r.fail(
                (*path, key),
                value,
                f"profile {profile.name!r} has no parameter {key!r}; "
                f"it accepts {', '.join(accepted) or 'none'}",
            )


def _default_registry(registry, module: str, attr: str):
    if registry is not None:
        return registry
    import importlib

    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return None


def _spec_text(spec: Spec) -> str:
    if spec.path.startswith("<builtin>/"):
        name = spec.path[len("<builtin>/") :]
        try:
            return (resources.files("deepbalance.bench") / "specs" / name).read_text("utf-8")
        except OSError:
            return ""
    try:
        return Path(spec.path).read_text(encoding="utf-8") if spec.path else ""
    except OSError:
        return ""
