"""``deepbalance bench ...`` and ``deepbalance report``: output, exit codes, one-line errors."""

import json
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
    assert not (tmp_path / "r.sqlite").exists()  # checked before the store is created


def test_missing_dataset_files_exit_2(tmp_path, capsys):
    spec = tmp_path / "fmnist.toml"
    spec.write_text(TINY.replace('dataset = "digits"', 'dataset = "fashion-mnist"'))
    empty = tmp_path / "empty"
    empty.mkdir()
    argv = ["bench", "run", str(spec), "--store", str(tmp_path / "r.sqlite")]
    assert main([*argv, "--data-dir", str(empty)]) == 2
    assert str(empty) in _error_line(capsys)
    assert not (tmp_path / "r.sqlite").exists()


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


# ------------------------------------------------------------------ read commands never write


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "does not exist"),
        (b"", "is empty (0 bytes), not a results store"),
        (b"some notes, not a database\n" * 8, "not an SQLite file"),
    ],
)
def test_report_refuses_what_is_not_a_store_untouched(tmp_path, capsys, content, message):
    path = tmp_path / "results.sqlite"
    if content is not None:
        path.write_bytes(content)
    assert main(["report", str(path), "--out", str(tmp_path / "out")]) == 2
    assert message in _error_line(capsys)
    if content is None:
        assert not path.exists()
    else:
        assert path.read_bytes() == content
    assert not (tmp_path / "out").exists()


def test_report_reads_a_store_without_changing_it(tmp_path, capsys):
    store = _run_tiny(tmp_path, capsys)
    before = store.read_bytes()
    assert main(["report", str(store), "--out", str(tmp_path / "out")]) == 0
    assert store.read_bytes() == before


# ------------------------------------------------------------------ --json, whole cells


def _run_tiny(tmp_path, capsys, *options):
    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY)
    store = tmp_path / "results.sqlite"
    argv = ["bench", "run", str(spec), "--store", str(store), "--epochs", "1", "--quiet"]
    assert main([*argv, *options]) == 0
    capsys.readouterr()
    return store


