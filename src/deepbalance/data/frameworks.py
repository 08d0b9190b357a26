"""The five imbalance frameworks of the chest X-ray study (inter-class and intra-class).

"Abnormal" is made of sub-conditions; imbalance can sit between normal and abnormal
(inter-class), among the sub-conditions (intra-class: one or three *majority* sub-conditions at
20 shares, the others at 1), or both. Class shares (normal first, then five sub-conditions):

=========================  ==========================  ================  =====================
framework                  shares                      normal:abnormal   counts at ``unit=10``
=========================  ==========================  ================  =====================
``interclass``             100:1:1:1:1:1               20:1              1000:10:10:10:10:10
``intraclass-single``      24:20:1:1:1:1               1:1               240:200:10:10:10:10
``intraclass-multiple``    62:20:20:20:1:1             1:1               620:200:200:200:10:10
``inter-intra-single``     480:20:1:1:1:1              20:1              4800:200:10:10:10:10
``inter-intra-multiple``   1240:20:20:20:1:1           20:1              12400:200:200:200:10:10
=========================  ==========================  ================  =====================

The normal share is ``normal_to_abnormal`` times the sum of the sub-condition shares, so the
frameworks generalise to any number of sub-conditions (e.g. four on ChestX-ray14, which has no
Fracture label). Which sub-conditions are majority is permuted over every choice that leaves the
designated ``never_majority`` sub-condition (Lung Lesion) a minority: 4 choices each for the
four frameworks with majorities and 1 for ``interclass``, 17 experiments in all with five
sub-conditions (:func:`list_experiments`).

``unit`` is the number of images per share of 1; counts are ``share * unit`` exactly. The
default ``unit=10`` fits CheXpert after the seed's filtering and any number of sub-conditions;
use :func:`largest_unit` to pick the largest unit a data set supports for every permutation of
a framework.

``unit="paper"`` gives instead the exact counts of the seed's Table 1 (CLE-SMOTE CXR 2024), which no
single unit can give — each framework there has its own minority count and the three inter-class
frameworks share 19,624 normal images (:data:`TABLE1_COUNTS`; five sub-conditions only):

=========================  =======  ========  ========  =========================
framework                  normal   majority  minority  abnormal (Table 1 "Total")
=========================  =======  ========  ========  =========================
``interclass``             19624    –         196       980
``intraclass-single``      2194     1759      87        2107 (printed 2147)
``intraclass-multiple``    3858     1245      62        3859
``inter-intra-single``     19624    817       40        977
``inter-intra-multiple``   19624    316       15        978
=========================  =======  ========  ========  =========================

Table 1 gives one permutation per framework ("example class counts"); the majority count goes
to whichever sub-conditions ``majority`` names. The intraclass single-majority row prints a
total of 2147, but its cells (87, 1759, 87, 87, 87) sum to 2107. We keep the cells and read
2147 as a misprint of their sum: every other row's total is its cells' sum, the cells keep the
framework's 20:1 majority:minority ratio (1759 / 87 = 20.2), and no single misread cell gives
2147 with the four minority cells equal. The printed normal count 2194 is kept as well, although
it is 2107 + 87 rather than the 1:1 normal:abnormal of Table 2. Sampling is seeded
and nested: with the same seed, a class's images at a smaller count are a subset of those at a
larger one, so experiments differ only where their counts do.
"""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._checks import check_int
from ..metrics import MetricSuite, register_metric_suite
from ..registry import Registry
from .cxr_common import BINARY_CLASSES, LUNG_LESION, NORMAL, SUBCONDITIONS
from .idx import FASHION_MNIST_CLASSES
from .imageset import ImageSet


