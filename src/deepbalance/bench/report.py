"""Reports from a results store: markdown (and HTML) tables, curves, recall bars, sample grids.

For each stored protocol (spec name + hash) and test set the report gives, per method and
metric, the mean ± standard deviation and the variance over seeds (n − 1 denominator), the
paper's number beside ours where the spec has it, the selection protocol (final epoch or best
of the evaluations), and whether the top method beats the runner-up: paired over seeds
(:mod:`deepbalance.stats`), the Wilcoxon signed-rank test (SciPy) with >= 6 pairs, else the
paired t-test; "n/a" with one seed.
A REDUCED banner lists the overrides (fewer seeds, epochs, data or methods than the spec)
and the seed × variant runs a method lacks that other methods have (an interrupted grid).

With variants, a table per metric averages each method over the runs (seeds × variants) of
each variant group (e.g. a framework's permutations) and over all of them (a cell over fewer
runs than its column's fullest says "(k of n runs)"), and the figures
draw one series per method, averaged over seeds and variants. Where evaluations hold
per-sub-condition AUROCs (``auroc_subconditions``), a table gives their means per method.

With a cross-validation test set (``policy = "cv"``, DeepSMOTE, Dablain et al. 2022 §4) every cell
is the mean ± std over seeds × folds. Each protocol lists the registered method (and parameters)
behind every row label, as stored with its runs. Under a table with the paper's numbers the
report lists how our protocol differs from the paper's (the training recipe and budget run, the
training counts where ``[budgets.protocol]`` sets other profile parameters, the spec's notes). A
"selection" table puts the three readings of each run side by side: best of the evaluations on the
reported split (the CLE-SMOTE papers' protocol, Lee et al. 2024 App. C.2; optimistic), the final
epoch, and the epoch best on the validation split carved from the training rows. Beside each
method's sample grid, a table gives the per-class diagnostics of its synthetic
images (fidelity, novelty, diversity, reconstruction error), averaged over its runs.
"""

from __future__ import annotations

import html
import math
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._checks import atomic_path, atomic_write_bytes, atomic_write_text
from .._console import make_console
from ..metrics import metric_label
from ..stats import (
    NO_DIFFERENCE,
    SAME_DIFFERENCE,
    TOO_FEW_PAIRS,
    WILCOXON_MIN_PAIRS,
    paired_test,
    paired_values,
)
from .runner import FOLD_PATTERN
from .store import GRID_KIND, RunRecord, Store

__all__ = [
    "Cell",
    "Protocol",
    "Significance",
    "load_protocols",
    "make_console",
    "print_tables",
    "significance",
    "tables_data",
    "write_report",
]

SELECTION_TEXT = {
    "final": "final epoch (the metrics after the last training epoch)",
    "best": "best of evaluations (per split, the evaluation with the highest {metric}; "
    "optimistic, as in the papers that report it)",
}
#: Headers of the selection table's three readings of a run.
STAGE_TEXT = {
    "best": "best of evaluations",
    "final": "final epoch",
    "selected": "val-selected",
}
#: Numeric columns of a diagnostics row (deepbalance.samplers.diagnostics) and their headers.
DIAGNOSTIC_COLUMNS = {
    "n_real": "real",
    "n_synthetic": "synthetic",
    "fidelity": "fidelity",
    "reference_recall": "real recall",
    "novelty": "novelty",
    "diversity": "diversity",
    "reconstruction_mse": "recon MSE",
}


# --------------------------------------------------------------------------------------------
# data


class SeedSummary:
    """``n``, ``mean`` and sample ``std`` (0 for one value) of a ``values`` sequence."""

    values: list[float]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return float(np.mean(self.values)) if self.values else float("nan")

    @property
    def std(self) -> float:
        return float(np.std(self.values, ddof=1)) if self.n > 1 else 0.0


@dataclass
class Cell(SeedSummary):
    """One method × metric × test set: the per-seed values and their summary."""

    values: list[float]
    keys: list[tuple]  # (seed, variant) of each value, for pairing

    @property
    def var(self) -> float:
        return float(np.var(self.values, ddof=1)) if self.n > 1 else 0.0


