"""Imbalance profiles: named, seeded per-class subsampling with exact counts.

A profile says how many images of each class to keep. The named profiles are the recipes of
the papers this package reproduces; the generic ones build any other shape. :func:`make_imbalanced`
draws the images::

    >>> train = load_dataset("fashion-mnist")                       # doctest: +SKIP
    >>> small = make_imbalanced(train, "deepsmote-mnist", seed=0)   # doctest: +SKIP
    >>> small.class_counts()                                        # doctest: +SKIP
    array([4000, 2000, 1000,  750,  500,  350,  200,  100,   60,   40])

Profiles and their parameters (``list_profiles()`` or ``deepbalance profiles`` lists them):

- ``deepsmote-mnist``, ``deepsmote-cifar``, ``deepsmote-celeba`` (DeepSMOTE) and ``rae-cifar``:
  fixed counts for classes ``0..K-1``. ``order=[c0, c1, ...]`` gives the classes that receive the
  first, second, ... count.
- ``deepsmote-imbalanced-test`` (DeepSMOTE's imbalanced test set, the training imbalance kept):
  derived from a training profile, ``train=`` (default ``"deepsmote-mnist"``; a fixed profile's
  name or a list of counts), by :func:`imbalanced_test_counts`: ``n_i = floor(c_i * M / max(c))``
  with ``M = min(floor(max(c) / divisor), the largest M every class of the data can serve)``,
  ``divisor=4``, or ``max_count=M`` given. On Fashion-MNIST's test split (1,000 per class) that
  is the training counts / 4, ``[1000, 500, 250, 187, 125, 87, 50, 25, 15, 10]``; on MNIST's
  (980 images of digit 0) the same ratios at ``M = 980``. ``deepsmote-imbalanced-test-cifar``
  is the same with ``train="deepsmote-cifar"``, the CIFAR-10 / SVHN training counts: on
  CIFAR-10's test split (1,000 per class) ``M = 1000``, on SVHN's ``M = 4500 / 4 = 1125``.
- ``cle-binary`` (100:1) and ``cle-3class`` (200:20:1) from CLE-SMOTE keep only the chosen
  ``classes=`` (majority first; default ``(0, 1)`` and ``(0, 1, 2)``), relabelled ``0..k-1`` with
  their class names kept. The majority count is ``majority=``, by default the fewest images any
  chosen class has (all images of a class on balanced sources such as MNIST or CIFAR-10); the
  others are ``floor(majority * r / max(r))``, at least 1. ``cle-binary-balanced`` and
  ``cle-3class-balanced`` are the matching no-imbalance upper bounds: every chosen class at the
  majority count, drawn from the same source.
- ``counts``: ``counts=[n_0, ...]`` (one per class; ``order=`` permutes) or ``{class: n}`` with
  classes by index or name (unlisted classes keep all their images, as in imbalanced-learn's
  ``make_imbalance``). ``make_imbalanced(data, [n_0, ...])`` is a shortcut.
- ``ratios``: ``ratios=[r_0, ...]`` (or ``{class: r}`` for every class), ``n_i = floor(max_count *
  r_i / max(r))``, at least 1 for a positive ratio.
- ``longtail``: ``n_i = floor(max_count * rho^(-i/(K-1)))`` for the ``i``-th class of ``order``
  (default ``rho=100``), the CIFAR-10-LT recipe.
- ``max_count`` (``ratios``, ``longtail``) defaults to the largest value every class can serve.
- ``cxr-framework`` (chest X-ray study) draws one experiment of the five imbalance frameworks
  with :func:`~deepbalance.data.frameworks.make_framework_split`: ``framework=``, ``majority=``
  (the majority sub-condition(s)), the class mapping ``normal=``, ``subconditions=``,
  ``never_majority=`` (default: the chest X-ray loaders' classes) and ``unit=`` (images per
  share, or ``"paper"`` for the exact counts of the seed's Table 1, five sub-conditions only).
  ``cxr-classes`` keeps every image of the mapped classes
  (:func:`~deepbalance.data.frameworks.select_mapped_classes`), e.g. as the matching test set.
  Both relabel normal to 0 and the sub-conditions to 1..k and mark ``meta["normal_class"]``.

Drawing is per class and without replacement. Class ``c`` takes the first ``n_c`` rows of one
permutation of its rows, drawn from ``numpy.random.RandomState(seed)`` in class order, so the rows
picked for a class depend only on the seed and the source, never on the other classes' counts;
with one seed a smaller count gives a subset of a larger one (``cle-binary`` is a subset of
``cle-binary-balanced``). Kept rows stay in their source order. Profiles with their own ``draw``
(the chest X-ray ones) sample as :func:`~deepbalance.data.frameworks.make_framework_split` does,
also nested.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._checks import check_float, check_int
from .._plain import plain
from ..registry import Registry
from . import frameworks
from .imageset import ImageSet

__all__ = ["PROFILES", "Profile", "imbalanced_test_counts", "list_profiles", "make_imbalanced"]

DEEPSMOTE = "DeepSMOTE (Dablain et al. 2022)"
RAE = "regularized-autoencoder study"
CLE_SMOTE = "CLE-SMOTE"
GENERIC = "generic"

# Floors of products like 5000 * 0.01 must not lose a unit to rounding error.
_EPS = 1e-9


@dataclass(frozen=True)
class Profile:
    """A named recipe of per-class image counts.

    Parameters
    ----------
    name : str
        Registry name, e.g. ``"deepsmote-mnist"``.
    source : str
        The paper the recipe comes from (``"generic"`` for the building blocks).
    description : str
        One line: what the profile keeps and how its parameters work.
    rule : callable
        ``rule(data, **params) -> dict[class_index, count]``.
    params : mapping
        Accepted parameters and their defaults (``None`` = computed from the data).
    counts : tuple of int or None
        The fixed per-class counts, for profiles that have them (for the
        ``deepsmote-imbalanced-test`` profiles: the counts when the data serves them).
    reindex : bool
        If True, only the classes the rule lists are kept, relabelled ``0..k-1`` in the listed
        order, with their class names.
    draw : callable or None
        ``draw(data, *, seed, **params) -> ImageSet`` replaces the generic per-class draw, for
        recipes that sample and describe their sets themselves (the chest X-ray frameworks).
    """

    name: str
    source: str
    description: str
    rule: Callable[..., dict[int, int]] = field(repr=False)
    params: Mapping[str, Any] = field(default_factory=dict)
    counts: tuple[int, ...] | None = None
    reindex: bool = False
    draw: Callable[..., ImageSet] | None = field(default=None, repr=False)

    def counts_for(self, data: ImageSet, **params) -> dict[int, int]:
        """Per-class target counts of this profile for ``data``.

        Returns
        -------
        dict
            ``{class_index: count}``. For ``reindex`` profiles only the kept classes, in their
            new order; otherwise every class of ``data``.
        """
        _check_imageset(data)
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            accepted = ", ".join(self.params) if self.params else "no parameters"
            raise ValueError(
                f"profile {self.name!r} got unknown parameter(s) {', '.join(unknown)}; "
                f"it accepts {accepted}"
            )
        return self.rule(data, **{**self.params, **params})


PROFILES: Registry[Profile] = Registry("profile")


def _register(profile: Profile) -> Profile:
    return PROFILES.register(profile.name, profile)


def list_profiles() -> list[Profile]:
    """Every registered profile, sorted by name."""
    return [profile for _, profile in PROFILES.items()]


# --------------------------------------------------------------------------------------------
# argument helpers


def _check_imageset(data) -> None:
    if not isinstance(data, ImageSet):
        raise TypeError(
            f"data must be an ImageSet, got {type(data).__name__}; "
            "load one with deepbalance.data.load_dataset(...) or build an ImageSet"
        )


def _class_index(data: ImageSet, ref, name: str) -> int:
    """Resolve a class given by index or by class name."""
    if isinstance(ref, str):
        if ref in data.class_names:
            return data.class_names.index(ref)
        raise ValueError(
            f"{name}: class {ref!r} is not a class of the data; "
            f"use an index 0..{data.n_classes - 1} or one of {list(data.class_names)}"
        )
    index = check_int(ref, name)
    if not 0 <= index < data.n_classes:
        raise ValueError(
            f"{name}: class index {index} is out of range; the data has classes "
            f"0..{data.n_classes - 1} ({', '.join(data.class_names)})"
        )
    return index


def _as_sequence(value, name: str) -> list:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        raise TypeError(f"{name}={value!r} must be a list; pass e.g. {name}=[0, 1]")
    return list(value)


def _order(data: ImageSet, order) -> list[int]:
    """Class order: ``order[i]`` is the class that receives the i-th value of a list profile."""
    if order is None:
        return list(range(data.n_classes))
    items = [_class_index(data, ref, "order") for ref in _as_sequence(order, "order")]
    if sorted(items) != list(range(data.n_classes)):
        raise ValueError(
            f"order={list(order)!r} must name every class of the data exactly once "
            f"(a permutation of 0..{data.n_classes - 1})"
        )
    return items


def _assign(data: ImageSet, values: Sequence, order, name: str) -> dict[int, Any]:
    """Give ``values[i]`` to class ``order[i]``; one value per class."""
    if len(values) != data.n_classes:
        raise ValueError(
            f"{name} has {len(values)} entries but the data has {data.n_classes} classes "
            f"({', '.join(data.class_names)}); give one per class, or use profile='counts' "
            "with a dict {class: count} for a subset of classes"
        )
    return {cls: values[i] for i, cls in enumerate(_order(data, order))}


def _check_count(value, name: str) -> int:
    return check_int(value, name, min_value=0)


def _floor(x: float) -> int:
    return int(math.floor(x + _EPS))


def _scaled(max_count: int, weights: dict[int, float]) -> dict[int, int]:
    """``floor(max_count * w / max(w))`` per class; a class with a positive weight keeps >= 1."""
    top = max(weights.values())
    return {
        c: max(1, _floor(max_count * w / top)) if w > 0 else 0 for c, w in sorted(weights.items())
    }


def _largest_fitting(data: ImageSet, weights: dict[int, float]) -> int:
    """The largest ``max_count`` whose scaled counts every class of ``data`` can serve."""
    available = data.class_counts()
    top = max(weights.values())
    return min(_floor(available[c] * top / w) for c, w in weights.items() if w > 0)


# --------------------------------------------------------------------------------------------
# rules


def _fixed_rule(values: tuple[int, ...]) -> Callable[..., dict[int, int]]:
    def rule(data: ImageSet, *, order=None) -> dict[int, int]:
        return dict(sorted(_assign(data, values, order, "the profile's count list").items()))

    return rule


def _counts_rule(data: ImageSet, *, counts=None, order=None) -> dict[int, int]:
    if counts is None:
        raise ValueError(
            "profile 'counts' needs counts=[n_0, n_1, ...] (one per class) or "
            "counts={class: n} (unlisted classes keep all their images)"
        )
    if isinstance(counts, Mapping):
        if order is not None:
            raise ValueError("order= applies to a list of counts; a dict already names classes")
        result = {c: int(n) for c, n in enumerate(data.class_counts())}
        for ref, n in counts.items():
            cls = _class_index(data, ref, "counts")
            result[cls] = _check_count(n, f"counts[{ref!r}]")
        return result
    values = [_check_count(n, f"counts[{i}]") for i, n in enumerate(_as_sequence(counts, "counts"))]
    return dict(sorted(_assign(data, values, order, "counts").items()))


def _ratios_rule(data: ImageSet, *, ratios=None, max_count=None, order=None) -> dict[int, int]:
    if ratios is None:
        raise ValueError(
            "profile 'ratios' needs ratios=[r_0, r_1, ...] (one per class, relative sizes)"
        )
    if isinstance(ratios, Mapping):
        if order is not None:
            raise ValueError("order= applies to a list of ratios; a dict already names classes")
        weights = {
            _class_index(data, ref, "ratios"): check_float(r, f"ratios[{ref!r}]", min_value=0)
            for ref, r in ratios.items()
        }
        if sorted(weights) != list(range(data.n_classes)):
            raise ValueError(
                f"ratios={dict(ratios)!r} must give a ratio for every class "
                f"({', '.join(data.class_names)}); give 0 to drop a class"
            )
    else:
        values = [
            check_float(r, f"ratios[{i}]", min_value=0)
            for i, r in enumerate(_as_sequence(ratios, "ratios"))
        ]
        weights = _assign(data, values, order, "ratios")
    if max(weights.values()) <= 0:
        raise ValueError("ratios are all zero; give at least one positive ratio")
    return _scaled(_max_count(data, weights, max_count), weights)


def _max_count(data: ImageSet, weights: dict[int, float], max_count) -> int:
    if max_count is None:
        return _largest_fitting(data, weights)
    return check_int(max_count, "max_count", min_value=1)


def _longtail_rule(data: ImageSet, *, rho=100.0, max_count=None, order=None) -> dict[int, int]:
    rho = check_float(rho, "rho", min_value=1.0)
    k = data.n_classes
    # n_i = n_max * rho^(-i / (K - 1)), as in the CIFAR-10-LT recipe.
    values = [rho ** (-i / (k - 1)) if k > 1 else 1.0 for i in range(k)]
    weights = _assign(data, values, order, "longtail")
    return _scaled(_max_count(data, weights, max_count), weights)


def imbalanced_test_counts(train_counts, available=None, *, divisor=4, max_count=None):
    """Test-set counts with the imbalance of ``train_counts`` (DeepSMOTE's imbalanced test set).

    ``n_i = max(1, floor(c_i * M / max(c)))``: the training ratios at a largest class of ``M``.
    ``M`` is ``max_count`` when given, else ``floor(max(c) / divisor)``, lowered to the largest
    value the ``available`` images per class can serve (when given). With the default
    ``divisor=4`` and enough images this is ``floor(c_i / 4)`` — the counts this library has
    always used for the MNIST / Fashion-MNIST test split; the DeepSMOTE papers do not print the
    test counts, only that the test set keeps the training imbalance.

    Parameters
    ----------
    train_counts : sequence of int
        Training images per class (index = class), e.g. ``PROFILES.get("deepsmote-cifar").counts``.
    available : sequence of int or None
        Test images per class; None assumes enough.
    divisor : float, default=4
        Ratio of the training to the test set's largest class.
    max_count : int or None
        Largest test class, overriding ``divisor`` and ``available``.

    Returns
    -------
    list of int
    """
    values = [
        _check_count(n, f"train_counts[{i}]")
        for i, n in enumerate(_as_sequence(train_counts, "train_counts"))
    ]
    if not values or max(values) <= 0:
        raise ValueError(
            f"train_counts={values!r} must hold at least one positive count; pass e.g. the "
            "counts of profile 'deepsmote-mnist'"
        )
    weights = dict(enumerate(values))
    if max_count is None:
        divisor = check_float(divisor, "divisor", min_value=1.0)
        max_count = max(1, _floor(max(values) / divisor))
        if available is not None:
            have = [
                _check_count(n, f"available[{i}]")
                for i, n in enumerate(_as_sequence(available, "available"))
            ]
            if len(have) != len(values):
                raise ValueError(
                    f"available has {len(have)} entries but train_counts {len(values)}; give "
                    "one per class"
                )
            top = max(values)
            fit = min(_floor(have[c] * top / w) for c, w in weights.items() if w > 0)
            max_count = min(max_count, fit)
            if max_count < 1:
                raise ValueError(
                    f"the test images per class {have} cannot serve the training ratios of "
                    f"{values}; every class with a positive count needs at least one image"
                )
    max_count = check_int(max_count, "max_count", min_value=1)
    return [n for _, n in sorted(_scaled(max_count, weights).items())]


def _train_counts(train) -> tuple[int, ...]:
    if isinstance(train, str):
        profile = PROFILES.get(train)
        if profile.counts is None:
            fixed = [name for name, p in PROFILES.items() if p.counts is not None]
            raise ValueError(
                f"train={train!r} is a profile without fixed counts; pass a fixed-count "
                f"profile ({', '.join(fixed)}) or a list of training counts"
            )
        return profile.counts
    return tuple(_as_sequence(train, "train"))


def _imbalanced_test_rule(data: ImageSet, *, train, divisor=4, max_count=None, order=None):
    counts = _train_counts(train)
    if len(counts) != data.n_classes:
        raise ValueError(
            f"train={train!r} has {len(counts)} counts but the data has {data.n_classes} "
            f"classes ({', '.join(data.class_names)}); pass a training profile of as many classes"
        )
    classes = _order(data, order)
    available = data.class_counts()[classes]
    values = imbalanced_test_counts(counts, available, divisor=divisor, max_count=max_count)
    return dict(sorted(zip(classes, values, strict=True)))


def _cle_rule(
    ratios: tuple[int, ...], default_classes: tuple[int, ...]
) -> Callable[..., dict[int, int]]:
    def rule(data: ImageSet, *, classes=default_classes, majority=None) -> dict[int, int]:
        chosen = [_class_index(data, ref, "classes") for ref in _as_sequence(classes, "classes")]
        if len(chosen) != len(ratios) or len(set(chosen)) != len(chosen):
            raise ValueError(
                f"classes={list(classes)!r} must name {len(ratios)} different classes "
                f"(majority first), e.g. classes={list(default_classes)!r}"
            )
        if majority is None:
            majority = int(min(data.class_counts()[chosen]))
        majority = check_int(majority, "majority", min_value=1)
        top = max(ratios)
        return {c: max(1, _floor(majority * r / top)) for c, r in zip(chosen, ratios, strict=True)}

    return rule


# --------------------------------------------------------------------------------------------
# the registry

_FIXED = {
    "deepsmote-mnist": (
        DEEPSMOTE,
        "MNIST / Fashion-MNIST training set",
        (4000, 2000, 1000, 750, 500, 350, 200, 100, 60, 40),
    ),
    "deepsmote-cifar": (
        DEEPSMOTE,
        "CIFAR-10 / SVHN training set",
        (4500, 2000, 1000, 800, 600, 500, 400, 250, 150, 80),
    ),
    "deepsmote-celeba": (DEEPSMOTE, "CelebA, 5 hair-colour classes", (9000, 4500, 1000, 500, 160)),
    "rae-cifar": (
        RAE,
        "CIFAR-10 training set",
        (5000, 2500, 1000, 1000, 600, 400, 300, 150, 90, 50),
    ),
    # deepsmote-mnist's largest class with a steeper tail (imbalance ratio 4000 / 6 = 667),
    # where random oversampling leaves a gap to the balanced bound (fmnist-lt-extreme spec)
    "fmnist-lt-extreme": (
        GENERIC,
        "MNIST / Fashion-MNIST training set, extreme long tail (ratio 667)",
        (4000, 2000, 1000, 500, 250, 120, 60, 30, 15, 6),
    ),
}

for _name, (_source, _what, _values) in _FIXED.items():
    _register(
        Profile(
            _name,
            _source,
            f"{_what}: fixed counts for classes 0..{len(_values) - 1}",
            _fixed_rule(_values),
            {"order": None},
            counts=_values,
        )
    )
del _name, _source, _what, _values

for _name, _train, _what in [
    ("deepsmote-imbalanced-test", "deepsmote-mnist", "MNIST / Fashion-MNIST"),
    ("deepsmote-imbalanced-test-cifar", "deepsmote-cifar", "CIFAR-10 / SVHN"),
]:
    _register(
        Profile(
            _name,
            DEEPSMOTE,
            f"imbalanced {_what} test set: the {_train} ratios, largest class "
            "min(max / divisor, what the data serves) (train=, divisor=, max_count=, order=)",
            _imbalanced_test_rule,
            {"train": _train, "divisor": 4, "max_count": None, "order": None},
            counts=tuple(imbalanced_test_counts(PROFILES.get(_train).counts)),
        )
    )
del _name, _train, _what

for _name, _ratios, _classes, _what in [
    ("cle-binary", (100, 1), (0, 1), "two classes at 100:1"),
    ("cle-binary-balanced", (1, 1), (0, 1), "cle-binary without imbalance (upper bound)"),
    ("cle-3class", (200, 20, 1), (0, 1, 2), "three classes at 200:20:1"),
    ("cle-3class-balanced", (1, 1, 1), (0, 1, 2), "cle-3class without imbalance (upper bound)"),
]:
    _register(
        Profile(
            _name,
            CLE_SMOTE,
            f"{_what}, relabelled 0..{len(_ratios) - 1}",
            _cle_rule(_ratios, _classes),
            {"classes": _classes, "majority": None},
            reindex=True,
        )
    )
del _name, _ratios, _classes, _what

_register(
    Profile(
        "counts",
        GENERIC,
        "explicit counts: a list (one per class) or a dict (unlisted classes kept whole)",
        _counts_rule,
        {"counts": None, "order": None},
    )
)
_register(
    Profile(
        "ratios",
        GENERIC,
        "relative sizes: n_i = floor(max_count * r_i / max(r))",
        _ratios_rule,
        {"ratios": None, "max_count": None, "order": None},
    )
)
_register(
    Profile(
        "longtail",
        GENERIC,
        "exponential long tail: n_i = floor(max_count * rho^(-i/(K-1)))",
        _longtail_rule,
        {"rho": 100.0, "max_count": None, "order": None},
    )
)

CXR_STUDY = "CLE-SMOTE chest X-ray study"
_CXR_MAPPING = frameworks.cxr_mapping()


def _mapped_counts(data: ImageSet, counts: Mapping) -> dict[int, int]:
    return {_class_index(data, c, "class mapping"): int(n) for c, n in counts.items()}


def _framework_rule(data: ImageSet, *, framework=None, majority=(), unit, **mapping):
    if framework is None:
        raise ValueError(
            "profile 'cxr-framework' needs framework=; one of "
            f"{', '.join(frameworks.FRAMEWORKS.names())}"
        )
    counts = frameworks.framework_counts(framework, majority, unit=unit, **mapping)
    return _mapped_counts(data, counts)


def _framework_draw(data: ImageSet, *, seed: int, framework, majority, unit, **mapping):
    return frameworks.make_framework_split(
        data, framework, majority, unit=unit, seed=seed, **mapping
    )


def _mapped_classes_rule(data: ImageSet, *, normal, subconditions, never_majority):
    available = data.class_counts()
    order = [normal, *_as_sequence(subconditions, "subconditions")]
    return {i: int(available[i]) for i in _mapped_counts(data, dict.fromkeys(order, 0))}


def _mapped_classes_draw(data: ImageSet, *, seed: int, **mapping) -> ImageSet:
    return frameworks.select_mapped_classes(data, **mapping)


_register(
    Profile(
        "cxr-framework",
        CXR_STUDY,
        "one experiment of a chest X-ray imbalance framework (framework=, majority=, unit= "
        "(images per share, or 'paper': the counts of the seed's Table 1); "
        "normal/subconditions/never_majority map the classes), relabelled normal 0, then 1..k",
        _framework_rule,
        {"framework": None, "majority": (), **_CXR_MAPPING, "unit": frameworks.DEFAULT_UNIT},
        reindex=True,
        draw=_framework_draw,
    )
)
_register(
    Profile(
        "cxr-classes",
        CXR_STUDY,
        "every image of the normal class and the sub-conditions, relabelled normal 0, then "
        "1..k (the chest X-ray frameworks' test set)",
        _mapped_classes_rule,
        dict(_CXR_MAPPING),
        reindex=True,
        draw=_mapped_classes_draw,
    )
)


# --------------------------------------------------------------------------------------------
# drawing


def _resolve(profile, params: dict) -> tuple[Profile, dict]:
    if isinstance(profile, Profile):
        return profile, params
    if isinstance(profile, str):
        return PROFILES.get(profile), params
    if isinstance(profile, Mapping | Sequence | np.ndarray) and not isinstance(profile, bytes):
        if "counts" in params:
            raise ValueError("pass the counts once: either as profile=[...] or as counts=[...]")
        return PROFILES.get("counts"), {**params, "counts": profile}
    raise TypeError(
        f"profile={profile!r} must be a profile name, a Profile, a list of counts or a dict "
        f"{{class: count}}; known names: {', '.join(PROFILES.names())}"
    )


def _check_available(data: ImageSet, profile: Profile, counts: dict[int, int]) -> None:
    available = data.class_counts()
    short = [(c, n, int(available[c])) for c, n in counts.items() if n > available[c]]
    if short:
        listed = "; ".join(
            f"class {c} ({data.class_names[c]!r}) needs {n} images but has {a}" for c, n, a in short
        )
        raise ValueError(
            f"profile {profile.name!r} cannot be drawn from {data.source or 'the data'}: {listed}. "
            "Use a source with more images (e.g. the 'train' split), or lower the counts "
            "(profile='counts', or max_count=/majority= where the profile takes them)"
        )


def make_imbalanced(
    data: ImageSet, profile: str | Profile | Sequence[int] | Mapping, *, seed: int = 0, **params
) -> ImageSet:
    """Subsample ``data`` to the exact per-class counts of ``profile``.

    Parameters
    ----------
    data : ImageSet
        The source images (usually a balanced training or test split).
    profile : str, Profile, list of int or dict
        A registered profile name (see :func:`list_profiles`), a :class:`Profile`, or the counts
        themselves: a list with one count per class, or ``{class: count}`` (classes by index or
        name; unlisted classes keep all their images).
    seed : int
        Seed of the ``numpy.random.RandomState`` that picks the rows.
    **params
        Profile parameters, e.g. ``rho=10`` for ``"longtail"`` or ``classes=(3, 5)`` for
        ``"cle-binary"``.

    Returns
    -------
    ImageSet
        The kept rows in source order. ``meta["profile"]`` records the profile name, params, seed
        and counts; ``source`` names them too.

    Raises
    ------
    ValueError
        If a class has fewer images than the profile needs (naming the class, both counts and
        the fix), or a parameter is unknown or out of range.
    """
    _check_imageset(data)
    seed = check_int(seed, "seed", min_value=0, max_value=2**32 - 1)
    profile, params = _resolve(profile, dict(params))
    counts = profile.counts_for(data, **params)
    if profile.draw is not None:
        drawn = profile.draw(data, seed=seed, **{**profile.params, **params})
        source = data.source or "data"
        return _recorded(drawn, profile, params, seed, list(counts), source, drawn.meta)
    _check_available(data, profile, counts)

    rng = np.random.RandomState(seed)
    keep = []
    for cls in range(data.n_classes):
        rows = np.flatnonzero(data.labels == cls)
        # Every class draws its permutation, used or not, so a class's rows depend only on the seed.
        perm = rng.permutation(len(rows))
        if cls in counts:
            keep.append(rows[np.sort(perm[: counts[cls]])])
    rows = np.sort(np.concatenate(keep)) if keep else np.zeros(0, dtype=np.int64)

    labels = data.labels[rows]
    class_names = data.class_names
    if profile.reindex:
        new_index = np.full(data.n_classes, -1, dtype=np.int64)
        new_index[list(counts)] = np.arange(len(counts))
        labels = new_index[labels]
        class_names = tuple(data.class_names[c] for c in counts)

    kept = ImageSet(data.images[rows], labels, class_names, data.source, data.meta)
    classes = [int(c) for c in counts] if profile.reindex else None
    return _recorded(kept, profile, params, seed, classes, data.source or "data", data.meta)


def _recorded(kept: ImageSet, profile: Profile, params, seed, classes, source, meta) -> ImageSet:
    """``kept`` with the profile named in its source and recorded in ``meta["profile"]``."""
    record = {
        "name": profile.name,
        "source": profile.source,
        "params": plain({**profile.params, **params}),
        "seed": seed,
        "counts": [int(n) for n in kept.class_counts()],
    }
    if classes is not None:
        record["classes"] = classes
    described = ", ".join(f"{k}={plain(v)}" for k, v in params.items())
    tag = f"{profile.name}({described})" if described else profile.name
    return ImageSet(
        kept.images,
        kept.labels,
        kept.class_names,
        f"{source} | profile {tag} seed {seed}",
        {**meta, "profile": record},
    )
