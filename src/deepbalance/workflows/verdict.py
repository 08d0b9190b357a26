"""A verdict a practitioner can act on: which method to use on this data, and how sure we are.

:func:`make_verdict` reads one protocol of a results store (the runs of one spec and hash) and
names the method with the highest mean ACSA (average class-specific accuracy, the mean of the
per-class recalls) on a test set, its margin over plain cross-entropy (method ``none``) and
over random oversampling, each with a paired test over the seeds both ran
(:func:`deepbalance.stats.paired_test`, the benchmark report's significance test too: the
paired t-test below six pairs, the Wilcoxon signed-rank test from six pairs on). A
difference with p >= 0.05, or that cannot be tested (one seed, or the same difference on every
seed below six), is "within noise" (:func:`deepbalance.stats.within_noise`).

:func:`write_compare_report` writes ``report.md`` (and ``report.html``): the verdict first,
then per-class recall, confusion matrices, and the benchmark report's full section of the
protocol (results table, curves, synthetic-sample grids, machine).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import stats
from .._checks import atomic_write_text
from ..bench.report import Protocol, ReportDocument, SeedSummary, load_protocols, protocol_section
from ..bench.store import Store
from ..stats import ALPHA, WILCOXON_MIN_PAIRS

__all__ = [
    "ALPHA",
    "MethodScore",
    "PairedTest",
    "Verdict",
    "make_verdict",
    "paired_test",
    "write_compare_report",
]

BASELINE = "none"
SIMPLE = "random-oversampling"


@dataclass(frozen=True)
class MethodScore(SeedSummary):
    """One method's metric on a test set over seeds (and folds).

    Under cross-validation ``values`` are per fold run, ``keys`` their ``(seed, variant)``
    (what paired tests pair on), and ``pooled`` the metric computed over every image: per
    repeat (seed) from the summed confusion matrices of its folds, each image tested once,
    one value per repeat. :attr:`score` is what ranks methods: the pooled mean when there is
    one, else the mean.
    """

    method_id: str
    label: str
    values: tuple[float, ...]
    seeds: tuple[int, ...]
    keys: tuple = ()
    pooled: tuple[float, ...] = ()
    folds: int | None = None
    n_images: int | None = None

    @property
    def score(self) -> float:
        return float(np.mean(self.pooled)) if self.pooled else self.mean

    def text(self) -> str:
        if self.pooled:
            repeats = len(self.pooled)
            spread = (
                f" ± {float(np.std(self.pooled, ddof=1)):.3f} over {repeats} repeats"
                if repeats > 1
                else ""
            )
            images = f" {self.n_images}" if self.n_images else ""
            return (
                f"{self.score:.3f}{spread} over all{images} tested images ({self.folds}-fold "
                f"cross-validation × {repeats} repeat{'s' if repeats > 1 else ''}; per fold "
                f"{self.mean:.3f} ± {self.std:.3f})"
            )
        if self.n == 1:
            return f"{self.mean:.3f} (1 seed)"
        return f"{self.mean:.3f} ± {self.std:.3f} over {self.n} seeds"


@dataclass(frozen=True)
class PairedTest:
    """``a`` minus ``b`` paired over the seeds both ran."""

    a: MethodScore
    b: MethodScore
    n: int
    difference: float  # mean of the paired differences
    test: str  # "paired t-test", "Wilcoxon signed-rank" or "none"
    p_value: float | None
    note: str = ""

    @property
    def significant(self) -> bool:
        return not stats.within_noise(self.p_value)

    def describe(self) -> str:
        """E.g. ``+0.081 (paired t-test over 3 seeds, p = 0.012)``."""
        if self.p_value is None:
            return f"{self.difference:+.3f} ({self.note})"
        unit = "fold runs" if self.a.folds else "seeds"
        return f"{self.difference:+.3f} ({self.test} over {self.n} {unit}, p = {self.p_value:.3g})"


def paired_test(a: MethodScore, b: MethodScore) -> PairedTest:
    """Paired test of ``a`` against ``b`` over their common seeds
    (:func:`deepbalance.stats.paired_test`); no p-value with fewer than 2 pairs, or below 6
    pairs when every paired difference is the same (the t statistic is undefined).
    """
    if not isinstance(a, MethodScore) or not isinstance(b, MethodScore):
        raise TypeError("paired_test compares two MethodScore objects (see make_verdict)")
    a_keys = a.keys or tuple((seed,) for seed in a.seeds)
    b_keys = b.keys or tuple((seed,) for seed in b.seeds)
    result = stats.paired_test(*stats.paired_values(a.values, a_keys, b.values, b_keys))
    n, mean = result.n, result.difference
    if a.pooled and b.pooled and len(a.pooled) == len(b.pooled):
        mean = float(np.mean(a.pooled) - np.mean(b.pooled))  # the difference over every image
    unit = "fold run" if a.folds else "seed"
    if result.reason == stats.TOO_FEW_PAIRS:
        return PairedTest(a, b, n, mean, "none", None, f"{n} common {unit}(s): no test possible")
    if result.p_value is None:
        what = "identical" if result.reason == stats.NO_DIFFERENCE else "the same"
        note = f"{what} on every {unit}, so no test statistic"
        return PairedTest(a, b, n, mean, "none", None, note)
    return PairedTest(a, b, n, mean, result.test, result.p_value)


@dataclass
class Verdict:
    """The recommendation for one protocol and test set.

    Attributes
    ----------
    best : MethodScore
        Highest mean ``metric`` (ties: the earlier method of the spec, the simpler).
    scores : list of MethodScore
        Every method, best first.
    vs_baseline, vs_simple : PairedTest or None
        ``best`` against plain CE and against random oversampling (None when that method did
        not run or is ``best``).
    headline : str
        The recommendation in one sentence (markdown bold).
    details : list of str
        Sentences that support it.
    """

    metric: str
    test_set: str
    best: MethodScore
    scores: list
    vs_baseline: PairedTest | None
    vs_simple: PairedTest | None
    headline: str
    details: list = field(default_factory=list)

    def markdown(self) -> str:
        return "\n\n".join([self.headline, *self.details])

    def plain(self) -> str:
        return self.markdown().replace("**", "")


def _cv_folds(protocol: Protocol, test_set: str) -> int | None:
    """Folds of ``test_set`` when it is a cross-validation test set, else None."""
    for test in protocol.spec.get("test_sets", []):
        if test.get("name") == test_set and test.get("policy") == "cv":
            return int(test.get("folds") or 0) or None
    return None


def _pooled(protocol: Protocol, method_id: str, test_set: str, metric: str, folds: int):
    """Per repeat (seed) with all ``folds`` folds: ACSA of the summed confusion matrices, so
    every image counts once; ``(values, images tested per repeat)``."""
    if metric not in ("acsa", "macro_recall"):
        return (), None
    by_seed: dict[int, list] = {}
    for run in protocol.runs:
        if run.method_id != method_id:
            continue
        matrix = protocol.stage(run).get(test_set, {}).get("confusion_matrix")
        if isinstance(matrix, list) and matrix:
            by_seed.setdefault(run.seed, []).append(np.asarray(matrix, dtype=np.int64))
    values, images = [], None
    for seed in sorted(by_seed):
        matrices = by_seed[seed]
        if len(matrices) != folds or len({m.shape for m in matrices}) != 1:
            continue  # an unfinished repeat: not every image has been tested
        total = np.sum(matrices, axis=0)
        support = total.sum(axis=1)
        tested = support > 0
        values.append(float(np.mean(np.diag(total)[tested] / support[tested])))
        images = int(support.sum())
    return tuple(values), images


def _scores(protocol: Protocol, test_set: str, metric: str) -> list[MethodScore]:
    out = []
    folds = _cv_folds(protocol, test_set)
    for method_id, label in protocol.methods():
        cell = protocol.group_cell(method_id, test_set, metric)
        if cell.n:
            seeds = tuple(int(k[0]) for k in cell.keys)
            pooled, images = (
                _pooled(protocol, method_id, test_set, metric, folds) if folds else ((), None)
            )
            out.append(
                MethodScore(
                    method_id,
                    label,
                    tuple(cell.values),
                    seeds,
                    keys=tuple(tuple(k) for k in cell.keys),
                    pooled=pooled,
                    folds=folds,
                    n_images=images,
                )
            )
    return out


def make_verdict(protocol: Protocol, test_set: str = "test", metric: str = "acsa") -> Verdict:
    """The recommendation for ``protocol`` on ``test_set`` by ``metric`` (module notes).

    Raises
    ------
    ValueError
        If no method has a value of ``metric`` on ``test_set``.
    """
    if not isinstance(protocol, Protocol):
        raise TypeError(f"protocol must be a Protocol from load_protocols(), got {protocol!r}")
    scores = _scores(protocol, test_set, metric)
    if not scores:
        raise ValueError(
            f"no run of {protocol.name!r} has {metric!r} on test set {test_set!r}; run the "
            "comparison first"
        )
    order = {s.method_id: i for i, s in enumerate(scores)}
    ranked = sorted(scores, key=lambda s: (-round(s.score, 12), order[s.method_id]))
    best = ranked[0]
    by_id = {s.method_id: s for s in scores}
    vs_base = (
        paired_test(best, by_id[BASELINE])
        if BASELINE in by_id and best.method_id != BASELINE
        else None
    )
    vs_simple = (
        paired_test(best, by_id[SIMPLE]) if SIMPLE in by_id and best.method_id != SIMPLE else None
    )
    name = (
        "ACSA (balanced accuracy: the mean of the per-class recalls)"
        if metric == "acsa"
        else metric
    )
    folds = _cv_folds(protocol, test_set)
    if folds:
        where = ""  # MethodScore.text() names the cross-validation
    elif test_set == "test":
        where = f" on the held-out {test_set!r} images"
    else:
        where = f" on {test_set!r}"
    details = []
    if best.method_id == BASELINE:
        runner = ranked[1] if len(ranked) > 1 else None
        headline = (
            "**Recommendation: plain cross-entropy (no rebalancing).** No method beat it on "
            f"this data: it has the best {name}{where}, {best.text()}."
        )
        if runner is not None:
            gap = paired_test(best, runner)
            noise = "within noise" if not gap.significant else "a real difference"
            details.append(
                f"The runner-up, {runner.label}, scores {runner.text()}: plain CE leads by "
                f"{gap.describe()}, {noise}."
            )
    elif vs_base is not None and not vs_base.significant:
        headline = (
            f"**Recommendation: no method is clearly better than plain cross-entropy here.** "
            f"The best, {best.label}, has {name} {best.text()}{where}, "
            f"{vs_base.describe()} over plain CE ({by_id[BASELINE].text()}): within noise. "
            "Keep plain CE, or collect more images (or run more seeds, --n-seeds 5) to tell them "
            "apart."
        )
    else:
        headline = (
            f"**Recommendation: use {best.label}.** It has the best {name}{where}: "
            f"{best.text()}"
            + (
                f", {vs_base.describe()} over plain CE ({by_id[BASELINE].text()}), a real "
                "difference."
                if vs_base is not None
                else "."
            )
        )
    if vs_simple is not None and best.method_id != BASELINE:
        if vs_simple.significant and vs_simple.difference > 0:
            details.append(
                f"Over random oversampling ({by_id[SIMPLE].text()}) it gains "
                f"{vs_simple.describe()}: worth its extra cost."
            )
        else:
            details.append(
                f"Over random oversampling ({by_id[SIMPLE].text()}) it gains "
                f"{vs_simple.describe()}, within noise: random oversampling, simpler and faster, "
                "is as good a choice here."
            )
    elif best.method_id == SIMPLE:
        details.append(
            "Random oversampling is also the simplest rebalancing method: a safe default."
        )
    rare = _rarest_class_line(protocol, test_set, best, by_id.get(BASELINE))
    if rare:
        details.append(rare)
    if any(s.n < 2 for s in scores):  # under cross-validation every fold is a pair
        details.append(
            "With one seed no difference can be tested: rerun with --n-seeds 3 (finished runs are "
            "kept) before acting on this."
        )
    if protocol.reduced_notes():
        details.append(
            "This was a reduced run (" + "; ".join(protocol.reduced_notes()) + "): treat it as a "
            "smoke test, and rerun without --budget quick before deciding."
        )
    return Verdict(metric, test_set, best, ranked, vs_base, vs_simple, headline, details)


def _mean_list(protocol: Protocol, method_id: str, test_set: str, key: str):
    rows = []
    for run in protocol.runs:
        if run.method_id == method_id:
            value = protocol.stage(run).get(test_set, {}).get(key)
            if isinstance(value, list) and value:
                rows.append(value)
    if not rows or len({len(r) for r in rows}) != 1:
        return None
    return rows


def _class_info(protocol: Protocol, test_set: str):
    """Class names, training and test counts of a run; under cross-validation the training
    counts of the first fold run and the test counts summed over the folds of its repeat
    (every image once)."""
    for run in protocol.runs:
        names = run.data.get("class_names")
        if names:
            tests = run.data.get("test_counts", {}).get(test_set)
            if _cv_folds(protocol, test_set) and tests:
                repeat = [
                    r.data.get("test_counts", {}).get(test_set)
                    for r in protocol.runs
                    if r.method_id == run.method_id and r.seed == run.seed
                ]
                if all(t and len(t) == len(tests) for t in repeat):
                    tests = [int(v) for v in np.sum(repeat, axis=0)]
            return list(names), run.data.get("train_counts"), tests
    return [], None, None


def _pooled_recall(protocol: Protocol, method_id: str, test_set: str):
    """Per-class recall of ``method_id`` from its confusion matrices summed over every run
    (cross-validation: every image of every repeat); None without them."""
    matrices = _mean_list(protocol, method_id, test_set, "confusion_matrix")
    if matrices is None:
        return None
    total = np.sum(np.array(matrices, dtype=np.int64), axis=0)
    support = total.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, np.diag(total) / np.maximum(support, 1), np.nan)


def _recalls(protocol: Protocol, method_id: str, test_set: str):
    """Per-class recall rows: one pooled row under cross-validation, else one per run."""
    if _cv_folds(protocol, test_set):
        pooled = _pooled_recall(protocol, method_id, test_set)
        if pooled is not None:
            return [[None if not math.isfinite(v) else float(v) for v in pooled]]
    return _mean_list(protocol, method_id, test_set, "per_class_recall")


def _rarest_class_line(protocol, test_set, best: MethodScore, base: MethodScore | None) -> str:
    names, train_counts, test_counts = _class_info(protocol, test_set)
    if not names or not train_counts or base is None or best.method_id == base.method_id:
        return ""
    recall_best = _recalls(protocol, best.method_id, test_set)
    recall_base = _recalls(protocol, base.method_id, test_set)
    if recall_best is None or recall_base is None:
        return ""
    tested = [i for i in range(len(names)) if not test_counts or test_counts[i] > 0]
    if not tested:
        return ""
    rare = min(tested, key=lambda i: train_counts[i])
    a = np.nanmean([np.nan if r[rare] is None else r[rare] for r in recall_best])
    b = np.nanmean([np.nan if r[rare] is None else r[rare] for r in recall_base])
    n_test = f", {test_counts[rare]} test" if test_counts else ""
    cv = bool(_cv_folds(protocol, test_set))
    trained = (
        f"about {train_counts[rare]} training per fold" if cv else f"{train_counts[rare]} training"
    )
    how = "over every tested image" if cv else "mean over seeds"
    return (
        f"On the rarest class, {names[rare]!r} ({trained}{n_test} images), "
        f"recall is {a:.2f} with {best.label} and {b:.2f} with plain CE ({how})."
    )


# --------------------------------------------------------------------------------------------
# the report


def _recall_table(protocol: Protocol, test_set: str):
    names, train_counts, test_counts = _class_info(protocol, test_set)
    methods = []
    for method_id, label in protocol.methods():
        rows = _recalls(protocol, method_id, test_set)
        if rows is not None and len(rows[0]) == len(names):
            values = np.array([[np.nan if v is None else v for v in r] for r in rows], float)
            methods.append((label, np.nanmean(values, axis=0) if len(values) else None))
    if not names or not methods:
        return None
    train = "Train images (per fold)" if _cv_folds(protocol, test_set) else "Train images"
    header = ["Class", train, "Test images", *(label for label, _ in methods)]
    rows = []
    for i, name in enumerate(names):
        row = [name, str(train_counts[i]) if train_counts else "–"]
        row.append(str(test_counts[i]) if test_counts else "–")
        row += ["–" if not math.isfinite(v[i]) else f"{v[i]:.3f}" for _, v in methods]
        rows.append(row)
    return header, rows


def _fold_table(protocol: Protocol, test_set: str, metric: str):
    """Header and rows of ``metric`` per fold run (columns: repeat/seed and fold) and per
    method; None without fold runs."""
    from ..bench.runner import FOLD_PATTERN

    columns = sorted(
        {(r.seed, r.variant) for r in protocol.runs if FOLD_PATTERN.match(r.variant)},
        key=lambda k: (k[0], int(FOLD_PATTERN.match(k[1]).group("fold"))),
    )
    if not columns:
        return None
    header = ["Method"] + [
        f"seed {seed} fold {FOLD_PATTERN.match(v).group('fold')}" for seed, v in columns
    ]
    rows = []
    for method_id, label in protocol.methods():
        cell = protocol.group_cell(method_id, test_set, metric)
        value = {tuple(k): v for k, v in zip(cell.keys, cell.values, strict=True)}
        rows.append([label] + [f"{value[k]:.3f}" if k in value else "–" for k in columns])
    return header, rows


def confusion_table(protocol: Protocol, method_id: str, test_set: str):
    """Header and rows of ``method_id``'s confusion matrix on ``test_set``, summed over seeds
    (rows: true class, columns: predicted class); None when the runs did not record one."""
    names, _, _ = _class_info(protocol, test_set)
    rows = _mean_list(protocol, method_id, test_set, "confusion_matrix")
    if rows is None or not names:
        return None
    total = np.sum(np.array(rows, dtype=np.int64), axis=0)
    if total.shape != (len(names), len(names)):
        return None
    header = ["true \\ predicted", *names]
    return header, [[names[i], *(str(int(v)) for v in total[i])] for i in range(len(names))]


def write_compare_report(
    store: Store | str | os.PathLike,
    out: str | os.PathLike,
    *,
    spec_name: str,
    spec_hash: str | None = None,
    data_lines: list[str] | None = None,
    test_set: str = "test",
    html_output: bool = False,
) -> tuple[list[Path], Verdict]:
    """Write the comparison report of one protocol; return the written paths and the verdict.

    Parameters
    ----------
    store : path or Store
    out : path
        Output folder (created); figures go to ``out/figures``.
    spec_name, spec_hash : str
        The protocol (the latest stored hash of ``spec_name`` when ``spec_hash`` is None).
    data_lines : list of str, optional
        Bullet points describing the data and its split, printed after the verdict.
    html_output : bool
        Also write ``report.html``.
    """
    protocols = [p for p in load_protocols(store, spec_name) if spec_hash in (None, p.hash)]
    if not protocols:
        raise ValueError(
            f"no finished runs of {spec_name!r}{f' (hash {spec_hash})' if spec_hash else ''} in "
            f"the store; run the comparison first"
        )
    protocol = protocols[-1]
    verdict = make_verdict(protocol, test_set)
    out = Path(out)
    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    doc = ReportDocument()
    title = f"Which method for {protocol.spec.get('description') or protocol.name}?"
    doc.heading(1, title)
    doc.heading(2, "Recommendation")
    doc.para(verdict.headline)
    for line in verdict.details:
        doc.para(line)
    doc.bullets([f"{s.label}: {s.text()}" for s in verdict.scores])
    folds = _cv_folds(protocol, test_set)
    if folds:
        doc.para(
            f"Protocol: stratified {folds}-fold cross-validation, each seed one repeat with its "
            "own folds (cut before any resampling, the same for every method): every image is "
            "tested once per repeat by a model that never saw it. A method's figure is its "
            "ACSA over all the images of a repeat (the folds' confusion matrices summed), "
            "averaged over repeats. Paired fold by fold (the same folds, initialisation and "
            f"batch order for every method): paired t-test below {WILCOXON_MIN_PAIRS} pairs, "
            f"Wilcoxon signed-rank test from {WILCOXON_MIN_PAIRS} on (SciPy); within noise = "
            f"p >= {ALPHA} or untestable. Metrics are those of the final training epoch (no "
            "model selection on the test images)."
        )
        per_fold = _fold_table(protocol, test_set, verdict.metric)
        if per_fold is not None:
            doc.heading(2, f"{verdict.metric.upper()} per fold")
            doc.table(*per_fold)
    else:
        doc.para(
            "Paired over seeds (the same data split, initialisation and batch order per seed "
            f"for every method): paired t-test below {WILCOXON_MIN_PAIRS} seeds, Wilcoxon "
            f"signed-rank test from {WILCOXON_MIN_PAIRS} on (SciPy); within noise = p >= "
            f"{ALPHA} or untestable. Metrics are those of the final training epoch (no model "
            "selection on the test images)."
        )
    if data_lines:
        doc.heading(2, "Data")
        doc.bullets(data_lines)
    recall = _recall_table(protocol, test_set)
    summed = "every tested image" if folds else "seeds"
    if recall is not None:
        doc.heading(
            2, f"Per-class recall ({test_set}, {'over' if folds else 'mean over'} {summed})"
        )
        doc.table(*recall)
    shown = [verdict.best.method_id]
    if BASELINE not in shown and any(m == BASELINE for m, _ in protocol.methods()):
        shown.append(BASELINE)
    labels = dict(protocol.methods())
    tables = [(m, confusion_table(protocol, m, test_set)) for m in shown]
    tables = [(m, t) for m, t in tables if t is not None]
    if tables:
        doc.heading(
            2, f"Confusion matrices ({test_set}, summed over {'folds and ' if folds else ''}seeds)"
        )
        for method_id, table in tables:
            doc.para(f"**{labels[method_id]}** (rows: true class, columns: predicted class):")
            doc.table(*table)
    protocol_section(doc, protocol, out, figures)
    written = [out / "report.md"]
    atomic_write_text(written[0], doc.markdown())
    if html_output:
        written.append(out / "report.html")
        atomic_write_text(written[1], doc.html(title))
    return written + doc.files, verdict