@dataclass
class Protocol:
    """The stored runs of one spec name + hash, ready to tabulate."""

    name: str
    hash: str
    spec: dict
    overrides: dict
    full_seeds: list
    full_methods: list
    runs: list[RunRecord]
    artifacts: list = field(default_factory=list)

    @property
    def selection(self) -> str:
        return self.spec.get("selection", "final")

    @property
    def metrics(self) -> list[str]:
        return list(self.spec.get("metrics", ["acsa"]))

    @property
    def test_sets(self) -> list[str]:
        names = [t["name"] for t in self.spec.get("test_sets", [])]
        for run in self.runs:
            for split in run.final:
                if split not in names:
                    names.append(split)
        return names

    def methods(self) -> list[tuple[str, str]]:
        """``(method id, label)`` of every method with runs, in spec order."""
        labels = {m["id"]: m.get("label") or m["id"] for m in self.spec.get("methods", [])}
        order = [m["id"] for m in self.spec.get("methods", [])]
        for run in self.runs:
            labels.setdefault(run.method_id, run.method.get("label") or run.method_id)
            if run.method_id not in order:
                order.append(run.method_id)
        present = {run.method_id for run in self.runs}
        return [(m, labels[m]) for m in order if m in present]

    @staticmethod
    def variant_of(run: RunRecord) -> str:
        """The run's variant without its cross-validation fold (``""`` for none)."""
        match = FOLD_PATTERN.match(run.variant)
        return (match.group("variant") or "") if match else run.variant

    @property
    def has_folds(self) -> bool:
        return any(FOLD_PATTERN.match(run.variant) for run in self.runs)

    def method_rows(self) -> list[tuple[str, str]]:
        """``(row key, label)``: one row per method id (× variant when the spec has variants)."""
        variants = []
        for run in self.runs:
            if self.variant_of(run) not in variants:
                variants.append(self.variant_of(run))
        rows = []
        for method_id, method_label in self.methods():
            for variant in variants:
                if any(
                    r.method_id == method_id and self.variant_of(r) == variant for r in self.runs
                ):
                    key = f"{method_id}|{variant}"
                    label = method_label + (f" [{variant}]" if variant else "")
                    rows.append((key, label))
        return rows

    @property
    def has_variants(self) -> bool:
        return any(self.variant_of(run) for run in self.runs)

    def variant_groups(self) -> list[str]:
        """Groups of the stored variants (a variant without one is its own), in spec order."""
        order = [v.get("group") or v["name"] for v in self.spec.get("variants", [])]
        for run in self.runs:
            if self.group_of(run) not in order:
                order.append(self.group_of(run))
        present = {self.group_of(run) for run in self.runs}
        return [g for g in dict.fromkeys(order) if g in present]

    @classmethod
    def group_of(cls, run: RunRecord) -> str:
        return run.variant_params.get("group") or cls.variant_of(run)

    def series(self) -> list[tuple[str, list[RunRecord]]]:
        """``(label, runs)`` the figures draw: per method × variant row, or per method
        (all its variants) when the protocol has variants."""
        if self.has_variants:
            return [
                (label, [r for r in self.runs if r.method_id == method_id])
                for method_id, label in self.methods()
            ]
        out = []
        for key, label in self.method_rows():
            method_id, _, variant = key.partition("|")
            runs = [
                r for r in self.runs if r.method_id == method_id and self.variant_of(r) == variant
            ]
            out.append((label, runs))
        return out

    def group_cell(self, method_id: str, test_set: str, metric: str, group=None) -> Cell:
        """A method's values over every seed and variant of ``group`` (None: all variants)."""
        values, keys = [], []
        for run in sorted(self.runs, key=lambda r: (r.seed, r.variant)):
            if run.method_id != method_id or (group is not None and self.group_of(run) != group):
                continue
            value = self.stage(run).get(test_set, {}).get(metric)
            if isinstance(value, int | float) and math.isfinite(value):
                values.append(float(value))
                keys.append((run.seed, run.variant))
        return Cell(values, keys)

    def seeds_present(self) -> list[int]:
        return sorted({r.seed for r in self.runs})

    def methods_present(self) -> list[str]:
        return sorted({r.method_id for r in self.runs})

    def missing_runs(self) -> dict[str, list[tuple[int, str]]]:
        """``{method id: [(seed, variant), ...]}``: the seed × variant (× fold) runs a method
        lacks that another method of the protocol has (an interrupted or partial grid)."""
        grid = {(r.seed, r.variant) for r in self.runs}
        out = {}
        for method_id in self.methods_present():
            have = {(r.seed, r.variant) for r in self.runs if r.method_id == method_id}
            if grid - have:
                out[method_id] = sorted(grid - have)
        return out

    def stage(self, run: RunRecord) -> dict:
        return run.best if self.selection == "best" else run.final

    def stage_of(self, run: RunRecord, stage: str | None) -> dict:
        """``{split: metrics}`` of one reading of a run: the protocol's (None), "final",
        "best", or "selected" (every split at the epoch best on ``val``; empty without it)."""
        if stage is None:
            return self.stage(run)
        if stage == "final":
            return run.final
        if stage == "best":
            return run.best
        epoch = run.data.get("selection", {}).get("selected_epoch")
        if epoch is None:
            return {}
        return {h["split"]: h["metrics"] for h in run.history if h.get("epoch") == epoch}

    def has_selected(self) -> bool:
        """Whether any run has a validation-selected epoch."""
        return any(r.data.get("selection", {}).get("selected_epoch") for r in self.runs)

    def row_runs(self, row_key: str) -> list[RunRecord]:
        """The runs of a table row (all its seeds and folds), by seed and variant."""
        method_id, _, variant = row_key.partition("|")
        return [
            run
            for run in sorted(self.runs, key=lambda r: (r.seed, r.variant))
            if run.method_id == method_id and self.variant_of(run) == variant
        ]

    def cell(self, row_key: str, test_set: str, metric: str, stage: str | None = None) -> Cell:
        """A row's values of ``metric`` on ``test_set``; ``stage`` ("final", "best" or
        "selected") replaces the protocol's selection."""
        values, keys = [], []
        for run in self.row_runs(row_key):
            value = self.stage_of(run, stage).get(test_set, {}).get(metric)
            if isinstance(value, int | float) and math.isfinite(value):
                values.append(float(value))
                keys.append((run.seed, run.variant))
        return Cell(values, keys)

    def paper_value(self, row_key: str, test_set: str, metric: str) -> float | None:
        method_id, _, variant = row_key.partition("|")
        return self.spec.get("paper", {}).get(test_set, {}).get(method_id, {}).get(metric)

    def has_paper(self, test_set: str) -> bool:
        return bool(self.spec.get("paper", {}).get(test_set))

    def reduced_notes(self) -> list[str]:
        """Why this protocol's results are REDUCED (empty when they are the full protocol)."""
        notes = []
        shown = {
            k: v for k, v in self.overrides.items() if k not in ("seeds", "methods", "variants")
        }
        for key, value in shown.items():
            notes.append(f"{key} = {value}")
        seeds = self.seeds_present()
        missing_seeds = [s for s in self.full_seeds if s not in seeds]
        if missing_seeds:
            notes.append(
                f"seeds: {len(set(seeds) & set(self.full_seeds))} of {len(self.full_seeds)} "
                f"(ran {_list(seeds)})"
            )
        methods = self.methods_present()
        missing = [m for m in self.full_methods if m not in methods]
        if missing:
            notes.append(
                f"methods: {len(self.full_methods) - len(missing)} of {len(self.full_methods)} "
                f"(missing {_list(missing)})"
            )
        variants = {self.variant_of(r) for r in self.runs}
        absent = [v for v in self.spec.get("full_variants", []) if v not in variants]
        if absent:
            notes.append(f"variants: none of {_list(absent)} ran")
        grid = len({(r.seed, r.variant) for r in self.runs})
        for method_id, pairs in self.missing_runs().items():
            shown = [f"seed {seed}" + (f" {variant}" if variant else "") for seed, variant in pairs]
            notes.append(
                f"{method_id}: {grid - len(pairs)} of {grid} runs (missing {_list(shown)})"
            )
        return notes


def _list(items: Sequence) -> str:
    items = [str(i) for i in items]
    return ", ".join(items) if len(items) <= 8 else ", ".join(items[:8]) + ", ..."


