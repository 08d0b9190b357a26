"""A spec naming an unregistered metric, batch transform or phase fails at its line, with the
registered names."""

import pytest

from deepbalance.cli import main

SPEC = """\
name = "extension-names"
description = "a spec for error messages"
seeds = [0]
metrics = ["acsa"]

[source]
paper = "deepbalance"
table = "none"

[data]
dataset = "digits"

[profile]
name = "longtail"
params = { rho = 10.0 }

[[test_sets]]
name = "test"
policy = "official"

[train]
epochs = 2

[[methods]]
name = "none"
params = PARAMS
"""


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    "old, new, needle, words",
    [
        (
            'metrics = ["acsa"]',
            'metrics = ["acsa", "top5"]',
            "metrics =",
            ["'top5'", "'acsa'", "'auroc_abnormal'"],
        ),
        (
            "PARAMS",
            '{ batch_transform = "mixpu" }',
            "mixpu",
            ["unknown batch transform 'mixpu'", "did you mean 'mixup'"],
        ),
        (
            "PARAMS",
            '{ phases = [{ name = "resampel", start = 0.5 }] }',
            "resampel",
            [
                "unknown phase 'resampel'",
                "known: draw-rows, resample, retrain-classifier, reweight",
            ],
        ),
    ],
)
def test_unregistered_names_fail_at_their_spec_line(tmp_path, capsys, old, new, needle, words):
    text = SPEC.replace(old, new).replace("PARAMS", "{}")
    path = tmp_path / "spec.toml"
    path.write_text(text)
    assert main(["bench", "show", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:{_line(text, needle)}:" in err
    for word in words:
        assert word in err


def test_a_method_chosen_on_validation_needs_val_fraction_at_its_spec_line(tmp_path, capsys):
    text = SPEC.replace('name = "none"', 'name = "tau-norm"').replace("PARAMS", "{}")
    path = tmp_path / "spec.toml"
    path.write_text(text)
    assert main(["bench", "show", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:{_line(text, 'tau-norm')}:" in err
    assert "post_hoc='tau-norm' is chosen on a validation split" in err
    assert "[train] val_fraction = 0.1" in err
    path.write_text(text.replace("epochs = 2", "epochs = 2\nval_fraction = 0.2"))
    assert main(["bench", "show", str(path)]) == 0
