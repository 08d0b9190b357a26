"""Classification metrics for imbalanced data (numpy, scikit-learn and imbalanced-learn only).

:func:`evaluate` returns every number the benchmark records; each metric is also a small public
function. :data:`METRIC_SUITES` is the one place that maps a metric name to what computes it
and what it needs (see "The metrics registry" below). Conventions (the same in every function):

- ``labels`` are the classes the metrics cover, in the order of ``per_class_recall`` and of the
  columns of ``y_score``. Default: ``0..K-1`` when ``y_score`` has ``K`` columns, otherwise the
  sorted labels seen in ``y_true`` and ``y_pred``. Every label in ``y_true`` must be in
  ``labels``; predictions outside ``labels`` simply count as errors.
- A class of ``labels`` that never occurs in ``y_true`` has no defined recall or AUROC: its
  ``per_class_recall`` entry is NaN, it is left out of every average and a ``UserWarning`` names
  it. ``per_class_recall`` is scikit-learn's ``recall_score(average=None, zero_division=nan)``
  and ``acsa`` its ``balanced_accuracy_score`` (the mean recall over the classes present).
- A class that is never predicted has precision 0 (``zero_division=0``), recall 0 and F1 0.

The metrics registry
--------------------
A :class:`MetricSuite` is a group of metrics computed together on one evaluation split from
its labels and the model's class probabilities: ``"classification"`` (:func:`evaluate`, here)
for every split whose labels are the model's classes, and suites that other modules register
for the splits they make — the chest X-ray study's normal-vs-abnormal AUROC registers from
:mod:`deepbalance.data.frameworks`. A split asks for a suite through its ``meta`` (the suite's
``wants`` reads it), so the trainer computes what each split asks for without knowing any data
set. Specs, reports and model selection take metric names from :func:`metric_names`. The suites
of :mod:`deepbalance.data` register when that package is imported (importing any of its modules
does; the trainer, the samplers and the benchmark all do).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from imblearn.metrics import geometric_mean_score
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    precision_recall_fscore_support,
    recall_score,
    roc_auc_score,
)

__all__ = [
    "METRIC_SUITES",
    "MetricSuite",
    "accuracy",
    "acsa",
    "auroc",
    "confusion",
    "evaluate",
    "geometric_mean",
    "macro_f1",
    "macro_precision",
    "macro_recall",
    "metric_label",
    "metric_names",
    "metric_suites_for",
    "per_class_recall",
    "register_metric_suite",
]


# --------------------------------------------------------------------------------------------
# input checks


def _check_targets(y, name: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        hint = " (take y_score.argmax(1) for predictions)" if name == "y_pred" else ""
        raise ValueError(f"{name} must be 1-D with one label per sample, got shape {y.shape}{hint}")
    if y.size == 0:
        raise ValueError(f"{name} is empty; pass at least one sample")
    if y.dtype.kind == "f" and not np.all(np.isfinite(y) & (np.mod(y, 1) == 0)):
        raise ValueError(
            f"{name} holds non-integer values; pass class labels (not scores) as {name} "
            "and probabilities or scores as y_score"
        )
    if y.dtype.kind == "f":
        y = y.astype(np.int64)
    return y


def _check_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = _check_targets(y_true, "y_true"), _check_targets(y_pred, "y_pred")
    if len(y_true) != len(y_pred):
        raise ValueError(
            f"y_true has {len(y_true)} samples but y_pred has {len(y_pred)}; pass one "
            "prediction per sample"
        )
    return y_true, y_pred


def _check_scores(y_score, n_samples: int) -> np.ndarray:
    try:
        scores = np.asarray(y_score, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError("y_score must be numeric: probabilities (N, K) or scores (N,)") from None
    if scores.ndim not in (1, 2) or len(scores) != n_samples:
        raise ValueError(
            f"y_score must have shape ({n_samples},) or ({n_samples}, K) to match y_true, got "
            f"{scores.shape}; pass one row of class scores per sample"
        )
    if scores.ndim == 2 and scores.shape[1] < 2:
        raise ValueError(
            f"y_score has {scores.shape[1]} column; pass one column per class, or shape (N,) "
            "with the positive-class score for binary problems"
        )
    if not np.all(np.isfinite(scores)):
        raise ValueError("y_score holds NaN or infinite values; pass finite scores")
    return scores


def _resolve_labels(y_true, y_pred=None, labels=None, n_columns: int | None = None) -> np.ndarray:
    if labels is None:
        if n_columns is not None:
            labels = np.arange(n_columns)
        else:
            seen = y_true if y_pred is None else np.concatenate([y_true, y_pred])
            labels = np.unique(seen)
    else:
        labels = np.asarray(labels)
        if labels.ndim != 1 or labels.size == 0:
            raise ValueError(f"labels={labels.tolist()!r} must be a non-empty 1-D list of classes")
        if len(np.unique(labels)) != len(labels):
            raise ValueError(f"labels={labels.tolist()!r} repeats a class; list each class once")
    unknown = np.setdiff1d(np.unique(y_true), labels)
    if unknown.size:
        raise ValueError(
            f"y_true holds label(s) {unknown.tolist()} that are not in labels={labels.tolist()}; "
            "pass labels listing every class"
        )
    return labels


def _present(y_true, labels, *, warn: bool) -> np.ndarray:
    """The classes of ``labels`` that occur in ``y_true``."""
    mask = np.isin(labels, y_true)
    if warn and not mask.all():
        warnings.warn(
            f"class(es) {labels[~mask].tolist()} do not occur in y_true: their recall and AUROC "
            "are undefined (NaN) and left out of the averages",
            UserWarning,
            stacklevel=3,
        )
    return labels[mask]


def _prepare(y_true, y_pred, labels, *, warn: bool = True):
    y_true, y_pred = _check_pair(y_true, y_pred)
    labels = _resolve_labels(y_true, y_pred, labels)
    return y_true, y_pred, labels, _present(y_true, labels, warn=warn)


# --------------------------------------------------------------------------------------------
# implementations on checked inputs


def _per_class_recall(y_true, y_pred, labels) -> np.ndarray:
    # a class absent from y_true has recall 0/0: NaN, which the averages leave out
    recall = recall_score(y_true, y_pred, labels=labels, average=None, zero_division=np.nan)
    return np.asarray(recall, dtype=np.float64)


def _acsa(y_true, y_pred) -> float:
    # scikit-learn's balanced accuracy averages the recall of the classes present in y_true,
    # the absent-class rule of this module; _present has already warned about absent classes
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "y_pred contains classes not in y_true")
        return float(balanced_accuracy_score(y_true, y_pred))


def _macro_prf(y_true, y_pred, present) -> tuple[float, float, float]:
    p, r, f, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=present, average="macro", zero_division=0
    )
    return float(p), float(r), float(f)


def _gm(y_true, y_pred, present) -> float:
    return float(geometric_mean_score(y_true, y_pred, labels=present, average="macro"))


def _score_columns(scores, labels) -> list[tuple[object, np.ndarray]]:
    """``(label, score column)`` pairs to rank: the positive class only for binary scores."""
    if scores.ndim == 1 or scores.shape[1] == 2:
        if len(labels) != 2:
            raise ValueError(
                f"binary y_score needs exactly 2 labels, got labels={labels.tolist()}; pass "
                "labels=[negative, positive] or probabilities of shape (N, K) for K classes"
            )
        return [(labels[1], scores if scores.ndim == 1 else scores[:, 1])]
    if scores.shape[1] != len(labels):
        raise ValueError(
            f"y_score has {scores.shape[1]} columns but labels={labels.tolist()} has "
            f"{len(labels)} classes; pass one column per label, in the same order"
        )
    return [(label, scores[:, k]) for k, label in enumerate(labels)]


def _auroc(y_true, columns) -> float:
    # One-vs-rest AUROC per class, averaged over the classes whose AUROC is defined (the class
    # and its rest both occur): the multiclass figure CLE-SMOTE reports.
    values = []
    for label, score in columns:
        member = y_true == label
        if 0 < member.sum() < len(member):
            values.append(roc_auc_score(member, score))
    if not values:
        warnings.warn(
            "AUROC is undefined when y_true holds a single class; returning NaN",
            UserWarning,
            stacklevel=3,
        )
        return float("nan")
    return float(np.mean(values))


# --------------------------------------------------------------------------------------------
# public metrics


def per_class_recall(y_true, y_pred, *, labels=None) -> np.ndarray:
    """Recall (class-specific accuracy) of each class of ``labels``; NaN for absent classes."""
    y_true, y_pred, labels, _ = _prepare(y_true, y_pred, labels)
    return _per_class_recall(y_true, y_pred, labels)


def acsa(y_true, y_pred, *, labels=None) -> float:
    """Average class-specific accuracy (= balanced accuracy): the mean recall over classes."""
    y_true, y_pred, _, _ = _prepare(y_true, y_pred, labels)
    return _acsa(y_true, y_pred)


def geometric_mean(y_true, y_pred, *, labels=None) -> float:
    """Macro geometric mean, the GM reported by DeepSMOTE.

    imbalanced-learn's ``geometric_mean_score(average="macro")``: the square root of the macro
    sensitivity (mean recall) times the macro one-vs-rest specificity. Unlike
    ``average="multiclass"`` (the K-th root of the product of recalls) it does not collapse to 0
    as soon as one class is never recognised, so it still ranks methods on many-class data.
    """
    y_true, y_pred, _, present = _prepare(y_true, y_pred, labels)
    return _gm(y_true, y_pred, present)


def macro_precision(y_true, y_pred, *, labels=None) -> float:
    """Unweighted mean precision over classes; a never-predicted class counts 0."""
    y_true, y_pred, _, present = _prepare(y_true, y_pred, labels)
    return _macro_prf(y_true, y_pred, present)[0]


def macro_recall(y_true, y_pred, *, labels=None) -> float:
    """Unweighted mean recall over classes (equals :func:`acsa`)."""
    y_true, y_pred, _, present = _prepare(y_true, y_pred, labels)
    return _macro_prf(y_true, y_pred, present)[1]


def macro_f1(y_true, y_pred, *, labels=None) -> float:
    """Unweighted mean F1 over classes; a never-predicted class counts 0."""
    y_true, y_pred, _, present = _prepare(y_true, y_pred, labels)
    return _macro_prf(y_true, y_pred, present)[2]


def accuracy(y_true, y_pred) -> float:
    """Fraction of samples predicted correctly."""
    y_true, y_pred = _check_pair(y_true, y_pred)
    return float(accuracy_score(y_true, y_pred))


def auroc(y_true, y_score, *, labels=None) -> float:
    """Area under the ROC curve.

    Parameters
    ----------
    y_true : array-like of shape (N,)
    y_score : array-like of shape (N,) or (N, K)
        Binary: the score of the positive class ``labels[1]`` (or two columns, the second
        used). Multiclass: one column per class of ``labels`` (probabilities or any scores).
    labels : array-like, optional
        Default: ``0..K-1`` for ``(N, K)`` scores, the sorted labels of ``y_true`` for ``(N,)``.

    Returns
    -------
    float
        Binary AUROC, or for ``K > 2`` the mean one-vs-rest AUROC over the classes present in
        ``y_true``. NaN (with a warning) when ``y_true`` holds a single class.
    """
    y_true = _check_targets(y_true, "y_true")
    scores = _check_scores(y_score, len(y_true))
    n_columns = scores.shape[1] if scores.ndim == 2 else None
    labels = _resolve_labels(y_true, None, labels, n_columns)
    columns = _score_columns(scores, labels)
    _present(y_true, labels, warn=True)
    return _auroc(y_true, columns)


def confusion(y_true, y_pred, *, labels=None) -> np.ndarray:
    """Confusion matrix over ``labels``: row = true class, column = predicted class.

    scikit-learn's ``confusion_matrix`` (counts, not normalised); predictions outside
    ``labels`` are not counted in any column.
    """
    y_true, y_pred, labels, _ = _prepare(y_true, y_pred, labels, warn=False)
    return confusion_matrix(y_true, y_pred, labels=labels)


def evaluate(y_true, y_pred, y_score=None, *, labels=None) -> dict[str, float | list]:
    """Every metric of the benchmark in one dict.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (N,)
        True and predicted class labels.
    y_score : array-like of shape (N,) or (N, K), optional
        Class probabilities or scores; adds ``"auroc"`` (see :func:`auroc`).
    labels : array-like, optional
        The classes covered, in order (see the module notes for the default).

    Returns
    -------
    dict
        ``acsa``, ``gm``, ``macro_precision``, ``macro_recall``, ``macro_f1``, ``accuracy``,
        ``per_class_recall`` (list in ``labels`` order, NaN for classes absent from ``y_true``),
        ``confusion_matrix`` (list of rows, true class by predicted class, in ``labels``
        order; see :func:`confusion`) and, with ``y_score``, ``auroc``. Scalars are plain
        Python floats.
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    scores = n_columns = None
    if y_score is not None:
        scores = _check_scores(y_score, len(y_true))
        n_columns = scores.shape[1] if scores.ndim == 2 else None
    labels = _resolve_labels(y_true, y_pred, labels, n_columns)
    columns = None if scores is None else _score_columns(scores, labels)
    present = _present(y_true, labels, warn=True)

    recall = _per_class_recall(y_true, y_pred, labels)
    precision_, recall_, f1_ = _macro_prf(y_true, y_pred, present)
    result: dict[str, float | list] = {
        "acsa": _acsa(y_true, y_pred),
        "gm": _gm(y_true, y_pred, present),
        "macro_precision": precision_,
        "macro_recall": recall_,
        "macro_f1": f1_,
        "per_class_recall": [float(r) for r in recall],
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }
    if columns is not None:
        result["auroc"] = _auroc(y_true, columns)
    return result


