"""The training loop: optional triplet pretraining, then classifier training with periodic
evaluation on named splits.

Reported numbers
----------------
- ``history``: every evaluation, ``{"epoch": e, "split": name, "metrics": {...}}`` with ``e``
  the number of epochs completed (1-based), so metric-vs-epoch curves can be drawn.
- ``final``: metrics after the last epoch.
- ``best``: per split, the evaluation with the highest ``best_metric`` — the seed papers'
  protocol ("best of evaluations"); it selects on the split it reports, so it is optimistic.
- ``selected``: with a validation split, every split's metrics at the epoch that was best on
  ``"val"`` — the honest choice.
- ``post_hoc``: what a recipe's post-hoc adjustment chose on ``"val"`` (e.g. tau-norm's tau);
  it is applied before the last epoch's evaluation, so ``final`` is the adjusted model's.

Each split is scored by the metric suites it asks for
(:func:`deepbalance.metrics.metric_suites_for`): the classification metrics, and for example
the normal-vs-abnormal AUROC of a split that names a normal class. The trainer knows no data set.
"""

from __future__ import annotations

import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch

from .._batching import batch_sizes
from ..data.imageset import ImageSet
from ..metrics import metric_suites_for
from ..nets.classifiers import create_classifier
from ..nets.device import resolve_device
from .augment import resolve_augment
from .callbacks import Callback, RichProgress, TrainState
from .config import TrainConfig
from .data import ImageRows, InputPipeline, RowStream, channel_stats, split_validation
from .phases import PhaseContext
from .posthoc import PostHocContext
from .recipe import Recipe
from .transforms import TrainingRows
from .triplet import TripletSampler, triplet_loss


@dataclass
class TrainResult:
    """Outcome of :meth:`Trainer.fit` (see the module notes for what each number means).

    Attributes
    ----------
    model : torch.nn.Module
        The trained classifier (in evaluation mode).
    history : list of dict
        ``{"epoch", "split", "metrics"}`` per evaluation.
    losses : list of dict
        ``{"stage", "epoch", "loss"}``: mean training loss per epoch (1-based epochs).
    final, best : dict
        ``{split: metrics}`` after the last epoch / at each split's best evaluation.
    best_epoch : dict
        ``{split: epoch}`` of the ``best`` evaluations.
    best_metric : str
        The metric that picks ``best`` and ``selected``.
    selected : dict or None
        ``{split: metrics}`` at the epoch best on ``"val"`` (None without a ``"val"`` split).
    selected_epoch : int or None
    mean, std : ndarray
        Per-channel input statistics the model was trained with.
    train_seconds : float
        Wall time of :meth:`Trainer.fit`.
    augment : str
        The augmentation applied (``TrainConfig.augment`` resolved for the dataset).
    steps : int
        Optimisation steps of the classifier stage.
    post_hoc : dict or None
        The record of the recipe's post-hoc adjustment (e.g. ``{"name": "tau-norm", "tau":
        0.7, "metric": "acsa", "scores": [[tau, validation score], ...]}``); None without one.
    """

    model: torch.nn.Module = field(repr=False)
    history: list
    losses: list
    final: dict
    best: dict
    best_epoch: dict
    best_metric: str
    selected: dict | None
    selected_epoch: int | None
    mean: np.ndarray = field(repr=False)
    std: np.ndarray = field(repr=False)
    train_seconds: float = 0.0
    augment: str = "none"
    steps: int = 0
    post_hoc: dict | None = None

    def predict_proba(self, images, *, batch_size: int = 256) -> np.ndarray:
        """Class probabilities for uint8 images ``(N, C, H, W)``."""
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.ndim != 4:
            raise ValueError(
                f"images must be uint8 (N, C, H, W), got {images.dtype} shape {images.shape}; "
                "pass ImageSet.images"
            )
        device = next(self.model.parameters()).device
        pipeline = InputPipeline(self.mean, self.std, device=device)
        rows = ImageRows(images, device, resident=False)
        return predict_proba(self.model, rows, pipeline, batch_size)

    def predict(self, images, *, batch_size: int = 256) -> np.ndarray:
        """Predicted class indices for uint8 images ``(N, C, H, W)``."""
        return self.predict_proba(images, batch_size=batch_size).argmax(1)


