"""The five imbalance frameworks: exact counts, permutations, seeded nested sampling."""

from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from deepbalance.data.cxr_common import CXR_CLASSES, SUBCONDITIONS
from deepbalance.data.frameworks import (
    FRAMEWORKS,
    abnormality_auroc,
    fmnist_proxy_mapping,
    framework_counts,
    largest_unit,
    list_experiments,
    majority_choices,
    make_framework_split,
    select_mapped_classes,
)
from deepbalance.data.idx import FASHION_MNIST_CLASSES
from deepbalance.data.imageset import ImageSet

SHARES = {  # the seed's normalised ratios, majority sub-condition(s) first
    "interclass": [100, 1, 1, 1, 1, 1],
    "intraclass-single": [24, 20, 1, 1, 1, 1],
    "intraclass-multiple": [62, 20, 20, 20, 1, 1],
    "inter-intra-single": [480, 20, 1, 1, 1, 1],
    "inter-intra-multiple": [1240, 20, 20, 20, 1, 1],
}


@pytest.fixture(scope="module")
def cxr_like():
    """Six classes named as the CheXpert loader names them; 1300 normal, 25 per sub-condition."""
    sizes = [1300, 25, 25, 25, 25, 25]
    labels = np.repeat(np.arange(6), sizes)
    rng = np.random.RandomState(0)
    images = rng.randint(0, 256, size=(len(labels), 1, 2, 2)).astype(np.uint8)
    perm = rng.permutation(len(labels))  # classes interleaved, as in a real CSV
    meta = {"dataset": "chexpert", "rows": {"csv_row": perm}}
    return ImageSet(images[perm], labels[perm], CXR_CLASSES, "synthetic", meta)


def test_seventeen_experiments_with_the_seed_ratios():
    experiments = list_experiments(unit=1)
    assert len(experiments) == 17
    per_framework = {}
    for e in experiments:
        per_framework[e.framework] = per_framework.get(e.framework, 0) + 1
        assert "Lung Lesion" not in e.majority
        counts = list(e.counts.values())
        assert list(e.counts) == list(CXR_CLASSES)
        assert counts[0] == SHARES[e.framework][0]
        assert sorted(counts[1:], reverse=True) == SHARES[e.framework][1:]
        assert {c for c, n in e.counts.items() if n == 20} == set(e.majority)
    assert per_framework == {
        "interclass": 1,
        "intraclass-single": 4,
        "intraclass-multiple": 4,
        "inter-intra-single": 4,
        "inter-intra-multiple": 4,
    }
    assert len({(e.framework, e.majority) for e in experiments}) == 17
    assert [e.framework for e in experiments][:2] == ["interclass", "intraclass-single"]
    assert experiments[1].name == "intraclass-single[Pneumothorax]"


def test_default_unit_counts():
    counts = framework_counts(
        "inter-intra-multiple", ("Fracture", "Pneumothorax", "Enlarged Cardiac Silhouette")
    )
    assert list(counts.values()) == [12400, 10, 200, 200, 10, 200]
    assert list(framework_counts("interclass", unit=3).values()) == [300, 3, 3, 3, 3, 3]


@pytest.mark.parametrize(
    "framework, majority, expected",
    [
        # CLE-SMOTE CXR 2024 Table 1, one row per framework (the majority columns as printed there)
        ("interclass", (), [19624, 196, 196, 196, 196, 196]),
        ("intraclass-single", ("Pneumothorax",), [2194, 87, 1759, 87, 87, 87]),
        (
            "intraclass-multiple",
            ("Fracture", "Focal/Multifocal Lung Opacity", "Enlarged Cardiac Silhouette"),
            [3858, 62, 62, 1245, 1245, 1245],
        ),
        ("inter-intra-single", ("Pneumothorax",), [19624, 40, 817, 40, 40, 40]),
        (
            "inter-intra-multiple",
            ("Fracture", "Focal/Multifocal Lung Opacity", "Enlarged Cardiac Silhouette"),
            [19624, 15, 15, 316, 316, 316],
        ),
    ],
)
def test_paper_unit_gives_table_1(framework, majority, expected):
    counts = framework_counts(framework, majority, unit="paper")
    assert list(counts) == list(CXR_CLASSES) and list(counts.values()) == expected