def _open(store: Store | str | os.PathLike) -> tuple[Store, bool]:
    """``(store, opened here)``: a path is opened read-only (a report never writes a store)."""
    if isinstance(store, Store):
        return store, False
    if not isinstance(store, str | os.PathLike):
        raise TypeError(f"store={store!r} must be a path or a Store; pass e.g. 'results.sqlite'")
    return Store(store, read_only=True), True


def load_protocols(store: Store | str | os.PathLike, spec: str | None = None) -> list[Protocol]:
    """Every protocol (spec name + hash) in ``store`` with runs, or only those named ``spec``.

    Per method id, only the runs of its latest parameters (method hash) are kept. A path is
    opened read-only: a missing, empty or foreign file raises
    :class:`~deepbalance.bench.store.StoreError` and is left as it was.
    """
    if spec is not None and not isinstance(spec, str):
        raise TypeError(f"spec={spec!r} must be a spec name (str) or None")
    store, own = _open(store)
    try:
        rows = store.specs(spec)
        if spec is not None and not rows:
            names = sorted({r["spec_name"] for r in store.specs()})
            raise ValueError(
                f"spec {spec!r} has no results in {str(store.path)!r}; "
                f"stored specs: {', '.join(names) or 'none'}"
            )
        protocols = []
        for row in rows:
            runs = store.runs(row["spec_name"], row["spec_hash"])
            if not runs:
                continue
            latest: dict[str, tuple[float, str]] = {}
            for run in runs:
                if run.method_id not in latest or run.finished_at >= latest[run.method_id][0]:
                    latest[run.method_id] = (run.finished_at, run.method_hash)
            runs = [r for r in runs if r.method_hash == latest[r.method_id][1]]
            protocols.append(
                Protocol(
                    name=row["spec_name"],
                    hash=row["spec_hash"],
                    spec=row["spec"],
                    overrides=row["overrides"],
                    full_seeds=row["full_seeds"],
                    full_methods=row["full_methods"],
                    runs=runs,
                    artifacts=store.artifacts(row["spec_name"], row["spec_hash"]),
                )
            )
        return protocols
    finally:
        if own:
            store.close()


# --------------------------------------------------------------------------------------------
# significance


@dataclass(frozen=True)
class Significance:
    """Top method vs runner-up on one test set and metric."""

    metric: str
    top: str
    runner_up: str
    test: str  # "Wilcoxon signed-rank", "paired t-test" or "n/a"
    n: int
    p_value: float | None
    note: str = ""

    def describe(self) -> str:
        if self.p_value is None:
            return f"n/a ({self.note})" if self.note else "n/a"
        return f"{self.test}, p = {self.p_value:.3g} (n = {self.n})"


def significance(protocol: Protocol, test_set: str, metric: str) -> Significance | None:
    """Compare the best row (by mean) with the best one it pairs with; None if < 2 rows.

    Rows pair over the keys (seed and variant) both ran; the runner-up is the best row sharing
    at least two keys with the top one, or the second row when none does.

    The test is :func:`deepbalance.stats.paired_test`'s.
    """
    cells = [(label, protocol.cell(key, test_set, metric)) for key, label in protocol.method_rows()]
    cells = [(label, c) for label, c in cells if c.n]
    if len(cells) < 2:
        return None
    cells.sort(key=lambda item: item[1].mean, reverse=True)
    (top, a), rest = cells[0], cells[1:]
    # The runner-up is the best row that shares seeds with the top one: with two budgets (variants)
    # the next row by mean is often the top method's other budget, which pairs with nothing.
    pairable = [(label, c) for label, c in rest if len(set(a.keys) & set(c.keys)) >= 2]
    second, b = (pairable or rest)[0]
    result = paired_test(*paired_values(a.values, a.keys, b.values, b.keys))
    if result.reason == TOO_FEW_PAIRS:
        note = f"{result.n} paired seed(s)"
        return Significance(metric, top, second, "n/a", result.n, None, note)
    notes = {NO_DIFFERENCE: "no difference", SAME_DIFFERENCE: "constant difference"}
    note = notes.get(result.reason, "")
    return Significance(metric, top, second, result.test, result.n, result.p_value, note)


# --------------------------------------------------------------------------------------------
# formatting


def _fmt(value: float | None, digits: int = 4) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.{digits}f}"


def format_cell(cell: Cell) -> str:
    """``mean ± std`` with 4 decimals; the mean alone with one seed; "–" when empty."""
    if not cell.n:
        return "–"
    return _fmt(cell.mean) if cell.n == 1 else f"{_fmt(cell.mean)} ± {_fmt(cell.std)}"


def format_var(cell: Cell) -> str:
    if cell.n < 2:
        return "–"
    return "0" if cell.var < 1e-15 else f"{cell.var:.2e}"


