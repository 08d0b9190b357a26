"""Per-method learning-rate search on a validation split.

CLE-SMOTE (Lee et al. 2024 §3: "For each method, we ran a search to find the optimal learning rate")
and its chest X-ray study (CLE-SMOTE CXR 2024 §3.3: "For each method, we ran a hyperparameter search
to determine the optimal learning rate") tune the learning rate per method but do not say on which
data the candidates are scored. Here it is always a stratified validation split carved from the
training rows before any resampling (:func:`deepbalance.training.split_validation`), never a test
set; the chosen rate then trains the run that is reported.
"""

from __future__ import annotations

import math
import numbers
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

from ._checks import check_choice, check_float
from .data.imageset import ImageSet
from .methods import Method, run_method
from .training import TrainConfig  # noqa: TC001 (documented type)

__all__ = ["DEFAULT_SEARCH_FRACTION", "LRSearch", "check_lr_grid", "search_learning_rate"]

#: Validation fraction of a search when the recipe carves none itself (``val_fraction=0``).
DEFAULT_SEARCH_FRACTION = 0.15


@dataclass(frozen=True)
class LRSearch:
    """Outcome of :func:`search_learning_rate`.

    Attributes
    ----------
    chosen : float
        The learning rate with the highest validation score (the first of equals).
    scores : dict of float to float
        Validation score of every candidate, in the grid's order.
    metric, selection : str
        What was compared: ``metric`` on ``"val"``, after the last epoch (``"final"``) or at
        its best evaluation (``"best"``).
    fraction : float
        Share of the training rows held out for validation.
    seconds : float
        Wall time of the whole search.
    results : dict of float to RunResult
        Every candidate's run (trained on the rows outside the validation split).
    """

    chosen: float
    scores: dict
    metric: str
    selection: str
    fraction: float
    seconds: float
    results: dict = field(default_factory=dict, repr=False, compare=False)

    def as_dict(self) -> dict:
        """Plain JSON data (the scores as ``[[lr, score], ...]``)."""
        return {
            "chosen": self.chosen,
            "scores": [[lr, score] for lr, score in self.scores.items()],
            "metric": self.metric,
            "selection": self.selection,
            "fraction": self.fraction,
            "seconds": self.seconds,
        }


def check_lr_grid(grid, name: str = "lr_grid") -> tuple[float, ...]:
    """``grid`` as a tuple of distinct, finite, positive learning rates."""
    if isinstance(grid, str | bytes) or not isinstance(grid, Sequence) or not grid:
        raise ValueError(
            f"{name}={grid!r} must be a non-empty list of learning rates, e.g. [0.1, 0.01, 0.001]"
        )
    rates = []
    for value in grid:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"{name}={list(grid)!r}: {value!r} is not a number")
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"{name}={list(grid)!r}: {value!r} must be a finite rate > 0")
        rates.append(float(value))
    if len(set(rates)) != len(rates):
        raise ValueError(f"{name}={list(grid)!r} repeats a rate; list each once")
    return tuple(rates)


def search_learning_rate(
    method: str | Method,
    train: ImageSet,
    *,
    config: TrainConfig,
    seed: int,
    grid: Sequence[float],
    metric: str | None = None,
    selection: str = "best",
    fraction: float | None = None,
    eval_sets=None,
    cache_dir=None,
    progress: bool = False,
    run=None,
) -> LRSearch:
    """Train ``method`` once per learning rate in ``grid`` and keep the best on validation.

    Parameters
    ----------
    method : str or Method
    train : ImageSet
        The training set; the validation rows are carved from it (stratified, seeded by
        ``seed`` as :func:`deepbalance.methods.run_method` does) before resampling.
    config : TrainConfig
        The recipe; only ``lr`` (and ``val_fraction``) change between candidates.
    seed : int
        The run's seed: the same split, sampler and initialisation for every candidate.
    grid : list of float
        Candidate learning rates.
    metric : str, optional
        Validation metric to maximise (default ``config.best_metric``).
    selection : {"best", "final"}
        Score a candidate by its best validation evaluation or its last one.
    fraction : float, optional
        Validation share; default ``config.val_fraction`` when it is > 0, else
        :data:`DEFAULT_SEARCH_FRACTION`.
    eval_sets : dict of str to ImageSet, optional
        Further splits every candidate is evaluated on (never used to choose), so that when
        the reported run uses the same validation split, the chosen candidate's run is it.
    cache_dir, progress
        As in :func:`deepbalance.methods.run_method`.
    run : callable, optional
        What trains a candidate (default :func:`deepbalance.methods.run_method`; the benchmark
        runner passes its own).

    Returns
    -------
    LRSearch
    """
    started = time.perf_counter()
    rates = check_lr_grid(grid, "grid")
    run = run_method if run is None else run
    if not hasattr(config, "replace") or not hasattr(config, "best_metric"):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    selection = check_choice(selection, "selection", ("best", "final"))
    metric = config.best_metric if metric is None else metric
    if fraction is None:
        fraction = config.val_fraction if config.val_fraction > 0 else DEFAULT_SEARCH_FRACTION
    fraction = check_float(fraction, "fraction", min_value=0.0, max_value=0.5)
    if fraction == 0:
        raise ValueError("fraction=0 leaves nothing to score the rates on; pass e.g. 0.15")
    scores: dict[float, float] = {}
    results = {}
    for lr in rates:
        result = results[lr] = run(
            method,
            train,
            dict(eval_sets or {}),
            config=config.replace(lr=lr, val_fraction=fraction),
            seed=seed,
            cache_dir=cache_dir,
            progress=progress,
        )
        numbers_on_val = (result.best if selection == "best" else result.final).get("val", {})
        if metric not in numbers_on_val:
            raise ValueError(
                f"metric={metric!r} is not measured on the validation split (it has "
                f"{', '.join(sorted(numbers_on_val)) or 'nothing'}); pick one of those"
            )
        scores[lr] = float(numbers_on_val[metric])
    ranked = [lr for lr in rates if not math.isnan(scores[lr])]
    if not ranked:
        warnings.warn(
            f"no learning rate of {list(rates)} gave a {metric} on the validation split (all "
            f"NaN); keeping the first, {rates[0]}",
            UserWarning,
            stacklevel=2,
        )
    chosen = max(ranked, key=lambda lr: scores[lr]) if ranked else rates[0]
    seconds = time.perf_counter() - started
    return LRSearch(chosen, scores, metric, selection, fraction, seconds, results)
