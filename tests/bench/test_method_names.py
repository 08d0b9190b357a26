"""One name, one meaning: renamed methods keep their stored runs, hashes and labels.

``deepsmote`` was the published variant and ``deepsmote-residual+copies`` ``DeepSMOTE()``'s
defaults; today ``deepsmote`` is ``DeepSMOTE()`` and the published variant
``deepsmote-published``. A results store written before (schema 1) must report its runs
under the labels they were stored with and must not be rerun.
"""

import dataclasses
import json
import sqlite3
from pathlib import Path

import fake_backend
import pytest

from deepbalance.bench.report import load_protocols, write_report
from deepbalance.bench.runner import expand_grid, run_spec
from deepbalance.bench.spec import load_spec, loads_spec, stable_hash
from deepbalance.bench.store import SCHEMA_VERSION, Store
from deepbalance.methods import STORED_AS
from deepbalance.registry import Registry

RESULTS = Path(__file__).resolve().parents[2] / "docs" / "results"

#: the DeepSMOTE names as fake methods: "deepsmote" behaves as fake-best, the published
#: variant as fake-smote
_BEHAVES_AS = {"deepsmote": "fake-best", "deepsmote-published": "fake-smote"}
NAMES = Registry("method")
for _name in ("fake-none", *_BEHAVES_AS):
    NAMES.register(_name, _name)


def get_method(name, **params):
    NAMES.get(name)
    return fake_backend.get_method(_BEHAVES_AS.get(name, name), **params)


def toolkit():
    return dataclasses.replace(fake_backend.toolkit(), get_method=get_method, methods=NAMES)


def spec_text(methods: str) -> str:
    head = fake_backend.SPEC_TOML.split("[[methods]]")[0]
    return head.replace("seeds = [0, 1, 2]", "seeds = [0, 1]") + methods


TODAY = spec_text(
    """
[[methods]]
name = "fake-none"
label = "Baseline"

[[methods]]
name = "deepsmote-published"
label = "DeepSMOTE (as published)"

[[methods]]
name = "deepsmote"
label = "DeepSMOTE()"

[paper.balanced.deepsmote-published]
acsa = 0.5
"""
)
#: what each name of TODAY was stored as in schema 1
SCHEMA_1 = {"deepsmote-published": "deepsmote", "deepsmote": "deepsmote-residual+copies"}


def as_schema_1(path: Path) -> None:
    """Rewrite a store's method names as a store written before the rename holds them.

    Only names change: the method hashes are what schema 1 computed (checked here against
    its formula, a hash of the name as written, the params and the profile).
    """
    conn = sqlite3.connect(path)
    with conn:
        old = lambda value: SCHEMA_1.get(value, value)  # noqa: E731
        for run_id, mid, name, mhash, method_json in conn.execute(
            "SELECT run_id, method_id, method_name, method_hash, method_json FROM runs"
        ).fetchall():
            entry = json.loads(method_json)
            assert mhash == stable_hash(
                {"name": old(name), "params": entry["params"], "profile": entry["profile"]}
            )
            entry.update(id=old(entry["id"]), name=old(entry["name"]))
            conn.execute(
                "UPDATE runs SET method_id=?, method_name=?, method_json=? WHERE run_id=?",
                (old(mid), old(name), json.dumps(entry), run_id),
            )
        for name, spec_hash, spec_json, full_json in conn.execute(
            "SELECT spec_name, spec_hash, spec_json, full_methods_json FROM specs"
        ).fetchall():
            spec = json.loads(spec_json)
            for entry in spec["methods"]:
                entry.update(id=old(entry["id"]), name=old(entry["name"]))
            spec["full_methods"] = [old(m) for m in spec["full_methods"]]
            spec["paper"] = {
                t: {old(m): v for m, v in by.items()} for t, by in spec["paper"].items()
            }
            full = [old(m) for m in json.loads(full_json)]
            conn.execute(
                "UPDATE specs SET spec_json=?, full_methods_json=? WHERE spec_name=? AND "
                "spec_hash=?",
                (json.dumps(spec), json.dumps(full), name, spec_hash),
            )
        artifacts = conn.execute("SELECT * FROM artifacts").fetchall()
        conn.execute("DELETE FROM artifacts")
        for spec_name, spec_hash, mid, *rest in artifacts:
            conn.execute(
                "INSERT INTO artifacts VALUES (?, ?, ?, ?, ?, ?)",
                (spec_name, spec_hash, old(mid), *rest),
            )
        conn.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
        conn.execute("PRAGMA user_version = 1")
    conn.close()


def stored_version(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0]
    finally:
        conn.close()