def main_table(
    protocol: Protocol, test_set: str, *, variance: bool = True
) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the results table of one test set."""
    with_paper = protocol.has_paper(test_set)
    header = ["Method", "Runs (seeds × folds)" if protocol.has_folds else "Seeds"]
    for metric in protocol.metrics:
        name = metric_label(metric)
        header += [name, f"{name} var"] if variance else [name]
        if with_paper:
            header.append(f"{name} paper")
    rows = []
    for key, label in protocol.method_rows():
        cells = [protocol.cell(key, test_set, m) for m in protocol.metrics]
        row = [label, str(max((c.n for c in cells), default=0))]
        for metric, cell in zip(protocol.metrics, cells, strict=True):
            row += [format_cell(cell), format_var(cell)] if variance else [format_cell(cell)]
            if with_paper:
                row.append(_fmt(protocol.paper_value(key, test_set, metric)))
        rows.append(row)
    return header, rows


#: Methods (ids) every row is paired against when the protocol has their runs: the strongest
#: simple baseline and plain cross-entropy.
BASELINES = ("random-oversampling", "none")


def baseline_table(
    protocol: Protocol, test_set: str, metric: str
) -> tuple[list[str], list[list[str]]] | None:
    """Each row's ``metric`` beside its paired difference from each of :data:`BASELINES`
    (same seeds, and same variant), as ``+0.012 (p = 0.004, 5/5 higher)``; None when the
    protocol has none of them.

    The p-value is :func:`deepbalance.stats.paired_test`'s; "k/n higher" counts the pairs where
    the row is above the baseline.
    """
    ids = {m for m, _ in protocol.methods()}
    baselines = [b for b in BASELINES if b in ids]
    if not baselines:
        return None
    labels = dict(protocol.methods())
    name = metric_label(metric)
    header = ["Method", "n", name] + [f"vs {labels[b]}" for b in baselines]
    rows = []
    for key, label in protocol.method_rows():
        method_id, _, variant = key.partition("|")
        cell = protocol.cell(key, test_set, metric)
        if not cell.n:
            continue
        row = [label, str(cell.n), format_cell(cell)]
        for base in baselines:
            if method_id == base:
                row.append("—")
                continue
            other = protocol.cell(f"{base}|{variant}" if variant else base, test_set, metric)
            x, y = paired_values(cell.values, cell.keys, other.values, other.keys)
            result = paired_test(x, y)
            if result.n == 0:
                row.append("–")
                continue
            higher = f"{int(np.sum(x > y))}/{result.n} higher"
            p = "p n/a" if result.p_value is None else f"p = {result.p_value:.2g}"
            row.append(f"{result.difference:+.3f} ({p}, {higher})")
        rows.append(row)
    return header, rows


def selection_table(protocol: Protocol, test_set: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows: per method and metric, the best of the evaluations, the final epoch
    and the validation-selected epoch (mean ± std over runs), then the paper's number.

    "best of evaluations" picks, per run, the evaluation with the highest ``best_metric`` on this
    very test set (the CLE-SMOTE papers' protocol, Lee et al. 2024 App. C.2: the best of epochs 10,
    20 and 30; optimistic); "val-selected" reads this test set at the epoch that was best on the
    validation split ("–" without one); "final" after the last epoch.
    """
    with_paper = protocol.has_paper(test_set)
    header = ["Method"]
    for metric in protocol.metrics:
        name = metric_label(metric)
        header += [f"{name} {STAGE_TEXT[stage]}" for stage in STAGE_TEXT]
        if with_paper:
            header.append(f"{name} paper")
    rows = []
    for key, label in protocol.method_rows():
        row = [label]
        for metric in protocol.metrics:
            row += [
                format_cell(protocol.cell(key, test_set, metric, stage)) for stage in STAGE_TEXT
            ]
            if with_paper:
                row.append(_fmt(protocol.paper_value(key, test_set, metric)))
        rows.append(row)
    return header, rows


def _budget_text(protocol: Protocol) -> str:
    budget = protocol.overrides.get("budget")
    if budget == "protocol":
        return "the paper's training recipe (`--budget protocol`, the spec's [budgets.protocol])"
    if budget == "quick":
        return "`--budget quick` (REDUCED: a smoke-sized run)"
    return "the default CPU recipe (the spec's [train]; `--budget protocol` runs the paper's)"


def _epochs_text(train: dict) -> str:
    """``"10 epochs"``, or with a step budget ``"10 epochs or more: at least 500 steps"``."""
    if train.get("min_steps"):
        return f"{train.get('epochs')} epochs or more: at least {train['min_steps']} steps"
    return f"{train.get('epochs')} epochs"


def _recipe_text(train: dict) -> str:
    return (
        f"`{train.get('classifier')}`, {_epochs_text(train)}, evaluated every "
        f"{train.get('eval_every')}, batch {train.get('batch_size')}, {train.get('optimizer')} "
        f"lr {train.get('lr')} ({train.get('schedule')})"
    )


def method_legend(protocol: Protocol) -> list[str]:
    """One line per table row label: the registered method its runs ran and their parameters,
    as stored with the runs (so a label keeps saying what was run, whatever a spec now calls
    it), with the method's current description where the name is still registered."""
    from ..methods import METHODS

    lines = []
    for method_id, label in protocol.methods():
        run = next(r for r in protocol.runs if r.method_id == method_id)
        name = run.method.get("name") or run.method_name
        text = f"{label}: `{name}`"
        if name in METHODS:
            description = METHODS.get(name).description
            text += f" ({description})" if description else ""
        params = run.method.get("params")
        if params:
            text += f", parameters {params}"
        lines.append(text)
    return lines


def profile_departure(protocol: Protocol) -> str | None:
    """The line saying how the training profile of these runs departs from the paper's, when
    the spec's ``[budgets.protocol]`` sets profile parameters these runs did not use."""
    paper = protocol.spec.get("budgets", {}).get("protocol", {}).get("profile_params")
    profile = protocol.spec.get("profile") or {}
    params = profile.get("params") or {}
    differ = {k: v for k, v in (paper or {}).items() if params.get(k) != v}
    if not differ:
        return None
    ours = ", ".join(f"{k} = {params.get(k)!r}" for k in differ)
    theirs = ", ".join(f"{k} = {v!r}" for k, v in differ.items())
    return (
        f"Departure, training counts: profile `{profile.get('name')}` with {ours} here; the "
        f"paper's counts are {theirs} ([budgets.protocol], `--budget protocol`)."
    )


def protocol_differences(protocol: Protocol, test_set: str) -> list[str]:
    """How the runs behind ``test_set``'s numbers differ from the paper's (for the lines under
    a table with the paper's numbers): the budget and recipe run, the paper's recipe, the
    selection and the spec's notes."""
    spec = protocol.spec
    train = spec.get("train", {})
    lines = [f"Budget run: {_budget_text(protocol)}; ours: {_recipe_text(train)}."]
    paper_train = spec.get("budgets", {}).get("protocol", {}).get("train")
    if paper_train and protocol.overrides.get("budget") != "protocol":
        lines.append(
            f"The paper's recipe as the spec gives it ([budgets.protocol]): "
            f"{_recipe_text({**train, **paper_train})}."
        )
    departure = profile_departure(protocol)
    if departure:
        lines.append(departure)
    selection = SELECTION_TEXT[protocol.selection].format(metric=train.get("best_metric", "acsa"))
    lines.append(f"Our numbers: {selection}.")
    test = next((t for t in spec.get("test_sets", []) if t.get("name") == test_set), {})
    if test.get("policy") == "cv":
        lines.append(
            f"Test set {test_set!r}: {test.get('folds')}-fold stratified cross-validation of "
            "the imbalanced training set (DeepSMOTE, Dablain et al. 2022 §4); cells are mean ± "
            "std over seeds × folds, each fold's model trained on the other folds."
        )
    note = spec.get("source", {}).get("note")
    if note:
        lines.append(f"Spec's note: {note}")
    if spec.get("paper_note"):
        lines.append(f"Paper's numbers: {spec['paper_note']}")
    if protocol.reduced_notes():
        lines.append("REDUCED: " + "; ".join(protocol.reduced_notes()) + ".")
    return lines


