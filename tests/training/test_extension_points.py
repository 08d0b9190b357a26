"""The trainer's extension points: loss heads, batch transforms and phases."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deepbalance.training import Recipe, TrainConfig, Trainer
from deepbalance.training.callbacks import Callback
from deepbalance.training.losses import (
    CappedLoss,
    ClassWeights,
    LogitAdjustment,
    LossHead,
    Objective,
)
from deepbalance.training.phases import PHASES, Phase
from deepbalance.training.transforms import BATCH_TRANSFORMS, Mixup

from .streams import classes_drawn

# --------------------------------------------------------------------------------------------
# loss heads


def test_heads_compose_by_stage_not_by_the_order_given():
    torch.manual_seed(0)
    logits, y = torch.randn(6, 3), torch.tensor([0, 1, 2, 2, 1, 0])
    synthetic = torch.tensor([False, True, True, False, True, False])
    heads = [
        ClassWeights([0.5, 1.0, 2.0]),
        CappedLoss(0.7),
        LogitAdjustment.from_counts([50, 30, 20], tau=0.5),
    ]
    one = Objective(heads)(logits, y, epoch=0, synthetic=synthetic)
    other = Objective(heads[::-1])(logits, y, epoch=0, synthetic=synthetic)
    by_name = Objective(weights=heads[0], cap=heads[1], logit_adjustment=heads[2])(
        logits, y, epoch=0, synthetic=synthetic
    )
    # by hand: adjust the logits, cross-entropy per row, cap synthetic rows, weighted mean
    ce = F.cross_entropy(heads[2](logits), y, reduction="none")
    ce = torch.where(synthetic & (ce > 0.7), torch.tensor(0.7), ce)
    w = torch.tensor([0.5, 1.0, 2.0])[y]
    expected = (w * ce).sum() / w.sum()
    for loss in (one, other, by_name):
        torch.testing.assert_close(loss, expected)


def test_a_new_head_needs_only_its_stage_method():
    class Temperature(LossHead):
        stage = "logits"

        def logits(self, logits, batch):
            return logits / 2.0

    logits, y = torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 1])
    loss = Objective([Temperature()])(logits, y, epoch=0)
    torch.testing.assert_close(loss, F.cross_entropy(logits / 2.0, y))


def test_bad_heads_are_refused():
    with pytest.raises(TypeError, match="must be a training.losses.LossHead"):
        Objective(["ce"])

    class Odd(LossHead):
        stage = "gradients"

    with pytest.raises(ValueError, match="stage='gradients'; use one of logits, rows, weights"):
        Objective([Odd()])


def test_soft_targets_weight_rows_by_their_target_mix():
    logits = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    soft = torch.tensor([[0.75, 0.25], [0.5, 0.5]])
    w = torch.tensor([1.0, 3.0])
    loss = Objective([ClassWeights(w)])(logits, soft.argmax(1), epoch=0, soft=soft)
    rows = -(soft * F.log_softmax(logits, 1)).sum(1)
    row_w = soft @ w
    torch.testing.assert_close(loss, (row_w * rows).sum() / row_w.sum())


# --------------------------------------------------------------------------------------------
# batch transforms


def test_mixup_soft_labels_sum_to_one_and_lambda_comes_from_the_seed():
    x = torch.arange(4 * 2, dtype=torch.float32).view(4, 1, 1, 2)
    y = torch.tensor([0, 1, 2, 1])

    def draw(seed):
        mix = Mixup(alpha=0.4)
        mix.setup(n_classes=3, real_counts=np.array([5, 5, 5]), seed=seed)
        gen = torch.Generator().manual_seed(seed)
        out = [mix(x, y, epoch=0, generator=gen) for _ in range(3)]
        return out, mix.last_lambda

    (batches, lam), (again, lam_again) = draw(7), draw(7)
    assert lam == lam_again
    expected_lambdas = np.random.default_rng(7).beta(0.4, 0.4, size=3)
    assert lam == pytest.approx(expected_lambdas[-1])
    for (mx, soft), (mx2, soft2) in zip(batches, again, strict=True):
        torch.testing.assert_close(soft.sum(1), torch.ones(4))
        torch.testing.assert_close(mx, mx2)
        torch.testing.assert_close(soft, soft2)
    # the first batch by hand: one lambda, one permutation, images and labels mixed alike
    lam0 = float(expected_lambdas[0])
    perm = torch.randperm(4, generator=torch.Generator().manual_seed(7))
    onehot = F.one_hot(y, 3).float()
    mx, soft = batches[0]
    torch.testing.assert_close(mx, lam0 * x + (1 - lam0) * x[perm])
    torch.testing.assert_close(soft, lam0 * onehot + (1 - lam0) * onehot[perm])


@pytest.mark.parametrize("alpha", [0, -1.0])
def test_mixup_alpha_must_be_positive(alpha):
    with pytest.raises(ValueError, match=rf"alpha={alpha} must be > 0"):
        Mixup(alpha=alpha)


def test_unregistered_transform_and_phase_name_the_registered_ones():
    with pytest.raises(ValueError, match="unknown batch transform 'mixpu'.*did you mean 'mixup'"):
        Recipe(batch_transform="mixpu")
    with pytest.raises(ValueError, match="unknown phase 'resampel'.*known:.*resample"):
        Recipe(phases=[{"name": "resampel", "start": 0.8}])
    with pytest.raises(TypeError, match="batch transform 'mixup':.*beta"):
        Recipe(batch_transform="mixup", batch_transform_params={"beta": 1.0})
    assert "mixup" in BATCH_TRANSFORMS and "resample" in PHASES


def test_soft_labels_with_the_cap_are_refused():
    with pytest.raises(ValueError, match="mixes labels, but cap='class-cosine'.*hard labels"):
        Recipe(batch_transform="mixup", cap="class-cosine")


def test_the_trainer_applies_the_transform(digits):
    train, test = digits
    plain = Trainer(TrainConfig(epochs=1, min_steps=None), progress=False).fit(
        train, {"test": test}
    )
    mixed = Trainer(
        TrainConfig(epochs=1, min_steps=None),
        recipe=Recipe(batch_transform="mixup", batch_transform_params={"alpha": 1.0}),
        progress=False,
    ).fit(train, {"test": test})
    assert plain.losses[0]["loss"] != mixed.losses[0]["loss"]
    again = Trainer(
        TrainConfig(epochs=1, min_steps=None),
        recipe=Recipe(batch_transform="mixup", batch_transform_params={"alpha": 1.0}),
        progress=False,
    ).fit(train, {"test": test})
    assert mixed.losses == again.losses


# --------------------------------------------------------------------------------------------
# phases


class _Record(Callback):
    """Per epoch: rows drawn (by class), which parameters are trainable and their values."""

    def __init__(self):
        self.trainable, self.params = [], []

    def on_epoch_end(self, state):
        model = state.model
        self.trainable.append({n for n, p in model.named_parameters() if p.requires_grad})
        self.params.append({n: p.detach().clone() for n, p in model.named_parameters()})


def test_deferred_resampling_switches_the_stream_at_its_epoch(digits, monkeypatch):
    train, test = digits  # 30, 12, 7 rows
    drawn = classes_drawn(monkeypatch, train.labels)
    recipe = Recipe(phases=[{"name": "resample", "start": 2}])
    Trainer(
        TrainConfig(epochs=4, batch_size=16, min_steps=None), recipe=recipe, seed=3, progress=False
    ).fit(train, {"test": test})
    assert [d.tolist() for d in drawn[:2]] == [[30, 12, 7]] * 2  # instance-balanced
    for counts in drawn[2:]:  # class-balanced draws with replacement
        assert counts.sum() == 49 and counts[2] > 7 and counts[0] < 30


def test_classifier_retraining_trains_the_head_only(digits):
    train, test = digits
    record = _Record()
    recipe = Recipe(phases=[{"name": "retrain-classifier", "start": 1}])
    Trainer(
        TrainConfig(epochs=3, batch_size=16, min_steps=None),
        recipe=recipe,
        progress=False,
        callbacks=[record],
    ).fit(train, {"test": test})
    everything = record.trainable[0]
    assert record.trainable[1] == record.trainable[2] == {"head.weight", "head.bias"}
    frozen = everything - {"head.weight", "head.bias"}
    for name in frozen:  # unchanged from the end of the first epoch on
        assert torch.equal(record.params[0][name], record.params[2][name])
    assert not torch.equal(record.params[1]["head.weight"], record.params[2]["head.weight"])


def test_phases_that_would_never_start_are_an_error(digits):
    train, test = digits
    recipe = Recipe(phases=[{"name": "resample", "start": 5}])
    with pytest.raises(ValueError, match=r"phases\[0\] \('resample'\): start=5 is epoch 6 but"):
        Trainer(TrainConfig(epochs=5, min_steps=None), recipe=recipe, progress=False).fit(
            train, {"test": test}
        )
    with pytest.raises(ValueError, match=r"start=1.5 must be <= 1.0|start=1.5"):
        Recipe(phases=[{"name": "resample", "start": 1.5}])
    with pytest.raises(TypeError, match="must be an int epoch"):
        Recipe(phases=[{"name": "resample", "start": "late"}])
    with pytest.raises(TypeError, match="each phase is a table"):
        Recipe(phases=["resample"])


def test_stop_batch_transform_trains_the_last_epochs_plainly(digits, monkeypatch):
    train, test = digits
    seen = []

    class Spy(Mixup):
        def __call__(self, x, y, *, epoch, generator):
            seen.append(epoch)
            return super().__call__(x, y, epoch=epoch, generator=generator)

    monkeypatch.setitem(BATCH_TRANSFORMS._entries, "spy-mixup", Spy)
    recipe = Recipe(
        batch_transform="spy-mixup", phases=[{"name": "stop-batch-transform", "start": 2}]
    )
    Trainer(
        TrainConfig(epochs=3, batch_size=16, min_steps=None), recipe=recipe, progress=False
    ).fit(train, {"test": test})
    assert set(seen) == {0, 1}


def test_a_new_phase_is_one_subclass(digits, monkeypatch):
    calls = []

    class Note(Phase):
        def begin(self, context):
            calls.append((context.epoch, context.n_epochs, context.real_counts.tolist()))

    train, test = digits
    monkeypatch.setitem(PHASES._entries, "note-test", Note)
    recipe = Recipe(phases=[{"name": "note-test", "start": 0.5}])
    Trainer(TrainConfig(epochs=4, min_steps=None), recipe=recipe, progress=False).fit(
        train, {"test": test}
    )
    assert calls == [(2, 4, [30, 12, 7])]