def test_paper_unit_totals_and_errors():
    # the abnormal totals of Table 1; the single-majority row sums to 2107 (printed 2147)
    totals = {e.name: sum(list(e.counts.values())[1:]) for e in list_experiments(unit="paper")}
    assert totals["interclass"] == 980
    assert totals["intraclass-single[Fracture]"] == 2107
    assert totals["intraclass-multiple[Pneumothorax, Fracture, Focal/Multifocal Lung Opacity]"] == (
        3859
    )
    assert totals["inter-intra-single[Fracture]"] == 977
    assert totals["inter-intra-multiple[Pneumothorax, Fracture, Enlarged Cardiac Silhouette]"] == (
        978
    )
    assert len(totals) == 17
    four = tuple(c for c in SUBCONDITIONS if c != "Fracture")
    with pytest.raises(ValueError, match="Table 1, which has 5 sub-conditions, but 4"):
        framework_counts("interclass", subconditions=four, unit="paper")
    with pytest.raises(ValueError, match="unit='table1' is not supported"):
        framework_counts("interclass", unit="table1")


def test_paper_unit_draws_and_profile():
    from deepbalance.data.profiles import make_imbalanced

    sizes = [19700, 1800, 1800, 1800, 1800, 1800]
    labels = np.repeat(np.arange(6), sizes)
    data = ImageSet(np.zeros((len(labels), 1, 1, 1), np.uint8), labels, CXR_CLASSES, "toy")
    split = make_framework_split(data, "intraclass-single", "Fracture", unit="paper", seed=1)
    assert split.class_counts().tolist() == [2194, 87, 87, 1759, 87, 87]
    assert split.meta["unit"] == "paper"
    drawn = make_imbalanced(data, "cxr-framework", framework="interclass", unit="paper")
    assert drawn.class_counts().tolist() == [19624, 196, 196, 196, 196, 196]
    small = ImageSet(data.images[:19000], labels[:19000], CXR_CLASSES, "toy")
    with pytest.raises(ValueError, match="'Normal' needs 19624 but has 19000"):
        make_framework_split(small, "interclass", unit="paper")


def test_generic_number_of_subconditions():
    four = tuple(c for c in SUBCONDITIONS if c != "Fracture")  # ChestX-ray14
    experiments = list_experiments(subconditions=four)
    assert len(experiments) == 1 + 3 + 1 + 3 + 1
    single = [e for e in experiments if e.framework == "inter-intra-single"][0]
    assert list(single.counts.values()) == [20 * 23 * 10, 10, 200, 10, 10]


def test_majority_validation():
    with pytest.raises(ValueError, match="majority=.*Lung Lesion.*not valid"):
        framework_counts("intraclass-single", "Lung Lesion")
    with pytest.raises(ValueError, match="needs 3 of"):
        framework_counts("intraclass-multiple", ("Fracture",))
    with pytest.raises(ValueError, match="unknown imbalance framework 'intraclas'"):
        framework_counts("intraclas", "Fracture")
    with pytest.raises(ValueError, match="needs 3 majority sub-conditions but only 2"):
        majority_choices("inter-intra-multiple", ["a", "b", "c"], never_majority="c")
    with pytest.raises(ValueError, match="never_majority='x'"):
        list_experiments(never_majority="x")
    # order of the majority names does not matter
    assert framework_counts(
        "intraclass-multiple", ("Fracture", "Pneumothorax", "Enlarged Cardiac Silhouette")
    ) == (
        framework_counts(
            "intraclass-multiple", ("Enlarged Cardiac Silhouette", "Fracture", "Pneumothorax")
        )
    )


