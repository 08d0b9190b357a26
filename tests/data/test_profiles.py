"""Imbalance profiles: exact counts, seeding, subsets, re-indexing, records and errors."""

import math
import subprocess
import sys

import numpy as np
import pytest

from deepbalance.data.imageset import ImageSet
from deepbalance.data.profiles import (
    PROFILES,
    Profile,
    imbalanced_test_counts,
    list_profiles,
    make_imbalanced,
)

FIXED = {
    "deepsmote-mnist": [4000, 2000, 1000, 750, 500, 350, 200, 100, 60, 40],
    "deepsmote-cifar": [4500, 2000, 1000, 800, 600, 500, 400, 250, 150, 80],
    "deepsmote-celeba": [9000, 4500, 1000, 500, 160],
    "deepsmote-imbalanced-test": [1000, 500, 250, 187, 125, 87, 50, 25, 15, 10],
    "deepsmote-imbalanced-test-cifar": [1125, 500, 250, 200, 150, 125, 100, 62, 37, 20],
    "rae-cifar": [5000, 2500, 1000, 1000, 600, 400, 300, 150, 90, 50],
    "fmnist-lt-extreme": [4000, 2000, 1000, 500, 250, 120, 60, 30, 15, 6],
}


def make_source(per_class, *, shuffle_seed=0):
    """Shuffled labels; each 1x1x3 image encodes its own row index, so rows can be traced."""
    labels = np.repeat(np.arange(len(per_class)), per_class)
    labels = np.random.RandomState(shuffle_seed).permutation(labels)
    rows = np.arange(len(labels))
    images = np.stack([rows % 256, (rows // 256) % 256, rows // 65536], axis=1)
    images = images.astype(np.uint8).reshape(-1, 1, 1, 3)
    names = [f"c{i}" for i in range(len(per_class))]
    return ImageSet(images, labels, names, "toy:train")


def row_ids(data):
    img = data.images.reshape(len(data), 3).astype(np.int64)
    return img[:, 0] + 256 * img[:, 1] + 65536 * img[:, 2]


@pytest.fixture(scope="module")
def big():
    return make_source([9000, 4500, 1000, 1000, 600, 500, 400, 250, 150, 80])


@pytest.fixture(scope="module")
def flat():
    return make_source([300] * 10)


@pytest.mark.parametrize("name", sorted(FIXED))
def test_fixed_profiles_give_exact_counts(name):
    expected = FIXED[name]
    source = make_source([n + 7 for n in expected])
    result = make_imbalanced(source, name, seed=3)
    assert result.class_counts().tolist() == expected
    assert PROFILES.get(name).counts == tuple(expected)


MNIST_TEST = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
SVHN_TEST = [1744, 5099, 4149, 2882, 2523, 2384, 1977, 2019, 1660, 1595]


@pytest.mark.parametrize(
    "profile, test_split, expected",
    [
        # Fashion-MNIST's test split, 1000 per class: the training counts / 4
        ("deepsmote-imbalanced-test", [1000] * 10, [1000, 500, 250, 187, 125, 87, 50, 25, 15, 10]),
        # MNIST's: 980 zeros, so M = 980: floor(c * 980 / 4000) = floor(0.245 c)
        ("deepsmote-imbalanced-test", MNIST_TEST, [980, 490, 245, 183, 122, 85, 49, 24, 14, 9]),
        # CIFAR-10's, 1000 per class: M = 1000 < 4500 / 4, floor(c * 1000 / 4500)
        (
            "deepsmote-imbalanced-test-cifar",
            [1000] * 10,
            [1000, 444, 222, 177, 133, 111, 88, 55, 33, 17],
        ),
        # SVHN's: M = 4500 / 4 = 1125 fits, so the CIFAR/SVHN training counts / 4
        (
            "deepsmote-imbalanced-test-cifar",
            SVHN_TEST,
            [1125, 500, 250, 200, 150, 125, 100, 62, 37, 20],
        ),
    ],
)
def test_imbalanced_test_sets_follow_their_training_profile(profile, test_split, expected):
    result = make_imbalanced(make_source(test_split), profile, seed=0)
    assert result.class_counts().tolist() == expected
    train = PROFILES.get(profile).params["train"]
    assert imbalanced_test_counts(PROFILES.get(train).counts, test_split) == expected
    # the generic profile with the training profile named gives the same counts
    generic = make_imbalanced(make_source(test_split), "deepsmote-imbalanced-test", train=train)
    assert generic.class_counts().tolist() == expected


def test_imbalanced_test_counts_options_and_errors():
    assert imbalanced_test_counts([40, 20, 2], divisor=2) == [20, 10, 1]
    assert imbalanced_test_counts([40, 20, 2], [100, 100, 100], max_count=8) == [8, 4, 1]
    source = make_source([50, 50, 50])
    drawn = make_imbalanced(source, "deepsmote-imbalanced-test", train=[40, 20, 4], order=[2, 0, 1])
    # floor(c / 4) = 10, 5, 1 go to classes 2, 0, 1
    assert drawn.class_counts().tolist() == [5, 1, 10]
    with pytest.raises(ValueError, match="train='longtail' is a profile without fixed counts"):
        make_imbalanced(source, "deepsmote-imbalanced-test", train="longtail")
    with pytest.raises(ValueError, match="has 10 counts but the data has 3 classes"):
        make_imbalanced(source, "deepsmote-imbalanced-test")
    with pytest.raises(ValueError, match="divisor=0.5"):
        imbalanced_test_counts([4, 2], divisor=0.5)
    with pytest.raises(ValueError, match="at least one positive count"):
        imbalanced_test_counts([0, 0])


def test_rows_are_real_distinct_sorted_and_labelled(big):
    result = make_imbalanced(big, "longtail", seed=1, rho=50)
    ids = row_ids(result)
    assert np.all(np.diff(ids) > 0), "rows must keep the source order without duplicates"
    np.testing.assert_array_equal(result.labels, big.labels[ids])


def test_same_seed_same_rows_other_seed_other_rows(big):
    a = row_ids(make_imbalanced(big, "ratios", seed=5, ratios=[1] * 10, max_count=50))
    b = row_ids(make_imbalanced(big, "ratios", seed=5, ratios=[1] * 10, max_count=50))
    c = row_ids(make_imbalanced(big, "ratios", seed=6, ratios=[1] * 10, max_count=50))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_class_rows_do_not_depend_on_other_counts(flat):
    a = make_imbalanced(flat, [10, 20, 30, 40, 50, 60, 70, 80, 90, 100], seed=2)
    b = make_imbalanced(flat, [100, 20, 5, 40, 1, 60, 70, 80, 90, 10], seed=2)
    for cls in (1, 3, 5):
        np.testing.assert_array_equal(row_ids(a)[a.labels == cls], row_ids(b)[b.labels == cls])


def test_smaller_counts_are_subsets_of_larger_ones(flat):
    imbalanced = make_imbalanced(flat, "cle-binary", seed=4, classes=(2, 7))
    balanced = make_imbalanced(flat, "cle-binary-balanced", seed=4, classes=(2, 7))
    assert set(row_ids(imbalanced)) <= set(row_ids(balanced))
    steep = make_imbalanced(flat, "longtail", seed=4, rho=100)
    mild = make_imbalanced(flat, "longtail", seed=4, rho=10)
    assert set(row_ids(steep)) <= set(row_ids(mild))


def test_cle_binary_reindexes_and_keeps_names(flat):
    result = make_imbalanced(flat, "cle-binary", seed=0, classes=("c7", 3))
    assert result.class_names == ("c7", "c3")
    assert result.class_counts().tolist() == [300, 3]
    np.testing.assert_array_equal(flat.labels[row_ids(result)], np.where(result.labels == 0, 7, 3))
    assert result.meta["profile"]["classes"] == [7, 3]


def test_cle_3class_ratios_and_balanced_variant(big):
    result = make_imbalanced(big, "cle-3class", majority=2000)
    assert result.class_counts().tolist() == [2000, 200, 10]
    assert result.class_names == ("c0", "c1", "c2")
    # Default majority: the fewest images among the chosen classes (here class 2: 1000).
    assert make_imbalanced(big, "cle-3class").class_counts().tolist() == [1000, 100, 5]
    balanced = make_imbalanced(big, "cle-3class-balanced", classes=(4, 5, 6))
    assert balanced.class_counts().tolist() == [400, 400, 400]


def test_cle_bad_classes(flat):
    with pytest.raises(ValueError, match="must name 2 different classes"):
        make_imbalanced(flat, "cle-binary", classes=(1, 1))
    with pytest.raises(ValueError, match="class index 12 is out of range"):
        make_imbalanced(flat, "cle-binary", classes=(0, 12))
    with pytest.raises(ValueError, match="'dog' is not a class"):
        make_imbalanced(flat, "cle-3class", classes=(0, 1, "dog"))


def test_longtail_formula_and_order(flat):
    expected = [math.floor(300 * 10 ** (-i / 9) + 1e-9) for i in range(10)]
    assert expected[0] == 300 and expected[-1] == 30
    assert make_imbalanced(flat, "longtail", rho=10).class_counts().tolist() == expected
    reverse = list(range(9, -1, -1))
    result = make_imbalanced(flat, "longtail", rho=10, order=reverse)
    assert result.class_counts().tolist() == expected[::-1]
    capped = make_imbalanced(flat, "longtail", rho=100, max_count=200)
    assert capped.class_counts()[[0, 9]].tolist() == [200, 2]


def test_longtail_default_max_count_fits_every_class():
    source = make_source([50, 300, 300])
    # Class 0 (50 images) binds: the largest n_max it can serve is 50.
    assert make_imbalanced(source, "longtail", rho=4).class_counts().tolist() == [50, 25, 12]
    # Class 0 last: it serves n_max * 1/4 <= 50, so n_max = 200.
    result = make_imbalanced(source, "longtail", rho=4, order=[2, 1, 0])
    assert result.class_counts().tolist() == [50, 100, 200]


def test_ratios(flat):
    result = make_imbalanced(flat, "ratios", ratios=[4, 2, 1, 1, 1, 1, 1, 1, 1, 0], max_count=100)
    assert result.class_counts().tolist() == [100, 50, 25, 25, 25, 25, 25, 25, 25, 0]
    by_name = make_imbalanced(flat, "ratios", ratios={f"c{i}": 10 - i for i in range(10)})
    assert by_name.class_counts().tolist() == [300, 270, 240, 210, 180, 150, 120, 90, 60, 30]
    with pytest.raises(ValueError, match="every class"):
        make_imbalanced(flat, "ratios", ratios={0: 1, 1: 2})
    with pytest.raises(ValueError, match="all zero"):
        make_imbalanced(flat, "ratios", ratios=[0] * 10)


def test_counts_list_dict_and_shortcuts(flat):
    counts = [5, 4, 3, 2, 1, 0, 1, 2, 3, 4]
    assert make_imbalanced(flat, counts).class_counts().tolist() == counts
    assert make_imbalanced(flat, "counts", counts=counts).class_counts().tolist() == counts
    assert make_imbalanced(flat, np.array(counts)).class_counts().tolist() == counts
    result = make_imbalanced(flat, {0: 7, "c9": 1})
    assert result.class_counts().tolist() == [7] + [300] * 8 + [1]
    permuted = make_imbalanced(flat, "counts", counts=counts, order=[9, 8, 7, 6, 5, 4, 3, 2, 1, 0])
    assert permuted.class_counts().tolist() == counts[::-1]


def test_record_in_meta_and_source(flat):
    result = make_imbalanced(flat, "longtail", seed=7, rho=10)
    record = result.meta["profile"]
    assert record["name"] == "longtail" and record["seed"] == 7
    assert record["params"]["rho"] == 10
    assert record["counts"] == result.class_counts().tolist()
    assert record["source"] == "generic"
    assert result.source.startswith("toy:train") and "longtail(rho=10)" in result.source
    assert "seed 7" in result.source


def test_not_enough_images_names_class_counts_and_fix(flat):
    with pytest.raises(ValueError) as info:
        make_imbalanced(flat, "deepsmote-mnist")
    message = str(info.value)
    assert "class 0 ('c0') needs 4000 images but has 300" in message
    assert "class 9" not in message  # 40 <= 300: only short classes are listed
    assert "lower the counts" in message


def test_wrong_number_of_classes_and_bad_params(flat):
    with pytest.raises(ValueError, match="10 entries but the data has 3 classes"):
        make_imbalanced(make_source([10, 10, 10]), "deepsmote-mnist")
    with pytest.raises(ValueError, match="unknown parameter.*rhoo.*accepts rho"):
        make_imbalanced(flat, "longtail", rhoo=3)
    with pytest.raises(ValueError, match="rho=0.5"):
        make_imbalanced(flat, "longtail", rho=0.5)
    with pytest.raises(ValueError, match=r"unknown profile 'longtial' \(did you mean 'longtail'"):
        make_imbalanced(flat, "longtial")
    with pytest.raises(ValueError, match="permutation"):
        make_imbalanced(flat, "longtail", order=[0] * 10)
    with pytest.raises(ValueError, match="counts\\[2\\]=-1"):
        make_imbalanced(flat, [1, 1, -1, 1, 1, 1, 1, 1, 1, 1])
    with pytest.raises(ValueError, match="seed=-1"):
        make_imbalanced(flat, "longtail", seed=-1)
    with pytest.raises(ValueError, match="needs counts="):
        make_imbalanced(flat, "counts")
    with pytest.raises(TypeError, match="must be an ImageSet"):
        make_imbalanced(flat.images, "longtail")
    with pytest.raises(TypeError, match="profile=3"):
        make_imbalanced(flat, 3)


def test_profile_object_and_listing(flat):
    names = [p.name for p in list_profiles()]
    assert names == sorted(names)
    for name in (*FIXED, "cle-binary", "cle-3class", "cle-binary-balanced", "longtail", "counts"):
        assert name in names
    for profile in list_profiles():
        assert profile.source and profile.description
    profile = PROFILES.get("cle-binary")
    assert profile.counts_for(flat, classes=(4, 1), majority=200) == {4: 200, 1: 2}
    custom = Profile("halves", "test", "half of every class", lambda data: {0: 1, 1: 2})
    assert make_imbalanced(make_source([4, 4]), custom).class_counts().tolist() == [1, 2]


def test_profiles_module_does_not_import_torch():
    code = "import sys, deepbalance.data.profiles; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
