"""Named methods: a sampler (or none) plus a training recipe, and :func:`run_method`.

Each method is declared in one line below. ``get_method(name, **params)`` returns it with
parameters overridden:

- recipe parameters by name, e.g. ``get_method("cle-smote", beta=2.0, pretrain_epochs=5)``
  (the fields of :class:`deepbalance.training.Recipe`);
- sampler parameters through ``sampler_params``, e.g.
  ``get_method("deepsmote", sampler_params={"epochs": 2, "dim_h": 8})``; a few methods also
  take a sampler parameter by name (``get_method("beta-vae-smote", beta=4.0)``).

``run_method`` resamples the training set with the method's sampler (seeded from ``seed``),
trains the classifier with the method's recipe and evaluates it. Latent samplers get
``cache_dir`` so one trained autoencoder serves every method and run that shares it.
"""

from __future__ import annotations

import dataclasses
import inspect
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ._checks import check_int, check_random_state, seed_from
from .data.imageset import ImageSet
from .method_names import (  # noqa: F401  (STORED_AS, REVISIONS and the helpers live there)
    RENAMED,
    REVISIONS,
    STORED_AS,
    current_name,
    revision,
    stored_name,
)
from .registry import Registry
from .training.config import TrainConfig
from .training.data import split_validation
from .training.recipe import Recipe

METHODS: Registry = Registry("method")


@dataclass(frozen=True)
class Method:
    """A sampler (or none) and a training recipe.

    Parameters
    ----------
    name : str
    sampler : str or None
        Sampler class exported by ``deepbalance.samplers`` (e.g. ``"PixelSMOTE"``) or a name
        in ``deepbalance.samplers.SAMPLERS``; None trains on the data as given.
    sampler_params : mapping
        Constructor arguments of the sampler (``random_state`` comes from the run's seed).
    recipe : Recipe
        Loss-level pieces and triplet pretraining.
    description : str
    sampler_aliases : tuple of str
        Sampler parameters that ``get_method`` also accepts by name.
    """

    name: str
    sampler: str | None = None
    sampler_params: Mapping = field(default_factory=dict)
    recipe: Recipe = field(default_factory=Recipe)
    description: str = ""
    sampler_aliases: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "sampler_params", dict(self.sampler_params))
        if not isinstance(self.recipe, Recipe):
            raise TypeError(f"recipe must be a Recipe, got {type(self.recipe).__name__}")
        if self.sampler is None and self.sampler_params:
            raise ValueError(
                f"method {self.name!r} has no sampler but sampler_params="
                f"{dict(self.sampler_params)}; drop them or name a sampler"
            )

    def with_params(self, *, sampler_params: Mapping | None = None, **params) -> Method:
        """A copy with recipe and sampler parameters overridden (see the module notes)."""
        sampler_updates = dict(sampler_params or {})
        if sampler_params is not None and not isinstance(sampler_params, Mapping):
            raise TypeError(f"sampler_params={sampler_params!r} must be a dict")
        if sampler_updates and self.sampler is None:
            raise ValueError(
                f"method {self.name!r} uses no sampler, so sampler_params={sampler_updates} "
                "cannot apply; pick a method with a sampler"
            )
        recipe_updates = {}
        recipe_fields = Recipe.field_names()
        for key, value in params.items():
            if key in self.sampler_aliases:
                sampler_updates[key] = value
            elif key in recipe_fields:
                recipe_updates[key] = value
            else:
                known = ", ".join((*self.sampler_aliases, *recipe_fields, "sampler_params"))
                raise TypeError(
                    f"method {self.name!r} has no parameter {key!r}; known: {known} "
                    "(sampler options go in sampler_params={...})"
                )
        merged = {**self.sampler_params, **sampler_updates}
        if sampler_updates:
            _check_sampler_params(self.sampler, merged)
        return dataclasses.replace(
            self, sampler_params=merged, recipe=self.recipe.replace(**recipe_updates)
        )

    def make_sampler(self, *, random_state: int, cache_dir=None, device=None):
        """A fresh, unfitted sampler (None without one), seeded with ``random_state``."""
        if self.sampler is None:
            return None
        cls = _sampler_class(self.sampler)
        params = dict(self.sampler_params)
        accepted = inspect.signature(cls).parameters
        params.setdefault("random_state", random_state)
        if cache_dir is not None and "cache_dir" in accepted:
            params.setdefault("cache_dir", cache_dir)
        if device is not None and "device" in accepted:
            params.setdefault("device", device)
        _check_sampler_params(self.sampler, params)
        fold = getattr(cls, "fold_autoencoder_params", None)  # latent samplers: flat -> nested
        return cls(**(fold(params) if fold is not None else params))

    def to_dict(self) -> dict:
        """JSON-friendly description (for result stores)."""
        return {
            "name": self.name,
            "sampler": self.sampler,
            "sampler_params": dict(self.sampler_params),
            "recipe": self.recipe.to_dict(),
        }