@torch.no_grad()
def _forward(fn, model, images: ImageRows, pipeline, batch_size: int, rows=None) -> torch.Tensor:
    """``fn`` of the images (or of those at index tensor ``rows``), ``batch_size`` at a time."""
    was_training = model.training
    model.eval()
    device = pipeline.mean.device
    n = len(images) if rows is None else len(rows)
    parts = []
    try:
        for i in range(0, n, batch_size):
            batch = slice(i, i + batch_size) if rows is None else rows[i : i + batch_size]
            parts.append(fn(pipeline(images[batch].to(device))))
    finally:
        model.train(was_training)
    return torch.cat(parts)


def predict_proba(model, images: ImageRows, pipeline, batch_size: int) -> np.ndarray:
    """Softmax probabilities of ``model`` for uint8 ``images``, in evaluation mode."""
    logits = _forward(model, model, images, pipeline, batch_size)
    return torch.softmax(logits.double(), dim=1).cpu().numpy()


class EpochContext:
    """What loss pieces may look at when an epoch starts (e.g. CLE-SMOTE's class means)."""

    def __init__(self, epoch, model, images, labels, synthetic, pipeline, batch_size, class_names):
        self.epoch = epoch
        self.n_classes = len(class_names)
        self.class_names = class_names
        self._model, self._pipeline, self._batch_size = model, pipeline, batch_size
        self._images, self._labels, self._synthetic = images, labels, synthetic
        self.synthetic_classes = np.unique(labels[synthetic].cpu().numpy())
        self._cache = None

    def real_embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Embeddings (evaluation mode, no gradient) and labels of every real training row."""
        if self._cache is None:
            real = ~self._synthetic
            rows = torch.nonzero(real.cpu()).squeeze(1)
            emb = _forward(
                self._model.embed, self._model, self._images, self._pipeline, self._batch_size, rows
            )
            self._cache = (emb, self._labels[real].to(emb.device))
        return self._cache


@contextmanager
def seeded_torch(seed: int, device: torch.device):
    """Seed torch's global generators and use deterministic kernels, restoring both after.

    Deterministic mode by default also fills every newly allocated tensor with a known value
    (``torch.utils.deterministic.fill_uninitialized_memory``): a guard against kernels that read
    memory they never wrote, which no kernel here does. On the CPU that fill was most of the
    trainer's overhead against a plain loop (docs/benchmarks.md, "The trainer's own cost"), so
    it is off inside the block; the numbers are the same with it on.
    """
    prev = torch.are_deterministic_algorithms_enabled()
    prev_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    prev_fill = torch.utils.deterministic.fill_uninitialized_memory
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.utils.deterministic.fill_uninitialized_memory = False
        try:
            yield
        finally:
            torch.utils.deterministic.fill_uninitialized_memory = prev_fill
            torch.use_deterministic_algorithms(prev, warn_only=prev_warn)


def make_optimizer(config: TrainConfig, params) -> torch.optim.Optimizer:
    """The optimizer ``config`` names, over ``params``."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            params,
            lr=config.lr,
            momentum=config.momentum,
            nesterov=config.nesterov and config.momentum > 0,
            weight_decay=config.weight_decay,
        )
    return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)


def make_schedule(config: TrainConfig, optimizer, total_steps: int):
    """The per-batch learning-rate schedule ``config.schedule`` over ``total_steps`` steps,
    or None for a constant rate.

    A one-cycle schedule needs a few steps per phase: runs of fewer than 8 steps (smoke tests)
    anneal by cosine from ``lr`` instead.
    """
    if config.schedule == "onecycle" and total_steps >= 8:
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=config.lr,
            total_steps=total_steps,
            pct_start=0.25,
            cycle_momentum=config.optimizer == "sgd" and config.momentum > 0,
        )
    if config.schedule in ("cosine", "onecycle"):
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(total_steps, 1))
    return None


def _check_finite(loss: torch.Tensor, stage: str, epoch: int, step: int, lr: float) -> None:
    if not torch.isfinite(loss):
        raise FloatingPointError(
            f"the {stage} loss became {loss.item()} at epoch {epoch + 1}, batch {step + 1}; "
            f"training stopped. Lower the learning rate (lr={lr}), check the inputs for "
            "NaN/inf, or use optimizer='adam'"
        )


