"""The training loop: determinism, evaluation records, validation split, errors, augmentation."""

from contextlib import contextmanager

import numpy as np
import pytest
import torch

from deepbalance.data.imageset import ImageSet
from deepbalance.training import (
    Callback,
    Recipe,
    TrainConfig,
    Trainer,
    random_crop_flip,
    split_validation,
)
from deepbalance.training import trainer as trainer_module
from deepbalance.training.trainer import seeded_torch

#: exactly its epochs (min_steps=None): these tests count epochs, evaluations and steps
FAST = TrainConfig(
    classifier="mlp",
    classifier_params={"hidden": (32, 16)},
    epochs=6,
    min_steps=None,
    lr=1e-2,
    optimizer="adam",
    schedule="constant",
    augment="none",
)


def fit(train, eval_sets=None, config=FAST, **kw):
    synthetic = kw.pop("synthetic_mask", None)
    return Trainer(config, progress=False, **kw).fit(train, eval_sets, synthetic_mask=synthetic)


def test_learns_digits_and_records_every_evaluation(digits):
    train, test = digits
    config = FAST.replace(eval_every=4)
    result = fit(train, {"test": test, "train": train}, config)
    assert [(r["epoch"], r["split"]) for r in result.history] == [
        (4, "test"), (4, "train"), (6, "test"), (6, "train"),
    ]  # fmt: skip
    assert set(result.history[0]["metrics"]) >= {"acsa", "gm", "macro_f1", "auroc", "accuracy"}
    assert result.final["test"] is result.history[2]["metrics"]
    best = max(r["metrics"]["acsa"] for r in result.history if r["split"] == "test")
    assert result.best["test"]["acsa"] == best
    assert result.best_epoch["test"] in (4, 6) and result.best_metric == "acsa"
    assert result.final["test"]["acsa"] > 0.8  # chance is 1/3
    assert [r["epoch"] for r in result.losses] == [1, 2, 3, 4, 5, 6]
    assert result.selected is None
    np.testing.assert_array_equal(result.predict(test.images), result.predict(test.images))
    assert result.predict_proba(test.images).shape == (len(test), 3)


def test_same_seed_same_numbers(digits):
    train, test = digits
    config = TrainConfig(
        classifier="cle-cnn", epochs=2, batch_size=16, augment="shift", optimizer="sgd", lr=0.05
    )
    recipe = Recipe(pretrain=True, pretrain_epochs=1, cap="class-cosine")
    synthetic = np.arange(len(train)) % 4 == 0
    runs = [
        fit(train, {"test": test}, config, recipe=recipe, seed=s, synthetic_mask=synthetic)
        for s in (3, 3, 4)
    ]
    assert runs[0].history == runs[1].history and runs[0].losses == runs[1].losses
    states = [run.model.state_dict() for run in runs[:2]]
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    assert runs[0].losses != runs[2].losses


def test_seeded_torch_skips_the_memory_fill_and_restores_the_flags():
    fill = torch.utils.deterministic.fill_uninitialized_memory
    with seeded_torch(0, torch.device("cpu")):
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.utils.deterministic.fill_uninitialized_memory is False
    assert torch.utils.deterministic.fill_uninitialized_memory is fill
    assert not torch.are_deterministic_algorithms_enabled()


def test_the_skipped_memory_fill_changes_no_number(digits, monkeypatch):
    train, test = digits
    config = TrainConfig(classifier="fast-cnn", epochs=2, batch_size=16, augment="shift", lr=0.05)
    plain = fit(train, {"test": test}, config, seed=1)

    @contextmanager
    def filling(seed, device):  # seeded_torch with deterministic mode's default fill back on
        with seeded_torch(seed, device):
            torch.utils.deterministic.fill_uninitialized_memory = True
            yield

    monkeypatch.setattr(trainer_module, "seeded_torch", filling)
    filled = fit(train, {"test": test}, config, seed=1)
    assert plain.history == filled.history and plain.losses == filled.losses
    a, b = plain.model.state_dict(), filled.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_the_evaluation_batch_size_changes_no_number(digits):
    # evaluation is per image (eval mode), so TrainConfig.eval_batch_size is a speed setting
    train, test = digits
    config = TrainConfig(classifier="fast-cnn", epochs=2, min_steps=None, batch_size=16)
    recipe, synthetic = Recipe(cap="class-cosine"), np.arange(len(train)) % 3 == 0
    runs = [
        fit(train, {"test": test}, config.replace(eval_batch_size=n), recipe=recipe,
            synthetic_mask=synthetic)
        for n in (7, 256, 1024)
    ]  # fmt: skip
    assert runs[0].history == runs[1].history == runs[2].history
    assert runs[0].losses == runs[1].losses == runs[2].losses
    probas = [
        run.predict_proba(test.images, batch_size=n)
        for run, n in zip(runs, (5, 256, 60), strict=True)
    ]
    assert np.array_equal(probas[0], probas[1]) and np.array_equal(probas[1], probas[2])


