"""The leaderboard specs' bound: the same number of images as the profile's draw, equal per
class, and every long-tail method and composition of the leaderboard on each dataset."""

import pytest

from deepbalance.bench.spec import load_spec
from deepbalance.data import load_dataset
from deepbalance.data.profiles import PROFILES


def _bound_counts(spec):
    (bound,) = [m for m in spec.methods if m.id == "no-imbalance"]
    assert bound.name == "none" and bound.profile.name == "counts"
    return list(bound.profile.params["counts"])


@pytest.mark.parametrize("name", ["digits-leaderboard"])
def test_the_bound_has_the_profiles_images_equal_per_class(name):
    spec = load_spec(name)
    train = load_dataset(spec.data.dataset, split="train")
    drawn = PROFILES.get(spec.profile.name).counts_for(train, **spec.profile.params)
    counts = _bound_counts(spec)
    assert sum(counts) == sum(drawn.values()) and max(counts) - min(counts) <= 1


def test_fashion_mnist_bounds_match_their_fixed_profiles():
    for name in ("fmnist-lt-leaderboard", "fmnist-lt-extreme"):
        spec = load_spec(name)
        fixed = PROFILES.get(spec.profile.name).counts
        counts = _bound_counts(spec)
        # the same images per class where the draw allows it (900 = 9,000 / 10; the extreme
        # profile's 7,981 images as 798 per class, 7,980)
        assert abs(sum(counts) - sum(fixed)) < len(counts) and max(counts) - min(counts) <= 1


def test_digits_and_fashion_mnist_leaderboards_run_the_same_methods():
    digits = {m.id for m in load_spec("digits-leaderboard").methods}
    fmnist = {m.id for m in load_spec("fmnist-lt-leaderboard").methods}
    assert digits == fmnist
