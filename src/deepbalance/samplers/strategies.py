"""Latent strategies: over-sampling rules on 2-D arrays (flattened pixels or latent codes).

A :class:`LatentStrategy` turns ``(Z, y)`` plus ``{class: rows to make}`` into new
rows and their :class:`~deepbalance.samplers.provenance.Provenance`. The classic
rules are imbalanced-learn's over-samplers, wrapped by :class:`ImblearnStrategy`,
which only adds what imbalanced-learn does not report: where each new row came
from. This module is the registry (:data:`STRATEGIES`, :func:`make_strategy`); the
classes live in :mod:`deepbalance.samplers.strategy_base` and are re-exported here.

What the provenance of each imbalanced-learn sampler gives
----------------------------------------------------------
- SMOTE-type samplers (``SMOTE``, ``BorderlineSMOTE``, ``SVMSMOTE``,
  ``KMeansSMOTE`` and subclasses of ``BaseSMOTE``): exact base row, neighbour row
  and ``lam``, recorded from imbalanced-learn's own ``_generate_samples`` call, so
  ``Z_new == Z[base] + lam * (Z[neighbor] - Z[base])``. ``SVMSMOTE`` extrapolates
  away from the neighbour (``lam < 0``); BorderlineSMOTE-2 may use a neighbour of
  another class, with ``lam`` in [0, 0.5).
- ``ADASYN`` builds its rows inline: base, neighbour and ``lam`` are recovered by
  finding, among the class's rows, the pair whose segment contains the new row
  (checked by its residual). The identity above holds; when the two rows are
  each other's neighbours the roles may come out swapped (with ``lam`` -> 1 - lam).
- ``RandomOverSampler``: exact base from ``sample_indices_``; neighbour -1, ``lam`` NaN.
- Any other over-sampler: the same segment search as ADASYN; rows that lie on no
  segment get the nearest row of their class as base, neighbour -1 and ``lam`` NaN.
"""

from __future__ import annotations

from ..registry import Registry
from .calibration import WeightedCalibration
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
        "svm-smote", "kmeans-smote", "random", "calibration"). An over-sampler
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