def _sampler_class(name: str):
    import importlib

    from . import samplers

    for module in (samplers, importlib.import_module(".samplers.presets", __package__)):
        cls = getattr(module, name, None)  # presets also register themselves in SAMPLERS
        if isinstance(cls, type):
            return cls
    if name in samplers.SAMPLERS:
        return samplers.SAMPLERS.get(name)
    raise ValueError(
        f"sampler {name!r} is not exported by deepbalance.samplers nor registered in SAMPLERS "
        f"(registered: {', '.join(samplers.SAMPLERS.names())}); check the name"
    )


def _check_sampler_params(sampler: str, params: Mapping) -> None:
    try:
        cls = _sampler_class(sampler)
    except (ImportError, ValueError):
        return  # reported when the sampler is built
    accepted = inspect.signature(cls).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values()):
        return
    # a latent sampler's autoencoder parameters may be named flat (fold_autoencoder_params)
    accepted = [*accepted, *getattr(cls, "AUTOENCODER_PARAMS", ())]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise TypeError(
            f"sampler {sampler} has no parameter(s) {unknown}; known: {', '.join(accepted)}"
        )


def get_method(name: str | Method, *, sampler_params: Mapping | None = None, **params) -> Method:
    """The method registered as ``name``, with parameters overridden (module notes)."""
    method = name if isinstance(name, Method) else METHODS.get(name)
    if sampler_params is None and not params:
        return method
    return method.with_params(sampler_params=sampler_params, **params)


def _register(name, sampler=None, recipe=None, description="", aliases=(), **sampler_params):
    METHODS.register(
        name, Method(name, sampler, sampler_params, recipe or Recipe(), description, aliases)
    )


_K5 = {"k_neighbors": 5}  # CLE-SMOTE's pixel SMOTE
_CLE = Recipe(pretrain=True, cap="class-cosine")
_CAP = Recipe(cap="class-cosine")
# DRW's switch was chosen on a validation split carved from Fashion-MNIST-LT's training rows
# with the default TrainConfig (benchmarks/recipe.py tune; docs/benchmarks.md, "Loss-level
# baselines"): drw_start 0.5 / 0.8 gave 0.857 / 0.853. Logit adjustment's tau was chosen there
# too (0.75, with the recipe's label smoothing on the adjusted logits), then again by 5-fold CV
# of two profiles' training sets without smoothing (spec logit-adjustment-tau-cv; docs/
# benchmarks.md, "Logit adjustment's tau, chosen by cross-validation"): tau 0.5 / 0.75 / 1 /
# 1.25 gave CV ACSA 0.847 / 0.856 / 0.856 / 0.853 on DeepSMOTE's profile and 0.810 / 0.818 /
# 0.836 / 0.820 on the extreme one (the former recipe: 0.843, 0.716), so tau = 1 and no
# smoothing. CLE-SMOTE's cap + logit adjustment keeps the former tau (it was never re-chosen).
_LA = Recipe(logit_adjustment="logit-adjustment", tau=1.0, smoothing="none")
_CAP_LA = _CAP.replace(logit_adjustment="logit-adjustment", tau=0.75)

