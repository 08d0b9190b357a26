"""Experiment specs: parsing, errors with file/key/value/line, hashing, overrides, built-ins."""

import dataclasses

import pytest

from deepbalance.bench.spec import (
    SpecError,
    apply_overrides,
    builtin_spec_names,
    check_names,
    find_line,
    load_spec,
    loads_spec,
)


def _with(fake, old, new):
    assert old in fake.SPEC_TOML
    return fake.SPEC_TOML.replace(old, new)


def _line_of(text, needle, occurrence=1):
    lines = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    return lines[occurrence - 1]


def test_spec_fields(spec, spec_file):
    assert spec.name == "fake-grid"
    assert spec.seeds == (0, 1, 2)
    assert spec.data.dataset == "fake-digits"
    assert spec.profile.name == "counts" and spec.profile.params == {"counts": [40, 20, 8]}
    assert [(t.name, t.policy) for t in spec.test_sets] == [
        ("balanced", "balanced"),
        ("official", "official"),
    ]
    assert spec.train.epochs == 4 and spec.train.eval_every == 2 and spec.train.batch_size == 128
    assert [m.id for m in spec.methods] == ["fake-none", "fake-smote", "fake-best-strong"]
    assert spec.methods[0].label == "Baseline" and spec.methods[1].label == "fake-smote"
    assert spec.methods[2].name == "fake-best" and spec.methods[2].params == {"strength": 2.0}
    assert spec.paper == {"balanced": {"fake-none": {"acsa": 0.5}}}
    assert spec.source.paper == "none"
    assert spec.path == str(spec_file)
    assert not spec.reduced and spec.full_seeds == (0, 1, 2)


def test_hash_is_stable_and_covers_the_protocol_only(fake, spec):
    reordered = loads_spec(
        "# a comment\n" + fake.SPEC_TOML.replace("eval_every = 2", "eval_every = 2 # x")
    )
    assert reordered.hash == spec.hash and len(spec.hash) == 16
    assert loads_spec(_with(fake, "epochs = 4", "epochs = 5")).hash != spec.hash
    assert loads_spec(_with(fake, "counts = [40, 20, 8]", "counts = [40, 20, 9]")).hash != spec.hash
    # seeds, methods and report-only fields are per-run keys or presentation, not protocol
    assert loads_spec(_with(fake, "seeds = [0, 1, 2]", "seeds = [0, 1, 2, 3]")).hash == spec.hash
    assert loads_spec(_with(fake, 'selection = "final"', 'selection = "best"')).hash == spec.hash
    changed = _with(fake, "params = { strength = 2.0 }", "params = { strength = 3.0 }")
    assert loads_spec(changed).hash == spec.hash
    assert loads_spec(changed).methods[2].hash != spec.methods[2].hash


def test_malformed_toml_names_file_and_line(fake, tmp_path):
    path = tmp_path / "bad.toml"
    text = _with(fake, "epochs = 4", "epochs = = 4")
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    line = _line_of(text, "epochs = = 4")
    assert f"{path}:{line}" in str(info.value) and "malformed TOML" in str(info.value)
    assert info.value.line == line


def _load_error(fake, tmp_path, old, new):
    """``(path, text, SpecError)`` of loading the fake spec with ``old`` replaced by ``new``."""
    path = tmp_path / "bad.toml"
    text = _with(fake, old, new)
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    return path, text, info.value