@pytest.fixture
def before(tmp_path):
    """A schema-1 store of TODAY's grid, and the report of the same runs under today's names."""
    path = tmp_path / "results.sqlite"
    summary = run_spec(loads_spec(TODAY), store=path, toolkit=toolkit(), progress=False)
    assert summary.ran == 6 and not summary.failed
    report = write_report(path, tmp_path / "today")[0].read_text()
    as_schema_1(path)
    return path, report


def test_a_renamed_method_hashes_as_its_runs_were_stored():
    methods = "".join(f'\n[[methods]]\nname = "{name}"\n' for name in STORED_AS)
    spec = loads_spec(spec_text(methods))
    for name, stored in STORED_AS.items():
        # the formula of every spec before the rename: a hash of the name as written
        expected = stable_hash({"name": stored, "params": {}, "profile": None})
        assert spec.method(name).hash == expected, name


def test_a_former_name_in_a_spec_warns_and_keeps_its_hash_and_paper_numbers():
    text = spec_text(
        '\n[[methods]]\nname = "deepsmote-residual+copies"\nlabel = "mine"\n'
        '\n[paper.balanced."deepsmote-residual+copies"]\nacsa = 0.7\n'
        '\n[budgets.quick]\nmethod_params = { "deepsmote-residual+copies" = { strength = 2.0 } }\n'
    )
    with pytest.warns(
        FutureWarning, match="'deepsmote-residual\\+copies' is now called 'deepsmote'"
    ):
        spec = loads_spec(text)
    (method,) = spec.methods
    assert (method.id, method.name, method.label) == ("deepsmote", "deepsmote", "mine")
    assert method.hash == stable_hash(
        {"name": "deepsmote-residual+copies", "params": {}, "profile": None}
    )
    assert spec.paper == {"balanced": {"deepsmote": {"acsa": 0.7}}}
    assert spec.budgets["quick"]["method_params"] == {"deepsmote": {"strength": 2.0}}


def test_a_schema_1_store_reports_under_its_labels(before):
    path, today = before
    raw = path.read_bytes()
    with Store(path, read_only=True) as store:
        assert store.schema_version == 1
        runs = store.runs()
        assert {r.method_id for r in runs} == {"fake-none", "deepsmote-published", "deepsmote"}
        labels = {r.method_id: r.method["label"] for r in runs}
        assert labels["deepsmote-published"] == "DeepSMOTE (as published)"
        assert labels["deepsmote"] == "DeepSMOTE()"
        (row,) = store.specs()
        assert row["full_methods"] == ["fake-none", "deepsmote-published", "deepsmote"]
        assert row["spec"]["paper"] == {"balanced": {"deepsmote-published": {"acsa": 0.5}}}
        spec = loads_spec(TODAY)
        assert {p.key for p in expand_grid(spec)} == store.finished_keys(spec.name, spec.hash)
    (protocol,) = load_protocols(path)
    assert protocol.methods() == [
        ("fake-none", "Baseline"),
        ("deepsmote-published", "DeepSMOTE (as published)"),
        ("deepsmote", "DeepSMOTE()"),
    ]
    report = write_report(path, path.parent / "schema1")[0].read_text()
    assert report == today  # same rows, labels and numbers
    assert path.read_bytes() == raw  # read-only: the file is untouched


def test_writing_to_a_schema_1_store_upgrades_it_and_reruns_nothing(before):
    path, today = before
    summary = run_spec(loads_spec(TODAY), store=path, toolkit=toolkit(), progress=False)
    assert (summary.ran, summary.skipped) == (0, 6)
    assert stored_version(path) == str(SCHEMA_VERSION) == "2"
    conn = sqlite3.connect(path)
    try:
        names = {r for r in conn.execute("SELECT DISTINCT method_id, method_name FROM runs")}
        grids = {r[0] for r in conn.execute("SELECT method_id FROM artifacts")}
    finally:
        conn.close()
    assert names == {
        ("fake-none", "fake-none"),
        ("deepsmote-published", "deepsmote-published"),
        ("deepsmote", "deepsmote"),
    }
    assert grids == {"deepsmote-published", "deepsmote"}
    assert write_report(path, path.parent / "upgraded")[0].read_text() == today


def test_a_spec_naming_deepsmote_for_the_published_runs_is_warned(before):
    path, _ = before
    # a spec written before the rename, whose "deepsmote" meant the published variant
    old = spec_text('\n[[methods]]\nname = "fake-none"\n\n[[methods]]\nname = "deepsmote"\n')
    with pytest.warns(FutureWarning, match="now called 'deepsmote-published'") as caught:
        summary = run_spec(loads_spec(old), store=path, toolkit=toolkit(), progress=False)
    assert any("add 'deepsmote-published' to the spec" in str(w.message) for w in caught)
    # today's "deepsmote" (DeepSMOTE()) runs were stored as deepsmote-residual+copies: reused
    assert (summary.ran, summary.skipped) == (0, 4)
    (protocol,) = load_protocols(path)
    labels = dict(protocol.methods())
    # the published runs keep their stored label; nothing is relabelled as DeepSMOTE()
    assert labels["deepsmote-published"] == "DeepSMOTE (as published)"
    assert labels["deepsmote"] == "deepsmote"  # this spec's own (default) label


