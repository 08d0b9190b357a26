"""The history of the method names: renames, the names runs were stored under, revisions.

Plain tables and look-ups, importable without torch, so that reading a benchmark spec or a
results store does not load the methods layer (:mod:`deepbalance.methods` registers the
renames and re-exports these names).
"""

from __future__ import annotations

import warnings

#: ``{former name: current name}``: former method names that still work, with a
#: ``FutureWarning`` naming the current one (``deepbalance.methods`` registers them).
RENAMED: dict[str, str] = {
    "deepsmote-residual+copies": "deepsmote",
    "deepsmote+cap": "deepsmote-published+cap",
    "deepsmote+cap+logit-adjustment": "deepsmote-published+cap+logit-adjustment",
}

#: ``{current name: the name its runs were keyed and hashed under}`` for methods whose name
#: changed when "deepsmote" came to mean ``DeepSMOTE()``: benchmark specs hash a method by this
#: name, so runs stored before the change are found again, and results stores of schema 1
#: (:mod:`deepbalance.bench.store`) are read with these names translated. Before the change
#: "deepsmote" was the published variant.
STORED_AS: dict[str, str] = {
    "deepsmote": "deepsmote-residual+copies",
    "deepsmote-published": "deepsmote",
    "deepsmote-published+cap": "deepsmote+cap",
    "deepsmote-published+cap+logit-adjustment": "deepsmote+cap+logit-adjustment",
}


#: ``{method name: (change, ...)}`` for methods whose defaults changed after runs of them
#: were stored. A benchmark spec hashes a method with its revision (the number of changes,
#: :func:`revision`), so runs stored before a change are never taken for today's; a method
#: never revised hashes as before.
REVISIONS: dict[str, tuple[str, ...]] = {
    **{
        name: (
            "2026-12-03: the autoencoder trains without DeepSMOTE's penalty (Mandal 2024 §4.2-4.4)",
        )
        for name in (
            "deep-denoising-smote",
            "deep-sparse-smote",
            "beta-vae-smote",
            "beta-vae-smote-2",
            "deep-adasyn",
            "deep-denoising-calibration",
        )
    },
    **{
        name: (
            "2026-12-03: a triplet-pretraining epoch feeds a classifier epoch's images "
            "(TripletPretraining.anchors_per_epoch), no longer every resampled row",
        )
        for name in ("cle-smote", "cle-constant-cap", "cle-v1")
    },
}


def revision(name: str) -> int:
    """How many times method ``name``'s defaults changed after runs were stored (0: never)."""
    return len(REVISIONS.get(name, ()))


def stored_name(name: str) -> str:
    """The name ``name``'s runs are hashed under (:data:`STORED_AS`; else ``name``)."""
    return STORED_AS.get(name, name)


def current_name(stored: str) -> str:
    """The current name of a method stored as ``stored`` in a schema-1 results store."""
    return {old: new for new, old in STORED_AS.items()}.get(stored, stored)


def resolve(name: str, *, stacklevel: int = 2) -> str:
    """The current name of method ``name``: itself, or that of a former one (``FutureWarning``).

    The warning is :meth:`deepbalance.registry.Registry.resolve`'s for the method registry.
    """
    new = RENAMED.get(name)
    if new is None:
        return name
    warnings.warn(
        f"method {name!r} is now called {new!r}; use {new!r} (the former name will be removed)",
        FutureWarning,
        stacklevel=stacklevel + 1,
    )
    return new