# --------------------------------------------------------------------------------------------
# the metrics registry


@dataclass(frozen=True)
class MetricSuite:
    """Metrics computed together on one evaluation split.

    Parameters
    ----------
    name : str
        Registry name.
    scalars : dict of str to str
        Scalar metric names this suite returns, each with its display label ("ACSA"); these
        are the names specs, reports and ``TrainConfig.best_metric`` may use.
    needs : tuple of str
        What the suite reads, for documentation and error messages: ``"labels"`` (class
        labels of the model's classes), ``"scores"`` (class probabilities), ``"normal_class"``
        (``split.meta["normal_class"]``).
    wants : callable
        ``wants(split, n_classes) -> bool``: whether ``split`` asks for this suite when scored
        against ``n_classes`` probability columns.
    compute : callable
        ``compute(split, proba, evaluate) -> dict`` of metric values (scalars and lists);
        ``evaluate`` is the classification evaluator in use (:func:`evaluate` by default).
    exclusive : callable, optional
        ``exclusive(split, n_classes) -> bool``: the split's labels are not the model's classes
        (e.g. normal/abnormal labels against six classes), so only the suites that say so score
        it; the others' metrics are undefined there.
    """

    name: str
    scalars: dict
    needs: tuple
    wants: Callable
    compute: Callable = field(repr=False)
    exclusive: Callable | None = field(default=None, repr=False)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"MetricSuite name={self.name!r} must be a non-empty string")
        if not isinstance(self.scalars, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.scalars.items()
        ):
            raise TypeError(
                f"MetricSuite {self.name!r}: scalars={self.scalars!r} must map metric names to "
                "display labels, e.g. {'acsa': 'ACSA'}"
            )
        unknown = sorted(set(self.needs) - set(NEEDS))
        if unknown:
            raise ValueError(
                f"MetricSuite {self.name!r}: needs={self.needs!r} names {unknown}; choose from "
                f"{', '.join(NEEDS)}"
            )
        for hook in ("wants", "compute"):
            if not callable(getattr(self, hook)):
                raise TypeError(f"MetricSuite {self.name!r}: {hook} must be callable")
        if self.exclusive is not None and not callable(self.exclusive):
            raise TypeError(f"MetricSuite {self.name!r}: exclusive must be callable or None")