@pytest.mark.parametrize("name", ["quickstart", "deepsmote-fmnist", "deepsmote-defaults-cv"])
def test_the_committed_stores_need_no_rerun_and_keep_their_labels(name):
    path = RESULTS / name / "results.sqlite"
    spec = load_spec(name)
    with Store(path, read_only=True) as store:
        done = store.finished_keys(spec.name, spec.hash)
        runs = store.runs(spec.name, spec.hash)
    assert {p.key for p in expand_grid(spec)} <= done
    labels = {r.method_id: r.method["label"] for r in runs}
    assert labels == {m.id: m.label for m in spec.methods}
    assert "DeepSMOTE()" not in labels["deepsmote-published"]
    assert "DeepSMOTE()" in labels["deepsmote"]


def test_the_quickstart_store_keeps_its_numbers():
    with Store(RESULTS / "quickstart" / "results.sqlite", read_only=True) as store:
        acsa = {r.method_id: r.final["test"]["acsa"] for r in store.runs("quickstart")}
    # docs/results/quickstart/report.md: DeepSMOTE (as published) 0.9590, DeepSMOTE() 0.9661
    assert round(acsa["deepsmote-published"], 4) == 0.9590
    assert round(acsa["deepsmote"], 4) == 0.9661


def test_a_revised_method_hashes_apart_from_its_runs_before_the_change():
    from deepbalance.methods import REVISIONS, revision

    names = ["none", "deepsmote", *REVISIONS]
    spec = loads_spec(spec_text("".join(f'\n[[methods]]\nname = "{n}"\n' for n in names)))
    for name in names:
        before = stable_hash({"name": name, "params": {}, "profile": None})
        if name in REVISIONS:
            assert revision(name) >= 1
            assert spec.method(name).hash != before, name
            assert spec.method(name).hash == stable_hash(
                {"name": name, "params": {}, "profile": None, "revision": revision(name)}
            )
        elif name == "none":
            assert revision(name) == 0 and spec.method(name).hash == before


def test_the_rae_store_holds_three_seeds_of_every_row_as_today():
    from deepbalance.methods import REVISIONS

    spec = load_spec("rae-fmnist")
    with Store(RESULTS / "rae-fmnist" / "results.sqlite", read_only=True) as store:
        done = store.finished_keys(spec.name, spec.hash)
        hashes = {(r.method_id, r.method_hash) for r in store.runs(spec.name, spec.hash)}
    # every row of today's spec (the revised presets without the penalty, and the +penalty
    # rows) at seeds 0-2, under today's method hashes
    assert {p.key for p in expand_grid(spec) if p.seed in (0, 1, 2)} <= done
    # the revised presets' runs from before the revision stay in the store under their old
    # hash, so they are never read as today's
    revised = [m for m in spec.methods if m.name in REVISIONS and "sampler_params" not in m.params]
    assert len(revised) == 6
    for method in revised:
        assert {h for i, h in hashes if i == method.id} - {method.hash}, method.id


def test_a_revision_naming_its_fields_spares_the_runs_that_set_them(monkeypatch):
    from deepbalance import method_names
    from deepbalance.method_names import Revision, revision

    monkeypatch.setitem(
        method_names.REVISIONS,
        "logit-adjustment",
        ("a change no parameter sets", Revision("new tau and smoothing", ("tau", "smoothing"))),
    )
    assert revision("logit-adjustment") == 2
    assert revision("logit-adjustment", {"tau": 0.5}) == 2  # smoothing still the default
    assert revision("logit-adjustment", {"tau": 0.5, "smoothing": "none"}) == 1
    with pytest.raises(TypeError, match="params=.*must be a dict"):
        revision("logit-adjustment", ["tau", "smoothing"])
    methods = (
        '\n[[methods]]\nname = "logit-adjustment"\n'
        '\n[[methods]]\nname = "logit-adjustment"\nid = "set"\n'
        'params = { tau = 0.5, smoothing = "none" }\n'
    )
    spec = loads_spec(spec_text(methods))
    plain_la, set_la = spec.method("logit-adjustment"), spec.method("set")
    assert plain_la.hash == stable_hash(
        {"name": "logit-adjustment", "params": {}, "profile": None, "revision": 2}
    )
    assert set_la.hash == stable_hash(
        {
            "name": "logit-adjustment",
            "params": {"tau": 0.5, "smoothing": "none"},
            "profile": None,
            "revision": 1,
        }
    )
