"""The spec that chooses DeepSMOTE()'s defaults on cross-validation of the training set."""

from deepbalance.bench.spec import load_spec
from deepbalance.methods import get_method


def _samplers(spec):
    return {m.id: get_method(m.name, **m.params).make_sampler(random_state=0) for m in spec.methods}


def test_it_chooses_on_training_folds_and_only_reads_the_test_sets():
    spec = load_spec("deepsmote-defaults-cv")
    (cv,) = [t for t in spec.test_sets if t.policy == "cv"]
    assert cv.folds == 5 and list(spec.seeds) == [0]
    assert {t.name for t in spec.test_sets} == {"cv", "balanced", "imbalanced"}
    assert spec.profile.name == "deepsmote-mnist"


def test_its_rows_are_every_choice_behind_one_autoencoder():
    samplers = _samplers(load_spec("deepsmote-defaults-cv"))
    assert samplers.pop("random-oversampling").__class__.__name__ == "RandomOversampler"
    choices = {i: (s.residual, s.copy_fraction) for i, s in samplers.items()}
    assert choices == {
        "deepsmote-published": (False, 0.0),
        "copies-only": (False, 0.5),
        "deepsmote-residual": (True, 0.0),
        "residual-copies-0.25": (True, 0.25),
        "deepsmote": (True, 0.5),
        "residual-copies-0.75": (True, 0.75),
        "penalty-batchnorm-batch": (True, 0.5),
        "no-penalty": (True, 0.5),
    }
    settings = {i: s.train_settings() for i, s in samplers.items()}
    default = settings.pop("deepsmote")
    assert settings.pop("no-penalty").penalty is None
    assert settings.pop("penalty-batchnorm-batch").penalty_batchnorm == "batch"
    # the residual / copy rows share DeepSMOTE()'s autoencoder (one fit per fold, cached)
    assert all(s == default for s in settings.values())
    configs = {s.autoencoder_config((1, 28, 28)) for s in samplers.values()}
    assert len(configs) == 1