def _check_split(name: str, split, train: ImageSet, n_classes: int) -> None:
    if not isinstance(split, ImageSet):
        raise TypeError(f"eval_sets[{name!r}] must be an ImageSet, got {type(split).__name__}")
    if split.image_shape != train.image_shape:
        raise ValueError(
            f"eval split {name!r} has images of shape {split.image_shape} but the training "
            f"images are {train.image_shape}; resize the split to match"
        )
    if len(split) == 0:
        raise ValueError(f"eval split {name!r} is empty; drop it or give it images")
    if not any("labels" in suite.needs for suite in metric_suites_for(split, n_classes)):
        return  # e.g. normal/abnormal labels: no suite reads them as the model's classes
    if split.labels.max() >= n_classes:
        raise ValueError(
            f"eval split {name!r} has label {int(split.labels.max())} but the classifier has "
            f"{n_classes} classes (0..{n_classes - 1}); relabel the split to the training "
            "classes or train with all its classes"
        )
    absent = np.flatnonzero(np.bincount(split.labels, minlength=n_classes) == 0)
    if absent.size:
        names = [train.class_names[c] for c in absent]
        warnings.warn(
            f"eval split {name!r} has no images of class(es) {names}: their recall and AUROC "
            "are undefined and left out of its averages (ACSA, GM, macro scores)",
            UserWarning,
            stacklevel=3,
        )


def _best_of(history: list, metric: str) -> tuple[dict, dict]:
    best, best_epoch = {}, {}
    for record in history:
        value = record["metrics"].get(metric, float("nan"))
        split = record["split"]
        current = best.get(split, {}).get(metric, float("nan"))
        if split not in best or (np.isnan(current) and not np.isnan(value)) or value > current:
            best[split], best_epoch[split] = record["metrics"], record["epoch"]
    return best, best_epoch


