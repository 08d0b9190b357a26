"""The command line, through ``main([...])`` and once through ``python -m deepbalance``."""

import json
import os
import re
import subprocess
import sys
import types

import pytest

from deepbalance import __version__
from deepbalance.cli import build_parser, main, parse_value
from deepbalance.data import load_dataset
from deepbalance.data.profiles import make_imbalanced

FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
ROW = re.compile(r"^\W*(\d+)\s*│\s*(.+?)\s*│\s*(\d+)\s*│", re.MULTILINE)


def table_counts(text):
    """``{class name: count}`` from the rows of a ``describe`` table."""
    return {name: int(count) for _, name, count in ROW.findall(text)}


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *fragments):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


def test_help_and_version(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in ("datasets", "profiles", "describe"):
        assert command in out
    code, out, _ = run(capsys, "describe", "--help")
    assert code == 0 and "--profile" in out and "--param" in out
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"deepbalance {__version__}"


def test_profiles_lists_names_sources_and_counts(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # rich sizes tables to the terminal; keep rows whole
    code, out, _ = run(capsys, "profiles")
    assert code == 0
    for name in ("deepsmote-mnist", "deepsmote-cifar", "rae-cifar", "cle-3class-balanced"):
        assert name in out
    assert "4000 2000 1000 750 500 350 200 100 60 40" in out
    assert "DeepSMOTE" in out and "CLE-SMOTE" in out


def test_datasets_reports_digits_available(capsys):
    code, out, _ = run(capsys, "datasets")
    assert code == 0
    digits_row = next(line for line in out.splitlines() if "digits" in line)
    assert "yes" in digits_row and "1347" in digits_row


def test_describe_digits_plain(capsys):
    code, out, _ = run(capsys, "describe", "digits", "--split", "test")
    assert code == 0
    counts = table_counts(out)
    expected = load_dataset("digits", "test").class_counts()
    assert counts == {str(i): int(n) for i, n in enumerate(expected)}
    assert re.search(rf"total\s*│\s*{expected.sum()}\s*│", out)


def test_describe_digits_longtail(capsys):
    code, out, _ = run(capsys, "describe", "digits", "--profile", "longtail", "--param", "rho=10")
    assert code == 0
    expected = make_imbalanced(load_dataset("digits"), "longtail", rho=10).class_counts()
    assert list(table_counts(out).values()) == expected.tolist()
    ratio = expected.max() / expected.min()
    assert f"imbalance ratio (largest / smallest class): {ratio:.2f}" in out


def test_describe_cle_binary_with_class_choice_and_seed(capsys):
    argv = ["describe", "digits", "--profile", "cle-binary", "--param", "classes=3,5"]
    code, out, _ = run(capsys, *argv, "--seed", "4", "--param", "majority=100")
    assert code == 0
    assert table_counts(out) == {"3": 100, "5": 1}
    assert "cle-binary(classes=[3, 5], majority=100) seed 4" in out


@pytest.mark.fmnist
@pytest.mark.skipif(not os.path.isdir(FASHION_MNIST), reason="dataset-fashion-mnist not installed")
def test_describe_fashion_mnist_deepsmote(capsys):
    code, out, _ = run(capsys, "describe", "fashion-mnist", "--profile", "deepsmote-mnist")
    assert code == 0
    counts = table_counts(out)
    assert list(counts.values()) == [4000, 2000, 1000, 750, 500, 350, 200, 100, 60, 40]
    assert next(iter(counts)) == "T-shirt/top"
    assert "imbalance ratio (largest / smallest class): 100.00" in out


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (["describe", "no-such-set"], ["unknown dataset 'no-such-set'"]),
        (["describe", "digits", "--profile", "longtial"], ["did you mean 'longtail'"]),
        (["describe", "digits", "--profile", "longtail", "--param", "rho"], ["key=value"]),
        (["describe", "digits", "--profile", "longtail", "--param", "rho=0.5"], ["rho=0.5"]),
        (["describe", "digits", "--profile", "longtail", "--param", "x=1"], ["unknown param"]),
        (["describe", "digits", "--param", "rho=3"], ["give --profile"]),
        (["describe", "digits", "--split", "bogus"], ["split='bogus'"]),
        (["describe", "digits", "--profile", "deepsmote-mnist"], ["needs 4000 images"]),
        (["describe", "digits", "--seed", "x"], ["--seed"]),
        (["describe", "digits", "--data-dir", "/tmp"], ["reads no files"]),
        (["describe", "fashion-mnist", "--data-dir", "/no/such/dir"], ["could not find"]),
        (["describe", "mnist", "--data-dir", os.path.dirname(__file__)], ["mnist"]),
        (["bogus-command"], ["invalid choice"]),
        ([], ["choose a command"]),
    ],
)
def test_bad_input_is_one_error_line_with_status_2(capsys, argv, fragments):
    code, out, err = run(capsys, *argv)
    assert_one_line_error(code, err, *fragments)