@dataclass(frozen=True)
class Framework:
    """An imbalance framework: shares of normal and of (majority, minority) sub-conditions.

    Parameters
    ----------
    name : str
    title : str
        Human-readable name.
    normal_to_abnormal : int
        Normal share = this × the sum of the sub-condition shares (20 inter-class, 1 intra).
    n_majority : int
        Number of majority sub-conditions (0: all sub-conditions balanced).
    majority_share, minority_share : int
        Shares of a majority and of a minority sub-condition.
    table1 : tuple of int or None
        ``(normal, majority, minority)`` image counts of the seed's Table 1 (CLE-SMOTE CXR 2024),
        for ``unit="paper"`` (module docstring).
    """

    name: str
    title: str
    normal_to_abnormal: int
    n_majority: int
    majority_share: int = 20
    minority_share: int = 1
    table1: tuple[int, int, int] | None = None

    def shares(self, subconditions: Sequence, majority: Sequence = ()) -> dict:
        """``{class: share}`` with the normal class under the key ``None`` first."""
        subs = {
            c: self.majority_share if c in majority else self.minority_share for c in subconditions
        }
        return {None: self.normal_to_abnormal * sum(subs.values()), **subs}


FRAMEWORKS: Registry[Framework] = Registry("imbalance framework")
#: CLE-SMOTE CXR 2024 Table 1, ``(normal, majority, minority)`` per framework (module docstring)
TABLE1_COUNTS = {
    "interclass": (19624, 196, 196),
    "intraclass-single": (2194, 1759, 87),
    "intraclass-multiple": (3858, 1245, 62),
    "inter-intra-single": (19624, 817, 40),
    "inter-intra-multiple": (19624, 316, 15),
}
#: ``unit`` value that selects :data:`TABLE1_COUNTS`
PAPER_UNIT = "paper"
#: sub-conditions in Table 1
TABLE1_SUBCONDITIONS = 5

for _name, _title, _ratio, _n_majority in (
    ("interclass", "Inter-class imbalance", 20, 0),
    ("intraclass-single", "Intra-class imbalance, single majority", 1, 1),
    ("intraclass-multiple", "Intra-class imbalance, multiple majority", 1, 3),
    ("inter-intra-single", "Inter- and intra-class imbalance, single majority", 20, 1),
    ("inter-intra-multiple", "Inter- and intra-class imbalance, multiple majority", 20, 3),
):
    FRAMEWORKS.register(
        _name, Framework(_name, _title, _ratio, _n_majority, table1=TABLE1_COUNTS[_name])
    )
del _name, _title, _ratio, _n_majority

#: Default class mapping: CheXpert's six classes, Lung Lesion never a majority.
CXR_MAPPING = {"normal": NORMAL, "subconditions": SUBCONDITIONS, "never_majority": LUNG_LESION}
DEFAULT_UNIT = 10


def cxr_mapping() -> dict:
    """``{"normal", "subconditions", "never_majority"}`` for the chest X-ray loaders."""
    return {**CXR_MAPPING, "subconditions": tuple(SUBCONDITIONS)}


def fmnist_proxy_mapping() -> dict:
    """A Fashion-MNIST stand-in for the chest X-ray setting.

    Normal = T-shirt/top (0); sub-conditions = Trouser (1), Pullover (2), Dress (3), Coat (4),
    Shirt (6); Shirt never majority. Shirt plays Lung Lesion's part: the hardest class to tell
    from "normal" (shirts are the T-shirts' most frequent confusion), kept rare in every
    experiment. With 6,000 training images per class the most demanding framework
    (1240 normal shares) allows ``unit=4`` (4,960 normal images, 4 per minority class, so
    SMOTE needs ``k_neighbors<=3``); :func:`largest_unit` computes it.

    Returns
    -------
    dict
        Keyword arguments for :func:`make_framework_split` / :func:`list_experiments`.
    """
    names = FASHION_MNIST_CLASSES
    return {
        "normal": names[0],
        "subconditions": tuple(names[i] for i in (1, 2, 3, 4, 6)),
        "never_majority": names[6],
    }


@dataclass(frozen=True)
class Experiment:
    """One framework with one choice of majority sub-conditions.

    Attributes
    ----------
    framework : str
    majority : tuple
        The majority sub-conditions (empty for ``interclass``).
    counts : dict
        ``{class: images}``, normal first, then the sub-conditions in mapping order.
    """

    framework: str
    majority: tuple
    counts: dict

    @property
    def name(self) -> str:
        """E.g. ``"intraclass-single[Pneumothorax]"``."""
        if not self.majority:
            return self.framework
        return f"{self.framework}[{', '.join(map(str, self.majority))}]"