_register("none", description="cross-entropy on the data as given")
_register("random-oversampling", "RandomOversampler", description="repeat minority images")
_register("class-weighted", None, Recipe(weighting="inverse"), "CE weighted by 1/n_c")
_register("class-weighted-effective", None, Recipe(weighting="effective"), "CE, Cui et al. weights")
_register("logit-adjustment", None, _LA, "Menon et al., tau=1, no label smoothing (chosen by CV)")
# Balanced softmax trains without the recipe's label smoothing: smoothing the prior-adjusted
# logits makes its optimum favour the rarest classes (training.losses.LogitAdjustment.
# smoothed_target), and at 10 epochs even smoothing in the balanced space costs ACSA
# (docs/benchmarks.md, "Balanced softmax and label smoothing").
_register(
    "balanced-softmax",
    None,
    Recipe(logit_adjustment="balanced-softmax", smoothing="none"),
    "Ren et al., no label smoothing",
)
_DRW = Recipe(weighting="effective", drw_start=0.5)
_register("drw", None, _DRW, "weights after 50% of epochs")
_register("pixel-smote", "PixelSMOTE", description="SMOTE on pixels, k=5", **_K5)
# the worked example of docs/architecture.md: a batch transform (Zhang et al. 2018, alpha = 1)
_register("mixup", None, Recipe(batch_transform="mixup"), "mixup of image pairs, alpha=1")
# The long-tail anchors' label-mixing methods (imbalanced-DL's Mixup-DRW and Remix-DRW; Park et
# al. 2022's CE + CMO and CE-DRW + CMO) with their published transform settings. Their DRW
# switches at 80 % of 200 epochs with beta = 0.9999; here it is the library's `drw` (50 %,
# beta = 0.999, chosen on validation at this schedule: docs/benchmarks.md, "Loss-level
# baselines"). A mixed row's class weight is `soft @ w` in one weighted mean (the anchors
# weight each label's cross-entropy term separately). Mixup and Remix train every epoch mixed,
# as the anchors do (Bag of Tricks' plain last epochs: add
# phases=[{"name": "stop-batch-transform", "start": 0.9}]).
_MIXUP = {"alpha": 1.0}
_REMIX = {"alpha": 1.0, "kappa": 3.0, "tau": 0.5}
_CMO = {"alpha": 1.0, "probability": 0.5, "exponent": 1.0}
_register(
    "mixup-drw",
    None,
    _DRW.replace(batch_transform="mixup", batch_transform_params=_MIXUP),
    "mixup (alpha=1) + DRW",
)
_register(
    "remix-drw",
    None,
    _DRW.replace(batch_transform="remix", batch_transform_params=_REMIX),
    "Remix (alpha=1, kappa=3, tau=0.5): labels lean to the minority image; + DRW",
)
_register(
    "cmo",
    None,
    Recipe(batch_transform="cmo", batch_transform_params=_CMO),
    "CutMix of minority images (drawn by 1/n_c) onto half the batches",
)
_register(
    "cmo-drw",
    None,
    _DRW.replace(batch_transform="cmo", batch_transform_params=_CMO),
    "CMO + DRW (Park et al.'s CE-DRW + CMO)",
)
# The long-tail anchors. Their deferred stages start at half the epochs, the switch the library's
# DRW uses (chosen on validation for this one-cycle schedule, docs/benchmarks.md "Loss-level
# baselines"); the papers switch at 160 of 200 epochs (override with drw_start=0.8 or
# phases=[{"name": "resample", "start": 0.8}]).
# LDAM (Cao et al. 2019, eq. 13): margins C / n_c**(1/4), largest 0.5, cosine head, s = 30
_LDAM = Recipe(loss_heads=({"name": "ldam", "max_margin": 0.5, "scale": 30.0},))
_register("ldam", None, _LDAM, "LDAM margins on a cosine classifier (Cao et al.)")
# LDAM-DRW (§3.3, Algorithm 1): effective-number weights with the paper's beta = 0.9999
_LDAM_DRW = _LDAM.replace(weighting="effective", effective_beta=0.9999, drw_start=0.5)
_register("ldam-drw", None, _LDAM_DRW, "LDAM, then effective-number weights after 50%")
# deferred re-sampling (Cao et al. 2019, §3.3; Zhang et al. 2021): class-balanced draws late
_DRS = Recipe(phases=({"name": "resample", "start": 0.5},))
_register("drs", None, _DRS, "class-balanced re-sampling after 50% of epochs")
# cRT (Kang et al. 2020, §4): the last 10% of the steps retrain a new head on frozen features,
# the paper's 10 retraining epochs after 90 (ImageNet-LT), each stage with its own schedule
_CRT = Recipe(phases=({"name": "retrain-classifier", "start": 0.9},))
_register("crt", None, _CRT, "classifier re-trained class-balanced on frozen features (last 10%)")
# tau-norm (Kang et al. 2020, §4): tau in 0, 0.1, ..., 1 chosen on the validation split
_register("tau-norm", None, Recipe(post_hoc="tau-norm"), "tau-normalised classifier, tau on val")
# one name, one meaning: "deepsmote" is DeepSMOTE() as the class defaults it (residual
# decodings + copies of real images; samplers.presets), "deepsmote-published" the paper's
# method (Dablain et al. 2022, Algorithm 1: the plain decodings of the interpolated codes)
_PUBLISHED = {"residual": False, "copy_fraction": 0.0}
_register(
    "deepsmote",
    "DeepSMOTE",
    description="DeepSMOTE()'s defaults: residual decodings for half the new rows, real copies "
    "for the rest",
)
_register(
    "deepsmote-published",
    "DeepSMOTE",
    description="DeepSMOTE as published: autoencoder + latent SMOTE, decoded images",
    **_PUBLISHED,
)
_register("deepsmote-official", "DeepSMOTEOfficial", description="DeepSMOTE, official AE recipe")
_register("deep-denoising-smote", "DeepDenoisingSMOTE", description="denoising AE + latent SMOTE")
_register("deep-sparse-smote", "DeepSparseSMOTE", description="sparse AE + latent SMOTE")
_register(
    "beta-vae-smote", "BetaVAESMOTE", description="beta-VAE + latent SMOTE", aliases=("beta",)
)
_register("beta-vae-smote-2", "BetaVAESMOTE", None, "beta-VAE, beta=2", ("beta",), beta=2.0)
_register("deep-adasyn", "DeepADASYN", description="denoising AE + latent ADASYN")
_register(
    "deep-denoising-calibration", "DeepDenoisingCalibration", description="denoising AE + WCB"
)
_register("cle-smote", "PixelSMOTE", _CLE, "pixel SMOTE, triplet pretraining, cosine cap", **_K5)
_register("cle-constant-cap", "PixelSMOTE", _CLE.replace(cap="constant"), "constant cap", **_K5)
_register("cle-no-pretrain", "PixelSMOTE", _CLE.replace(pretrain=False), "no pretraining", **_K5)
# CLE-SMOTE App. A: the Batch Avg and Euclidean ablations are Class Avg variants without
# the triplet pretraining stage
_NO_PRE = _CLE.replace(pretrain=False)
_register(
    "cle-batch-average", "PixelSMOTE", _NO_PRE.replace(cap="batch-cosine"), "batch means", **_K5
)
_register("cle-euclidean", "PixelSMOTE", _NO_PRE.replace(cap="class-euclidean"), "L2 cap", **_K5)
_register("cle-v1", "PixelSMOTE", _CLE.replace(triplet_anchors="real"), "real anchors only", **_K5)
_register(
    "deepsmote-published+cap",
    "DeepSMOTE",
    _CAP,
    "published DeepSMOTE images + CLE-SMOTE's cap",
    **_PUBLISHED,
)
_register(
    "deepsmote-residual",
    "DeepSMOTE",
    None,
    "DeepSMOTE, base image detail added back",
    residual=True,
    copy_fraction=0.0,
)
_register(
    "deepsmote-published+cap+logit-adjustment",
    "DeepSMOTE",
    _CAP_LA,
    "published DeepSMOTE + cap + logit adj.",
    **_PUBLISHED,
)

