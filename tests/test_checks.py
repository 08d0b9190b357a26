"""The shared argument checks and the atomic writes."""

import numpy as np
import pytest

from deepbalance._checks import check_random_state


def test_check_random_state_none_is_numpy_global_state():
    assert check_random_state(None) is np.random.mtrand._rand
    np.random.seed(3)  # noqa: NPY002  (the global state is what is tested)
    a = check_random_state(None).rand(4)
    np.random.seed(3)  # noqa: NPY002  (the global state is what is tested)
    np.testing.assert_array_equal(check_random_state(None).rand(4), a)


def test_check_random_state_ints_and_instances():
    rs = np.random.RandomState(1)
    assert check_random_state(rs) is rs
    np.testing.assert_array_equal(
        check_random_state(np.int64(5)).rand(3), np.random.RandomState(5).rand(3)
    )


@pytest.mark.parametrize(
    "seed, error, match",
    [
        (-1, ValueError, r"random_state=-1 must be in \[0, 2\*\*32\)"),
        (2**32, ValueError, "must be in"),
        (True, TypeError, "random_state=True must be None, an int"),
        (1.5, TypeError, "random_state=1.5 must be None"),
        (np.random.default_rng(0), TypeError, "pass e.g. random_state=0"),
    ],
)
def test_check_random_state_rejects(seed, error, match):
    with pytest.raises(error, match=match):
        check_random_state(seed)
