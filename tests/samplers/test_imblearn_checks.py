"""imbalanced-learn's own sampler checks, run over the pixel samplers on dense numeric data."""

import pytest
from imblearn.over_sampling import BorderlineSMOTE
from imblearn.utils.estimator_checks import estimator_checks_generator

from deepbalance.samplers import PixelADASYN, PixelOversampler, PixelSMOTE, RandomOversampler

SAMPLERS = [
    RandomOversampler(random_state=0),
    PixelSMOTE(random_state=0),
    PixelADASYN(random_state=0),
    PixelOversampler(random_state=0),
    PixelOversampler(strategy=BorderlineSMOTE(), random_state=0),
]

#: checks that need input types deepbalance does not take (it takes dense arrays and lists)
UNSUPPORTED = {
    "check_sampler_get_feature_names_out_pandas": "pandas DataFrames are not accepted",
    "check_samplers_pandas": "pandas DataFrames are not accepted",
    "check_samplers_pandas_sparse": "pandas DataFrames are not accepted",
    "check_samplers_sparse": "sparse matrices are not accepted (images are dense)",
}

# a check's small data sets leave ADASYN some classes without a neighbour of another class
pytestmark = [
    pytest.mark.filterwarnings("ignore:ADASYN cannot weight class:UserWarning"),
    pytest.mark.filterwarnings("ignore:strategy '.*' made fewer rows:UserWarning"),
]


def _check_name(check) -> str:
    return getattr(check, "func", check).__name__  # the generator yields partial(check, name)


def _cases():
    for sampler in SAMPLERS:
        for estimator, check in estimator_checks_generator(sampler):
            name = _check_name(check)
            marks = [pytest.mark.skip(reason=UNSUPPORTED[name])] if name in UNSUPPORTED else []
            yield pytest.param(estimator, check, id=f"{estimator!r}-{name}", marks=marks)


CASES = list(_cases())


def test_every_dense_check_is_collected():
    names = {_check_name(p.values[1]) for p in CASES}
    dense = names - set(UNSUPPORTED)
    # the dense sampler checks of imbalanced-learn (string/NaN ones need those input tags)
    assert {
        "check_target_type",
        "check_samplers_one_label",
        "check_samplers_fit",
        "check_samplers_fit_resample",
        "check_samplers_sampling_strategy_fit_resample",
        "check_samplers_list",
        "check_samplers_multiclass_ova",
        "check_samplers_preserve_dtype",
        "check_samplers_sample_indices",
        "check_samplers_2d_target",
        "check_sampler_get_feature_names_out",
    } <= dense


@pytest.mark.parametrize("estimator, check", CASES)
def test_imblearn_sampler_check(estimator, check):
    check(estimator)