# Deep oversampling composed with the long-tail methods (not in any of the papers): DeepSMOTE()'s
# resampled set, of which the first stage trains on the real rows only (the data as given);
# deepsmote-drs draws the whole DeepSMOTE-balanced set from 50 % of the epochs on (DRS with
# DeepSMOTE's rows as the class-balanced stage, instead of repeated real images); deepsmote-cmo
# pastes CMO's minority boxes from every row, so a rare class's boxes come mostly from
# DeepSMOTE's images (CMO draws each class equally often, and DeepSMOTE() made the classes equal).
_REAL_FIRST = {"name": "draw-rows", "start": 0, "rows": "real"}
_register(
    "deepsmote-drs",
    "DeepSMOTE",
    Recipe(phases=(_REAL_FIRST, {"name": "draw-rows", "start": 0.5, "rows": "all"})),
    "real rows, then DeepSMOTE()'s balanced set after 50% of epochs",
)
_register(
    "deepsmote-cmo",
    "DeepSMOTE",
    Recipe(
        batch_transform="cmo",
        batch_transform_params={**_CMO, "pool": "all"},
        phases=(_REAL_FIRST,),
    ),
    "CMO on the real rows, minority boxes from DeepSMOTE()'s images",
)

# latent mixup (samplers.mixup): DeepSMOTE()'s autoencoder and defaults, its new rows mixed
# towards other classes with soft labels, which the trainer trains on
_register(
    "latent-mixup",
    "LatentMixup",
    description="codes mixed towards other classes, soft labels; residual decodings + copies",
)