@pytest.mark.parametrize(
    "old, new, key, needle, words",
    [
        ("epochs = 4", "epoch = 4", "train.epoch", "epoch = 4", "unknown key"),
        ("epochs = 4", "epochs = 0", "train.epochs", "epochs = 0", ">= 1"),
        ("eval_every = 2", "eval_every = 9", "train.eval_every", "eval_every = 9", "<= train"),
        ('policy = "balanced"', 'policy = "fair"', "test_sets[0].policy", "fair", "choose one"),
        ('selection = "final"', 'selection = "last"', "selection", "last", "choose one"),
        ("seeds = [0, 1, 2]", "seeds = [0, 1, 1]", "seeds", "seeds =", "repeat"),
        ("acsa = 0.5", 'acsa = "high"', "paper.balanced.fake-none.acsa", "high", "number"),
        (
            'metrics = ["acsa", "gm", "macro_f1"]',
            'metrics = ["acsa", "f2"]',
            "metrics[1]",
            "metrics =",
            "choose one",
        ),
        (
            "params = { strength = 2.0 }",
            "params = 2.0",
            "methods[2].params",
            "params = 2.0",
            "table of parameters",
        ),
        (
            'policy = "official"',
            'policy = "official"\noptions = { scale = 2 }',
            "test_sets[1].options",
            "options = { scale = 2 }",
            "applies to a test set with its own dataset = ...",
        ),
        (
            'policy = "official"',
            'policy = "cv"\ndataset = "other"',
            "test_sets[1].dataset",
            'dataset = "other"',
            "a cross-validation test set is drawn from the training set",
        ),
    ],
)
def test_bad_values_name_key_value_and_line(fake, tmp_path, old, new, key, needle, words):
    path, text, error = _load_error(fake, tmp_path, old, new)
    assert error.key == key
    assert error.line == _line_of(text, needle)
    message = str(error)
    assert message.startswith(f"{path}:{error.line}: {key} = ")
    assert words in message


@pytest.mark.parametrize(
    "old, new, key, value, needle, words",
    [
        ("epochs = 4", 'epochs = "4"', "train.epochs", "4", 'epochs = "4"', "must be an integer"),
        (
            "epochs = 4",
            "epochs = 4\nbatch_size = true",
            "train.batch_size",
            True,
            "batch_size = true",
            "must be an integer",
        ),
        (
            'policy = "balanced"',
            'policy = "balanced"\nper_clas = 3',
            "test_sets[0].per_clas",
            3,
            "per_clas = 3",
            "unknown key 'per_clas'; allowed: name, policy, profile, per_class, seed, folds, "
            "dataset, split, options, data_dir",
        ),
        (
            'policy = "official"',
            'policy = "cv"\nfolds = 1',
            "test_sets[1].folds",
            1,
            "folds = 1",
            "must be an integer >= 2",
        ),
    ],
)
def test_wrong_types_and_keys_name_key_value_and_line(
    fake, tmp_path, old, new, key, value, needle, words
):
    path, text, error = _load_error(fake, tmp_path, old, new)
    assert (error.key, error.value, error.line) == (key, value, _line_of(text, needle))
    assert str(error).startswith(f"{path}:{error.line}: {key} = {value!r}: {words}")


def test_duplicate_method_id_points_at_the_second_entry(fake):
    text = fake.SPEC_TOML + '\n[[methods]]\nname = "fake-smote"\n'
    with pytest.raises(SpecError, match="repeats") as info:
        loads_spec(text, file="dup.toml")
    assert info.value.line == len(text.splitlines()) - 1  # the 4th [[methods]] header


def test_missing_required_key(fake):
    with pytest.raises(SpecError, match="missing required key 'dataset'") as info:
        loads_spec(_with(fake, 'dataset = "fake-digits"', "options = {}"))
    assert info.value.key == "data"


def test_find_line_handles_array_tables_and_inline_tables():
    text = "\n".join(
        [
            "name = 'x'",  # 1
            "seeds = [",  # 2
            "  0,",  # 3
            "]",  # 4
            "[[methods]]",  # 5
            "name = 'a'",  # 6
            "[[methods]]",  # 7
            "name = 'b'",  # 8
            "params = { beta = 2, gamma = 3 }",  # 9
            "[train]",  # 10
            "epochs = 3",  # 11
        ]
    )
    assert find_line(text, ("methods", 1, "name")) == 8
    assert find_line(text, ("methods", 0, "name")) == 6
    assert find_line(text, ("methods", 1, "params", "gamma")) == 9
    assert find_line(text, ("methods", 1, "label")) == 7  # not written: its table's header
    assert find_line(text, ("seeds", 0)) == 2
    assert find_line(text, ("train", "epochs")) == 11
    assert find_line(text, ("profile",)) is None


