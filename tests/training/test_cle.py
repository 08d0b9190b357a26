"""CLE-SMOTE's stages inside the trainer: class means per epoch, real rows only, errors."""

import copy

import numpy as np
import pytest
import torch

from deepbalance.data.imageset import ImageSet
from deepbalance.training import (
    Callback,
    InputPipeline,
    Recipe,
    TrainConfig,
    Trainer,
    channel_stats,
)

#: Adam at a constant rate: these tests check the stages' mechanics, not the recipe
CONFIG = TrainConfig(
    classifier="mlp",
    classifier_params={"hidden": (16, 8)},
    epochs=3,
    min_steps=None,
    lr=1e-2,
    optimizer="adam",
    schedule="constant",
    label_smoothing=0.0,
    augment="none",
)


def with_synthetic(train: ImageSet, every: int = 3):
    """Mark every ``every``-th row synthetic (stand-in for a sampler's output)."""
    return np.arange(len(train)) % every == every - 1


class RecordMeans(Callback):
    """Snapshots the model at each epoch start and the cap's class means at each epoch end."""

    def __init__(self):
        self.models, self.means, self.updates = [], [], []

    def on_epoch_start(self, state):
        if state.stage == "train":
            self.models.append(copy.deepcopy(state.model).eval())

    def on_epoch_end(self, state):
        if state.stage == "train":
            cap = state.objective.cap.cap
            self.means.append(cap.class_means_.clone())
            self.updates.append(cap.n_updates_)


def test_class_means_are_recomputed_each_epoch_over_real_rows(digits):
    train, test = digits
    synthetic = with_synthetic(train)
    rec = RecordMeans()
    Trainer(CONFIG, recipe=Recipe(cap="class-cosine"), progress=False, callbacks=[rec]).fit(
        train, {"test": test}, synthetic_mask=synthetic
    )
    assert rec.updates == [1, 2, 3]
    assert not torch.allclose(rec.means[0], rec.means[1])
    assert not torch.allclose(rec.means[1], rec.means[2])
    mean, std = channel_stats(train.images[~synthetic])
    x = InputPipeline(mean, std)(torch.from_numpy(train.images))
    y = torch.from_numpy(train.labels)
    for model, means in zip(rec.models, rec.means, strict=True):
        with torch.no_grad():
            emb = model.embed(x)
        for c in range(3):
            real_c = torch.from_numpy(~synthetic) & (y == c)
            torch.testing.assert_close(means[c], emb[real_c].mean(0), rtol=1e-4, atol=1e-5)
            assert not torch.allclose(means[c], emb[y == c].mean(0))  # synthetic rows excluded


def test_class_with_only_synthetic_rows_cannot_form_its_mean(digits):
    train, _ = digits
    synthetic = train.labels == 2
    trainer = Trainer(CONFIG, recipe=Recipe(cap="class-cosine"), progress=False)
    with pytest.warns(UserWarning, match="no real training rows"):
        with pytest.raises(ValueError, match=r"\['2'\] have synthetic rows but no real rows"):
            trainer.fit(train, synthetic_mask=synthetic)


def test_pretraining_needs_real_rows_in_each_class(digits):
    train, _ = digits
    trainer = Trainer(CONFIG, recipe=Recipe(pretrain=True), progress=False)
    with pytest.warns(UserWarning, match="no real training rows"):
        with pytest.raises(ValueError, match="no real rows"):
            trainer.fit(train, synthetic_mask=train.labels == 1)


class RecordLosses(Callback):
    def __init__(self):
        self.stages = []

    def on_epoch_end(self, state):
        self.stages.append((state.stage, state.epoch, state.loss))


@pytest.mark.parametrize("anchors", ["all", "real"])
def test_triplet_stage_runs_before_fine_tuning_and_lowers_its_loss(digits, anchors):
    train, _ = digits
    rec = RecordLosses()
    recipe = Recipe(pretrain=True, pretrain_epochs=4, margin=0.5, triplet_anchors=anchors)
    result = Trainer(CONFIG, recipe=recipe, progress=False, callbacks=[rec]).fit(
        train, synthetic_mask=with_synthetic(train)
    )
    assert [s for s, _, _ in rec.stages] == ["pretrain"] * 4 + ["train"] * 3
    pre = [loss for s, _, loss in rec.stages if s == "pretrain"]
    assert pre[-1] < pre[0]
    assert [r["stage"] for r in result.losses] == ["pretrain"] * 4 + ["train"] * 3


@pytest.mark.parametrize(
    "epoch_rows, anchors, expected",
    # 49 rows, 33 real: every anchor with "all", else a third of the classifier's rows per
    # epoch (the same images: three per triplet), rounded up
    [
        ("real", "all", 11),
        ("real", "real", 11),
        (20, "all", 7),
        ("all", "all", 49),
        ("all", "real", 33),
    ],
)
def test_pretraining_steps_equal_the_row_budget(digits, monkeypatch, epoch_rows, anchors, expected):
    from deepbalance.training import trainer as trainer_module

    train, _ = digits
    batches = []

    def counting(anchor, positive, negative, margin=0.0):
        batches.append(len(anchor))
        return original(anchor, positive, negative, margin)

    original = trainer_module.triplet_loss
    monkeypatch.setattr(trainer_module, "triplet_loss", counting)
    config = CONFIG.replace(batch_size=8, epoch_rows=epoch_rows)
    recipe = Recipe(pretrain=True, pretrain_epochs=3, triplet_anchors=anchors)
    Trainer(config, recipe=recipe, progress=False).fit(train, synthetic_mask=with_synthetic(train))
    assert sum(batches) == 3 * expected  # anchors of the triplet stage's three epochs
    assert len(batches) == 3 * config.steps_per_epoch(expected)  # its optimisation steps


def test_cap_with_logit_adjustment_uses_real_priors(digits):
    train, test = digits
    synthetic = with_synthetic(train)
    recipe = Recipe(cap="class-cosine", logit_adjustment="logit-adjustment")

    class Grab(Callback):
        def on_fit_start(self, state):
            self.objective = state.objective

    grab = Grab()
    result = Trainer(CONFIG, recipe=recipe, progress=False, callbacks=[grab]).fit(
        train, {"test": test}, synthetic_mask=synthetic
    )
    real = np.bincount(train.labels[~synthetic])
    expected = np.log(real / real.sum())
    np.testing.assert_allclose(grab.objective.logit_adjustment.offsets, expected, rtol=1e-6)
    assert result.final["test"]["acsa"] > 1 / 3