# ... and as deferred re-sampling's late-stage data (the real rows first, as deepsmote-drs)
_register(
    "latent-mixup-drs",
    "LatentMixup",
    Recipe(phases=(_REAL_FIRST, {"name": "draw-rows", "start": 0.5, "rows": "all"})),
    "real rows, then latent mixup's balanced set after 50% of epochs",
)

#: Former method names that still work (with a FutureWarning naming the current one).
for _old, _new in RENAMED.items():
    METHODS.rename(_old, _new)


@dataclass
class RunResult:
    """Outcome of :func:`run_method`: the training's :class:`~deepbalance.training.TrainResult`
    plus what the method's resampling did.

    Attributes
    ----------
    method : Method
    seed : int
    train : TrainResult
        The trainer's result; ``history``, ``final``, ``best``, ``best_epoch``,
        ``best_metric``, ``selected``, ``selected_epoch``, ``losses``, ``model`` and
        ``post_hoc`` (what a post-hoc adjustment chose, e.g. tau-norm's tau) read through to
        it (``best`` is the seed papers' optimistic "best of evaluations"; ``selected`` the
        honest choice on a ``"val"`` split; see ``training.trainer``).
    timings : dict
        Seconds: ``"resample"``, ``"train"``, ``"total"`` (and ``"diagnostics"`` when run).
    n_train : int
        Training rows after resampling (synthetic included).
    n_synthetic : int
    sampler : fitted sampler or None
    synthetic_examples : tuple of (images, labels) or None
        Up to ``examples_per_class`` synthetic images per grown class (uint8, in the order
        they were made), e.g. for sample grids; None without synthetic rows.
    diagnostics : list of dict or None
        :func:`deepbalance.samplers.diagnostics.synthetic_diagnostics` rows when
        ``run_method(..., diagnose=True)`` and the sampler made synthetic rows.
    diagnostics_holdout : str or None
        Which real held-out images the diagnostics used (see :func:`diagnose_resampling`).
    diagnostics_note : str or None
        Why diagnostics were asked for but not made (e.g. a class with one real image).
    diagnostics_error : str or None
        The error that stopped the diagnostics (the run itself goes on).
    """

    method: Method
    seed: int
    train: object = field(repr=False)
    timings: dict
    n_train: int
    n_synthetic: int
    sampler: object = field(default=None, repr=False)
    synthetic_examples: tuple | None = field(default=None, repr=False)
    diagnostics: list | None = None
    diagnostics_holdout: str | None = None
    diagnostics_note: str | None = None
    diagnostics_error: str | None = None

    history = property(lambda self: self.train.history)
    final = property(lambda self: self.train.final)
    best = property(lambda self: self.train.best)
    best_epoch = property(lambda self: self.train.best_epoch)
    best_metric = property(lambda self: self.train.best_metric)
    selected = property(lambda self: self.train.selected)
    selected_epoch = property(lambda self: self.train.selected_epoch)
    losses = property(lambda self: self.train.losses)
    model = property(lambda self: self.train.model)
    post_hoc = property(lambda self: self.train.post_hoc)

    def to_dict(self) -> dict:
        """JSON-friendly fields (without the sampler, the model and images)."""
        out = {
            "method": self.method.to_dict(),
            "seed": self.seed,
            **{
                name: getattr(self, name)
                for name in (
                    "history",
                    "final",
                    "best",
                    "best_epoch",
                    "best_metric",
                    "selected",
                    "selected_epoch",
                    "losses",
                    "post_hoc",
                )
            },
            "timings": self.timings,
            "n_train": self.n_train,
            "n_synthetic": self.n_synthetic,
            "diagnostics": self.diagnostics,
        }
        return out


