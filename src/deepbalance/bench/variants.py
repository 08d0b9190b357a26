"""Variant generators: a spec's ``variants_from`` expands into ``[[variants]]`` tables.

A generator is ``generator(profile, **params) -> list[dict]``: it gets the spec's training
profile (a :class:`~deepbalance.bench.spec.ProfileSpec` or None) and the parameters written in
``variants_from``, and returns one ``[[variants]]`` table per variant (``name``, optional
``group``, ``dataset_options``, ``profile_params``, ``train``), validated like written ones.
Register new ones with ``VARIANT_GENERATORS.register(name)``.
"""

from __future__ import annotations

from ..registry import Registry

__all__ = ["VARIANT_GENERATORS", "cxr_frameworks"]

VARIANT_GENERATORS: Registry = Registry("variant generator")

#: Profile parameters that map classes to the chest X-ray roles.
_MAPPING_KEYS = ("normal", "subconditions", "never_majority")


@VARIANT_GENERATORS.register("cxr-frameworks")
def cxr_frameworks(profile, *, frameworks=None) -> list[dict]:
    """One variant per chest X-ray experiment: every framework × choice of majority
    sub-conditions (17 with five sub-conditions), grouped by framework.

    The class mapping (``normal``, ``subconditions``, ``never_majority``) is read from the
    spec's ``cxr-framework`` profile parameters (default: the chest X-ray loaders' classes);
    each variant sets the profile's ``framework`` and ``majority``.

    Parameters
    ----------
    profile : ProfileSpec
        The spec's training profile; must be ``cxr-framework``.
    frameworks : list of str, optional
        Only these frameworks (default: all five, in the paper's order).
    """
    from ..data.frameworks import list_experiments

    if profile is None or profile.name != "cxr-framework":
        name = None if profile is None else profile.name
        raise ValueError(
            f"variants_from 'cxr-frameworks' sets the parameters of the 'cxr-framework' "
            f"profile, but the spec's profile is {name!r}; add [profile] name = 'cxr-framework'"
        )
    mapping = {k: profile.params[k] for k in _MAPPING_KEYS if k in profile.params}
    if frameworks is not None and (isinstance(frameworks, str) or not frameworks):
        raise ValueError(
            f"frameworks={frameworks!r} must be a non-empty list of framework names, e.g. "
            "['interclass', 'intraclass-single']"
        )
    experiments = list_experiments(**mapping, frameworks=frameworks)
    return [
        {
            "name": e.name,
            "group": e.framework,
            "profile_params": {"framework": e.framework, "majority": list(e.majority)},
        }
        for e in experiments
    ]
