"""A verdict a practitioner can act on: which method to use on this data, and how sure we are.

:func:`make_verdict` reads one protocol of a results store (the runs of one spec and hash) and
names the method with the highest mean ACSA (average class-specific accuracy, the mean of the
per-class recalls) on a test set, its margin over plain cross-entropy (method ``none``) and
over random oversampling, each with a paired test over the seeds both ran
(:func:`deepbalance.stats.paired_test`, the benchmark report's significance test too: the
paired t-test below five pairs, the Wilcoxon signed-rank test from five pairs on). A
difference with p >= 0.05, or that cannot be tested (one seed, or the same difference on every
seed below five), is "within noise" (:func:`deepbalance.stats.within_noise`).

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
    """One method's metric on a test set over seeds."""

    method_id: str
    label: str
    values: tuple[float, ...]
    seeds: tuple[int, ...]

    def text(self) -> str:
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
        return f"{self.difference:+.3f} ({self.test} over {self.n} seeds, p = {self.p_value:.3g})"


def paired_test(a: MethodScore, b: MethodScore) -> PairedTest:
    """Paired test of ``a`` against ``b`` over their common seeds
    (:func:`deepbalance.stats.paired_test`); no p-value with fewer than 2 pairs, or below 5
    pairs when every paired difference is the same (the t statistic is undefined).
    """
    if not isinstance(a, MethodScore) or not isinstance(b, MethodScore):
        raise TypeError("paired_test compares two MethodScore objects (see make_verdict)")
    result = stats.paired_test(*stats.paired_values(a.values, a.seeds, b.values, b.seeds))
    n, mean = result.n, result.difference
    if result.reason == stats.TOO_FEW_PAIRS:
        return PairedTest(a, b, n, mean, "none", None, f"{n} common seed(s): no test possible")
    if result.p_value is None:
        what = "identical" if result.reason == stats.NO_DIFFERENCE else "the same"
        note = f"{what} on every seed, so no test statistic"
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


def _scores(protocol: Protocol, test_set: str, metric: str) -> list[MethodScore]:
    out = []
    for method_id, label in protocol.methods():
        cell = protocol.group_cell(method_id, test_set, metric)
        if cell.n:
            seeds = tuple(int(k[0]) for k in cell.keys)
            out.append(MethodScore(method_id, label, tuple(cell.values), seeds))
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
    ranked = sorted(scores, key=lambda s: (-round(s.mean, 12), order[s.method_id]))
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
    where = f"on the held-out {test_set!r} images" if test_set == "test" else f"on {test_set!r}"
    details = []
    if best.method_id == BASELINE:
        runner = ranked[1] if len(ranked) > 1 else None
        headline = (
            "**Recommendation: plain cross-entropy (no rebalancing).** No method beat it on "
            f"this data: it has the best {name} {where}, {best.text()}."
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
            f"The best, {best.label}, has {name} {best.text()} {where}, "
            f"{vs_base.describe()} over plain CE ({by_id[BASELINE].text()}): within noise. "
            "Keep plain CE, or collect more images (or run more seeds, --n-seeds 5) to tell them "
            "apart."
        )
    else:
        headline = (
            f"**Recommendation: use {best.label}.** It has the best {name} {where}: "
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
    if any(s.n < 2 for s in scores):
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
    for run in protocol.runs:
        names = run.data.get("class_names")
        if names:
            return (
                list(names),
                run.data.get("train_counts"),
                run.data.get("test_counts", {}).get(test_set),
            )
    return [], None, None


def _rarest_class_line(protocol, test_set, best: MethodScore, base: MethodScore | None) -> str:
    names, train_counts, test_counts = _class_info(protocol, test_set)
    if not names or not train_counts or base is None or best.method_id == base.method_id:
        return ""
    recall_best = _mean_list(protocol, best.method_id, test_set, "per_class_recall")
    recall_base = _mean_list(protocol, base.method_id, test_set, "per_class_recall")
    if recall_best is None or recall_base is None:
        return ""
    tested = [i for i in range(len(names)) if not test_counts or test_counts[i] > 0]
    if not tested:
        return ""
    rare = min(tested, key=lambda i: train_counts[i])
    a = np.nanmean([np.nan if r[rare] is None else r[rare] for r in recall_best])
    b = np.nanmean([np.nan if r[rare] is None else r[rare] for r in recall_base])
    n_test = f", {test_counts[rare]} test" if test_counts else ""
    return (
        f"On the rarest class, {names[rare]!r} ({train_counts[rare]} training{n_test} images), "
        f"recall is {a:.2f} with {best.label} and {b:.2f} with plain CE (mean over seeds)."
    )


# --------------------------------------------------------------------------------------------
# the report


def _recall_table(protocol: Protocol, test_set: str):
    names, train_counts, test_counts = _class_info(protocol, test_set)
    methods = []
    for method_id, label in protocol.methods():
        rows = _mean_list(protocol, method_id, test_set, "per_class_recall")
        if rows is not None and len(rows[0]) == len(names):
            values = np.array([[np.nan if v is None else v for v in r] for r in rows], float)
            methods.append((label, np.nanmean(values, axis=0) if len(values) else None))
    if not names or not methods:
        return None
    header = ["Class", "Train images", "Test images", *(label for label, _ in methods)]
    rows = []
    for i, name in enumerate(names):
        row = [name, str(train_counts[i]) if train_counts else "–"]
        row.append(str(test_counts[i]) if test_counts else "–")
        row += ["–" if not math.isfinite(v[i]) else f"{v[i]:.3f}" for _, v in methods]
        rows.append(row)
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
    doc.para(
        "Paired over seeds (the same data split, initialisation and batch order per seed for "
        f"every method): paired t-test below {WILCOXON_MIN_PAIRS} seeds, Wilcoxon signed-rank "
        f"test from {WILCOXON_MIN_PAIRS} on (SciPy); within noise = p >= {ALPHA} or untestable. "
        "Metrics are those of the final training epoch (no model selection on the test images)."
    )
    if data_lines:
        doc.heading(2, "Data")
        doc.bullets(data_lines)
    recall = _recall_table(protocol, test_set)
    if recall is not None:
        doc.heading(2, f"Per-class recall ({test_set}, mean over seeds)")
        doc.table(*recall)
    shown = [verdict.best.method_id]
    if BASELINE not in shown and any(m == BASELINE for m, _ in protocol.methods()):
        shown.append(BASELINE)
    labels = dict(protocol.methods())
    tables = [(m, confusion_table(protocol, m, test_set)) for m in shown]
    tables = [(m, t) for m, t in tables if t is not None]
    if tables:
        doc.heading(2, f"Confusion matrices ({test_set}, summed over seeds)")
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
