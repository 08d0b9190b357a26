"""Latent strategies: over-sampling rules on 2-D arrays (flattened pixels or latent codes).

A :class:`LatentStrategy` turns ``(Z, y)`` plus ``{class: rows to make}`` into new
rows and their :class:`~deepbalance.samplers.provenance.Provenance`. The classic
rules are imbalanced-learn's over-samplers, wrapped by :class:`ImblearnStrategy`,
which only adds what imbalanced-learn does not report: where each new row came
from. This module is the registry (:data:`STRATEGIES`, :func:`make_strategy`); the
classes live in :mod:`deepbalance.samplers.strategy_base` and are re-exported here.

What the provenance of each imbalanced-learn sampler gives
----------------------------------------------------------
- ``SMOTE``, ``ADASYN`` and ``RandomOverSampler`` (without shrinkage) run through one
  interpolation kernel (:meth:`ImblearnStrategy.sample_rows`) that makes each new row from
  a base row, a neighbour and a step ``lam`` and records them as it goes — provenance by
  construction: ``Z_new == Z[base] + lam * (Z[neighbor] - Z[base])`` exactly (a copy for
  ``RandomOverSampler``: neighbour -1, ``lam`` NaN). Its draws are imbalanced-learn's own,
  in the same order from the same random state, so the rows are the ones imbalanced-learn's
  ``fit_resample`` returns, bit for bit (tests/samplers/test_pixel_scale.py checks it).
- Any other over-sampler (``BorderlineSMOTE``, ``SVMSMOTE``, ``KMeansSMOTE``, a
  shrinking ``RandomOverSampler``, your own) runs unchanged. Its provenance is what it
  exposes — the copied row from ``sample_indices_`` where it has one — or else is recovered
  from its output by :func:`segment_provenance`: for each new row, the pair of same-class
  neighbouring rows whose segment holds it (exact base, neighbour and ``lam`` for
  interpolations between same-class neighbours, as BorderlineSMOTE-1 and KMeansSMOTE make;
  rows on no such segment — SVMSMOTE's extrapolations, BorderlineSMOTE-2's steps towards
  other classes — get the nearest row of their class as base, neighbour -1 and ``lam`` NaN).
"""

from __future__ import annotations

from ..registry import Registry
from .calibration import WeightedCalibration
from .mixup import LatentMixupStrategy
from .strategy_base import (
    IMBLEARN_NAMES,
    SHORTFALL_CHOICES,
    ImblearnStrategy,
    LatentStrategy,
    check_latent_inputs,
    is_oversampler,
    segment_provenance,
)

__all__ = [
    "SHORTFALL_CHOICES",
    "STRATEGIES",
    "ImblearnStrategy",
    "LatentStrategy",
    "WeightedCalibration",
    "check_latent_inputs",
    "make_strategy",
    "segment_provenance",
]

#: name -> factory returning a :class:`LatentStrategy` (``make_strategy`` looks names up here)
STRATEGIES: Registry = Registry("latent strategy")


def make_strategy(spec) -> LatentStrategy:
    """Turn a name, an imbalanced-learn over-sampler or a strategy into a :class:`LatentStrategy`.

    Parameters
    ----------
    spec : str, imblearn over-sampler instance or LatentStrategy
        Names: see ``STRATEGIES.names()`` ("smote", "adasyn", "borderline-smote",
        "svm-smote", "kmeans-smote", "random", "calibration", "mixup"). An over-sampler
        instance is wrapped in :class:`ImblearnStrategy`; a strategy is returned as is.
    """
    if isinstance(spec, LatentStrategy):
        return spec
    if isinstance(spec, str):
        return STRATEGIES.get(spec)()
    if is_oversampler(spec):
        return ImblearnStrategy(spec)
    raise TypeError(
        f"strategy={spec!r} must be a name ({', '.join(STRATEGIES.names())}), an "
        "imbalanced-learn over-sampler instance (e.g. SMOTE()) or a LatentStrategy"
    )


for _cls, _name in IMBLEARN_NAMES.items():
    STRATEGIES.register(_name, lambda _cls=_cls: ImblearnStrategy(_cls()))
STRATEGIES.register("calibration", WeightedCalibration)
STRATEGIES.register("mixup", LatentMixupStrategy)
