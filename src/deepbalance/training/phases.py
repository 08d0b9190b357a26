"""Phases: a change to training that takes effect at an epoch and lasts to the end.

A phase starts at a 0-based epoch (an int) or after a fraction of the epochs (a float in
[0, 1), e.g. 0.8 = Cao et al. 2019's epoch 160 of 200), and acts once, through the
:class:`PhaseContext` the trainer hands it: it may add a loss head (deferred re-weighting),
change which rows the epochs draw (deferred re-sampling), freeze layers (classifier
retraining) or stop the batch transform. The learning-rate schedule runs on over the whole
training, as one schedule, unless a phase ``restarts_schedule`` (classifier retraining): then
the epochs before it and the epochs from it on each get a fresh optimizer and a schedule of
their own.

A new phase is one :class:`Phase` subclass and one :data:`PHASES` line; docs/architecture.md
shows one.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np
import torch

from .._checks import check_float, check_int
from ..registry import Registry
from .losses import WEIGHTINGS, ClassWeights

PHASES: Registry = Registry("phase")


def check_start(start, name: str = "start"):
    """A phase start: an int epoch >= 0 or a float fraction in [0, 1)."""
    if isinstance(start, bool) or not isinstance(start, numbers.Real):
        raise TypeError(
            f"{name}={start!r} must be an int epoch (e.g. 8) or a float fraction of the epochs "
            "(e.g. 0.8)"
        )
    if isinstance(start, numbers.Integral):
        return check_int(start, name, min_value=0)
    return check_float(start, name, min_value=0.0, max_value=1.0, max_inclusive=False)


def start_epoch(start, epochs: int, name: str = "start") -> int:
    """The 0-based epoch a ``start`` means in a training of ``epochs`` epochs."""
    start = check_start(start, name)
    epoch = int(start) if isinstance(start, numbers.Integral) else int(start * epochs)
    if epoch >= epochs:
        raise ValueError(
            f"{name}={start!r} is epoch {epoch + 1} but training has only {epochs} epochs, so "
            f"the phase would never start; pass {name} < {epochs} (or a fraction such as 0.8)"
        )
    return epoch


class PhaseContext:
    """What a phase may change when it starts (built by the trainer).

    Attributes
    ----------
    epoch, n_epochs : int
    model : torch.nn.Module
    objective : training.losses.Objective
    real_counts : ndarray of int
        Real (non-synthetic) training rows per class.
    labels : ndarray of int
        Labels of every training row (synthetic included).
    synthetic : ndarray of bool
    """

    def __init__(self, loop, epoch: int, n_epochs: int, objective, real_counts):
        self._loop = loop
        self.epoch, self.n_epochs = epoch, n_epochs
        self.model, self.objective = loop.model, objective
        self.real_counts = np.asarray(real_counts)
        self.labels, self.synthetic = loop.labels_np, loop.synthetic_np
        self.class_names = loop.class_names

    def draw_rows(self, row_weights) -> None:
        """From now on, epochs draw their rows with replacement in proportion to
        ``row_weights`` (one non-negative weight per training row)."""
        w = np.asarray(row_weights, dtype=np.float64)
        if w.shape != self.labels.shape or not np.all(np.isfinite(w)) or (w < 0).any():
            raise ValueError(
                f"row_weights must be {len(self.labels)} finite non-negative weights, got "
                f"shape {w.shape}"
            )
        if w.sum() <= 0:
            raise ValueError("row_weights are all zero; give some rows a positive weight")
        self._loop.stream.draw_weighted(torch.as_tensor(w))

    def draw_from(self, rows) -> None:
        """From now on, each epoch is drawn without replacement from permutations of ``rows``
        (training-row indices; None: every row)."""
        if rows is not None:
            rows = np.asarray(rows)
            if rows.ndim != 1 or rows.size == 0 or not np.issubdtype(rows.dtype, np.integer):
                raise ValueError(f"rows must be a non-empty 1-D array of row indices, got {rows!r}")
            if rows.min() < 0 or rows.max() >= len(self.labels):
                raise ValueError(
                    f"rows must index the {len(self.labels)} training rows, got indices "
                    f"{int(rows.min())}..{int(rows.max())}"
                )
            rows = torch.from_numpy(rows.astype(np.int64))
        self._loop.stream.draw_from(rows)

    def class_balanced_row_weights(self) -> np.ndarray:
        """Row weights that draw every class equally often (``1 / rows of its class``)."""
        counts = np.bincount(self.labels, minlength=len(self.class_names)).astype(np.float64)
        return 1.0 / counts[self.labels]

    def freeze_features(self) -> None:
        """Train only ``model.head`` from now on; the frozen layers stay in evaluation mode
        (BatchNorm statistics fixed)."""
        head = getattr(self.model, "head", None)
        if not isinstance(head, torch.nn.Module):
            raise TypeError(
                "freezing the features needs a classifier with a `head` module; use one of "
                "deepbalance.nets.create_classifier"
            )
        keep = {id(p) for p in head.parameters()}
        for p in self.model.parameters():
            if id(p) not in keep:
                p.requires_grad_(False)
                p.grad = None
        self._loop.frozen = [
            m
            for m in self.model.modules()
            if m is not head and not any(p.requires_grad for p in m.parameters(recurse=False))
        ]

    def stop_batch_transform(self) -> None:
        """Train on the batches as they come (no mixup, CutMix, ...) from now on."""
        self._loop.batch_transform = None


class Phase:
    """A change at ``start`` (see the module notes); subclasses implement :meth:`begin`.

    Parameters
    ----------
    start : int or float
        0-based epoch, or a fraction of the epochs in [0, 1).
    """

    #: The phase starts a new stage: the epochs before it get a learning-rate schedule of
    #: their own, and so do the epochs from it on (with a fresh optimizer over the parameters
    #: still trained).
    restarts_schedule: bool = False

    def __init__(self, start):
        self.start = check_start(start)

    def start_epoch(self, epochs: int) -> int:
        return start_epoch(self.start, epochs)

    def begin(self, context: PhaseContext) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> dict:
        return {"name": type(self).__name__, "start": self.start}


@PHASES.register("reweight")
class Reweight(Phase):
    """Deferred re-weighting (DRW; Cao et al. 2019, §3.2): class weights of the
    cross-entropy switch on at ``start``.

    Parameters
    ----------
    start : int or float
    weighting : {"effective", "inverse"}
        Weights from the real class counts (:data:`training.losses.WEIGHTINGS`).
    beta : float
        Cui et al. 2019's beta for ``"effective"`` (0.9999 in Cao et al.).
    """

    def __init__(self, start, *, weighting: str = "effective", beta: float = 0.999):
        super().__init__(start)
        WEIGHTINGS.get(weighting)
        self.weighting = weighting
        self.beta = check_float(beta, "beta", min_value=0.0, max_value=1.0, max_inclusive=False)

    def class_weights(self, real_counts, class_names=None) -> np.ndarray:
        kw = {"beta": self.beta} if self.weighting == "effective" else {}
        return WEIGHTINGS.get(self.weighting)(real_counts, class_names=class_names, **kw)

    def begin(self, context: PhaseContext) -> None:
        w = self.class_weights(context.real_counts, context.class_names)
        context.objective.add(ClassWeights(w))


@PHASES.register("resample")
class Resample(Phase):
    """Deferred re-sampling (DRS; Cao et al. 2019, §4; Zhang et al. 2021, "Bag of Tricks",
    §3.2): epochs draw class-balanced rows from ``start`` on (instance-balanced before)."""

    def begin(self, context: PhaseContext) -> None:
        context.draw_rows(context.class_balanced_row_weights())


#: What the ``draw-rows`` phase draws each epoch from.
ROW_POOLS = ("real", "all", "class-balanced")


@PHASES.register("draw-rows")
class DrawRows(Phase):
    """From ``start`` on, epochs draw their rows from ``rows``.

    The composition of a sampler with a deferred or mixing method: with a sampler's
    resampled set, ``"real"`` trains on the real rows only (the data as given,
    instance-balanced: a sampler's rows left out), ``"all"`` on every row once per pass (the
    resampled set, synthetic rows included, as a plain run with the sampler does) and
    ``"class-balanced"`` draws every class equally often with replacement (as ``resample``).
    E.g. DeepSMOTE as the late-stage data of deferred re-sampling:
    ``[{"name": "draw-rows", "start": 0, "rows": "real"},
    {"name": "draw-rows", "start": 0.5, "rows": "all"}]``.

    Parameters
    ----------
    start : int or float
    rows : {"real", "all", "class-balanced"}
    """

    def __init__(self, start, *, rows: str = "real"):
        super().__init__(start)
        if rows not in ROW_POOLS:
            raise ValueError(
                f"rows={rows!r} is not a row pool; pass one of {', '.join(ROW_POOLS)} "
                "(real: the rows given before resampling; all: the resampled set)"
            )
        self.rows = rows

    def begin(self, context: PhaseContext) -> None:
        if self.rows == "class-balanced":
            context.draw_rows(context.class_balanced_row_weights())
        elif self.rows == "all":
            context.draw_from(None)
        else:
            context.draw_from(np.flatnonzero(~context.synthetic))

    def describe(self) -> dict:
        return {**super().describe(), "rows": self.rows}


@PHASES.register("retrain-classifier")
class RetrainClassifier(Phase):
    """Classifier retraining (cRT; Kang et al. 2020, §4): from ``start`` the features are
    frozen (BatchNorm statistics included), the head is re-initialised and trained on
    class-balanced rows.

    As in Kang et al., the two stages are two trainings: the instance-balanced stage's
    learning-rate schedule ends at ``start`` (its features are those of a finished run), and
    the retraining gets a fresh optimizer and the configured schedule over the remaining
    epochs. The whole run keeps the step budget of the others.

    Parameters
    ----------
    start : int or float
    restart_schedule : bool, default True
        False: the retraining continues the one schedule of the run instead (the features
        come from mid-schedule and the new head trains at the schedule's last, small rates).
    """

    def __init__(self, start, *, restart_schedule: bool = True):
        super().__init__(start)
        if not isinstance(restart_schedule, bool):
            raise TypeError(f"restart_schedule={restart_schedule!r} must be True or False")
        self.restarts_schedule = restart_schedule

    def begin(self, context: PhaseContext) -> None:
        context.freeze_features()
        head = context.model.head
        if hasattr(head, "reset_parameters"):
            head.reset_parameters()
        context.draw_rows(context.class_balanced_row_weights())


@PHASES.register("stop-batch-transform")
class StopBatchTransform(Phase):
    """The last epochs without the batch transform (Zhang et al. 2021, "Bag of Tricks", §3.3:
    fine-tuning after mixup without it)."""

    def begin(self, context: PhaseContext) -> None:
        context.stop_batch_transform()


def build_phase(spec) -> Phase:
    """A phase from ``{"name": ..., "start": ..., **params}`` (or a :class:`Phase`)."""
    if isinstance(spec, Phase):
        return spec
    if not isinstance(spec, Mapping) or "name" not in spec or "start" not in spec:
        raise TypeError(
            f"phase {spec!r} must be a table {{name = ..., start = ...}} with name one of "
            f"{', '.join(PHASES.names())}"
        )
    params = {k: v for k, v in spec.items() if k != "name"}
    cls = PHASES.get(spec["name"])
    try:
        return cls(**params)
    except TypeError as err:
        raise TypeError(f"phase {spec['name']!r}: {err}") from None