def _examples(X, y, mask, per_class: int):
    """Up to ``per_class`` synthetic rows of each grown class, in order of creation."""
    rows = np.flatnonzero(mask)
    if rows.size == 0:
        return None
    labels = np.asarray(y)[rows]
    keep = np.concatenate([rows[labels == c][:per_class] for c in np.unique(labels)])
    keep.sort()
    return np.asarray(X)[keep], np.asarray(y)[keep]


def diagnose_resampling(
    sampler, train: ImageSet, X_res, y_res, eval_sets: Mapping, *, random_state, max_images=None
) -> tuple[list | None, str | None, str | None]:
    """Per-class diagnostics of a resampling's synthetic rows, as :func:`run_method` makes them.

    The real held-out images are the ``"val"`` split when ``eval_sets`` has one, else the
    first eval set with the training classes, else none (cross-validated predictions on the
    training rows); see :func:`deepbalance.samplers.diagnostics.synthetic_diagnostics`.

    Returns
    -------
    rows, holdout, note
        The diagnostics rows and which held-out images they used, or ``(None, None, note)``
        when a class has fewer than 2 real training images (too few to compare with).
    """
    from .samplers.diagnostics import synthetic_diagnostics

    counts = train.class_counts()
    small = [train.class_names[c] for c in np.flatnonzero((counts > 0) & (counts < 2))]
    if small:
        return (
            None,
            None,
            (
                f"skipped: class(es) {small} have fewer than 2 real training images, too few to "
                "compare synthetic images with"
            ),
        )
    holdout, described = None, "none (5-fold cross-validated predictions on the training rows)"
    if "val" in eval_sets:
        holdout, described = eval_sets["val"], "the run's validation split 'val'"
    else:
        for name, split in eval_sets.items():
            if tuple(split.class_names) == tuple(train.class_names):
                holdout, described = split, f"the first test set {name!r}"
            break
    options = {} if max_images is None else {"max_images": max_images}
    rows = synthetic_diagnostics(
        sampler,
        train.images,
        train.labels,
        X_res,
        y_res,
        X_holdout=None if holdout is None else holdout.images,
        y_holdout=None if holdout is None else holdout.labels,
        random_state=random_state,
        **options,
    )
    return rows, described, None


def run_seeds(seed) -> tuple[int, int, int]:
    """The seeds :func:`run_method` draws from a run's ``seed``: for the validation split, the
    sampler and the training (the same for every method, so methods differ only in what they
    do). Code that must rebuild a run's validation split or sampler uses these."""
    rng = check_random_state(seed)
    split_seed, sampler_seed, train_seed = (seed_from(rng) for _ in range(3))
    return split_seed, sampler_seed, train_seed