def diagnostics_table(protocol: Protocol, method_id: str):
    """``(header, rows, notes)`` of a method's per-class synthetic-image diagnostics, each
    number the mean over the runs that stored it; None when no run of it has any."""
    by_class: dict = {}
    holdouts, notes, n_runs = [], [], 0
    class_names: list[str] = []
    for run in protocol.runs:
        if run.method_id != method_id:
            continue
        diag = run.data.get("diagnostics")
        if not diag:
            continue
        if diag.get("note"):
            notes.append(diag["note"])
            continue
        n_runs += 1
        class_names = class_names or list(run.data.get("class_names", []))
        if diag.get("holdout") and diag["holdout"] not in holdouts:
            holdouts.append(diag["holdout"])
        for row in diag.get("rows", []):
            entry = by_class.setdefault(row.get("class"), {})
            for key in DIAGNOSTIC_COLUMNS:
                value = row.get(key)
                if isinstance(value, int | float) and math.isfinite(value):
                    entry.setdefault(key, []).append(float(value))
    if not by_class and not notes:
        return None
    header = ["Class", *DIAGNOSTIC_COLUMNS.values()]
    rows = []
    for cls in sorted(by_class, key=lambda c: (not isinstance(c, int), c)):
        name = class_names[cls] if isinstance(cls, int) and cls < len(class_names) else str(cls)
        cells = [name]
        for key in DIAGNOSTIC_COLUMNS:
            values = by_class[cls].get(key, [])
            digits = 0 if key.startswith("n_") else (4 if key == "reconstruction_mse" else 3)
            cells.append(_fmt(float(np.mean(values)), digits) if values else "–")
        rows.append(cells)
    text = []
    if n_runs:
        text.append(
            f"mean over {n_runs} run(s); held-out real images: {'; '.join(holdouts) or 'none'}"
        )
    text += sorted(set(notes))
    return header, rows, text


def lr_search_table(protocol: Protocol):
    """``(header, rows)`` of the learning rates each method's runs chose on validation
    (``lr_search`` in the spec, :mod:`deepbalance.tuning`), or None without a search."""
    searched = [run for run in protocol.runs if run.data.get("lr_search")]
    if not searched:
        return None
    grid = [lr for lr, _ in searched[0].data["lr_search"]["scores"]]
    metric = searched[0].data["lr_search"]["metric"]
    header = ["Method", "chosen lr (runs)", *[f"val {metric} @ {lr:g}" for lr in grid]]
    rows = []
    for method_id, label in protocol.methods():
        runs = [run for run in searched if run.method_id == method_id]
        if not runs:
            continue
        chosen = Counter(run.data["lr_search"]["chosen"] for run in runs)
        scores = {lr: [] for lr in grid}
        for run in runs:
            for lr, score in run.data["lr_search"]["scores"]:
                scores.setdefault(lr, []).append(score)
        rows.append(
            [
                label,
                ", ".join(f"{lr:g} ×{n}" for lr, n in sorted(chosen.items())),
                *[_fmt(float(np.nanmean(scores[lr])) if scores[lr] else None) for lr in grid],
            ]
        )
    return header, rows


def group_table(protocol: Protocol, test_set: str, metric: str):
    """Header and rows: per method, the mean ± std over each variant group's runs and all."""
    groups = protocol.variant_groups()
    header = ["Method", *groups, "All"]
    rows = []
    table = []
    for method_id, label in protocol.methods():
        cells = [protocol.group_cell(method_id, test_set, metric, g) for g in groups]
        cells.append(protocol.group_cell(method_id, test_set, metric))
        table.append((label, cells))
    # a cell over fewer runs than its column's fullest averages other variants: say so
    most = [max((cells[i].n for _, cells in table), default=0) for i in range(len(header) - 1)]
    for label, cells in table:
        texts = []
        for cell, full in zip(cells, most, strict=True):
            text = format_cell(cell)
            if 0 < cell.n < full:
                text += f" ({cell.n} of {full} runs)"
            texts.append(text)
        rows.append([label, *texts])
    return header, rows


def subcondition_table(protocol: Protocol, test_set: str):
    """Header and rows of the mean per-sub-condition AUROC per method, or None without any."""
    names: list[str] = []
    by_method = []
    class_names: list[str] = []
    for method_id, label in protocol.methods():
        values: dict[str, list[float]] = {}
        for run in protocol.runs:
            if run.method_id != method_id:
                continue
            per = protocol.stage(run).get(test_set, {}).get("auroc_subconditions")
            class_names = class_names or list(run.data.get("class_names", []))
            for name, value in (per or {}).items():
                if name not in names:
                    names.append(name)
                if isinstance(value, int | float) and math.isfinite(value):
                    values.setdefault(name, []).append(float(value))
        by_method.append((label, values))
    if not names:
        return None
    if set(names) <= set(class_names):  # the store sorts keys: back to class order
        names.sort(key=class_names.index)
    header = ["Method", *names]
    rows = [
        [label, *(format_cell(Cell(v.get(n, []), [])) for n in names)] for label, v in by_method
    ]
    return header, rows


# --------------------------------------------------------------------------------------------
# blocks rendered to markdown or HTML


