"""deepbalance.stats: the one paired test of the report and the verdict."""

import numpy as np
import pytest
from scipy import stats as scipy_stats

from deepbalance import stats
from deepbalance.bench.report import Cell, Protocol, significance
from deepbalance.workflows.verdict import MethodScore, paired_test


def test_t_test_below_five_pairs_wilcoxon_from_five():
    x, y = [0.9, 0.8, 0.85, 0.7], [0.6, 0.7, 0.8, 0.5]
    result = stats.paired_test(x, y)
    assert result.test == stats.PAIRED_T and result.n == 4
    assert result.p_value == pytest.approx(scipy_stats.ttest_rel(x, y).pvalue)
    assert result.difference == pytest.approx(np.mean(np.subtract(x, y)))
    x5, y5 = [*x, 0.95], [*y, 0.5]
    result = stats.paired_test(x5, y5)
    assert result.test == stats.WILCOXON and result.n == 5
    assert result.p_value == pytest.approx(scipy_stats.wilcoxon(x5, y5).pvalue)


def test_untestable_cases_say_why():
    assert stats.paired_test([0.5], [0.4]).reason == stats.TOO_FEW_PAIRS
    assert stats.paired_test([0.5], [0.4]).p_value is None
    same = stats.paired_test([0.5, 0.6, 0.7], [0.4, 0.5, 0.6])
    assert (same.test, same.p_value, same.reason) == (stats.PAIRED_T, None, stats.SAME_DIFFERENCE)
    none = stats.paired_test([0.5, 0.6], [0.5, 0.6])
    assert (none.p_value, none.reason) == (None, stats.NO_DIFFERENCE)
    five = stats.paired_test([0.1, 0.2, 0.3, 0.4, 0.5], [0.1, 0.2, 0.3, 0.4, 0.5])
    assert (five.test, five.p_value, five.reason) == (stats.WILCOXON, 1.0, stats.NO_DIFFERENCE)


def test_within_noise():
    assert stats.within_noise(None) and stats.within_noise(0.05) and stats.within_noise(0.3)
    assert not stats.within_noise(0.049)
    assert stats.within_noise(float("nan"))
    assert stats.paired_test([0.5], [0.4]).within_noise
    with pytest.raises(ValueError, match="alpha=2"):
        stats.within_noise(0.01, alpha=2)
    with pytest.raises(TypeError, match="p_value='x'"):
        stats.within_noise("x")


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="got 2 and 3 values"):
        stats.paired_test([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="one key per value"):
        stats.paired_values([1.0], [0, 1], [1.0], [0])


def test_paired_values_keep_the_common_keys_in_order():
    x, y = stats.paired_values([0.1, 0.2, 0.3], [2, 0, 1], [0.5, 0.6], [1, 2])
    assert x.tolist() == [0.1, 0.3] and y.tolist() == [0.6, 0.5]


def _protocol(a, b):
    class Two(Protocol):
        def method_rows(self):
            return [("a", "A"), ("b", "B")]

        def cell(self, key, test_set, metric, stage=None):
            values = {"a": a, "b": b}[key]
            return Cell(list(values), [(seed, "") for seed in range(len(values))])

    return Two.__new__(Two)


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6, 8])
def test_report_and_verdict_give_the_same_p_value(n):
    rng = np.random.default_rng(n)
    a, b = rng.uniform(0.6, 0.9, n), rng.uniform(0.5, 0.8, n)
    a[0] = 0.99  # a leads on the mean
    report = significance(_protocol(a, b), "test", "acsa")
    seeds = tuple(range(n))
    verdict = paired_test(
        MethodScore("a", "A", tuple(a), seeds), MethodScore("b", "B", tuple(b), seeds)
    )
    assert report.top == "A" and report.test == verdict.test
    assert report.p_value == verdict.p_value == stats.paired_test(a, b).p_value