def run_method(
    method: str | Method,
    train: ImageSet,
    eval_sets: Mapping[str, ImageSet],
    *,
    config: TrainConfig,
    seed: int,
    cache_dir=None,
    progress: bool = True,
    diagnose: bool = False,
    diagnose_max_images: int | None = None,
    examples_per_class: int = 8,
) -> RunResult:
    """Resample ``train`` with the method's sampler, train, and evaluate on ``eval_sets``.

    Parameters
    ----------
    method : str or Method
        A name in ``METHODS`` or a method from :func:`get_method`.
    train : ImageSet
        The (imbalanced) training set.
    eval_sets : dict of str to ImageSet
        Splits evaluated during training (e.g. ``{"test": test}``).
    config : TrainConfig
        With ``val_fraction > 0`` a stratified validation split is carved from ``train``
        before resampling and evaluated as ``"val"``.
    seed : int
        Seeds the validation split, the sampler and the training (three seeds drawn from it,
        the same for every method, so methods differ only in what they do).
    cache_dir : path, optional
        Passed to latent samplers so autoencoders are trained once and reused.
    progress : bool
        Show progress bars.
    diagnose : bool
        Measure the synthetic images per class
        (:func:`deepbalance.samplers.diagnostics.synthetic_diagnostics`), with the ``"val"``
        split as held-out images when there is one, else the first of ``eval_sets`` with the
        training classes (:func:`diagnose_resampling`).
    diagnose_max_images : int, optional
        Images per class the diagnostics use (``synthetic_diagnostics``'s default if None).
    examples_per_class : int
        Synthetic images per class kept in ``RunResult.synthetic_examples`` (0: none).
    """
    started = time.perf_counter()
    method = get_method(method)
    if not isinstance(train, ImageSet):
        raise TypeError(f"train must be an ImageSet, got {type(train).__name__}")
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    if not isinstance(eval_sets, Mapping):
        raise TypeError(f"eval_sets must be a dict of name -> ImageSet, got {eval_sets!r}")
    if not isinstance(diagnose, bool):
        raise TypeError(f"diagnose={diagnose!r} must be True or False")
    examples_per_class = check_int(examples_per_class, "examples_per_class", min_value=0)
    split_seed, sampler_seed, train_seed = run_seeds(seed)
    eval_sets = dict(eval_sets)
    method.recipe.check_validation(config.val_fraction > 0 or "val" in eval_sets)
    if config.val_fraction > 0:
        if "val" in eval_sets:
            raise ValueError(
                f"eval_sets already has a 'val' split and val_fraction={config.val_fraction} "
                "would carve another; pass val_fraction=0 or rename the split"
            )
        train, eval_sets["val"] = split_validation(train, config.val_fraction, seed=split_seed)
        config = config.replace(val_fraction=0.0)

    t0 = time.perf_counter()
    sampler = method.make_sampler(
        random_state=sampler_seed, cache_dir=cache_dir, device=config.device
    )
    examples = diagnostics = None
    if sampler is None:
        resampled, mask = train, np.zeros(len(train), dtype=bool)
    else:
        X, y = sampler.fit_resample(train.images, train.labels)
        mask = np.asarray(sampler.synthetic_mask_, dtype=bool)
        meta = {k: v for k, v in train.meta.items() if k != "rows"}  # per-row meta: real rows only
        source = f"{train.source} resampled by {method.sampler}"
        resampled = ImageSet(X, y, train.class_names, source, meta)
        if examples_per_class:
            examples = _examples(X, y, mask, examples_per_class)
    resample_seconds = time.perf_counter() - t0
    diagnose_seconds = holdout = note = error = None
    if diagnose and mask.any():
        t1 = time.perf_counter()
        try:
            diagnostics, holdout, note = diagnose_resampling(
                sampler,
                train,
                resampled.images,
                resampled.labels,
                eval_sets,
                random_state=sampler_seed,
                max_images=diagnose_max_images,
            )
        except Exception as exc:  # a failed diagnosis must not cost the run
            error = f"{type(exc).__name__}: {exc}"
        diagnose_seconds = time.perf_counter() - t1

    from .training.trainer import Trainer

    trainer = Trainer(config, recipe=method.recipe, seed=train_seed, progress=progress)
    soft = None if sampler is None else getattr(sampler, "soft_labels_", None)
    result = trainer.fit(resampled, eval_sets, synthetic_mask=mask, soft_labels=soft)
    timings = {
        "resample": resample_seconds,
        "train": result.train_seconds,
        "total": time.perf_counter() - started,
    }
    if diagnose_seconds is not None:
        timings["diagnostics"] = diagnose_seconds
    return RunResult(
        method=method,
        seed=seed,
        train=result,
        timings=timings,
        n_train=len(resampled),
        n_synthetic=int(mask.sum()),
        sampler=sampler,
        synthetic_examples=examples,
        diagnostics=diagnostics,
        diagnostics_holdout=holdout,
        diagnostics_note=note,
        diagnostics_error=error,
    )