class Trainer:
    """Train a classifier on (possibly resampled) images.

    Parameters
    ----------
    config : TrainConfig, optional
    recipe : Recipe, optional
        Loss-level pieces and triplet pretraining; plain cross-entropy by default.
    seed : int
        Seeds model initialisation, dropout, batch order and augmentation.
    progress : bool
        Show a rich progress bar.
    callbacks : sequence of Callback
    evaluate : callable, optional
        ``evaluate(y_true, y_pred, y_score, labels=...) -> dict``; default
        ``deepbalance.metrics.evaluate``.
    """

    def __init__(
        self,
        config: TrainConfig | None = None,
        *,
        recipe: Recipe | None = None,
        seed: int = 0,
        progress: bool = True,
        callbacks=(),
        evaluate=None,
    ):
        self.config = TrainConfig() if config is None else config
        if not isinstance(self.config, TrainConfig):
            raise TypeError(f"config must be a TrainConfig, got {type(self.config).__name__}")
        self.recipe = Recipe() if recipe is None else recipe
        if not isinstance(self.recipe, Recipe):
            raise TypeError(f"recipe must be a Recipe, got {type(self.recipe).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed={seed!r} must be a non-negative int; pass e.g. seed=0")
        self.seed = int(seed)
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callback {cb!r} must subclass training.callbacks.Callback")
        if progress:
            self.callbacks.append(RichProgress(self.config.best_metric))
        if evaluate is None:
            from ..metrics import evaluate
        self.evaluate = evaluate

    def fit(
        self,
        train: ImageSet,
        eval_sets: dict | None = None,
        *,
        synthetic_mask=None,
        model: torch.nn.Module | None = None,
        soft_labels=None,
    ) -> TrainResult:
        """Train on ``train`` and evaluate on ``eval_sets``.

        Parameters
        ----------
        train : ImageSet
            Training images; synthetic rows (if any) marked by ``synthetic_mask``.
        eval_sets : dict of str to ImageSet, optional
            Splits evaluated every ``config.eval_every`` epochs and after the last one.
        synthetic_mask : bool array of shape (len(train),), optional
            True for synthetic rows (a sampler's ``synthetic_mask_``).
        soft_labels : float array of shape (len(train), n_classes), optional
            A target distribution per row (a sampler's ``soft_labels_``, e.g. latent mixup's
            mixed rows) that the cross-entropy trains on instead of the labels; ``train.labels``
            stay each row's class for everything else (class counts, phases). Not with a batch
            transform that mixes labels or a loss head that needs hard labels.
        model : Classifier, optional
            A model to train instead of ``config.classifier``.
        """
        started = time.perf_counter()
        config = self.config
        if not isinstance(train, ImageSet):
            raise TypeError(f"train must be an ImageSet, got {type(train).__name__}")
        n_classes = train.n_classes
        synthetic = self._check_mask(synthetic_mask, len(train))
        soft = self._check_soft(soft_labels, len(train), n_classes)
        if soft is not None and config.val_fraction > 0:
            raise ValueError(
                f"soft_labels with val_fraction={config.val_fraction}: carve the validation "
                "split before resampling (run_method does) and pass val_fraction=0"
            )
        eval_sets = dict(eval_sets or {})
        if config.val_fraction > 0:
            train, synthetic, eval_sets = self._carve_validation(train, synthetic, eval_sets)
        self.recipe.check_validation("val" in eval_sets)
        for name, split in eval_sets.items():
            _check_split(name, split, train, n_classes)
        # the step budget (min_steps) fixes the epochs once, for this training set
        config = config.for_rows(config.rows_per_epoch(len(train), int((~synthetic).sum())))
        real_counts = np.bincount(train.labels[~synthetic], minlength=n_classes)
        if (real_counts == 0).any():
            names = [train.class_names[c] for c in np.flatnonzero(real_counts == 0)]
            warnings.warn(
                f"class(es) {names} have no real training rows; the classifier cannot learn them",
                UserWarning,
                stacklevel=2,
            )
        objective = self.recipe.build_objective(
            real_counts,
            epochs=config.epochs,
            class_names=train.class_names,
            label_smoothing=config.label_smoothing,
        )
        augment = resolve_augment(config.augment, train.meta.get("dataset"))
        pretraining = self.recipe.build_pretraining()
        phases = self.recipe.build_phases(config.epochs)
        post_hoc = self.recipe.build_post_hoc()
        transform = self.recipe.build_batch_transform()
        if transform is not None:
            hard = objective.needs_hard_labels
            if transform.mixes_labels and hard:
                raise ValueError(
                    f"batch_transform={self.recipe.batch_transform!r} mixes labels, but the loss "
                    f"head {type(hard[0]).__name__} needs hard labels; drop one of them"
                )
            if transform.mixes_labels and soft is not None:
                raise ValueError(
                    f"batch_transform={self.recipe.batch_transform!r} mixes labels, but the "
                    "rows already have soft_labels (a sampler that mixes labels, e.g. latent "
                    "mixup); drop the transform or use a sampler with hard labels"
                )
        if soft is not None and objective.needs_hard_labels:
            raise ValueError(
                f"soft_labels (a sampler that mixes labels, e.g. latent mixup) with the loss "
                f"head {type(objective.needs_hard_labels[0]).__name__}, which needs hard "
                "labels; drop one of them"
            )
        device = resolve_device(config.device)

        head_options = objective.classifier_options()
        with seeded_torch(self.seed, device):
            if model is None:
                params = dict(config.classifier_params)
                for key, value in head_options.items():
                    if key in params and params[key] != value:
                        raise ValueError(
                            f"classifier_params has {key}={params[key]!r}, but the recipe's "
                            f"loss needs {key}={value!r}; drop {key!r} from classifier_params"
                        )
                model = create_classifier(
                    config.classifier, train.image_shape, n_classes, **{**params, **head_options}
                )
            elif head_options:
                objective.check_model(model)
            if getattr(model, "n_classes", n_classes) != n_classes:
                raise ValueError(
                    f"model has {model.n_classes} classes but train has {n_classes}; build it "
                    f"with n_classes={n_classes}"
                )
            if (objective.needs_embeddings or pretraining or post_hoc) and not hasattr(
                model, "embed"
            ):
                raise TypeError(
                    "this recipe needs model.embed(x) and model.head; use a classifier from "
                    "deepbalance.nets.create_classifier"
                )
            if post_hoc is not None:
                post_hoc.check_model(model)
            model.to(device)
            mean, std = channel_stats(
                train.images, None if not synthetic.any() else np.flatnonzero(~synthetic)
            )
            pipeline = InputPipeline(mean, std, augment=augment, shift=config.shift, device=device)
            loop = _Loop(self, model, train, synthetic, eval_sets, pipeline, device, config)
            if transform is not None:
                rows = TrainingRows(train.labels, synthetic, loop.inputs)
                transform.setup(
                    n_classes=n_classes, real_counts=real_counts, seed=self.seed, rows=rows
                )
            loop.batch_transform, loop.phases, loop.real_counts = transform, phases, real_counts
            loop.post_hoc = post_hoc
            if soft is not None:
                loop.soft_targets = torch.from_numpy(soft).to(device)
            state = TrainState("train", 0, config.epochs, model, objective)
            for cb in self.callbacks:
                cb.on_fit_start(state)
            try:
                if pretraining is not None:
                    loop.pretrain(pretraining)
                loop.train(objective)
            finally:
                for cb in self.callbacks:
                    cb.on_fit_end(loop.state or state)
        model.eval()
        best, best_epoch = _best_of(loop.history, config.best_metric)
        final = {r["split"]: r["metrics"] for r in loop.history if r["epoch"] == config.epochs}
        selected = selected_epoch = None
        if "val" in best_epoch:
            selected_epoch = best_epoch["val"]
            selected = {
                r["split"]: r["metrics"] for r in loop.history if r["epoch"] == selected_epoch
            }
        return TrainResult(
            model=model,
            history=loop.history,
            losses=loop.losses,
            final=final,
            best=best,
            best_epoch=best_epoch,
            best_metric=config.best_metric,
            selected=selected,
            selected_epoch=selected_epoch,
            mean=mean,
            std=std,
            train_seconds=time.perf_counter() - started,
            augment=augment,
            steps=loop.steps,
            post_hoc=loop.post_hoc_record,
        )

    @staticmethod
    def _check_mask(mask, n: int) -> np.ndarray:
        if mask is None:
            return np.zeros(n, dtype=bool)
        mask = np.asarray(mask)
        if mask.dtype != bool or mask.shape != (n,):
            raise ValueError(
                f"synthetic_mask must be a bool array of shape ({n},), got {mask.dtype} "
                f"{mask.shape}; pass the sampler's synthetic_mask_"
            )
        return mask

    @staticmethod
    def _check_soft(soft, n: int, n_classes: int) -> np.ndarray | None:
        if soft is None:
            return None
        soft = np.asarray(soft, dtype=np.float32)
        if soft.shape != (n, n_classes):
            raise ValueError(
                f"soft_labels must have shape ({n}, {n_classes}) (one target distribution per "
                f"training row), got {soft.shape}; pass the sampler's soft_labels_"
            )
        if not np.all(np.isfinite(soft)) or (soft < 0).any():
            raise ValueError("soft_labels must be finite and non-negative")
        sums = soft.sum(axis=1)
        if not np.allclose(sums, 1.0, atol=1e-4):
            bad = int(np.flatnonzero(~np.isclose(sums, 1.0, atol=1e-4))[0])
            raise ValueError(
                f"soft_labels row {bad} sums to {sums[bad]:.4f}; each row must be a "
                "distribution over the classes (sum 1)"
            )
        return soft

    def _carve_validation(self, train, synthetic, eval_sets):
        fraction = self.config.val_fraction
        if "val" in eval_sets:
            raise ValueError(
                f"eval_sets already has a 'val' split and val_fraction={fraction} would carve "
                "another; pass val_fraction=0 or rename the split"
            )
        if synthetic.any():
            raise ValueError(
                f"val_fraction={fraction} with synthetic rows: a validation split carved now "
                "could hold images that synthetic rows were grown from; carve it before "
                "resampling with training.split_validation (run_method does this) and pass "
                "val_fraction=0"
            )
        train, val = split_validation(train, fraction, seed=self.seed)
        return train, np.zeros(len(train), dtype=bool), {**eval_sets, "val": val}


