"""``deepbalance bench ...`` and ``deepbalance report``: output, exit codes, one-line errors."""

import sqlite3

import pytest

from deepbalance.cli import main

TINY = """
name = "tiny-digits"
seeds = [0]
metrics = ["acsa", "macro_f1"]

[source]
paper = "test"
table = "test"

[data]
dataset = "digits"

[profile]
name = "longtail"
params = { rho = 5.0 }

[[test_sets]]
name = "test"

[train]
classifier = "mlp"
classifier_params = { hidden = [16, 16] }
epochs = 1
batch_size = 128

[[methods]]
name = "none"

[[methods]]
name = "class-weighted"
"""


def _error_line(capsys):
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    return lines[0]


def test_bench_list_and_show(capsys):
    assert main(["bench", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("quickstart", "deepsmote-fmnist", "rae-fmnist", "cle-binary-fmnist"):
        assert name in out
    assert main(["bench", "show", "cle-binary-fmnist"]) == 0
    out = capsys.readouterr().out
    assert "no-class-imbalance" in out and "cle-binary-balanced" in out and "hash" in out


def test_run_then_report(tmp_path, capsys):
    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY)
    store = tmp_path / "results.sqlite"
    argv = ["bench", "run", str(spec), "--store", str(store), "--epochs", "1", "--quiet"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "2 run(s) done" in out and "tiny-digits" in out
    assert main(argv) == 0
    assert "0 run(s) done, 2 already stored" in capsys.readouterr().out
    out_dir = tmp_path / "report"
    assert main(["report", str(store), "--out", str(out_dir), "--html"]) == 0
    assert "class-weighted" in capsys.readouterr().out
    assert (out_dir / "report.md").is_file() and (out_dir / "report.html").is_file()
    assert "tiny-digits" in (out_dir / "report.md").read_text()


def test_reduced_run_says_so(tmp_path, capsys):
    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY.replace("epochs = 1", "epochs = 2"))
    store = tmp_path / "results.sqlite"
    argv = ["bench", "run", str(spec), "--store", str(store), "--epochs", "1"]
    assert main([*argv, "--methods", "none", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "REDUCED" in out and "epochs=1" in out and "methods=['none']" in out


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("epochs = 1", "epochs = = 1", "malformed TOML"),
        ('name = "class-weighted"', 'name = "class-weigted"', "unknown method"),
        ('name = "longtail"', 'name = "long-tail"', "unknown profile"),
        ('dataset = "digits"', 'dataset = "digitz"', "unknown dataset"),
        ("hidden = [16, 16]", "hidden = [16]", "classifier 'mlp'"),
    ],
)
def test_bad_specs_exit_2_with_one_line(tmp_path, capsys, old, new, expected):
    spec = tmp_path / "bad.toml"
    spec.write_text(TINY.replace(old, new))
    assert main(["bench", "run", str(spec), "--store", str(tmp_path / "r.sqlite")]) == 2
    line = _error_line(capsys)
    assert expected in line and str(spec) in line


def test_missing_dataset_files_exit_2(tmp_path, capsys):
    spec = tmp_path / "fmnist.toml"
    spec.write_text(TINY.replace('dataset = "digits"', 'dataset = "fashion-mnist"'))
    empty = tmp_path / "empty"
    empty.mkdir()
    argv = ["bench", "run", str(spec), "--store", str(tmp_path / "r.sqlite")]
    assert main([*argv, "--data-dir", str(empty)]) == 2
    assert str(empty) in _error_line(capsys)


def test_foreign_store_exit_2_untouched(tmp_path, capsys):
    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY)
    foreign = tmp_path / "mine.sqlite"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    before = foreign.read_bytes()
    assert main(["bench", "run", str(spec), "--store", str(foreign)]) == 2
    assert "not a deepbalance results store" in _error_line(capsys)
    assert main(["report", str(foreign)]) == 2
    assert "not a deepbalance results store" in _error_line(capsys)
    assert foreign.read_bytes() == before


def test_bad_options_exit_2(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing.sqlite")]) == 2
    assert "does not exist" in _error_line(capsys)
    assert main(["bench", "run", "nope"]) == 2
    assert "unknown spec 'nope'" in _error_line(capsys)
    assert main(["bench", "run", "quickstart", "--seeds", "x"]) == 2
    assert "--seeds" in _error_line(capsys)
    assert main(["bench", "run", "quickstart", "--methods", "nope"]) == 2
    assert "nope" in _error_line(capsys)
