"""``compare``'s time estimate: the per-step cost model recovers a known cost."""

import pytest

import deepbalance.methods
from deepbalance.bench.runner import Toolkit, build_fold_test, build_train_set, expand_grid
from deepbalance.training import TrainConfig
from deepbalance.workflows import compare as compare_module
from deepbalance.workflows.compare import estimate_seconds, prepare_comparison

from .test_compare import make_folder

RUN_SECONDS = 0.5  # a training run's fixed cost on the fake clock
STEP_SECONDS = 0.04  # and the cost of one optimisation step, whatever its batch


@pytest.fixture
def fake_clock(monkeypatch):
    """``perf_counter`` that only ``run_method`` advances, by the fake costs above."""
    now = [0.0]

    def run_method(method, data, tests, *, config, **kwargs):
        steps = config.epochs * config.steps_per_epoch(config.rows_per_epoch(len(data)))
        now[0] += RUN_SECONDS + STEP_SECONDS * steps

    monkeypatch.setattr(deepbalance.methods, "run_method", run_method)
    monkeypatch.setattr(compare_module.time, "perf_counter", lambda: now[0])
    return now


@pytest.mark.parametrize("counts", [(20, 10, 6), (300, 60, 12)])
def test_the_estimate_counts_steps_including_each_epochs_short_batch(tmp_path, fake_clock, counts):
    imgs = make_folder(tmp_path / "imgs", counts=counts)
    spec = prepare_comparison(imgs, store=tmp_path / "s.sqlite", methods="none").spec
    toolkit = Toolkit(load_dataset=compare_module.load_dataset).resolved()
    points = list(expand_grid(spec))
    train = build_train_set(toolkit, spec, points[0])
    test = build_fold_test(toolkit, spec, points[0])
    estimate = estimate_seconds(spec, train, test, points)
    run = TrainConfig(**spec.train.as_dict()).for_rows(len(train))
    steps = run.epochs * run.steps_per_epoch(len(train))
    assert steps >= 500  # the step budget: 500 or more steps however small the folds
    truth = len(points) * (RUN_SECONDS + STEP_SECONDS * steps)
    # evaluations are modelled at a third of a training pass per test image; the fake clock
    # charges nothing for them, so the estimate may exceed the truth by that much only
    assert truth <= estimate.seconds <= 1.1 * truth
    assert estimate.classifier_seconds_per_step == pytest.approx(STEP_SECONDS)
    assert estimate.run_overhead_seconds == pytest.approx(RUN_SECONDS, abs=0.05)
    assert "ms per step" in estimate.text()