#: What a suite may need from a split (see :class:`MetricSuite`).
NEEDS = ("labels", "scores", "normal_class")
#: Registered suites, in registration order (their scalars list in that order).
METRIC_SUITES: dict[str, MetricSuite] = {}


def register_metric_suite(suite: MetricSuite) -> MetricSuite:
    """Add ``suite`` to :data:`METRIC_SUITES`; its scalar names must be new."""
    if not isinstance(suite, MetricSuite):
        raise TypeError(f"suite must be a MetricSuite, got {type(suite).__name__}")
    if suite.name in METRIC_SUITES:
        raise ValueError(f"metric suite {suite.name!r} is already registered; pick another name")
    taken = {m: s.name for s in METRIC_SUITES.values() for m in s.scalars}
    clash = sorted(set(suite.scalars) & set(taken))
    if clash:
        raise ValueError(
            f"metric suite {suite.name!r} redefines {clash}, already computed by suite "
            f"{taken[clash[0]]!r}; give the metrics other names"
        )
    METRIC_SUITES[suite.name] = suite
    return suite


def metric_names() -> tuple[str, ...]:
    """Every registered scalar metric name, suite by suite in registration order."""
    return tuple(m for suite in METRIC_SUITES.values() for m in suite.scalars)


def metric_label(name: str) -> str:
    """The display label of metric ``name`` ("ACSA"), or ``name`` itself if unregistered."""
    for suite in METRIC_SUITES.values():
        if name in suite.scalars:
            return suite.scalars[name]
    return name


def metric_suites_for(split, n_classes: int) -> list[MetricSuite]:
    """The suites that score ``split`` (an ``ImageSet``) against ``n_classes`` columns."""
    wanted = [s for s in METRIC_SUITES.values() if s.wants(split, n_classes)]
    exclusive = [s for s in wanted if s.exclusive is not None and s.exclusive(split, n_classes)]
    return exclusive or wanted


def _classification(split, proba, evaluate) -> dict:
    labels = np.arange(proba.shape[1])
    with warnings.catch_warnings():
        # absent classes are reported once, with the split's name, when training starts
        warnings.filterwarnings("ignore", message=r".*do not occur in y_true")
        return evaluate(split.labels, proba.argmax(1), proba, labels=labels)


register_metric_suite(
    MetricSuite(
        "classification",
        scalars={
            "acsa": "ACSA",
            "gm": "GM",
            "macro_precision": "Macro P",
            "macro_recall": "Macro R",
            "macro_f1": "Macro F1",
            "auroc": "AUROC",
            "accuracy": "Accuracy",
        },
        needs=("labels", "scores"),
        wants=lambda split, n_classes: True,
        compute=_classification,
    )
)