def _get_framework(framework) -> Framework:
    if isinstance(framework, Framework):
        return framework
    return FRAMEWORKS.get(framework)


def _check_mapping(normal, subconditions, never_majority) -> tuple:
    if isinstance(subconditions, (str, bytes)) or not isinstance(subconditions, Sequence):
        raise TypeError(
            f"subconditions={subconditions!r} must be a list of class names or indices; pass "
            "e.g. subconditions=('Lung Lesion', 'Pneumothorax', ...)"
        )
    subs = tuple(subconditions)
    if len(subs) < 1 or len(set(subs)) != len(subs):
        raise ValueError(f"subconditions={subs!r} must be non-empty and without repeats")
    if normal in subs:
        raise ValueError(f"normal={normal!r} is also in subconditions={subs!r}; pick one role")
    if never_majority is not None and never_majority not in subs:
        raise ValueError(
            f"never_majority={never_majority!r} is not one of subconditions={subs!r}; pass one "
            "of them or None"
        )
    return subs


def majority_choices(framework, subconditions: Sequence, never_majority=None) -> list[tuple]:
    """Every choice of majority sub-conditions for ``framework`` (never ``never_majority``)."""
    fw = _get_framework(framework)
    candidates = [c for c in subconditions if c != never_majority]
    if fw.n_majority > len(candidates):
        raise ValueError(
            f"framework {fw.name!r} needs {fw.n_majority} majority sub-conditions but only "
            f"{len(candidates)} may be majority ({candidates}); pass more subconditions"
        )
    return [tuple(c) for c in itertools.combinations(candidates, fw.n_majority)]


def framework_counts(
    framework,
    majority=(),
    *,
    normal=NORMAL,
    subconditions=SUBCONDITIONS,
    never_majority=LUNG_LESION,
    unit: int | str = DEFAULT_UNIT,
) -> dict:
    """``{class: images}`` of one experiment (normal first).

    ``unit`` is the number of images per share (``share * unit`` each), or ``"paper"`` for the
    exact counts of CLE-SMOTE CXR 2024 Table 1 (module docstring): the normal count, the majority
    count for the sub-conditions in ``majority`` and the minority count for the others.
    """
    fw = _get_framework(framework)
    subs = _check_mapping(normal, subconditions, never_majority)
    unit = _check_unit(unit)
    majority = _check_majority(fw, majority, subs, never_majority)
    if unit == PAPER_UNIT:
        if len(subs) != TABLE1_SUBCONDITIONS or fw.table1 is None:
            raise ValueError(
                f"unit='paper' gives the counts of the seed's Table 1, which has "
                f"{TABLE1_SUBCONDITIONS} sub-conditions, but {len(subs)} were given "
                f"({', '.join(map(str, subs))}) or framework {fw.name!r} has no Table 1 row; "
                "pass an integer unit"
            )
        n_normal, n_major, n_minor = fw.table1
        return {normal: n_normal, **{c: n_major if c in majority else n_minor for c in subs}}
    shares = fw.shares(subs, majority)
    return {normal if c is None else c: s * unit for c, s in shares.items()}


def _check_unit(unit):
    if isinstance(unit, str):
        if unit != PAPER_UNIT:
            raise ValueError(
                f"unit={unit!r} is not supported; pass a positive int (images per share) or "
                f"{PAPER_UNIT!r} (the counts of the seed's Table 1)"
            )
        return unit
    return check_int(unit, "unit", min_value=1)


def _check_majority(fw: Framework, majority, subs: tuple, never_majority) -> tuple:
    if isinstance(majority, (str, numbers.Integral)):
        majority = (majority,)
    majority = tuple(majority or ())
    choices = majority_choices(fw, subs, never_majority)
    ordered = None
    if set(majority) <= set(subs) and len(set(majority)) == len(majority):
        ordered = tuple(sorted(majority, key=subs.index))
    if ordered not in choices:
        listed = "; ".join(", ".join(map(repr, c)) or "()" for c in choices)
        raise ValueError(
            f"majority={majority!r} is not valid for framework {fw.name!r}: it needs "
            f"{fw.n_majority} of {subs!r} other than never_majority={never_majority!r}. "
            f"Choose one of: {listed}"
        )
    return ordered