def test_nan_loss_stops_with_a_clear_error(digits):
    train, _ = digits

    class Poison(Callback):
        def on_epoch_start(self, state):
            if state.epoch == 1:
                with torch.no_grad():
                    state.model.head.weight.fill_(float("nan"))

    with pytest.raises(FloatingPointError, match=r"loss became nan at epoch 2, batch 1.*lr="):
        fit(train, callbacks=[Poison()])


def test_validation_split_is_stratified_disjoint_and_seeded(digits):
    train, _ = digits
    part, val = split_validation(train, 0.2, seed=0)
    assert len(part) + len(val) == len(train)
    # 20% of each class (30/12/7 -> 6/2.4/1.4), rounded so the split holds ceil(0.2 * 49) rows
    assert len(val) == 10 and np.all(np.abs(val.class_counts() - 0.2 * train.class_counts()) < 1)
    rows = {r.tobytes() for r in train.images}
    assert {r.tobytes() for r in part.images} | {r.tobytes() for r in val.images} == rows
    again = split_validation(train, 0.2, seed=0)[1]
    np.testing.assert_array_equal(again.images, val.images)
    other = split_validation(train, 0.2, seed=1)[1]
    assert not np.array_equal(other.images, val.images)


def test_val_fraction_adds_val_split_and_honest_selection(digits):
    train, test = digits
    result = fit(train, {"test": test}, FAST.replace(val_fraction=0.2))
    assert {r["split"] for r in result.history} == {"test", "val"}
    assert result.selected_epoch == result.best_epoch["val"]
    chosen = [r for r in result.history if r["epoch"] == result.selected_epoch]
    assert result.selected == {r["split"]: r["metrics"] for r in chosen}


def test_val_fraction_refuses_resampled_training_data(digits):
    train, _ = digits
    with pytest.raises(ValueError, match="carve it before resampling"):
        fit(train, config=FAST.replace(val_fraction=0.2), synthetic_mask=train.labels == 2)


def test_eval_split_missing_a_class_warns_with_its_name(digits):
    train, test = digits
    no_two = test.subset(np.flatnonzero(test.labels != 2))
    with pytest.warns(UserWarning, match=r"eval split 'test' has no images of class\(es\) \['2'\]"):
        result = fit(train, {"test": no_two}, FAST.replace(epochs=1))
    assert np.isnan(result.final["test"]["per_class_recall"][2])


def test_eval_labels_outside_the_classifier_are_an_error(digits):
    train, test = digits
    four = ImageSet(test.images, np.where(test.labels == 2, 3, test.labels), ("0", "1", "2", "3"))
    with pytest.raises(ValueError, match=r"label 3 but the classifier has 3 classes \(0..2\)"):
        fit(train, {"test": four})


def test_eval_split_of_other_image_size_is_an_error(digits):
    train, test = digits
    bigger = ImageSet(np.zeros((2, 1, 9, 9), np.uint8), np.array([0, 1]), train.class_names)
    with pytest.raises(ValueError, match=r"shape \(1, 9, 9\)"):
        fit(train, {"big": bigger})


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"lr": 0}, "lr=0"),
        ({"optimizer": "rmsprop"}, "optimizer='rmsprop'"),
        ({"classifier": "vgg"}, "unknown classifier 'vgg'"),
        ({"val_fraction": 0.9}, "val_fraction"),
        ({"best_metric": "loss"}, "best_metric='loss'"),
        ({"epochs": 0}, "epochs=0"),
        ({"lr": -0.1}, "lr=-0.1"),
        ({"schedule": "step"}, "schedule='step'"),
        ({"augment": "mixup"}, "augment='mixup'"),
        ({"label_smoothing": 1.0}, "label_smoothing=1.0"),
        ({"label_smoothing": -0.1}, "label_smoothing=-0.1"),
        ({"epoch_rows": "some"}, "epoch_rows='some'"),
        ({"epoch_rows": 0}, "epoch_rows=0"),
        ({"shift": 0}, "shift=0"),
        ({"momentum": 0.0}, "nesterov=True needs momentum > 0"),
    ],
)
def test_bad_config_is_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kwargs)


def test_augment_must_be_named_not_a_bool():
    with pytest.raises(TypeError, match="augment=True: name the augmentation"):
        TrainConfig(augment=True)