@dataclass
class ReportDocument:
    """A report being written: headings, paragraphs, tables, images and bullet lists, rendered
    as Markdown (:meth:`markdown`) or one self-contained HTML page (:meth:`html`)."""

    blocks: list = field(default_factory=list)
    files: list = field(default_factory=list)  # the figures written for it

    def heading(self, level: int, text: str):
        self.blocks.append(("h", level, text))

    def para(self, text: str):
        self.blocks.append(("p", text))

    def banner(self, text: str):
        self.blocks.append(("banner", text))

    def table(self, header: list[str], rows: list[list[str]]):
        self.blocks.append(("table", header, rows))

    def image(self, path: Path, alt: str, *, relative_to: Path):
        self.blocks.append(("img", os.path.relpath(path, relative_to), alt))
        self.files.append(path)

    def bullets(self, items: list[str]):
        self.blocks.append(("ul", items))

    def markdown(self) -> str:
        out = []
        for block in self.blocks:
            kind = block[0]
            if kind == "h":
                out.append("#" * block[1] + " " + block[2])
            elif kind == "p":
                out.append(block[1])
            elif kind == "banner":
                out.append(f"> **{block[1]}**")
            elif kind == "table":
                header, rows = block[1], block[2]
                out.append("| " + " | ".join(_md_cell(h) for h in header) + " |")
                out.append("|" + "|".join("---" for _ in header) + "|")
                out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
            elif kind == "img":
                out.append(f"![{block[2]}]({block[1]})")
            elif kind == "ul":
                out += [f"- {item}" for item in block[1]]
            out.append("")
        return "\n".join(out)

    def html(self, title: str) -> str:
        out = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{html.escape(title)}</title>",
            "<style>body{font-family:sans-serif;max-width:80em;margin:auto;padding:1em}"
            "table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #bbb;"
            "padding:0.2em 0.5em;text-align:right}td:first-child,th:first-child{text-align:left}"
            ".banner{background:#fde2e1;border:2px solid #c0392b;padding:0.5em;font-weight:bold}"
            "img{max-width:100%}</style></head><body>",
        ]
        for block in self.blocks:
            kind = block[0]
            if kind == "h":
                out.append(f"<h{block[1]}>{html.escape(block[2])}</h{block[1]}>")
            elif kind == "p":
                out.append(f"<p>{_inline_html(block[1])}</p>")
            elif kind == "banner":
                out.append(f'<p class="banner">{_inline_html(block[1])}</p>')
            elif kind == "table":
                out.append("<table><thead><tr>")
                out += [f"<th>{html.escape(h)}</th>" for h in block[1]]
                out.append("</tr></thead><tbody>")
                for row in block[2]:
                    out.append(
                        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                    )
                out.append("</tbody></table>")
            elif kind == "img":
                out.append(
                    f'<p><img src="{html.escape(block[1])}" alt="{html.escape(block[2])}"></p>'
                )
            elif kind == "ul":
                out.append(
                    "<ul>" + "".join(f"<li>{_inline_html(i)}</li>" for i in block[1]) + "</ul>"
                )
        out.append("</body></html>")
        return "\n".join(out) + "\n"


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _inline_html(text: str) -> str:
    escaped = html.escape(text)
    escaped = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", escaped)


# --------------------------------------------------------------------------------------------
# figures (matplotlib, Agg canvas, no pyplot state)