def test_debug_shows_the_exception(capsys):
    with pytest.raises(ValueError, match="unknown dataset"):
        main(["--debug", "describe", "no-such-set"])


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("10", 10),
        ("0.5", 0.5),
        ("3,5", [3, 5]),
        ("[1, 2.5]", [1, 2.5]),
        ("(7,)", [7]),
        ("cat,dog", ["cat", "dog"]),
        ("{0:100, 1:10}", {0: 100, 1: 10}),
        ("true", True),
        ("none", None),
        ("T-shirt/top", "T-shirt/top"),
    ],
)
def test_parse_value(text, value):
    assert parse_value(text) == value


def test_other_command_groups_attach_through_add_parsers(capsys, monkeypatch):
    calls = []

    def add_parsers(subparsers):
        parser = subparsers.add_parser("bench", help="run a benchmark")
        parser.add_argument("spec")
        parser.set_defaults(func=lambda args: calls.append(args.spec) or 0)

    fake_cli = types.ModuleType("deepbalance.cli.bench")
    fake_cli.add_bench_parser = add_parsers
    monkeypatch.setitem(sys.modules, "deepbalance.cli.bench", fake_cli)
    assert "bench" in build_parser().format_help()
    assert main(["bench", "tiny"]) == 0
    assert calls == ["tiny"]


def test_python_dash_m_help():
    result = subprocess.run(
        [sys.executable, "-m", "deepbalance", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "describe" in result.stdout and "usage: deepbalance" in result.stdout


# ------------------------------------------------------------------ --json, whole cells, status


def test_datasets_json(capsys):
    code, out, _ = run(capsys, "datasets", "--json")
    assert code == 0
    listed = {entry["name"]: entry for entry in json.loads(out)}
    assert listed["digits"]["available"] is True
    assert listed["digits"]["n_images"]["train"] == 1347
    assert set(listed["digits"]) == {"name", "available", "n_images", "location", "description"}


def test_profiles_json(capsys):
    from deepbalance.data.profiles import list_profiles

    code, out, _ = run(capsys, "profiles", "--json")
    assert code == 0
    listed = {entry["name"]: entry for entry in json.loads(out)}
    assert set(listed) == {p.name for p in list_profiles()}
    assert listed["deepsmote-mnist"]["counts"] == [
        4000,
        2000,
        1000,
        750,
        500,
        350,
        200,
        100,
        60,
        40,
    ]
    assert "rho" in listed["longtail"]["params"]


def test_describe_json(capsys):
    code, out, _ = run(
        capsys, "describe", "digits", "--profile", "longtail", "--param", "rho=10", "--json"
    )
    assert code == 0
    described = json.loads(out)
    expected = make_imbalanced(load_dataset("digits"), "longtail", rho=10).class_counts()
    assert [c["count"] for c in described["classes"]] == expected.tolist()
    assert described["total"] == int(expected.sum()) and described["params"] == {"rho": 10}
    assert described["imbalance_ratio"] == pytest.approx(expected.max() / expected.min())
    assert described["image_shape"] == [1, 8, 8]


def test_tables_off_a_terminal_are_never_cut(capsys, monkeypatch):
    from deepbalance.data.profiles import list_profiles

    monkeypatch.setenv("COLUMNS", "40")  # a narrow terminal size must not apply to a pipe
    code, out, _ = run(capsys, "profiles")
    assert code == 0
    assert "…" not in out
    lines = out.splitlines()
    for profile in list_profiles():
        # each profile is one line holding its whole name and source
        assert any(profile.name in line and profile.source in line for line in lines)
    assert any("4000 2000 1000 750 500 350 200 100 60 40" in line for line in lines)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (RuntimeError("out of memory"), 1),
        (PermissionError(13, "Permission denied", "/data"), 1),
        (FileNotFoundError(2, "No such file", "/data"), 2),
        (ValueError("bad value"), 2),
    ],
)
def test_runtime_failures_exit_1_and_bad_input_2(capsys, monkeypatch, error, status):
    import deepbalance.data.registry

    def fail(**kwargs):
        raise error

    monkeypatch.setattr(deepbalance.data.registry, "list_datasets", fail)
    code, _, err = run(capsys, "datasets")
    assert code == status
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err


def test_usage_errors_exit_2(capsys):
    code, _, err = run(capsys, "datasets", "--no-such-option")
    assert_one_line_error(code, err, "unrecognized arguments")