def test_default_recipe_is_the_tuned_cpu_recipe():
    config = TrainConfig()
    assert (config.classifier, config.optimizer, config.schedule, config.nesterov) == (
        "fast-cnn", "sgd", "onecycle", True,
    )  # fmt: skip
    assert (config.lr, config.weight_decay, config.label_smoothing) == (0.1, 5e-4, 0.1)
    assert (config.augment, config.epoch_rows, config.batch_size) == ("auto", "real", 128)
    assert (config.epochs, config.min_steps) == (10, 500)


@pytest.mark.parametrize(
    "augment, dataset, expected",
    [
        ("auto", "fashion-mnist", "shift-flip"),
        ("auto", "cifar10", "shift-flip"),
        ("auto", "digits", "shift"),
        ("auto", "mnist", "shift"),
        ("auto", "svhn", "shift"),
        ("auto", "chexpert", "shift"),
        ("auto", None, "shift"),
        ("shift", "fashion-mnist", "shift"),
        ("none", "fashion-mnist", "none"),
        ("shift-flip", "cifar10", "shift-flip"),
    ],
)
def test_auto_augment_flips_only_where_labels_survive(augment, dataset, expected):
    import warnings

    from deepbalance.training.augment import resolve_augment

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_augment(augment, dataset) == expected


def test_forced_flip_on_digits_warns_and_is_applied(digits):
    train, _ = digits
    train = ImageSet(train.images, train.labels, train.class_names, "digits", {"dataset": "digits"})
    with pytest.warns(UserWarning, match="augment='shift-flip' flips dataset 'digits'"):
        result = fit(train, config=FAST.replace(augment="shift-flip", epochs=1))
    assert result.augment == "shift-flip"
    assert fit(train, config=FAST.replace(augment="auto", epochs=1)).augment == "shift"


def test_shift_only_never_mirrors():
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(64, 1, 8, 8) + 1  # strictly positive, so padding zeros are recognisable
    out = random_crop_flip(x, gen, pad=2, flip=False)
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(64):
        shifts = [padded[i, :, dy : dy + 8, dx : dx + 8] for dy in range(5) for dx in range(5)]
        assert any(torch.equal(out[i], c) for c in shifts)
        assert not torch.equal(out[i], x[i].flip(-1)) or torch.equal(x[i], x[i].flip(-1))


@pytest.mark.parametrize(
    "epoch_rows, expected_steps",
    [("real", 3 * 4), ("all", 3 * 8), (20, 3 * 2)],  # 49 real + 49 synthetic rows, batches of 13
)
def test_epoch_rows_sets_the_number_of_steps(digits, epoch_rows, expected_steps):
    train, _ = digits
    doubled = ImageSet(
        np.concatenate([train.images, train.images]),
        np.concatenate([train.labels, train.labels]),
        train.class_names,
    )
    synthetic = np.arange(len(doubled)) >= len(train)
    config = FAST.replace(epochs=3, batch_size=13, epoch_rows=epoch_rows)
    result = fit(doubled, config=config, synthetic_mask=synthetic)
    assert result.steps == expected_steps


def test_row_stream_visits_every_row_equally_often():
    from deepbalance.training.data import RowStream

    stream = RowStream(10, 4, torch.Generator().manual_seed(0))
    seen = torch.cat([torch.cat(stream.batches(2)) for _ in range(5)])  # 20 rows = 2 passes
    assert torch.equal(torch.bincount(seen, minlength=10), torch.full((10,), 2))


@pytest.mark.parametrize("schedule", ["onecycle", "cosine", "constant"])
def test_schedules_train_and_end_where_they_should(digits, schedule):
    train, test = digits
    config = TrainConfig(
        classifier="fast-cnn",
        classifier_params={"channels": (8, 16)},
        epochs=6,
        batch_size=16,
        schedule=schedule,
    )
    trainer = Trainer(config, progress=False)
    result = trainer.fit(train, {"test": test})
    assert result.final["test"]["acsa"] > 0.5  # chance is 1/3
    from deepbalance.training.trainer import make_optimizer, make_schedule

    model = torch.nn.Linear(2, 2)
    optimizer = make_optimizer(config, model.parameters())
    sched = make_schedule(config, optimizer, 40)
    lrs = []
    for _ in range(40):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        if sched is not None:
            sched.step()
    if schedule == "constant":
        assert sched is None and set(lrs) == {0.1}
    elif schedule == "onecycle":
        assert max(lrs) == pytest.approx(0.1) and lrs[0] < 0.01 and lrs[-1] < 1e-3
        assert 5 <= int(np.argmax(lrs)) <= 15  # the peak a quarter of the way in
    else:
        assert lrs[0] == pytest.approx(0.1) and lrs[-1] < 0.01