def list_experiments(
    *,
    normal=NORMAL,
    subconditions=SUBCONDITIONS,
    never_majority=LUNG_LESION,
    unit: int | str = DEFAULT_UNIT,
    frameworks: Sequence[str] | None = None,
) -> list[Experiment]:
    """Every (framework, majority choice) with its exact counts — 17 for five sub-conditions."""
    subs = _check_mapping(normal, subconditions, never_majority)
    out = []
    for name in FRAMEWORKS.names() if frameworks is None else frameworks:
        fw = _get_framework(name)
        for majority in majority_choices(fw, subs, never_majority):
            counts = framework_counts(
                fw,
                majority,
                normal=normal,
                subconditions=subs,
                never_majority=never_majority,
                unit=unit,
            )
            out.append(Experiment(fw.name, majority, counts))
    order = {n: k for k, n in enumerate(_PAPER_ORDER)}
    return sorted(out, key=lambda e: order.get(e.framework, len(order)))


_PAPER_ORDER = (
    "interclass",
    "intraclass-single",
    "intraclass-multiple",
    "inter-intra-single",
    "inter-intra-multiple",
)


def _class_index(data: ImageSet, cls, role: str) -> int:
    if isinstance(cls, numbers.Integral) and not isinstance(cls, bool):
        if not 0 <= int(cls) < data.n_classes:
            raise ValueError(
                f"{role}={cls} is not a class index of the data (0..{data.n_classes - 1})"
            )
        return int(cls)
    if isinstance(cls, str) and cls in data.class_names:
        return data.class_names.index(cls)
    raise ValueError(
        f"{role}={cls!r} is not a class of the data; its classes are {list(data.class_names)} "
        "(pass names or indices)"
    )


def _class_rng(seed: int, label: int) -> np.random.RandomState:
    # One stream per (seed, class): a class's draw does not depend on the other classes' counts,
    # which makes the samples nested across experiments.
    return np.random.RandomState([seed, label])


def largest_unit(
    data: ImageSet,
    framework,
    *,
    normal=NORMAL,
    subconditions=SUBCONDITIONS,
    never_majority=LUNG_LESION,
) -> int:
    """Largest ``unit`` for which every majority choice of ``framework`` fits ``data`` (0: none)."""
    fw = _get_framework(framework)
    subs = _check_mapping(normal, subconditions, never_majority)
    available = data.class_counts()
    best = None
    for majority in majority_choices(fw, subs, never_majority):
        for cls, share in fw.shares(subs, majority).items():
            idx = _class_index(data, normal if cls is None else cls, "class")
            fit = int(available[idx]) // share
            best = fit if best is None else min(best, fit)
    return int(best or 0)


