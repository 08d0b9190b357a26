"""The history of the method names: renames, the names runs were stored under, revisions.

Plain tables and look-ups, importable without torch, so that reading a benchmark spec or a
results store does not load the methods layer (:mod:`deepbalance.methods` registers the
renames and re-exports these names).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import NamedTuple

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


class Revision(NamedTuple):
    """A change of a method's defaults that names the parameters it changed.

    A run that sets every one of ``fields`` itself (a spec's ``params``) ran the same before
    and after the change, so the change does not count towards its revision. A change given as
    a plain string changed something no parameter sets (it counts for every run).
    """

    note: str
    fields: tuple[str, ...]


#: ``{method name: (change, ...)}`` for methods whose defaults changed after runs of them
#: were stored: a note, or a :class:`Revision` naming the parameters it changed. A benchmark
#: spec hashes a method with its revision (the number of changes that apply to it,
#: :func:`revision`), so runs stored before a change are never taken for today's; a method
#: never revised hashes as before.
REVISIONS: dict[str, tuple[str | Revision, ...]] = {
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
    "logit-adjustment": (
        Revision(
            "2026-12-04: tau 0.75 -> 1 and no label smoothing, chosen by 5-fold CV of the "
            "training set (spec logit-adjustment-tau-cv)",
            ("tau", "smoothing"),
        ),
    ),
}


def revision(name: str, params: Mapping | None = None) -> int:
    """How many times method ``name``'s defaults changed after runs were stored (0: never).

    With ``params`` (the parameters a run sets itself), a :class:`Revision` whose fields the
    run sets, every one, does not count: the run is the same before and after it. Fields are
    the method's own parameter names (recipe fields such as ``tau``), as a spec's ``params``
    gives them at its top level.
    """
    if params is not None and not isinstance(params, Mapping):
        raise TypeError(
            f"params={params!r} must be a dict of the parameters a run sets (e.g. "
            "{'tau': 1.0}) or None"
        )
    given = set(params or ())
    return sum(
        1
        for change in REVISIONS.get(name, ())
        if not (isinstance(change, Revision) and set(change.fields) <= given)
    )


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