def test_method_profile_override_and_variants(fake):
    text = (
        fake.SPEC_TOML
        + """
[[methods]]
name = "fake-none"
id = "no-imbalance"
label = "No class imbalance"
profile = { name = "counts", params = { counts = [40, 40, 40] } }

[[variants]]
name = "v1"
profile_params = { counts = [30, 20, 8] }

[[variants]]
name = "v2"
train = { lr = 0.01 }
"""
    )
    spec = loads_spec(text)
    method = spec.method("no-imbalance")
    assert method.profile.name == "counts" and method.profile.params == {"counts": [40, 40, 40]}
    assert [v.name for v in spec.variants] == ["v1", "v2"]
    assert spec.variants[1].train == {"lr": 0.01}
    with pytest.raises(SpecError, match="unknown training setting"):
        loads_spec(text.replace("train = { lr = 0.01 }", "train = { rate = 0.01 }"))


def test_overrides_mark_the_spec_reduced(spec):
    reduced = apply_overrides(spec, seeds=2, epochs=3, subset=0.5, methods="fake-smote,fake-none")
    assert reduced.reduced
    assert reduced.seeds == (0, 1)
    assert reduced.train.epochs == 3 and reduced.train.eval_every == 2
    assert reduced.subset == 0.5
    assert [m.id for m in reduced.methods] == ["fake-none", "fake-smote"]  # the spec's order
    assert reduced.overrides == {
        "seeds": [0, 1],
        "epochs": 3,
        "subset": 0.5,
        "methods": ["fake-none", "fake-smote"],
    }
    assert reduced.full_seeds == spec.full_seeds and reduced.full_methods == spec.full_methods
    # epochs and subset change the numbers: a new protocol hash; seeds and methods do not
    assert reduced.hash != spec.hash
    assert apply_overrides(spec, seeds=[2, 0]).hash == spec.hash
    assert apply_overrides(spec, epochs=1).train.eval_every == 1
    more = apply_overrides(spec, seeds=5)
    assert more.seeds == (0, 1, 2, 3, 4) and not more.reduced  # more seeds: not reduced
    assert more.overrides == {"seeds": [0, 1, 2, 3, 4]}
    # overrides that change nothing keep the spec as it is
    assert apply_overrides(spec, seeds=3, epochs=4, budget="full") is spec


def test_quick_budget(fake, spec):
    quick = apply_overrides(spec, budget="quick")
    assert quick.seeds == (0,) and quick.train.epochs == 2 and quick.subset == 0.25
    assert quick.overrides["budget"] == "quick"
    assert apply_overrides(spec, budget="quick", epochs=3).train.epochs == 3
    custom = loads_spec(
        fake.SPEC_TOML + '\n[budgets.quick]\nseeds = 2\nepochs = 1\nclassifier = "cle-cnn"\n'
    )
    quick = apply_overrides(custom, budget="quick")
    assert quick.seeds == (0, 1) and quick.train.epochs == 1 and quick.subset == 0.25
    assert quick.train.classifier == "cle-cnn" and quick.overrides["classifier"] == "cle-cnn"
    assert apply_overrides(load_spec("deepsmote-fmnist"), budget="quick").train.classifier == (
        "fast-cnn"
    )
    protocol = apply_overrides(load_spec("deepsmote-fmnist"), budget="protocol")
    assert (protocol.train.classifier, protocol.train.epochs) == ("resnet18", 30)
    assert protocol.train.optimizer == "adam" and not protocol.reduced
    (deepsmote,) = [m for m in protocol.methods if m.name == "deepsmote-published"]
    assert deepsmote.params["sampler_params"]["dim_h"] == 64  # DeepSMOTEOfficial's autoencoder
    assert deepsmote.params["sampler_params"]["epochs"] == 200


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"seeds": 0}, "seeds=0"),
        ({"seeds": [1, 1]}, "not repeat"),
        ({"epochs": 0}, "epochs=0"),
        ({"subset": 1.5}, "subset=1.5"),
        ({"methods": ["nope"]}, "nope"),
        ({"budget": "huge"}, "budget='huge'"),
    ],
)
def test_bad_overrides(spec, kwargs, match):
    with pytest.raises(ValueError, match=match):
        apply_overrides(spec, **kwargs)