def make_framework_split(
    data: ImageSet,
    framework,
    majority=(),
    *,
    normal=NORMAL,
    subconditions=SUBCONDITIONS,
    never_majority=LUNG_LESION,
    unit: int | str = DEFAULT_UNIT,
    seed: int = 0,
) -> ImageSet:
    """Draw one experiment's training set from ``data`` with exact class counts.

    Parameters
    ----------
    data : ImageSet
        Labelled images holding the normal class and the sub-conditions (e.g. the filtered
        CheXpert training split, or Fashion-MNIST with :func:`fmnist_proxy_mapping`).
    framework : str or Framework
        A name in ``FRAMEWORKS`` (module docstring).
    majority : str or sequence
        The majority sub-condition(s): one for ``*-single``, three for ``*-multiple``, none for
        ``interclass``; never ``never_majority``.
    normal, subconditions, never_majority
        Class names (or indices) of ``data`` playing each role.
    unit : int or "paper"
        Images per share of 1 (default 10), or "paper" for the counts of CLE-SMOTE CXR 2024 Table 1.
    seed : int
        Sampling seed; same seed, same images.

    Returns
    -------
    ImageSet
        Classes ``(normal, *subconditions)`` relabelled 0..k; ``meta`` holds the framework,
        majority, counts, ``source_indices`` (rows of ``data``), and the binary mapping
        (class 0 is normal, every other class abnormal; ``meta["rows"]["binary"]``).

    Raises
    ------
    ValueError
        When a class has fewer images than needed (class, needed, available, largest unit).
    """
    if not isinstance(data, ImageSet):
        raise TypeError(f"data must be an ImageSet, got {type(data).__name__}")
    fw = _get_framework(framework)
    subs = _check_mapping(normal, subconditions, never_majority)
    seed = check_int(seed, "seed", min_value=0, max_value=2**32 - 1)
    majority = _check_majority(fw, majority, subs, never_majority)
    counts = framework_counts(
        fw, majority, normal=normal, subconditions=subs, never_majority=never_majority, unit=unit
    )
    roles = [(normal, "normal")] + [(c, "subconditions") for c in subs]
    source = [_class_index(data, c, role) for c, role in roles]
    if len(set(source)) != len(source):
        raise ValueError("normal and subconditions name the same class twice; pass each once")
    available = data.class_counts()
    short = [
        (data.class_names[src], need, int(available[src]))
        for src, need in zip(source, counts.values(), strict=True)
        if available[src] < need
    ]
    if short:
        detail = "; ".join(f"class {c!r} needs {n} but has {a}" for c, n, a in short)
        fit = largest_unit(
            data, fw, normal=normal, subconditions=subs, never_majority=never_majority
        )
        raise ValueError(
            f"framework {fw.name!r} (majority: {', '.join(map(str, majority)) or 'none'}) with "
            f"unit={unit!r} needs more images than the data has: {detail}. Pass unit<={fit} "
            "(the largest that fits every majority choice) or more images"
        )
    picks, labels = [], []
    for new_label, (src, need) in enumerate(zip(source, counts.values(), strict=True)):
        rows = np.flatnonzero(data.labels == src)
        chosen = np.sort(_class_rng(seed, src).permutation(rows)[:need])
        picks.append(chosen)
        labels.append(np.full(need, new_label, dtype=np.int64))
    idx = np.concatenate(picks)
    y = np.concatenate(labels)
    meta = {key: data.meta[key] for key in ("dataset", "split", "filtering") if key in data.meta}
    rows = _subset_rows(data, idx)
    rows["binary"] = (y != 0).astype(np.int64)
    meta.update(
        framework=fw.name,
        majority=majority,
        counts={str(data.class_names[s]): n for s, n in zip(source, counts.values(), strict=True)},
        unit=unit if unit == PAPER_UNIT else int(unit),
        seed=seed,
        source_indices=idx,
        normal_class=0,
        binary_class_names=BINARY_CLASSES,
        rows=rows,
    )
    names = tuple(data.class_names[s] for s in source)
    return ImageSet(
        np.ascontiguousarray(data.images[idx]),
        y,
        names,
        f"{data.source} | {Experiment(fw.name, majority, counts).name} unit={unit} seed={seed}",
        meta,
    )


def _subset_rows(data: ImageSet, idx: np.ndarray) -> dict:
    # per-image arrays that still match the data (ImageSet.subset copies meta unchanged)
    rows = data.meta.get("rows", {})
    return {k: np.asarray(v)[idx] for k, v in rows.items() if len(v) == len(data)}


