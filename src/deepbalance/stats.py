"""Paired tests over seeds, and what "within noise" means.

Two methods run on the same seeds (the same data split, initialisation and batch order per
seed) are compared by their paired per-seed values: the paired t-test
(``scipy.stats.ttest_rel``) below :data:`WILCOXON_MIN_PAIRS` pairs, the Wilcoxon signed-rank
test (``scipy.stats.wilcoxon``) from that many on. Special cases:

- fewer than 2 pairs: no test;
- the t-test with the same difference on every pair: no test (the t statistic is undefined);
- the Wilcoxon test with no difference on any pair: p = 1.

The switch is at 6 pairs because the exact two-sided Wilcoxon p-value of ``n`` pairs is at
least ``2 / 2**n``: 0.0625 at 5 pairs, so with 5 seeds it could never fall below
:data:`ALPHA` however consistent the difference (at 6 pairs its floor is 0.031).

A difference is *within noise* when its p-value is at least :data:`ALPHA` or it could not be
tested. The benchmark report's significance column and the comparison's verdict both use
:func:`paired_test`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ALPHA",
    "NO_DIFFERENCE",
    "NO_TEST",
    "PAIRED_T",
    "SAME_DIFFERENCE",
    "TOO_FEW_PAIRS",
    "WILCOXON",
    "WILCOXON_MIN_PAIRS",
    "PairedResult",
    "paired_test",
    "paired_values",
    "within_noise",
]

#: Significance level: a p-value below it is a real difference.
ALPHA = 0.05
#: From this many pairs on, the Wilcoxon signed-rank test replaces the paired t-test (the
#: fewest pairs whose exact two-sided p-value can fall below ALPHA: module notes).
WILCOXON_MIN_PAIRS = 6
PAIRED_T = "paired t-test"
WILCOXON = "Wilcoxon signed-rank"
NO_TEST = "none"
#: Why a result has the p-value it has, when no test statistic gave it.
TOO_FEW_PAIRS = "too few pairs"
NO_DIFFERENCE = "no difference"
SAME_DIFFERENCE = "same difference"


@dataclass(frozen=True)
class PairedResult:
    """``x - y`` paired.

    Attributes
    ----------
    n : int
        Pairs.
    difference : float
        Mean of the paired differences (NaN without pairs).
    test : str
        :data:`PAIRED_T`, :data:`WILCOXON` or, when no test could be made, the test the
        number of pairs calls for (:data:`NO_TEST` below 2 pairs).
    p_value : float or None
        None when no test could be made.
    reason : str
        "" after a test; else :data:`TOO_FEW_PAIRS`, :data:`NO_DIFFERENCE` (every
        difference 0) or :data:`SAME_DIFFERENCE` (the same non-zero difference on every pair).
    """

    n: int
    difference: float
    test: str
    p_value: float | None
    reason: str = ""

    @property
    def within_noise(self) -> bool:
        """No test, or p >= :data:`ALPHA`."""
        return within_noise(self.p_value)


def within_noise(p_value: float | None, alpha: float = ALPHA) -> bool:
    """Whether a difference with ``p_value`` (None: untestable) is within noise at ``alpha``."""
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha!r} must be a number in (0, 1), e.g. 0.05")
    if p_value is None:
        return True
    if isinstance(p_value, bool) or not isinstance(p_value, numbers.Real):
        raise TypeError(f"p_value={p_value!r} must be a number in [0, 1] or None")
    return not (math.isfinite(p_value) and p_value < alpha)


def paired_values(
    a_values: Sequence[float],
    a_keys: Sequence[Hashable],
    b_values: Sequence[float],
    b_keys: Sequence[Hashable],
) -> tuple[np.ndarray, np.ndarray]:
    """The values of ``a`` and ``b`` at the keys both have (e.g. seeds), in ``a``'s order."""
    if len(a_values) != len(a_keys) or len(b_values) != len(b_keys):
        raise ValueError(
            f"values and keys differ in length ({len(a_values)} vs {len(a_keys)}, "
            f"{len(b_values)} vs {len(b_keys)}); give one key per value"
        )
    common = [k for k in a_keys if k in b_keys]
    x = np.array([a_values[list(a_keys).index(k)] for k in common], dtype=float)
    y = np.array([b_values[list(b_keys).index(k)] for k in common], dtype=float)
    return x, y


def paired_test(x, y) -> PairedResult:
    """Test ``x`` against ``y``, paired element by element (module notes).

    Parameters
    ----------
    x, y : sequence of float
        The paired values, same length.
    """
    x = np.asarray(x, dtype=float).reshape(-1)
    y = np.asarray(y, dtype=float).reshape(-1)
    if x.shape != y.shape:
        raise ValueError(
            f"x and y must pair up: got {len(x)} and {len(y)} values; pass the values of the "
            "keys both have (see paired_values)"
        )
    n = len(x)
    diff = x - y
    mean = float(diff.mean()) if n else float("nan")
    if n < 2:
        return PairedResult(n, mean, NO_TEST, None, TOO_FEW_PAIRS)
    from scipy import stats

    if n >= WILCOXON_MIN_PAIRS:
        if np.allclose(diff, 0.0):
            return PairedResult(n, mean, WILCOXON, 1.0, NO_DIFFERENCE)
        return PairedResult(n, mean, WILCOXON, float(stats.wilcoxon(x, y).pvalue))
    if np.allclose(diff, diff[0]):
        reason = NO_DIFFERENCE if np.isclose(diff[0], 0.0) else SAME_DIFFERENCE
        return PairedResult(n, mean, PAIRED_T, None, reason)
    return PairedResult(n, mean, PAIRED_T, float(stats.ttest_rel(x, y).pvalue))
