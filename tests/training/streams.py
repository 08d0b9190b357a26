"""Test spies: the rows the trainer's stream draws, and the rows CMO pastes from."""

import numpy as np
import torch


def rows_drawn(monkeypatch, record=None):
    """Spy on ``RowStream.batches``: a list that gets, per epoch, the row indices drawn (or
    ``record(rows)`` of them)."""
    from deepbalance.training import data as training_data

    drawn = []
    batches = training_data.RowStream.batches

    def spy(self, batch_size):
        out = batches(self, batch_size)
        rows = torch.cat(out).numpy()
        drawn.append(rows if record is None else record(rows))
        return out

    monkeypatch.setattr(training_data.RowStream, "batches", spy)
    return drawn


def classes_drawn(monkeypatch, labels):
    """Per epoch, how many rows of each class (three classes) the stream drew."""
    return rows_drawn(monkeypatch, lambda rows: np.bincount(labels[rows], minlength=3))


def cmo_rows_pasted(monkeypatch, name: str = "spy-cmo"):
    """Register a CMO spy as batch transform ``name``; returns the list that gets the rows each
    mixed batch pasted from (``CMO.last_rows``)."""
    from deepbalance.training.transforms import BATCH_TRANSFORMS, CMO

    pasted = []

    class Spy(CMO):
        def __call__(self, x, y, *, epoch, generator):
            out = super().__call__(x, y, epoch=epoch, generator=generator)
            if self.last_rows is not None:
                pasted.append(self.last_rows)
            return out

    monkeypatch.setitem(BATCH_TRANSFORMS._entries, name, Spy)
    return pasted
