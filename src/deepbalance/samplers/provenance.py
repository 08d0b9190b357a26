"""Where each synthetic row came from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._plain import plain


@dataclass
class Provenance:
    """One record per synthetic row, as parallel arrays.

    Attributes
    ----------
    class_label : ndarray
        Label of the synthetic row (in the caller's label space).
    base_index : ndarray of int64
        Row of the input ``X`` the sample was grown from (-1 if none).
    neighbor_index : ndarray of int64
        Row of ``X`` interpolated towards (-1 if none, e.g. random over-sampling
        or calibration sampling).
    component : ndarray of int64
        GMM component used by calibration strategies (-1 otherwise).
    lam : ndarray of float64
        Interpolation factor: ``synthetic = base + lam * (neighbor - base)`` in the
        space the strategy works in (NaN where not an interpolation).
    strategy : ndarray of str
        Name of the strategy that produced the row.
    """

    class_label: np.ndarray
    base_index: np.ndarray
    neighbor_index: np.ndarray
    component: np.ndarray
    lam: np.ndarray
    strategy: np.ndarray

    FIELDS = ("class_label", "base_index", "neighbor_index", "component", "lam", "strategy")

    @classmethod
    def build(
        cls,
        class_label,
        base_index,
        *,
        neighbor_index=None,
        component=None,
        lam=None,
        strategy: str | np.ndarray = "",
    ) -> Provenance:
        """Build from arrays, filling absent fields with -1 / NaN."""
        base_index = np.asarray(base_index, dtype=np.int64).reshape(-1)
        n = len(base_index)

        def fill(value, default, dtype):
            if value is None:
                return np.full(n, default, dtype=dtype)
            return np.asarray(value, dtype=dtype).reshape(-1)

        strategy_arr = (
            np.full(n, strategy, dtype=object)
            if isinstance(strategy, str)
            else np.asarray(strategy, dtype=object)
        )
        return cls(
            class_label=np.asarray(class_label).reshape(-1),
            base_index=base_index,
            neighbor_index=fill(neighbor_index, -1, np.int64),
            component=fill(component, -1, np.int64),
            lam=fill(lam, np.nan, np.float64),
            strategy=strategy_arr,
        )

    @classmethod
    def empty(cls) -> Provenance:
        return cls.build(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))

    @classmethod
    def concat(cls, parts: list[Provenance]) -> Provenance:
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in cls.FIELDS))

    def __len__(self) -> int:
        return len(self.base_index)

    def __getitem__(self, i: int) -> dict:
        """The record of synthetic row ``i`` as a dict."""
        return {f: plain(getattr(self, f)[i], nan_as_none=True) for f in self.FIELDS}

    def with_labels(self, class_label) -> Provenance:
        return Provenance(
            np.asarray(class_label).reshape(-1),
            self.base_index,
            self.neighbor_index,
            self.component,
            self.lam,
            self.strategy,
        )

    def to_dict(self) -> dict[str, list]:
        """JSON-friendly columns."""
        return {f: [plain(v, nan_as_none=True) for v in getattr(self, f)] for f in self.FIELDS}
