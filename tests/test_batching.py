"""One batching rule for the classifier and the autoencoder trainers."""

import numpy as np
import pytest
import torch

from deepbalance._batching import batch_sizes
from deepbalance.nets import autoencoder_training
from deepbalance.training.data import RowStream, batch_slices


@pytest.mark.parametrize(
    "n, size, expected",
    [(10, 4, [4, 4, 2]), (9, 4, [4, 5]), (1, 4, [1]), (8, 4, [4, 4]), (0, 4, []), (3, 8, [3])],
)
def test_a_trailing_single_row_joins_the_previous_batch(n, size, expected):
    assert batch_sizes(n, size) == expected


def test_both_trainers_cut_the_same_batches_and_drop_no_row():
    classifier = batch_slices(17, 8, torch.Generator().manual_seed(0))
    autoencoder = autoencoder_training._batches(17, 8, np.random.RandomState(0))
    assert [len(b) for b in classifier] == [len(b) for b in autoencoder] == [8, 9]
    assert sorted(torch.cat(classifier).tolist()) == list(range(17))
    assert sorted(np.concatenate(autoencoder).tolist()) == list(range(17))
    stream = RowStream(40, 17, torch.Generator().manual_seed(0))
    assert [len(b) for b in stream.batches(8)] == [8, 9]