def _save_figure(fig, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "x"


def curves_figure(protocol: Protocol, test_set: str, path: Path) -> bool:
    """Metric vs epoch (mean over seeds) per method; False when no history has epochs."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    metrics = protocol.metrics
    fig = Figure(figsize=(4.2 * len(metrics) + 2, 3.2), layout="constrained")
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    drawn = False
    for ax, metric in zip(axes, metrics, strict=True):
        for label, runs in protocol.series():
            by_epoch: dict[int, list[float]] = {}
            for run in runs:
                for entry in run.history:
                    value = entry.get("metrics", {}).get(metric)
                    epoch = entry.get("epoch")
                    if entry.get("split") == test_set and isinstance(value, int | float) and epoch:
                        by_epoch.setdefault(int(epoch), []).append(float(value))
            if by_epoch:
                epochs = sorted(by_epoch)
                ax.plot(epochs, [np.mean(by_epoch[e]) for e in epochs], marker="o", label=label)
                drawn = True
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric_label(metric))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    if not drawn:
        return False
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize="small", loc="outside right center")
    over = "seeds and variants" if protocol.has_variants else "seeds"
    fig.suptitle(f"{protocol.name}: {test_set} (mean over {over})")
    _save_figure(fig, path)
    return True


def recall_figure(protocol: Protocol, test_set: str, path: Path) -> bool:
    """Per-class recall (mean over seeds) as grouped bars; False when no run has it."""
    from matplotlib.figure import Figure

    series = []
    class_names: list[str] = []
    for label, runs in protocol.series():
        rows = []
        for run in runs:
            recall = protocol.stage(run).get(test_set, {}).get("per_class_recall")
            if isinstance(recall, list) and recall:
                rows.append([np.nan if v is None else float(v) for v in recall])
                class_names = class_names or list(run.data.get("class_names", []))
        if rows and len({len(r) for r in rows}) == 1:
            series.append((label, np.nanmean(np.array(rows), axis=0)))
    if not series:
        return False
    n_classes = len(series[0][1])
    if len(class_names) != n_classes:
        class_names = [str(i) for i in range(n_classes)]
    fig = Figure(
        figsize=(max(5.0, 0.35 * n_classes * len(series) ** 0.5 + 4), 3.4), layout="constrained"
    )
    ax = fig.subplots()
    width = 0.8 / len(series)
    x = np.arange(n_classes)
    for i, (label, values) in enumerate(series):
        ax.bar(x + (i - (len(series) - 1) / 2) * width, values, width, label=label)
    ax.set_xticks(
        x,
        class_names,
        rotation=45 if n_classes > 6 else 0,
        ha="right" if n_classes > 6 else "center",
    )
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("recall")
    fig.legend(fontsize="small", loc="outside right center")
    fig.suptitle(f"{protocol.name}: per-class recall on {test_set} ({protocol.selection})")
    _save_figure(fig, path)
    return True


# --------------------------------------------------------------------------------------------
# the report


def _environment_lines(protocol: Protocol) -> list[str]:
    keys = ("deepbalance", "torch", "numpy", "python", "platform", "host", "host_cores", "device")
    lines = []
    for key in keys:
        values = sorted(
            {str(r.environment.get(key)) for r in protocol.runs if key in r.environment}
        )
        if values:
            lines.append(f"{key}: {', '.join(values)}")
    total = sum(r.timings.get("wall", r.timings.get("total", 0.0)) for r in protocol.runs)
    lines.append(f"compute time: {total:.1f} s over {len(protocol.runs)} runs")
    return lines


def protocol_section(doc: ReportDocument, protocol: Protocol, out: Path, figures: Path) -> None:
    """Append one protocol's section (tables, figures, sample grids, machine) to ``doc``;
    figures are written under ``figures`` and linked relative to ``out``."""
    spec = protocol.spec
    doc.heading(2, f"{protocol.name} (spec hash {protocol.hash})")
    notes = protocol.reduced_notes()
    if notes:
        doc.banner(
            "REDUCED RUN: not the full protocol, so not comparable with the paper. "
            + "; ".join(notes)
        )
    source = spec.get("source", {})
    if source.get("paper") or source.get("table"):
        doc.para(f"Source: {source.get('paper', '')} — {source.get('table', '')}".strip(" —"))
    if spec.get("description"):
        doc.para(spec["description"])
    data = spec.get("data", {})
    profile = spec.get("profile") or {}
    train = spec.get("train", {})
    selection = SELECTION_TEXT[protocol.selection].format(metric=train.get("best_metric", "acsa"))
    doc.bullets(
        [
            f"Data: `{data.get('dataset')}`, profile `{profile.get('name', 'none')}`"
            + (f" {profile.get('params')}" if profile.get("params") else "")
            + (f", training subset {spec.get('subset')}" if spec.get("subset") else ""),
            f"Training: `{train.get('classifier')}`, {_epochs_text(train)}, evaluated "
            f"every {train.get('eval_every')}, batch {train.get('batch_size')}, "
            f"{train.get('optimizer')} lr {train.get('lr')}",
            f"Selection: **{selection}**",
            f"Seeds: {_list(protocol.seeds_present())}; cells are mean ± std over seeds, "
            "var = variance (n − 1 denominator)",
        ]
    )
    doc.para("Methods (row label: the registered method its runs ran, and their parameters):")
    doc.bullets(method_legend(protocol))
    searched = lr_search_table(protocol)
    if searched is not None:
        doc.para(
            f"Learning rate searched per run over {_list(spec.get('lr_search') or [])} on a "
            "validation split carved from the training rows (never a test set); the chosen "
            "rate trained the run reported below. Validation scores are means over runs:"
        )
        doc.table(*searched)
    if spec.get("paper_note"):
        doc.para(f"Paper's numbers: {spec['paper_note']}")
    base = f"{_slug(protocol.name)}-{protocol.hash[:8]}"
    for test_set in protocol.test_sets:
        doc.heading(3, f"Test set: {test_set}")
        if protocol.has_variants:
            for metric in protocol.metrics:
                name = metric_label(metric)
                doc.para(f"{name}, mean ± std over seeds and the variants of each group:")
                doc.table(*group_table(protocol, test_set, metric))
        per_subcondition = subcondition_table(protocol, test_set)
        if per_subcondition is not None:
            doc.para("AUROC per sub-condition (one-vs-rest), mean ± std over all runs:")
            doc.table(*per_subcondition)
        if protocol.has_variants:
            doc.para("Per variant:")
        header, rows = main_table(protocol, test_set)
        doc.table(header, rows)
        if protocol.has_paper(test_set):
            doc.para(
                'The columns headed "paper" are the paper\'s numbers (0..1 scale); '
                "how our protocol differs from the paper's:"
            )
            doc.bullets(protocol_differences(protocol, test_set))
        if protocol.selection == "best" or protocol.has_selected():
            doc.para(
                "Selection: **best of evaluations** is each run's best evaluation on this "
                "test set (the papers' protocol; optimistic, it selects on the reported "
                "images); **final epoch** the last evaluation; **val-selected** this test set "
                "at the epoch best on the validation split carved from the training rows "
                + (
                    "(the honest choice)."
                    if protocol.has_selected()
                    else "(– here: no validation split; set train.val_fraction)."
                )
            )
            doc.table(*selection_table(protocol, test_set))
        against = baseline_table(protocol, test_set, protocol.metrics[0])
        if against is not None:
            doc.para(
                f"{metric_label(protocol.metrics[0])} against the baselines, paired over the "
                "seeds (and variant) both ran (paired t-test below "
                f"{WILCOXON_MIN_PAIRS} pairs, Wilcoxon signed-rank from {WILCOXON_MIN_PAIRS}):"
            )
            doc.table(*against)
        tests = [significance(protocol, test_set, m) for m in protocol.metrics]
        tests = [t for t in tests if t is not None]
        if tests:
            paired = "seeds × folds" if protocol.has_folds else "seeds"
            doc.para(f"Top method vs runner-up (paired over {paired}):")
            doc.table(
                ["Metric", "Top", "Runner-up", "Test", "n", "p"],
                [
                    [
                        metric_label(t.metric),
                        t.top,
                        t.runner_up,
                        t.test,
                        str(t.n),
                        f"{t.p_value:.3g}" if t.p_value is not None else f"n/a ({t.note})",
                    ]
                    for t in tests
                ],
            )
        curves = figures / f"{base}-curves-{_slug(test_set)}.png"
        if curves_figure(protocol, test_set, curves):
            doc.image(curves, f"{test_set}: metrics vs epoch", relative_to=out)
        recall = figures / f"{base}-recall-{_slug(test_set)}.png"
        if recall_figure(protocol, test_set, recall):
            doc.image(recall, f"{test_set}: per-class recall", relative_to=out)
    grids = {m: data for m, kind, data in protocol.artifacts if kind == GRID_KIND}
    diagnosed = {m: diagnostics_table(protocol, m) for m, _ in protocol.methods()}
    diagnosed = {m: table for m, table in diagnosed.items() if table is not None}
    if grids or diagnosed:
        doc.heading(3, "Synthetic samples")
        doc.para(
            "Per class: fidelity = share of synthetic images a PCA + logistic-regression "
            "classifier trained on the real training rows assigns to the class (real recall: "
            "the same on held-out real images); novelty = median distance to the nearest real "
            "image over the real images' own (≈1 new, ≈0 copies, ≫1 off-manifold); diversity = "
            "mean pairwise distance over the real images'; recon MSE = the autoencoder's "
            "reconstruction error on held-out images."
        )
        labels = dict(protocol.methods())
        for method_id in [m for m, _ in protocol.methods() if m in grids or m in diagnosed] + [
            m for m in grids if m not in labels
        ]:
            doc.heading(4, labels.get(method_id, method_id))
            if method_id in grids:
                path = figures / f"{base}-samples-{_slug(method_id)}.png"
                atomic_write_bytes(path, grids[method_id])
                doc.image(path, f"{method_id}: real vs synthetic samples", relative_to=out)
            if method_id in diagnosed:
                header, rows, text = diagnosed[method_id]
                if rows:
                    doc.table(header, rows)
                if text:
                    doc.para("Diagnostics: " + "; ".join(text) + ".")
    doc.heading(3, "Machine and versions")
    doc.bullets(_environment_lines(protocol))


def write_report(
    store: Store | str | os.PathLike,
    out: str | os.PathLike = "report",
    *,
    spec: str | None = None,
    html_output: bool = False,
) -> list[Path]:
    """Write ``report.md`` (and ``report.html``) plus figures under ``out``; return the paths.

    Parameters
    ----------
    store : path or Store
        The results store.
    out : path
        Output folder (created); figures go to ``out/figures``.
    spec : str, optional
        Only the protocols of this spec name.
    html_output : bool
        Also write ``report.html``.
    """
    protocols = load_protocols(store, spec)
    if not isinstance(out, str | os.PathLike):
        raise TypeError(f"out={out!r} must be a folder path; pass e.g. 'report'")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"out={str(out)!r} is a file; pass a folder path for the report")
    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    doc = ReportDocument()
    doc.heading(1, "deepbalance benchmark report")
    store_path = store.path if isinstance(store, Store) else Path(store)
    if not protocols:
        doc.para(f"No finished runs in `{store_path}`.")
    else:
        doc.para(f"Results store: `{store_path}`; {sum(len(p.runs) for p in protocols)} runs.")
    for protocol in protocols:
        protocol_section(doc, protocol, out, figures)
    written = [out / "report.md"]
    atomic_write_text(written[0], doc.markdown())
    if html_output:
        written.append(out / "report.html")
        atomic_write_text(written[1], doc.html("deepbalance benchmark report"))
    return written + doc.files


def print_tables(
    store: Store | str | os.PathLike, *, spec: str | None = None, console=None, protocols=None
) -> None:
    """Print each protocol's results tables to the terminal (rich)."""
    from rich.table import Table
    from rich.text import Text

    console = make_console() if console is None else console
    protocols = load_protocols(store, spec) if protocols is None else protocols
    for protocol in protocols:
        notes = protocol.reduced_notes()
        title = f"{protocol.name} ({protocol.hash})"
        if notes:
            console.print(Text("REDUCED: " + "; ".join(notes), style="bold red"))
        for test_set in protocol.test_sets:
            header, rows = main_table(protocol, test_set, variance=False)
            table = Table(title=Text(f"{title} — {test_set} — selection: {protocol.selection}"))
            header[1] = "n"
            for i, name in enumerate(header):
                if i == 0:
                    table.add_column(Text(name), overflow="fold")
                else:
                    table.add_column(Text(name), justify="right", no_wrap=True)
            for row in rows:
                table.add_row(*(Text(c) for c in row))
            console.print(table)
            if protocol.selection == "best" or protocol.has_selected():
                header, rows = selection_table(protocol, test_set)
                table = Table(
                    title=Text(
                        f"{title} — {test_set} — best of evaluations (optimistic) vs final "
                        "epoch vs validation-selected"
                    )
                )
                for i, name in enumerate(header):
                    table.add_column(Text(name), justify="left" if i == 0 else "right")
                for row in rows:
                    table.add_row(*(Text(c) for c in row))
                console.print(table)
            if protocol.has_paper(test_set):
                console.print(Text('"paper" columns: the paper\'s numbers. Protocol differences:'))
                for line in protocol_differences(protocol, test_set):
                    console.print(Text(f"  - {line}"))


def _number(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _cell_data(cell: Cell) -> dict:
    return {
        "n": cell.n,
        "mean": _number(cell.mean) if cell.n else None,
        "std": _number(cell.std) if cell.n else None,
        "var": _number(cell.var) if cell.n else None,
        "values": [_number(v) for v in cell.values],
        "seeds": [seed for seed, _ in cell.keys],
    }


def tables_data(
    store: Store | str | os.PathLike, *, spec: str | None = None, protocols=None
) -> list[dict]:
    """The results tables as plain data (what ``deepbalance report --json`` prints).

    One dict per protocol: ``name``, ``hash``, ``selection``, ``metrics``, ``reduced`` (the
    REDUCED notes, empty for a full run) and ``test_sets``: ``{test set: {"rows": [...],
    "significance": [...]}}``. A row is ``{"method_id", "label", "variant", "metrics":
    {metric: {"n", "mean", "std", "var", "values", "seeds", "paper", "final", "best",
    "selected"}}}`` (the last three: means of those readings of the runs) with unrounded
    numbers (None where undefined); significance entries are ``{"metric", "top",
    "runner_up", "test", "n", "p_value", "note"}``.
    """
    protocols = load_protocols(store, spec) if protocols is None else protocols
    out = []
    for protocol in protocols:
        test_sets = {}
        for test_set in protocol.test_sets:
            rows = []
            for key, label in protocol.method_rows():
                method_id, _, variant = key.partition("|")
                metrics = {}
                for metric in protocol.metrics:
                    cell = _cell_data(protocol.cell(key, test_set, metric))
                    cell["paper"] = _number(protocol.paper_value(key, test_set, metric))
                    for stage in ("final", "best", "selected"):
                        other = protocol.cell(key, test_set, metric, stage)
                        cell[stage] = _number(other.mean) if other.n else None
                    metrics[metric] = cell
                rows.append(
                    {"method_id": method_id, "label": label, "variant": variant, "metrics": metrics}
                )
            tests = [significance(protocol, test_set, m) for m in protocol.metrics]
            test_sets[test_set] = {
                "rows": rows,
                "significance": [
                    {
                        "metric": t.metric,
                        "top": t.top,
                        "runner_up": t.runner_up,
                        "test": t.test,
                        "n": t.n,
                        "p_value": _number(t.p_value),
                        "note": t.note,
                    }
                    for t in tests
                    if t is not None
                ],
            }
        out.append(
            {
                "name": protocol.name,
                "hash": protocol.hash,
                "selection": protocol.selection,
                "metrics": protocol.metrics,
                "reduced": protocol.reduced_notes(),
                "test_sets": test_sets,
            }
        )
    return out