def test_check_names_against_registries(fake, spec_file):
    spec = load_spec(spec_file)
    registries = dict(
        methods=fake.METHODS,
        datasets=fake.DATASETS,
        profiles=fake.PROFILES,
        classifiers=fake.CLASSIFIERS,
    )
    check_names(spec, **registries)
    text = spec_file.read_text()
    spec_file.write_text(text.replace('name = "fake-smote"', 'name = "fake-smoke"'))
    with pytest.raises(SpecError, match="unknown method") as info:
        check_names(load_spec(spec_file), **registries)
    assert info.value.line == _line_of(spec_file.read_text(), "fake-smoke")
    spec_file.write_text(text.replace('name = "counts"', 'name = "count"'))
    with pytest.raises(SpecError, match="unknown profile"):
        check_names(load_spec(spec_file), **registries)
    spec_file.write_text(text.replace("counts = [40, 20, 8]", "rho = 3"))
    with pytest.raises(SpecError, match="has no parameter 'rho'"):
        check_names(load_spec(spec_file), **registries)
    spec_file.write_text(text.replace('dataset = "fake-digits"', 'dataset = "fake-digit"'))
    with pytest.raises(SpecError, match="unknown dataset"):
        check_names(load_spec(spec_file), **registries)


def test_unknown_builtin_name():
    with pytest.raises(SpecError, match="unknown spec 'nope'.*quickstart"):
        load_spec("nope")


EXPECTED_BUILTINS = {
    "quickstart",
    "deepsmote-fmnist",
    "deepsmote-mnist",
    "deepsmote-cifar10",
    "deepsmote-svhn",
    "deepsmote-celeba",
    "rae-fmnist",
    "cle-binary-fmnist",
    "cle-3class-fmnist",
    "cle-binary-mnist",
    "cle-3class-mnist",
    "cle-binary-cifar10",
    "cle-3class-cifar10",
    "cxr-chexpert",
    "cxr-chexpert-nih-expert",
    "cxr-frameworks-fmnist",
    "deepsmote-defaults-cv",
    "digits-leaderboard",
    "fmnist-lt",
    "fmnist-lt-extreme",
    "fmnist-lt-leaderboard",
    "logit-adjustment-tau-cv",
    "rae-mnist",
    "rae-cifar10",
}


def test_builtin_specs_are_listed():
    assert EXPECTED_BUILTINS == set(builtin_spec_names())  # a new spec joins the checks below


@pytest.mark.parametrize("name", sorted(EXPECTED_BUILTINS))
def test_builtin_spec_validates_against_the_library(name):
    from deepbalance.data import DATASETS
    from deepbalance.data.profiles import PROFILES
    from deepbalance.methods import METHODS, get_method
    from deepbalance.nets import CLASSIFIERS
    from deepbalance.training.config import TrainConfig

    spec = load_spec(name)
    assert spec.source.paper and spec.source.table
    check_names(
        spec, methods=METHODS, datasets=DATASETS, profiles=PROFILES, classifiers=CLASSIFIERS
    )
    for method in spec.methods:
        get_method(method.name, **method.params)
    TrainConfig(**dataclasses.asdict(spec.train))


def test_the_documented_format_is_a_valid_spec():
    from deepbalance.bench import spec as module

    block = module.__doc__.split("::\n\n", 1)[1]
    text = "\n".join(line[4:] for line in block.splitlines())
    spec = loads_spec(text, file="<docstring>")
    assert (
        spec.methods[0].id == "beta-vae-2" and spec.paper["balanced"]["beta-vae-2"]["acsa"] == 0.81
    )
    check_names(spec)  # against the library's registries


def test_train_defaults_are_the_train_configs():
    import dataclasses

    from deepbalance.bench.spec import TRAIN_DEFAULTS, TrainSpec
    from deepbalance.training import config

    # every recipe setting of TrainConfig is a spec setting, and an empty [train] table is
    # TrainConfig() except for the one deliberate difference: a spec trains its stated epochs
    recipe = {f.name for f in dataclasses.fields(config.TrainConfig)} - {
        "device",
        "eval_batch_size",
    }
    assert set(TRAIN_DEFAULTS) == recipe == {f.name for f in dataclasses.fields(TrainSpec)}
    assert TRAIN_DEFAULTS["min_steps"] is None
    assert config.TrainConfig(**TrainSpec().as_dict()) == config.TrainConfig(min_steps=None)


