"""deepbalance.stats: the one paired test of the report and the verdict."""

import numpy as np
import pytest
from scipy import stats as scipy_stats

from deepbalance import stats
from deepbalance.bench.report import Cell, Protocol, significance
from deepbalance.workflows.verdict import MethodScore, paired_test


def test_t_test_below_six_pairs_wilcoxon_from_six():
    x, y = [0.9, 0.8, 0.85, 0.7, 0.95], [0.6, 0.7, 0.8, 0.5, 0.5]
    result = stats.paired_test(x, y)
    assert result.test == stats.PAIRED_T and result.n == 5
    assert result.p_value == pytest.approx(scipy_stats.ttest_rel(x, y).pvalue)
    assert result.difference == pytest.approx(np.mean(np.subtract(x, y)))
    # five seeds all in one direction: the exact Wilcoxon test could not go below 0.0625
    assert scipy_stats.wilcoxon(x, y).pvalue == pytest.approx(0.0625)
    assert result.p_value < stats.ALPHA
    x6, y6 = [*x, 0.9], [*y, 0.85]
    result = stats.paired_test(x6, y6)
    assert result.test == stats.WILCOXON and result.n == 6
    assert result.p_value == pytest.approx(scipy_stats.wilcoxon(x6, y6).pvalue)


def test_untestable_cases_say_why():
    assert stats.paired_test([0.5], [0.4]).reason == stats.TOO_FEW_PAIRS
    assert stats.paired_test([0.5], [0.4]).p_value is None
    same = stats.paired_test([0.5, 0.6, 0.7], [0.4, 0.5, 0.6])
    assert (same.test, same.p_value, same.reason) == (stats.PAIRED_T, None, stats.SAME_DIFFERENCE)
    none = stats.paired_test([0.5, 0.6], [0.5, 0.6])
    assert (none.p_value, none.reason) == (None, stats.NO_DIFFERENCE)
    six = stats.paired_test([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    assert (six.test, six.p_value, six.reason) == (stats.WILCOXON, 1.0, stats.NO_DIFFERENCE)


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


def test_baseline_table_pairs_every_row_with_the_baselines_by_seed_and_variant():
    from deepbalance.bench.report import baseline_table

    values = {
        "none|default": [0.60, 0.62, 0.61],
        "random-oversampling|default": [0.80, 0.81, 0.79],
        "x|default": [0.82, 0.84, 0.80],
        "x|long": [0.90, 0.91],
        "random-oversampling|long": [0.85, 0.86],
    }

    class Fake(Protocol):
        def methods(self):
            return [("none", "CE"), ("random-oversampling", "ROS"), ("x", "X")]

        def method_rows(self):
            return [(k, k) for k in values]

        def cell(self, key, test_set, metric, stage=None):
            v = values.get(key, [])
            return Cell(list(v), [(seed, key.partition("|")[2]) for seed in range(len(v))])

    header, rows = baseline_table(Fake.__new__(Fake), "test", "acsa")
    assert header == ["Method", "n", "ACSA", "vs ROS", "vs CE"]
    by = {r[0]: r for r in rows}
    p = scipy_stats.ttest_rel([0.82, 0.84, 0.80], [0.80, 0.81, 0.79]).pvalue
    assert by["x|default"][3] == f"+0.020 (p = {p:.2g}, 3/3 higher)"
    assert by["x|default"][4].startswith("+0.210 (p = ")
    assert by["x|long"][3] == "+0.050 (p n/a, 2/2 higher)"  # the same difference twice
    assert by["x|long"][4] == "–"  # no plain CE run at the long budget
    assert by["random-oversampling|default"][3] == "—"