def test_every_experiment_has_exact_counts(cxr_like):
    for e in list_experiments(unit=1):
        split = make_framework_split(cxr_like, e.framework, e.majority, unit=1, seed=3)
        assert split.class_names == CXR_CLASSES
        assert split.class_counts().tolist() == list(e.counts.values())
        src = split.meta["source_indices"]
        assert len(np.unique(src)) == len(src)  # no image twice
        np.testing.assert_array_equal(cxr_like.labels[src], split.labels)
        np.testing.assert_array_equal(cxr_like.images[src], split.images)
        np.testing.assert_array_equal(split.meta["rows"]["binary"], split.labels != 0)
        np.testing.assert_array_equal(
            split.meta["rows"]["csv_row"], cxr_like.meta["rows"]["csv_row"][src]
        )
        assert split.meta["framework"] == e.framework and split.meta["majority"] == e.majority
        assert split.meta["binary_class_names"] == ("Normal", "Abnormal")


def test_seeded_deterministic_and_nested(cxr_like):
    a = make_framework_split(cxr_like, "intraclass-single", "Fracture", unit=1, seed=7)
    b = make_framework_split(cxr_like, "intraclass-single", "Fracture", unit=1, seed=7)
    c = make_framework_split(cxr_like, "intraclass-single", "Fracture", unit=1, seed=8)
    np.testing.assert_array_equal(a.meta["source_indices"], b.meta["source_indices"])
    np.testing.assert_array_equal(a.images, b.images)
    assert not np.array_equal(a.meta["source_indices"], c.meta["source_indices"])
    # Fracture's single image as a minority is among its 20 as the majority (same seed)
    d = make_framework_split(cxr_like, "intraclass-single", "Pneumothorax", unit=1, seed=7)
    fracture = CXR_CLASSES.index("Fracture")
    minority = set(d.meta["source_indices"][d.labels == fracture])
    majority = set(a.meta["source_indices"][a.labels == fracture])
    assert len(minority) == 1 and len(majority) == 20 and minority <= majority


def test_not_enough_images_names_class_needed_available(cxr_like):
    with pytest.raises(ValueError) as info:
        make_framework_split(
            cxr_like,
            "inter-intra-multiple",
            ("Pneumothorax", "Fracture", "Enlarged Cardiac Silhouette"),
            unit=2,
        )
    msg = str(info.value)
    assert "class 'Normal' needs 2480 but has 1300" in msg
    assert "class 'Pneumothorax' needs 40 but has 25" in msg
    assert "unit<=1" in msg
    assert largest_unit(cxr_like, "inter-intra-multiple") == 1
    assert largest_unit(cxr_like, "interclass") == 13
    assert largest_unit(cxr_like, "intraclass-single") == 1  # 20 * 2 > 25


def test_mapping_by_index_and_bad_classes(cxr_like):
    by_index = make_framework_split(
        cxr_like, "interclass", normal=0, subconditions=[1, 2, 3, 4, 5], never_majority=1, unit=1
    )
    by_name = make_framework_split(cxr_like, "interclass", unit=1)
    np.testing.assert_array_equal(by_index.meta["source_indices"], by_name.meta["source_indices"])
    with pytest.raises(ValueError, match="normal='Healthy' is not a class of the data"):
        make_framework_split(cxr_like, "interclass", normal="Healthy", unit=1)
    with pytest.raises(ValueError, match="also in subconditions"):
        make_framework_split(cxr_like, "interclass", normal="Fracture", unit=1)
    with pytest.raises(TypeError, match="must be an ImageSet"):
        make_framework_split(cxr_like.images, "interclass")
    with pytest.raises(ValueError, match="unit=0 is too small"):
        make_framework_split(cxr_like, "interclass", unit=0)