class _Loop:
    """State of one ``fit`` call: tensors on the device, generators, history."""

    def __init__(self, trainer, model, train, synthetic, eval_sets, pipeline, device, config):
        self.trainer, self.config = trainer, config
        self.model, self.pipeline, self.device = model, pipeline, device
        self.class_names = train.class_names
        self.n_classes = train.n_classes
        self.images = ImageRows(train.images, device)  # read-only caches stream per batch
        self.labels_np = train.labels
        self.labels = torch.from_numpy(train.labels).to(device)
        self.synthetic_np = synthetic
        self.synthetic = torch.from_numpy(synthetic).to(device)
        self.eval_sets = {
            name: (ImageRows(s.images, device, resident=False), s) for name, s in eval_sets.items()
        }
        self.metric_suites = {
            name: metric_suites_for(s, self.n_classes) for name, s in eval_sets.items()
        }
        self.generator = torch.Generator().manual_seed(trainer.seed)
        self.history: list = []
        self.losses: list = []
        self.state: TrainState | None = None
        self.steps = 0
        # extension points, set by Trainer.fit; phases may change them during training
        self.batch_transform = None
        self.soft_targets: torch.Tensor | None = None  # per-row targets (Trainer.fit)
        self.phases: list = []
        self.real_counts = np.bincount(train.labels[~synthetic], minlength=self.n_classes)
        self.frozen: list = []  # modules a phase froze: kept in evaluation mode
        self.stream: RowStream | None = None
        self.post_hoc = None  # adjusts the model after the last epoch, before its evaluation
        self.post_hoc_record: dict | None = None

    def _callbacks(self, hook: str) -> None:
        for cb in self.trainer.callbacks:
            getattr(cb, hook)(self.state)

    def _epochs(
        self,
        stage,
        n_epochs,
        rows,
        objective,
        batch_loss,
        on_epoch_start=None,
        rows_per_epoch=None,
        restarts=(),
    ):
        """``n_epochs`` epochs of ``batch_loss``; each epoch in ``restarts`` starts a new
        optimizer and learning-rate schedule (over the parameters still trained) that lasts to
        the next restart, and the first schedule ends at the first restart."""
        model, config = self.model, self.config
        rows_per_epoch = len(rows) if rows_per_epoch is None else rows_per_epoch
        stream = self.stream = RowStream(len(rows), rows_per_epoch, self.generator)
        steps_per_epoch = len(batch_sizes(rows_per_epoch, config.batch_size))
        bounds = sorted({e for e in restarts if 0 < e < n_epochs})
        optimizer = make_optimizer(config, model.parameters())
        n_steps = (bounds[0] if bounds else n_epochs) * steps_per_epoch
        schedule = make_schedule(config, optimizer, n_steps)
        self.state = TrainState(stage, 0, n_epochs, model, objective, history=self.history)
        for epoch in range(n_epochs):
            self.state.epoch = epoch
            self._callbacks("on_epoch_start")
            if on_epoch_start is not None:
                on_epoch_start(epoch)
            if epoch in bounds:
                end = next((b for b in bounds if b > epoch), n_epochs)
                trained = [p for p in model.parameters() if p.requires_grad]
                optimizer = make_optimizer(config, trained)
                schedule = make_schedule(config, optimizer, (end - epoch) * steps_per_epoch)
            model.train()
            for module in self.frozen:
                module.eval()
            total = torch.zeros((), device=self.device)
            batches = stream.batches(config.batch_size)
            for step, idx in enumerate(batches):
                loss = batch_loss(rows[idx], epoch)
                _check_finite(loss, stage, epoch, step, config.lr)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                if schedule is not None:
                    schedule.step()
                total += loss.detach()
            if stage == "train":
                self.steps += len(batches)
            self.state.loss = float(total) / max(len(batches), 1)
            self.losses.append({"stage": stage, "epoch": epoch + 1, "loss": self.state.loss})
            if stage == "train" and epoch + 1 == n_epochs and self.post_hoc is not None:
                self._post_hoc()
            if stage == "train" and ((epoch + 1) % config.eval_every == 0 or epoch + 1 == n_epochs):
                self._evaluate(epoch + 1)
                self._callbacks("on_evaluate")
            self._callbacks("on_epoch_end")

    def inputs(self, rows: torch.Tensor) -> torch.Tensor:
        """Training rows at index tensor ``rows`` as network inputs (augmented, standardised)."""
        return self.pipeline(self.images[rows], train=True, generator=self.generator)

    def pretrain(self, settings) -> None:
        """Triplet stage: anchors from ``settings.anchors``, real positives and negatives.

        With ``epoch_rows="all"`` an epoch is one pass over every anchor (the papers' epochs).
        Otherwise it feeds the network as many images as a classifier epoch: a third as many
        anchors as the classifier's rows per epoch (``TrainConfig.epoch_rows``, rounded up; at
        most every anchor), each anchor bringing a positive and a negative, drawn from a
        running permutation of the anchors. So with ``"real"`` the stage's cost follows the
        real rows, not what the sampler added.
        """
        sampler = TripletSampler(
            self.labels_np, self.synthetic_np, self.n_classes, self.class_names
        )
        rows = torch.from_numpy(settings.anchor_rows(self.synthetic_np))
        embed = self.model.embed

        def batch_loss(anchors, epoch):
            positives, negatives = sampler.sample(anchors, self.generator)
            emb = embed(self.inputs(torch.cat([anchors, positives, negatives])))
            a, p, n = emb.split(len(anchors))
            return triplet_loss(a, p, n, settings.margin)

        self._epochs(
            "pretrain",
            settings.epochs,
            rows,
            None,
            batch_loss,
            rows_per_epoch=settings.anchors_per_epoch(
                len(rows), self.config, self._rows_per_epoch()
            ),
        )

    def train(self, objective) -> None:
        """Classifier stage with ``objective``; evaluates on the eval splits."""
        model = self.model
        rows = torch.arange(len(self.labels))

        def on_epoch_start(epoch):
            for start, phase in self.phases:
                if start == epoch:
                    phase.begin(
                        PhaseContext(self, epoch, self.config.epochs, objective, self.real_counts)
                    )
            objective.on_epoch_start(
                EpochContext(
                    epoch,
                    model,
                    self.images,
                    self.labels,
                    self.synthetic,
                    self.pipeline,
                    self.config.eval_batch_size,
                    self.class_names,
                )
            )

        def batch_loss(idx, epoch):
            idx = idx.to(self.device)
            x, y, syn = self.inputs(idx), self.labels[idx], self.synthetic[idx]
            soft = None if self.soft_targets is None else self.soft_targets[idx]
            if self.batch_transform is not None:
                x, soft = self.batch_transform(x, y, epoch=epoch, generator=self.generator)
            if objective.needs_embeddings:
                emb = model.embed(x)
                logits = model.head(emb)
            else:
                emb, logits = None, model(x)
            return objective(logits, y, epoch=epoch, synthetic=syn, embeddings=emb, soft=soft)

        self._epochs(
            "train",
            self.config.epochs,
            rows,
            objective,
            batch_loss,
            on_epoch_start,
            rows_per_epoch=self._rows_per_epoch(),
            restarts=[start for start, phase in self.phases if phase.restarts_schedule],
        )

    def _post_hoc(self) -> None:
        """Run the recipe's post-hoc adjustment on the ``"val"`` split."""
        images, split = self.eval_sets["val"]
        model, batch = self.model, self.config.eval_batch_size
        embeddings = _forward(model.embed, model, images, self.pipeline, batch)
        metric = self.config.best_metric

        def score(logits):
            proba = torch.softmax(logits.double(), dim=1).cpu().numpy()
            metrics = {}
            for suite in self.metric_suites["val"]:
                metrics.update(suite.compute(split, proba, self.trainer.evaluate))
            return metrics.get(metric, float("nan"))

        was_training = model.training
        model.eval()
        try:
            context = PostHocContext(model, embeddings, split.labels, score, metric)
            self.post_hoc_record = self.post_hoc.fit(context)
        finally:
            model.train(was_training)

    def _rows_per_epoch(self) -> int:
        """Rows of one classifier epoch (``TrainConfig.epoch_rows``)."""
        return self.config.rows_per_epoch(len(self.labels), int((~self.synthetic_np).sum()))

    def _evaluate(self, epoch: int) -> None:
        for name, (images, split) in self.eval_sets.items():
            proba = predict_proba(self.model, images, self.pipeline, self.config.eval_batch_size)
            metrics = {}
            for suite in self.metric_suites[name]:
                metrics.update(suite.compute(split, proba, self.trainer.evaluate))
            self.history.append({"epoch": epoch, "split": name, "metrics": metrics})