def select_mapped_classes(
    data: ImageSet, *, normal=NORMAL, subconditions=SUBCONDITIONS, never_majority=LUNG_LESION
) -> ImageSet:
    """Every image of the mapped classes, relabelled as :func:`make_framework_split` does.

    For evaluation sets with one class per image (e.g. Fashion-MNIST's test split under
    :func:`fmnist_proxy_mapping`): class 0 is normal, 1..k the sub-conditions in mapping order.
    ``never_majority`` is accepted (and checked) so a mapping dict can be passed whole.
    """
    if not isinstance(data, ImageSet):
        raise TypeError(f"data must be an ImageSet, got {type(data).__name__}")
    subs = _check_mapping(normal, subconditions, never_majority)
    source = [_class_index(data, normal, "normal")]
    source += [_class_index(data, c, "subconditions") for c in subs]
    new_label = np.full(data.n_classes, -1, dtype=np.int64)
    new_label[source] = np.arange(len(source))
    idx = np.flatnonzero(new_label[data.labels] >= 0)
    y = new_label[data.labels[idx]]
    meta = {key: data.meta[key] for key in ("dataset", "split") if key in data.meta}
    rows = _subset_rows(data, idx)
    rows["binary"] = (y != 0).astype(np.int64)
    meta.update(source_indices=idx, normal_class=0, binary_class_names=BINARY_CLASSES, rows=rows)
    names = tuple(data.class_names[s] for s in source)
    return ImageSet(np.ascontiguousarray(data.images[idx]), y, names, data.source, meta)


