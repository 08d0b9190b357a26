"""Reports: files, numbers equal to the stored runs' statistics, significance, REDUCED banner."""

import json
import sqlite3
import statistics

import pytest
from markdown_tables import table_rows as _table_rows
from scipy import stats

from deepbalance.bench.report import (
    Cell,
    load_protocols,
    print_tables,
    significance,
    write_report,
)
from deepbalance.bench.runner import run_spec
from deepbalance.bench.spec import apply_overrides, loads_spec


@pytest.fixture
def store(spec, toolkit, tmp_path):
    path = tmp_path / "results.sqlite"
    run_spec(spec, store=path, toolkit=toolkit, progress=False)
    return path


def _stored_values(path, method_id, split, metric, stage="final_json"):
    conn = sqlite3.connect(path)
    rows = conn.execute(
        f"SELECT seed, {stage} FROM runs WHERE method_id = ? ORDER BY seed", (method_id,)
    ).fetchall()
    conn.close()
    return [json.loads(blob)[split][metric] for _, blob in rows]


def test_report_numbers_match_the_store(store, tmp_path):
    out = tmp_path / "report"
    written = write_report(store, out, html_output=True)
    names = {p.name for p in written}
    assert {"report.md", "report.html"} <= names
    assert all(p.exists() and p.stat().st_size > 0 for p in written)
    pngs = [p for p in written if p.suffix == ".png"]
    assert any("curves-balanced" in p.name for p in pngs)
    assert any("recall-official" in p.name for p in pngs)
    assert {p.name.split("-samples-")[1] for p in pngs if "-samples-" in p.name} == {
        "fake-smote.png",
        "fake-best-strong.png",
    }
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = (out / "report.md").read_text()
    assert "Selection: **final epoch" in markdown
    assert "REDUCED" not in markdown

    for split in ("balanced", "official"):
        rows = _table_rows(markdown, f"### Test set: {split}")
        header = rows["Method"]
        for method_id, label in (
            ("fake-none", "Baseline"),
            ("fake-best-strong", "fake-best-strong"),
        ):
            for metric, name in (("acsa", "ACSA"), ("macro_f1", "Macro F1")):
                values = _stored_values(store, method_id, split, metric)
                assert len(values) == 3
                cell = rows[label][header.index(name)]
                mean, std = statistics.fmean(values), statistics.stdev(values)
                assert cell == f"{mean:.4f} ± {std:.4f}"
                var = rows[label][header.index(f"{name} var")]
                assert float(var) == pytest.approx(statistics.variance(values), rel=1e-2)
    balanced = _table_rows(markdown, "### Test set: balanced")
    assert balanced["Baseline"][balanced["Method"].index("ACSA paper")] == "0.5000"
    assert "ACSA paper" not in _table_rows(markdown, "### Test set: official")["Method"]
    html = (out / "report.html").read_text()
    assert "<table>" in html and "fake-best-strong" in html and "<img src=" in html


def test_significance_uses_the_paired_test_the_seed_count_allows(spec, toolkit, tmp_path):
    path = tmp_path / "r.sqlite"
    run_spec(spec, store=path, toolkit=toolkit, progress=False)
    (protocol,) = load_protocols(path)
    result = significance(protocol, "official", "acsa")
    assert (result.top, result.runner_up) == ("fake-best-strong", "fake-smote")
    assert result.test == "paired t-test" and result.n == 3
    top = _stored_values(path, "fake-best-strong", "official", "acsa")
    second = _stored_values(path, "fake-smote", "official", "acsa")
    assert result.p_value == pytest.approx(stats.ttest_rel(top, second).pvalue)

    more = apply_overrides(spec, seeds=[0, 1, 2, 3, 4, 5])
    run_spec(more, store=path, toolkit=toolkit, progress=False)
    (protocol,) = load_protocols(path)
    result = significance(protocol, "official", "acsa")
    assert result.test == "Wilcoxon signed-rank" and result.n == 6
    top = _stored_values(path, "fake-best-strong", "official", "acsa")
    second = _stored_values(path, result.runner_up, "official", "acsa")
    assert result.p_value == pytest.approx(stats.wilcoxon(top, second).pvalue)


def test_one_seed_is_reduced_and_untestable(spec, toolkit, tmp_path):
    path = tmp_path / "r.sqlite"
    run_spec(apply_overrides(spec, seeds=1, epochs=2), store=path, toolkit=toolkit, progress=False)
    (protocol,) = load_protocols(path)
    result = significance(protocol, "official", "acsa")
    assert result.test == "n/a" and result.p_value is None and "1 paired seed" in result.note
    write_report(path, tmp_path / "out")
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "REDUCED RUN" in markdown
    assert "epochs = 2" in markdown and "seeds: 1 of 3" in markdown
    assert "n/a (1 paired seed(s))" in markdown


def test_best_selection_reads_the_best_evaluations(fake, toolkit, tmp_path):
    spec = loads_spec(fake.SPEC_TOML.replace('selection = "final"', 'selection = "best"'))
    path = tmp_path / "r.sqlite"
    run_spec(spec, store=path, toolkit=toolkit, progress=False)
    write_report(path, tmp_path / "out", spec="fake-grid")
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "Selection: **best of evaluations" in markdown
    rows = _table_rows(markdown, "### Test set: official")
    values = _stored_values(path, "fake-smote", "official", "acsa", stage="best_json")
    cell = rows["fake-smote"][rows["Method"].index("ACSA")]
    assert cell == f"{statistics.fmean(values):.4f} ± {statistics.stdev(values):.4f}"


def test_unknown_spec_name(store, tmp_path):
    with pytest.raises(ValueError, match="spec 'nope' has no results.*fake-grid"):
        write_report(store, tmp_path / "out", spec="nope")


def test_print_tables(store, capsys):
    print_tables(store)
    out = capsys.readouterr().out
    assert "fake-grid" in out and "Baseline" in out and "±" in out


class _TwoBudgets:
    """A protocol stand-in: rows keyed by (method, variant), cells paired by (seed, variant)."""

    def __init__(self, rows):
        self.rows = rows

    def method_rows(self):
        return [(key, f"{key[0]} [{key[1]}]") for key in self.rows]

    def cell(self, key, test_set, metric):
        return Cell(list(self.rows[key]), [(seed, key[1]) for seed in range(len(self.rows[key]))])


def test_runner_up_is_the_best_row_that_pairs_with_the_top_one():
    rows = {
        ("bound", "long"): [0.90, 0.91, 0.92],
        ("bound", "default"): [0.89, 0.90, 0.91],  # second by mean, but no seed of "long"
        ("ros", "long"): [0.85, 0.87, 0.86],
        ("ros", "default"): [0.84, 0.85, 0.86],
    }
    result = significance(_TwoBudgets(rows), "balanced", "acsa")
    assert (result.top, result.runner_up) == ("bound [long]", "ros [long]")
    assert result.n == 3 and result.test == "paired t-test"
    expected = stats.ttest_rel(rows[("bound", "long")], rows[("ros", "long")]).pvalue
    assert result.p_value == pytest.approx(expected)
    only_other_budget = {k: v for k, v in rows.items() if k[0] == "bound"}
    result = significance(_TwoBudgets(only_other_budget), "balanced", "acsa")
    assert result.runner_up == "bound [default]" and result.p_value is None
    assert result.note == "0 paired seed(s)"