def test_reading_every_built_in_spec_imports_no_torch():
    import subprocess
    import sys
    from importlib import resources

    quickstart = resources.files("deepbalance.bench.specs").joinpath("quickstart.toml")
    toml = quickstart.read_text().replace(
        'name = "deepsmote"\n', 'name = "deepsmote-residual+copies"\n'
    )
    assert "deepsmote-residual+copies" in toml  # a former name, resolved without the methods
    code = (
        "import sys, warnings\n"
        "from deepbalance.bench.spec import builtin_spec_names, load_spec, loads_spec\n"
        "for name in builtin_spec_names(): load_spec(name)\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    spec = loads_spec(TOML)\n"
        "assert 'deepsmote' in [m.name for m in spec.methods], spec.methods\n"
        "assert any('is now called' in str(w.message) for w in caught), caught\n"
        "assert spec.hash == load_spec('quickstart').hash\n"
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", f"TOML = {toml!r}\n{code}"], check=True)


@pytest.mark.parametrize(
    "train, match",
    [
        ("augment = true", "name the augmentation"),
        ('augment = "mixup"', "choose one of"),
        ('schedule = "step"', "choose one of"),
        ("label_smoothing = 1.0", r"must be in \[0, 1\)"),
        ('epoch_rows = "most"', "choose one of"),
        ("shift = 0", "must be >= 1"),
    ],
)
def test_bad_recipe_keys_name_the_line(train, match):
    text = f"""
name = "x"
seeds = [0]
[data]
dataset = "digits"
[[test_sets]]
name = "test"
[train]
{train}
[[methods]]
name = "none"
"""
    with pytest.raises(SpecError, match=match) as info:
        loads_spec(text, file="x.toml")
    assert info.value.line == 9


def test_protocol_budget_swaps_in_the_papers_recipe_without_marking_reduced():
    text = """
name = "x"
seeds = [0]
[data]
dataset = "digits"
[[test_sets]]
name = "test"
[[methods]]
name = "none"
[budgets.protocol]
train = { classifier = "resnet18", optimizer = "adam", lr = 0.001, schedule = "constant" }
"""
    spec = loads_spec(text, file="x.toml")
    protocol = apply_overrides(spec, budget="protocol")
    assert (protocol.train.classifier, protocol.train.optimizer) == ("resnet18", "adam")
    assert not protocol.reduced and protocol.hash != spec.hash
    bad = text.replace('schedule = "constant"', 'schedule = "warm"')
    with pytest.raises(SpecError, match="schedule"):
        loads_spec(bad, file="x.toml")


def test_a_test_set_from_another_dataset(fake, toolkit):
    from deepbalance.bench.runner import build_test_sets

    written = 'name = "official"\npolicy = "official"'
    own = written + '\ndataset = "fake-digits"'
    spec = loads_spec(_with(fake, written, own))
    plain = loads_spec(fake.SPEC_TOML)
    assert spec.test_sets[1].own_split == "test" and spec.hash != plain.hash
    # unset keys stay out of the hash (stored runs keep theirs); a data_dir never counts
    assert "dataset" not in plain.protocol()["test_sets"][1]
    moved = loads_spec(_with(fake, written, own + '\ndata_dir = "x"'))
    assert moved.hash == spec.hash
    scaled = loads_spec(_with(fake, written, own + "\noptions = { scale = 2 }"))
    assert scaled.hash != spec.hash
    sets = build_test_sets(toolkit.resolved(), scaled)
    assert sets["official"].class_counts().tolist() == [12, 12, 12]  # fake-digits' test split
    unknown = loads_spec(_with(fake, written, own.replace("fake-digits", "nope")))
    with pytest.raises(SpecError, match=r"test_sets\[1\]\.dataset = 'nope': unknown dataset"):
        check_names(unknown, datasets=fake.DATASETS)


def test_deepsmote_imbalanced_test_keeps_the_specs_training_ratios():
    ratios = {
        name: [t.profile for t in load_spec(name).test_sets if t.policy == "deepsmote-imbalanced"]
        for name in ("deepsmote-fmnist", "deepsmote-cifar10", "deepsmote-svhn")
    }
    assert [p.params for p in ratios["deepsmote-fmnist"]] == [{"train": "deepsmote-mnist"}]
    assert [p.params for p in ratios["deepsmote-cifar10"]] == [{"train": "deepsmote-cifar"}]
    assert [p.params for p in ratios["deepsmote-svhn"]] == [{"train": "deepsmote-cifar"}]
    assert {p.name for ps in ratios.values() for p in ps} == {"deepsmote-imbalanced-test"}