def _auroc(y: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    if np.unique(y).size < 2:
        return float("nan")  # undefined without both classes
    return float(roc_auc_score(y, score))


def abnormality_auroc(
    y_score,
    *,
    y_true=None,
    y_binary=None,
    multi_hot=None,
    normal_index: int = 0,
    class_names: Sequence[str] | None = None,
) -> dict:
    """Normal-vs-abnormal AUROC from class probabilities, plus one-vs-rest per sub-condition.

    P(abnormal) = 1 − P(normal). Pass either ``y_true`` (class indices: a framework-style set
    where every image has one class) or ``y_binary`` (1 = abnormal) with optional ``multi_hot``
    (N, K−1) whose columns follow the score columns without the normal one — as the chest X-ray
    test splits give in ``meta["rows"]``.

    Returns
    -------
    dict
        ``"auroc_abnormal"``, ``"auroc_subconditions"`` ({name: AUROC, NaN where a
        sub-condition has no positive or no negative}), ``"auroc_subconditions_mean"`` (over
        the defined ones).
    """
    scores = np.asarray(y_score, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[1] < 2 or not np.isfinite(scores).all():
        raise ValueError(
            f"y_score must be finite class probabilities of shape (N, K>=2), got shape "
            f"{scores.shape}; pass the softmax output"
        )
    n, k = scores.shape
    if not np.allclose(scores.sum(axis=1), 1.0, atol=1e-3) or scores.min() < -1e-6:
        raise ValueError(
            "y_score rows must be probabilities summing to 1 (P(abnormal) = 1 - P(normal)); "
            "pass softmax(logits)"
        )
    normal_index = check_int(normal_index, "normal_index", min_value=0, max_value=k - 1)
    names = [str(c) for c in (class_names if class_names is not None else range(k))]
    if len(names) != k:
        raise ValueError(f"class_names has {len(names)} names but y_score has {k} columns")
    others = [c for c in range(k) if c != normal_index]
    if (y_true is None) == (y_binary is None):
        raise ValueError("pass exactly one of y_true (class indices) or y_binary (1 = abnormal)")
    if y_true is not None:
        y_true = np.asarray(y_true)
        if y_true.shape != (n,) or y_true.min() < 0 or y_true.max() >= k:
            raise ValueError(f"y_true must be {n} class indices in 0..{k - 1}")
        if multi_hot is not None:
            raise ValueError("multi_hot goes with y_binary, not with y_true")
        y_binary = (y_true != normal_index).astype(int)
        targets = np.stack([(y_true == c).astype(int) for c in others], axis=1)
    else:
        y_binary = np.asarray(y_binary)
        if y_binary.shape != (n,) or not np.isin(y_binary, (0, 1)).all():
            raise ValueError(f"y_binary must be {n} values in {{0, 1}} (1 = abnormal)")
        targets = None
        if multi_hot is not None:
            targets = np.asarray(multi_hot)
            if targets.shape != (n, k - 1) or not np.isin(targets, (0, 1)).all():
                raise ValueError(
                    f"multi_hot must be 0/1 of shape ({n}, {k - 1}): one column per "
                    "non-normal class, in score-column order"
                )
    result = {"auroc_abnormal": _auroc(y_binary, 1.0 - scores[:, normal_index])}
    per = {}
    if targets is not None:
        for j, c in enumerate(others):
            per[names[c]] = _auroc(targets[:, j], scores[:, c])
    result["auroc_subconditions"] = per
    defined = [v for v in per.values() if np.isfinite(v)]
    result["auroc_subconditions_mean"] = float(np.mean(defined)) if defined else float("nan")
    return result


def abnormality_targets(split: ImageSet, n_classes: int) -> dict | None:
    """How to score ``split`` with :func:`abnormality_auroc` against ``n_classes`` score columns.

    A split takes part when ``split.meta["normal_class"]`` names its normal class (the
    framework splits, :func:`select_mapped_classes` and the chest X-ray test splits set it).
    The normal class has that index in the score columns too.

    - Same classes as the scores: ``y_true`` = the labels (one class per image).
    - Two classes (normal, abnormal) against more score columns: ``y_binary`` = the labels,
      with ``meta["rows"]["multi_hot"]`` (columns = the non-normal score columns, named by
      ``meta["multi_hot_names"]``) for the per-sub-condition AUROC where the split has it.

    Returns
    -------
    dict or None
        Keyword arguments of :func:`abnormality_auroc` (all but ``y_score``); ``"y_binary"``
        among them marks a binary split, whose six-class metrics are undefined. None when the
        split names no normal class.

    Raises
    ------
    ValueError
        When the split's classes fit neither case.
    """
    if not isinstance(split, ImageSet):
        raise TypeError(f"split must be an ImageSet, got {type(split).__name__}")
    normal = split.meta.get("normal_class")
    if normal is None:
        return None
    n_classes = check_int(n_classes, "n_classes", min_value=2)
    normal = check_int(normal, "meta['normal_class']", min_value=0, max_value=n_classes - 1)
    if split.n_classes == n_classes:
        return {"y_true": split.labels, "normal_index": normal, "class_names": split.class_names}
    if split.n_classes != 2 or normal > 1:
        raise ValueError(
            f"split {split.source!r} has {split.n_classes} classes {list(split.class_names)} "
            f"and normal_class={normal}, but the scores have {n_classes} columns; give it the "
            "model's classes or binary labels (normal, abnormal)"
        )
    targets = {
        "y_binary": (split.labels != normal).astype(np.int64),
        "normal_index": normal,
        "class_names": None,
    }
    multi_hot = split.meta.get("rows", {}).get("multi_hot")
    names = split.meta.get("multi_hot_names")
    if multi_hot is not None and np.shape(multi_hot) == (len(split), n_classes - 1):
        targets["multi_hot"] = np.asarray(multi_hot)
        if names is not None and len(names) == n_classes - 1:
            names = [str(c) for c in names]
            targets["class_names"] = names[:normal] + [split.class_names[normal]] + names[normal:]
    return targets


def _abnormality(split: ImageSet, proba: np.ndarray, evaluate) -> dict:
    return abnormality_auroc(proba, **abnormality_targets(split, proba.shape[1]))


def _binary_labels(split: ImageSet, n_classes: int) -> bool:
    targets = abnormality_targets(split, n_classes)
    return targets is not None and "y_binary" in targets


#: Splits that name a normal class (``meta["normal_class"]``: the framework splits,
#: :func:`select_mapped_classes`, the chest X-ray test splits) are also scored normal vs
#: abnormal; a split with binary normal/abnormal labels against more classes only so.
ABNORMALITY_METRICS = register_metric_suite(
    MetricSuite(
        "abnormality",
        scalars={
            "auroc_abnormal": "AUROC normal/abnormal",
            "auroc_subconditions_mean": "AUROC sub-conditions",
        },
        needs=("scores", "normal_class"),
        wants=lambda split, n_classes: split.meta.get("normal_class") is not None,
        compute=_abnormality,
        exclusive=_binary_labels,
    )
)