def test_fmnist_proxy_mapping_on_fashion_mnist_names():
    mapping = fmnist_proxy_mapping()
    assert mapping["normal"] == "T-shirt/top"
    assert mapping["subconditions"] == ("Trouser", "Pullover", "Dress", "Coat", "Shirt")
    assert mapping["never_majority"] == "Shirt"
    assert len(list_experiments(**mapping)) == 17
    labels = np.repeat(np.arange(10), 6000)
    fake = ImageSet(np.zeros((len(labels), 1, 1, 1), np.uint8), labels, FASHION_MNIST_CLASSES)
    assert largest_unit(fake, "inter-intra-multiple", **mapping) == 4
    split = make_framework_split(
        fake, "inter-intra-multiple", ("Trouser", "Dress", "Coat"), unit=4, **mapping
    )
    assert split.class_names == ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Shirt")
    assert split.class_counts().tolist() == [4960, 80, 4, 80, 80, 4]


def test_registry_lists_the_five():
    assert FRAMEWORKS.names() == sorted(SHARES)
    assert FRAMEWORKS.get("intraclass-multiple").n_majority == 3


def test_abnormality_auroc_matches_sklearn():
    rng = np.random.RandomState(0)
    y_true = np.repeat(np.arange(6), 10)
    logits = rng.randn(60, 6) + 2.0 * np.eye(6)[y_true]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    out = abnormality_auroc(proba, y_true=y_true, class_names=CXR_CLASSES)
    expected = roc_auc_score(y_true != 0, 1 - proba[:, 0])
    assert out["auroc_abnormal"] == pytest.approx(expected)
    assert list(out["auroc_subconditions"]) == list(SUBCONDITIONS)
    assert out["auroc_subconditions"]["Fracture"] == pytest.approx(
        roc_auc_score(y_true == 3, proba[:, 3])
    )
    # test-split style: binary label plus multi-hot; a column without positives is NaN
    multi = (np.eye(6)[y_true][:, 1:]).astype(int)
    multi[:, 2] = 0
    out2 = abnormality_auroc(proba, y_binary=(y_true != 0).astype(int), multi_hot=multi)
    assert out2["auroc_abnormal"] == pytest.approx(expected)
    assert np.isnan(out2["auroc_subconditions"]["3"])
    defined = [v for k, v in out2["auroc_subconditions"].items() if k != "3"]
    assert out2["auroc_subconditions_mean"] == pytest.approx(np.mean(defined))
    perfect = abnormality_auroc(np.eye(6)[y_true], y_true=y_true)
    assert perfect["auroc_abnormal"] == 1.0


def test_abnormality_auroc_errors():
    proba = np.full((4, 3), 1 / 3)
    with pytest.raises(ValueError, match="summing to 1"):
        abnormality_auroc(proba * 2, y_true=[0, 1, 2, 0])
    with pytest.raises(ValueError, match="exactly one of"):
        abnormality_auroc(proba)
    with pytest.raises(ValueError, match="multi_hot must be 0/1 of shape"):
        abnormality_auroc(proba, y_binary=[0, 1, 1, 0], multi_hot=np.zeros((4, 3)))


def test_select_mapped_classes_relabels_like_the_splits():
    labels = np.arange(10).repeat(3)
    data = ImageSet(
        np.arange(30, dtype=np.uint8).reshape(30, 1, 1, 1), labels, FASHION_MNIST_CLASSES
    )
    mapping = fmnist_proxy_mapping()
    sub = select_mapped_classes(data, **mapping)
    assert sub.class_names == ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Shirt")
    assert sub.labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5]
    assert sub.images[-1, 0, 0, 0] == 20  # the last Shirt (class 6) image
    assert sub.meta["rows"]["binary"].sum() == 15


DEBIAN = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.fmnist
@pytest.mark.skipif(not DEBIAN.is_dir(), reason="needs: apt-get install dataset-fashion-mnist")
@pytest.mark.usefixtures("data_env")
def test_fmnist_proxy_on_the_real_data():
    from deepbalance.data import load_dataset

    train = load_dataset("fashion-mnist", "train")
    mapping = fmnist_proxy_mapping()
    assert largest_unit(train, "inter-intra-multiple", **mapping) == 4
    split = make_framework_split(train, "inter-intra-single", "Coat", unit=4, seed=0, **mapping)
    assert split.class_counts().tolist() == [1920, 4, 4, 4, 80, 4]
    assert split.image_shape == (1, 28, 28)
