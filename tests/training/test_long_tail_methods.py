"""LDAM(-DRW), deferred re-sampling, classifier retraining and tau-normalisation: each
mechanism on a hand-made case, and the errors for bad input."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deepbalance.methods import get_method, run_method
from deepbalance.nets import CosineHead, create_classifier
from deepbalance.training import Recipe, TrainConfig, Trainer
from deepbalance.training import trainer as trainer_module
from deepbalance.training.callbacks import Callback
from deepbalance.training.ldam import LDAMLoss, ldam_margins
from deepbalance.training.losses import ClassWeights, Objective, effective_number_weights
from deepbalance.training.phases import RetrainClassifier
from deepbalance.training.posthoc import PostHocContext, TauNormalisation, tau_normalised

from .streams import classes_drawn

FAST = TrainConfig(batch_size=16, min_steps=None, classifier_params={"channels": (8, 16)})


def _fit(recipe, config, train, eval_sets, **kw):
    return Trainer(config, recipe=recipe, progress=False, **kw).fit(train, eval_sets)


# --------------------------------------------------------------------------------------------
# LDAM


def test_ldam_margins_from_counts():
    # n ** -1/4 = 0.1, 0.2, 0.5, 1; scaled so the rarest class's margin is max_margin
    counts = [10_000, 625, 16, 1]
    np.testing.assert_allclose(ldam_margins(counts), [0.05, 0.1, 0.25, 0.5])
    np.testing.assert_allclose(ldam_margins(counts, max_margin=0.2), [0.02, 0.04, 0.1, 0.2])
    head = LDAMLoss.build(np.array(counts))
    np.testing.assert_allclose(head.margins.numpy(), [0.05, 0.1, 0.25, 0.5], rtol=1e-6)
    assert head.scale == 30.0 and head.needs_hard_labels and head.stage == "logits"


def test_ldam_loss_is_the_papers_scaled_cosine_cross_entropy():
    torch.manual_seed(0)
    cos = torch.rand(5, 4) * 2 - 1  # cosines in [-1, 1]
    y = torch.tensor([0, 3, 2, 1, 3])
    counts = np.array([10_000, 625, 16, 1])
    m = torch.tensor([0.05, 0.1, 0.25, 0.5])
    # Cao et al.'s released loss: margin off the true class's cosine, then s * cos in the CE
    onehot = F.one_hot(y, 4).bool()
    reference = F.cross_entropy(30.0 * torch.where(onehot, cos - m[y][:, None], cos), y)
    ldam = LDAMLoss.build(counts)  # the model's logits are already s * cos (the cosine head)
    torch.testing.assert_close(Objective([ldam])(30.0 * cos, y, epoch=0), reference)
    # LDAM-DRW: the deferred class weights weight the same rows as cross_entropy(weight=)
    w = effective_number_weights(counts, beta=0.9999)
    drw = Objective([ldam, ClassWeights(w, start_epoch=1)])
    torch.testing.assert_close(drw(30.0 * cos, y, epoch=0), reference)
    weighted = F.cross_entropy(
        30.0 * torch.where(onehot, cos - m[y][:, None], cos),
        y,
        weight=torch.as_tensor(w, dtype=torch.float32),
    )
    torch.testing.assert_close(drw(30.0 * cos, y, epoch=1), weighted)


def test_cosine_head_gives_scaled_cosines_and_the_default_head_is_unchanged():
    torch.manual_seed(0)
    linear = create_classifier("fast-cnn", (1, 8, 8), 3)
    torch.manual_seed(0)
    cosine = create_classifier("fast-cnn", (1, 8, 8), 3, head="cosine", head_scale=10.0)
    torch.manual_seed(0)
    default = create_classifier("fast-cnn", (1, 8, 8), 3)
    assert isinstance(linear.head, torch.nn.Linear) and isinstance(cosine.head, CosineHead)
    for name, a in linear.state_dict().items():  # head="linear" is the default, unchanged
        assert torch.equal(a, default.state_dict()[name]), name
    for name, p in linear.body.state_dict().items():  # the same body under the same seed
        assert torch.equal(p, cosine.body.state_dict()[name]), name
    x = torch.randn(4, 1, 8, 8)
    with torch.no_grad():
        emb, logits = cosine.embed(x), cosine(x)
        w = cosine.head.weight
        expected = 10.0 * (emb @ w.T) / emb.norm(dim=1, keepdim=True) / w.norm(dim=1)
        torch.testing.assert_close(logits, expected)
        cosine.head.weight.mul_(7.0)  # class weight norms do not matter
        torch.testing.assert_close(cosine(x), logits)
    assert logits.abs().max() <= 10.0 + 1e-5


def test_ldam_trains_on_a_cosine_head(digits):
    train, test = digits
    recipe = get_method("ldam-drw").recipe
    result = _fit(recipe, FAST.replace(epochs=2), train, {"test": test})
    assert isinstance(result.model.head, CosineHead) and result.model.head.scale == 30.0
    assert all(np.isfinite(r["loss"]) for r in result.losses)


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"max_margin": 0}, ValueError, r"'ldam': max_margin=0 must be .*> 0.*max_margin=0.5"),
        ({"max_margin": -0.5}, ValueError, r"max_margin=-0.5 must be a finite number > 0"),
        ({"scale": 0}, ValueError, r"'ldam': scale=0 must be a finite number > 0.*scale=30"),
        ({"scale": -30.0}, ValueError, r"scale=-30.0 must be a finite number > 0"),
        ({"scale": "big"}, TypeError, r"scale='big' must be a number > 0"),
        ({"margin": 0.5}, TypeError, r"'ldam':.*unexpected keyword argument 'margin'"),
    ],
)
def test_bad_ldam_parameters_are_named(params, error, match):
    with pytest.raises(error, match=match):
        get_method("ldam-drw", loss_heads=[{"name": "ldam", **params}])


def test_ldam_with_soft_labels_or_a_linear_head_is_refused(digits):
    match = (
        r"batch_transform='mixup' mixes labels, but loss_heads\[0\] 'ldam' needs hard labels"
        r".*drop the loss head or the batch transform"
    )
    with pytest.raises(ValueError, match=match):
        get_method("ldam-drw", batch_transform="mixup")
    with pytest.raises(ValueError, match="unknown loss head 'ladm'.*did you mean 'ldam'"):
        Recipe(loss_heads=[{"name": "ladm"}])
    with pytest.raises(TypeError, match="loss_heads='ldam' must be a list of tables"):
        Recipe(loss_heads="ldam")
    train, test = digits
    recipe = get_method("ldam").recipe
    linear = FAST.replace(epochs=1, classifier_params={"head": "linear"})
    with pytest.raises(ValueError, match="classifier_params has head='linear', but the recipe's"):
        _fit(recipe, linear, train, {"test": test})
    model = create_classifier("fast-cnn", train.image_shape, 3)
    with pytest.raises(TypeError, match="LDAM needs a cosine classifier head with scale=30"):
        Trainer(FAST.replace(epochs=1), recipe=recipe, progress=False).fit(
            train, {"test": test}, model=model
        )
    with pytest.raises(ValueError, match="head_scale=5.0 scales a cosine head, but head='linear'"):
        create_classifier("fast-cnn", (1, 8, 8), 3, head_scale=5.0)


# --------------------------------------------------------------------------------------------
# deferred re-sampling


def test_drs_switches_to_class_balanced_draws_at_half_the_epochs(digits, monkeypatch):
    train, test = digits  # 30, 12, 7 rows
    drawn = classes_drawn(monkeypatch, train.labels)
    recipe = get_method("drs").recipe
    assert recipe.phases == ({"name": "resample", "start": 0.5},)
    _fit(recipe, FAST.replace(epochs=6), train, {"test": test}, seed=1)
    assert [d.tolist() for d in drawn[:3]] == [[30, 12, 7]] * 3  # every row once per epoch
    # then 3 epochs of 49 rows drawn a third per class (about 49 each; instance-balanced
    # epochs would give 90, 36, 21)
    late = np.sum(drawn[3:], axis=0)
    assert late.sum() == 147 and np.abs(late - 49).max() < 15


def test_drs_start_beyond_the_last_epoch_is_named(digits):
    train, test = digits
    recipe = get_method("drs", phases=[{"name": "resample", "start": 6}]).recipe
    match = r"phases\[0\] \('resample'\): start=6 is epoch 7 but training has only 5 epochs"
    with pytest.raises(ValueError, match=match + r".*pass start < 5"):
        _fit(recipe, FAST.replace(epochs=5), train, {"test": test})
    with pytest.raises(ValueError, match=r"start=1.0 is out of range; pass start<1.0"):
        get_method("drs", phases=[{"name": "resample", "start": 1.0}])


# --------------------------------------------------------------------------------------------
# classifier retraining


class _Snapshot(Callback):
    """Every parameter and buffer (BatchNorm statistics) at the end of each epoch."""

    def __init__(self):
        self.states, self.trainable = [], []

    def on_epoch_end(self, state):
        self.states.append({k: v.detach().clone() for k, v in state.model.state_dict().items()})
        self.trainable.append({n for n, p in state.model.named_parameters() if p.requires_grad})


def test_crt_trains_only_a_reinitialised_classifier_on_balanced_rows(digits, monkeypatch):
    train, test = digits
    recipe = get_method("crt").recipe
    assert recipe.phases == ({"name": "retrain-classifier", "start": 0.9},)
    heads_at_start = []
    begin = RetrainClassifier.begin

    def spy(self, context):
        before = context.model.head.weight.detach().clone()
        begin(self, context)
        heads_at_start.append((before, context.model.head.weight.detach().clone()))

    monkeypatch.setattr(RetrainClassifier, "begin", spy)
    drawn = classes_drawn(monkeypatch, train.labels)
    schedules = []
    make_schedule = trainer_module.make_schedule

    def spy_schedule(config, optimizer, total_steps):
        n_params = sum(p.numel() for group in optimizer.param_groups for p in group["params"])
        schedules.append((total_steps, n_params))
        return make_schedule(config, optimizer, total_steps)

    monkeypatch.setattr(trainer_module, "make_schedule", spy_schedule)
    snap = _Snapshot()
    result = _fit(recipe, FAST.replace(epochs=10), train, {"test": test}, callbacks=[snap])
    head = {"head.weight", "head.bias"}
    before, after = snap.states[8], snap.states[9]  # the retraining is epoch 10 (0-based 9)
    assert snap.trainable[8] == {n for n, _ in result.model.named_parameters()}
    assert snap.trainable[9] == head
    assert any("running_mean" in k for k in before)
    for name in set(before) - head:  # conv weights, BatchNorm affine and running statistics
        assert torch.equal(before[name], after[name]), name
    assert not torch.equal(before["head.weight"], after["head.weight"])
    [(old, new)] = heads_at_start
    assert torch.equal(old, before["head.weight"]) and not torch.equal(new, old)
    assert [d.tolist() for d in drawn[:9]] == [[30, 12, 7]] * 9
    assert drawn[9].sum() == 49 and drawn[9][2] > 7  # class-balanced draws
    # two trainings: the first schedule ends at the phase, the second covers the head only
    steps = FAST.steps_per_epoch(len(train))
    n_head = sum(p.numel() for p in result.model.head.parameters())
    n_all = sum(p.numel() for p in result.model.parameters())
    assert schedules == [(9 * steps, n_all), (1 * steps, n_head)]


def test_crt_can_continue_the_one_schedule(digits, monkeypatch):
    train, test = digits
    schedules = []
    make_schedule = trainer_module.make_schedule
    monkeypatch.setattr(
        trainer_module,
        "make_schedule",
        lambda c, o, n: schedules.append(n) or make_schedule(c, o, n),
    )
    phase = {"name": "retrain-classifier", "start": 0.9, "restart_schedule": False}
    _fit(Recipe(phases=[phase]), FAST.replace(epochs=10), train, {"test": test})
    assert schedules == [10 * FAST.steps_per_epoch(len(train))]
    with pytest.raises(TypeError, match="restart_schedule='yes' must be True or False"):
        Recipe(phases=[{**phase, "restart_schedule": "yes"}])


# --------------------------------------------------------------------------------------------
# tau-normalisation


def _balanced_accuracy(labels):
    labels = torch.as_tensor(labels)

    def score(logits):
        pred = logits.argmax(1)
        return float(np.mean([(pred[labels == c] == c).float().mean() for c in labels.unique()]))

    return score


class _Head(torch.nn.Module):
    def __init__(self, weight):
        super().__init__()
        self.head = torch.nn.Linear(2, 2)
        with torch.no_grad():
            self.head.weight.copy_(torch.as_tensor(weight))
            self.head.bias.fill_(0.3)


def test_tau_comes_from_the_validation_rows_by_hand():
    # class 0's weight has norm 2, class 1's norm 1: logits (2a / 2**tau, b) for x = (a, b)
    weight = [[2.0, 0.0], [0.0, 1.0]]
    x_val, y_val = torch.tensor([[1.0, 1.2], [1.0, 0.5]]), np.array([1, 0])
    x_test, y_test = torch.tensor([[1.0, 1.2], [0.0, 1.0]]), np.array([0, 1])
    # val: (1, 1.2) is class 1, which only tau = 1 predicts (2/2**tau > 1.2 for tau < 0.74);
    # test: the same point is class 0, which tau = 0 predicts
    model = _Head(weight)
    val = PostHocContext(model, x_val, y_val, _balanced_accuracy(y_val))
    record = TauNormalisation(taus=[0, 0.5, 1]).fit(val)
    assert record["tau"] == 1.0
    assert record["scores"] == [(0.0, 0.5), (0.5, 0.5), (1.0, 1.0)]
    torch.testing.assert_close(model.head.weight.detach(), torch.eye(2))  # unit norms
    assert torch.equal(model.head.bias.detach(), torch.zeros(2))  # the bias is dropped
    other = _Head(weight)
    test = PostHocContext(other, x_test, y_test, _balanced_accuracy(y_test))
    assert TauNormalisation(taus=[0, 0.5, 1]).fit(test)["tau"] == 0.0  # ties go to small tau
    torch.testing.assert_close(other.head.weight.detach(), torch.tensor(weight))
    torch.testing.assert_close(
        tau_normalised(torch.tensor(weight), 0.5), torch.tensor([[2**0.5, 0.0], [0.0, 1.0]])
    )


def test_the_trainer_chooses_tau_on_val_and_tests_the_normalised_head(digits, monkeypatch):
    train, test = digits
    val, test = test.subset(np.arange(0, len(test), 2)), test.subset(np.arange(1, len(test), 2))
    seen = []
    fit = TauNormalisation.fit

    def spy(self, context):
        head = context.model.head
        seen.append((context.labels.copy(), head.weight.detach().clone(), context.embeddings))
        return fit(self, context)

    monkeypatch.setattr(TauNormalisation, "fit", spy)
    recipe = get_method("tau-norm").recipe
    result = _fit(recipe, FAST.replace(epochs=30), train, {"val": val, "test": test})
    [(labels, weight, emb)] = seen
    np.testing.assert_array_equal(labels, val.labels)  # scored on val, never on test
    record = result.post_hoc
    assert [t for t, _ in record["scores"]] == [round(0.1 * i, 1) for i in range(11)]
    best = max(s for _, s in record["scores"])
    assert record["tau"] == min(t for t, s in record["scores"] if s == best)
    assert record["metric"] == "acsa"
    # every score by hand: balanced accuracy of the val embeddings under w / ||w||**tau
    for tau, score in record["scores"]:
        logits = emb @ tau_normalised(weight, tau).T
        assert score == pytest.approx(_balanced_accuracy(val.labels)(logits))
    # the returned model, and the last evaluation of every split, use the normalised head
    torch.testing.assert_close(result.model.head.weight, tau_normalised(weight, record["tau"]))
    assert torch.equal(result.model.head.bias, torch.zeros(3))
    assert result.final["val"]["acsa"] == pytest.approx(best)
    proba = result.predict_proba(test.images)
    assert result.final["test"]["acsa"] == pytest.approx(
        _balanced_accuracy(test.labels)(torch.as_tensor(proba))
    )


def test_tau_norm_without_a_validation_split_is_refused(digits):
    train, test = digits
    match = (
        r"post_hoc='tau-norm' is chosen on a validation split carved from the training rows "
        r"\(never on a test set\), but this run has none \(val_fraction=0.0.*pass "
        r"TrainConfig\(val_fraction=0.1\)"
    )
    with pytest.raises(ValueError, match=match):
        _fit(get_method("tau-norm").recipe, FAST.replace(epochs=1), train, {"test": test})
    with pytest.raises(ValueError, match=match):  # before any resampling
        run_method(
            get_method("tau-norm"), train, {"test": test}, config=FAST, seed=0, progress=False
        )


def test_tau_norm_with_val_fraction_carves_its_split(digits):
    train, test = digits
    config = FAST.replace(epochs=2, val_fraction=0.3)
    result = run_method("tau-norm", train, {"test": test}, config=config, seed=0, progress=False)
    assert "val" in result.final and result.post_hoc["name"] == "tau-norm"
    assert 0.0 <= result.post_hoc["tau"] <= 1.0


def test_bad_tau_norm_settings_are_named(digits):
    with pytest.raises(ValueError, match=r"taus=\[0, 1.5\]: 1.5 is not a number in \[0, 1\]"):
        get_method("tau-norm", post_hoc_params={"taus": [0, 1.5]})
    with pytest.raises(ValueError, match=r"taus=\[\] is empty"):
        Recipe(post_hoc="tau-norm", post_hoc_params={"taus": []})
    with pytest.raises(ValueError, match="unknown post-hoc adjustment 'tau-nrom'.*'tau-norm'"):
        Recipe(post_hoc="tau-nrom")
    with pytest.raises(ValueError, match="post_hoc_params=.* but post_hoc=None"):
        Recipe(post_hoc_params={"taus": [0.5]})
    train, test = digits
    recipe = get_method("ldam", post_hoc="tau-norm").recipe
    match = "tau-norm rescales a linear head's class weights, but the model has a cosine head"
    with pytest.raises(ValueError, match=match):
        _fit(recipe, FAST.replace(epochs=1), train, {"val": test, "test": test})