def test_label_smoothing_reaches_the_loss():
    from deepbalance.training.losses import Objective

    logits = torch.tensor([[4.0, 0.0, 0.0]])
    y = torch.tensor([0])
    plain = Objective()(logits, y, epoch=0)
    smoothed = Objective(label_smoothing=0.3)(logits, y, epoch=0)
    expected = torch.nn.functional.cross_entropy(logits, y, label_smoothing=0.3)
    assert torch.allclose(smoothed, expected) and smoothed > plain


def test_bad_synthetic_mask_is_named(digits):
    train, _ = digits
    with pytest.raises(ValueError, match="synthetic_mask must be a bool array"):
        fit(train, synthetic_mask=np.zeros(3, bool))


def test_progress_bar_runs(digits, capsys):
    train, test = digits
    Trainer(FAST.replace(epochs=2), progress=True).fit(train, {"test": test})
    assert "train" in capsys.readouterr().out


def test_random_crop_flip_moves_whole_images():
    gen = torch.Generator().manual_seed(0)
    x = torch.arange(2 * 8 * 8, dtype=torch.float32).view(2, 1, 8, 8) + 1
    out = random_crop_flip(x, gen)
    assert out.shape == x.shape
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))
    for i in range(2):  # each output is one crop of its padded input, possibly mirrored
        crops = [
            c
            for dy in range(3)
            for dx in range(3)
            for c in (padded[i, :, dy : dy + 8, dx : dx + 8],)
            for c in (c, c.flip(-1))
        ]
        assert any(torch.equal(out[i], c) for c in crops)
    again = random_crop_flip(x, torch.Generator().manual_seed(0))
    assert torch.equal(out, again)


def _memmapped(images, tmp_path, name):
    path = tmp_path / f"{name}.npy"
    np.save(path, images)
    return np.load(path, mmap_mode="r")  # read-only, as the image cache hands it out


def test_memmapped_sets_stream_batches_with_the_same_numbers(digits, tmp_path):
    train, test = digits
    mapped = ImageSet(_memmapped(train.images, tmp_path, "train"), train.labels, train.class_names)
    mapped_test = ImageSet(_memmapped(test.images, tmp_path, "test"), test.labels, test.class_names)
    assert not mapped.images.flags.writeable
    config = TrainConfig(classifier="cle-cnn", epochs=2, batch_size=16, augment="shift")
    recipe = Recipe(pretrain=True, pretrain_epochs=1, cap="class-cosine")  # reads class means
    synthetic = np.arange(len(train)) % 5 == 0
    in_memory = fit(train, {"test": test}, config, recipe=recipe, synthetic_mask=synthetic)
    streamed = fit(mapped, {"test": mapped_test}, config, recipe=recipe, synthetic_mask=synthetic)
    assert streamed.history == in_memory.history and streamed.losses == in_memory.losses
    # the same model; only the arrays' strides differ, which moves float rounding (~1e-8)
    np.testing.assert_allclose(
        streamed.predict_proba(mapped_test.images), in_memory.predict_proba(test.images), atol=1e-6
    )


def test_a_memmapped_training_set_is_never_copied_whole(digits, tmp_path):
    import tracemalloc

    train, test = digits
    # 64 x 64 images, 51 MB: far above what one fit allocates besides the images
    images = np.kron(np.repeat(train.images, 256, axis=0), np.ones((8, 8), dtype=np.uint8))
    labels = np.repeat(train.labels, 256)
    mapped = ImageSet(_memmapped(images, tmp_path, "big"), labels, train.class_names)
    config = FAST.replace(epochs=1, batch_size=256)
    fit(train, None, config)  # first imports allocate too: do them before tracing
    tracemalloc.start()
    fit(mapped, None, config, synthetic_mask=np.arange(len(labels)) % 3 == 0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # numpy's allocations are traced: a copy of the set (or of its real rows) would show here
    assert peak < images.nbytes / 4, (peak, images.nbytes)


def test_image_rows_gather_in_the_asked_order(tmp_path):
    from deepbalance.training.data import ImageRows

    images = np.arange(6 * 4, dtype=np.uint8).reshape(6, 1, 2, 2)
    for source in (images, _memmapped(images, tmp_path, "rows")):
        rows = ImageRows(source)
        assert rows.streamed == (source is not images) and len(rows) == 6
        for index in (torch.tensor([4, 0, 5, 0]), np.array([3, 1]), slice(1, 4)):
            np.testing.assert_array_equal(rows[index].numpy(), images[index])
        mask = torch.tensor([True, False, True, False, False, True])
        np.testing.assert_array_equal(rows[mask].numpy(), images[mask.numpy()])
