"""Test helpers for the trainer's row stream."""

import numpy as np
import torch


def classes_drawn(monkeypatch, labels):
    """Spy on ``RowStream.batches``: a list that gets, per epoch, how many rows of each class
    (three classes) the stream drew."""
    from deepbalance.training import data as training_data

    drawn = []
    batches = training_data.RowStream.batches

    def spy(self, batch_size):
        out = batches(self, batch_size)
        drawn.append(np.bincount(labels[torch.cat(out).numpy()], minlength=3))
        return out

    monkeypatch.setattr(training_data.RowStream, "batches", spy)
    return drawn