def test_bench_list_json(capsys):
    from deepbalance.bench.spec import builtin_spec_names, load_spec

    assert main(["bench", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [entry["name"] for entry in listed] == builtin_spec_names()
    quickstart = next(entry for entry in listed if entry["name"] == "quickstart")
    spec = load_spec("quickstart")
    assert quickstart["methods"] == [m.id for m in spec.methods]
    assert quickstart["seeds"] == list(spec.seeds) and quickstart["hash"] == spec.hash


def test_bench_show_json(capsys):
    from deepbalance.bench.spec import load_spec

    assert main(["bench", "show", "cle-binary-fmnist", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    spec = load_spec("cle-binary-fmnist")
    assert shown["name"] == spec.name and shown["hash"] == spec.hash
    assert [m["id"] for m in shown["methods"]] == [m.id for m in spec.methods]


def test_report_json_prints_the_tables(tmp_path, capsys):
    store = _run_tiny(tmp_path, capsys)
    assert main(["report", str(store), "--out", str(tmp_path / "out"), "--json"]) == 0
    captured = capsys.readouterr()
    (protocol,) = json.loads(captured.out)  # stdout is JSON only
    assert "wrote" in captured.err
    assert protocol["name"] == "tiny-digits" and protocol["metrics"] == ["acsa", "macro_f1"]
    rows = protocol["test_sets"]["test"]["rows"]
    assert [row["method_id"] for row in rows] == ["none", "class-weighted"]
    conn = sqlite3.connect(store)
    stored = {
        method: json.loads(final)["test"]["acsa"]
        for method, final in conn.execute("SELECT method_id, final_json FROM runs")
    }
    conn.close()
    for row in rows:
        cell = row["metrics"]["acsa"]
        assert cell["n"] == 1 and cell["values"] == [stored[row["method_id"]]]
        assert cell["mean"] == stored[row["method_id"]] and cell["seeds"] == [0]


LONG_LABEL = "class-weighted-cross-entropy-with-inverse-frequency-weights-" * 5


def test_tables_off_a_terminal_are_never_cut(tmp_path, monkeypatch, capsys):
    from deepbalance.bench.spec import builtin_spec_names, load_spec

    monkeypatch.setenv("COLUMNS", "40")  # a narrow terminal size must not apply to a pipe
    assert main(["bench", "list"]) == 0
    out = capsys.readouterr().out
    assert "…" not in out
    for name in builtin_spec_names():
        spec = load_spec(name)
        source = spec.source.table or spec.source.paper
        assert any(name in line and source in line for line in out.splitlines()), name
    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY.replace('name = "none"', f'name = "none"\nlabel = "{LONG_LABEL}"'))
    assert main(["bench", "show", str(spec)]) == 0
    out = capsys.readouterr().out
    assert "…" not in out
    assert any(LONG_LABEL in line for line in out.splitlines())


@pytest.mark.filterwarnings("ignore:constrained_layout not applied")  # the long legend
def test_report_tables_off_a_terminal_are_never_cut(tmp_path, capsys, monkeypatch):
    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY.replace('name = "none"', f'name = "none"\nlabel = "{LONG_LABEL}"'))
    store = tmp_path / "results.sqlite"
    argv = ["bench", "run", str(spec), "--store", str(store), "--epochs", "1", "--quiet"]
    assert main([*argv, "--methods", "none"]) == 0
    capsys.readouterr()
    monkeypatch.setenv("COLUMNS", "30")
    assert main(["report", str(store), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "…" not in out
    assert any(LONG_LABEL in line and "│" in line for line in out.splitlines())


# ------------------------------------------------------------------ seeds, exit codes, checks


def _stored_seeds(store):
    conn = sqlite3.connect(store)
    seeds = sorted({row[0] for row in conn.execute("SELECT seed FROM runs")})
    conn.close()
    return seeds


def test_seeds_are_seeds_and_n_seeds_counts(tmp_path, capsys):
    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY.replace("seeds = [0]", "seeds = [0, 1, 2]"))
    base = ["bench", "run", str(spec), "--epochs", "1", "--quiet", "--methods", "none"]
    assert main([*base, "--store", str(tmp_path / "a.sqlite"), "--seeds", "1"]) == 0
    assert _stored_seeds(tmp_path / "a.sqlite") == [1]
    assert main([*base, "--store", str(tmp_path / "b.sqlite"), "--seeds", "0"]) == 0
    assert _stored_seeds(tmp_path / "b.sqlite") == [0]
    assert main([*base, "--store", str(tmp_path / "c.sqlite"), "--n-seeds", "2"]) == 0
    assert _stored_seeds(tmp_path / "c.sqlite") == [0, 1]
    capsys.readouterr()


@pytest.mark.parametrize(
    "options, fragment",
    [
        (["--seeds", "0", "--n-seeds", "2"], "not allowed with"),
        (["--n-seeds", "0"], "count >= 1"),
        (["--seeds", "-1"], "--n-seeds N"),
        (["--device", "gpu0"], "not a device name"),
    ],
)
def test_usage_errors_exit_2_before_anything_is_stored(tmp_path, capsys, options, fragment):
    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY)
    store = tmp_path / "r.sqlite"
    assert main(["bench", "run", str(spec), "--store", str(store), *options]) == 2
    assert fragment in _error_line(capsys)
    assert not store.exists()


def test_cuda_without_cuda_exits_2_before_anything_is_stored(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY)
    store = tmp_path / "r.sqlite"
    assert main(["bench", "run", str(spec), "--store", str(store), "--device", "cuda"]) == 2
    assert "cuda" in _error_line(capsys).lower()
    assert not store.exists()


def test_bench_show_checks_profile_parameters_as_run_does(tmp_path, capsys):
    spec = tmp_path / "bad.toml"
    spec.write_text(TINY.replace("params = { rho = 5.0 }", "params = { rho = 5.0, bogus = 1 }"))
    assert main(["bench", "show", str(spec)]) == 2
    shown = _error_line(capsys)
    assert main(["bench", "run", str(spec), "--store", str(tmp_path / "r.sqlite")]) == 2
    assert _error_line(capsys) == shown and "no parameter 'bogus'" in shown


def test_a_crashing_run_exits_1(tmp_path, capsys, monkeypatch):
    import deepbalance.methods

    def crash(*args, **kwargs):
        raise RuntimeError("the GPU fell over")

    monkeypatch.setattr(deepbalance.methods, "run_method", crash)
    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY)
    argv = ["bench", "run", str(spec), "--store", str(tmp_path / "r.sqlite"), "--quiet"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "the GPU fell over" in err


def test_a_store_that_cannot_be_written_exits_1(tmp_path, capsys, monkeypatch):
    from deepbalance.bench.store import Store

    def disk_full(conn, run_id, rows):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Store, "_insert_metrics", staticmethod(disk_full))
    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY)
    argv = ["bench", "run", str(spec), "--store", str(tmp_path / "r.sqlite"), "--quiet"]
    assert main(argv) == 1
    assert "disk is full" in _error_line(capsys)
