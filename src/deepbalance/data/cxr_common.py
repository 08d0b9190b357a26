"""What the chest X-ray readers share: the six classes, the filtering table, CSV checks.

Both CheXpert and NIH ChestX-ray14 are reduced to the same six classes — ``Normal`` plus five
sub-conditions — so a model trained on one can be scored on the other, and every row that a
filter removes is counted in a STARD-style table (step, rows removed, rows remaining).
"""

from __future__ import annotations

import csv
import textwrap
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .._checks import check_float, check_int
from .decode import check_on_error, check_size
from .image_cache import load_images
from .imageset import ImageSet

NORMAL = "Normal"
LUNG_LESION = "Lung Lesion"
PNEUMOTHORAX = "Pneumothorax"
FRACTURE = "Fracture"
LUNG_OPACITY = "Focal/Multifocal Lung Opacity"
CARDIAC_SILHOUETTE = "Enlarged Cardiac Silhouette"

#: The five sub-conditions of "abnormal", in class-index order 1..5.
SUBCONDITIONS = (LUNG_LESION, PNEUMOTHORAX, FRACTURE, LUNG_OPACITY, CARDIAC_SILHOUETTE)
#: Class names of the filtered training sets: index 0 is normal, 1..5 the sub-conditions.
CXR_CLASSES = (NORMAL, *SUBCONDITIONS)
#: Class names of the unfiltered test sets (labels are 0 = normal, 1 = abnormal).
BINARY_CLASSES = ("Normal", "Abnormal")

#: Default tolerated share of listed image files that are absent (see ``check_missing``).
MAX_MISSING_FRACTION = 0.01


class FilterStep(NamedTuple):
    """One row of a filtering table."""

    step: str
    removed: int
    remaining: int


class FilterLog:
    """Applies boolean keep-masks to a row set and records each step's counts.

    Parameters
    ----------
    start : str
        Label of the first row (e.g. ``"rows in train.csv"``).
    n_rows : int
        Number of rows before filtering.
    """

    def __init__(self, start: str, n_rows: int):
        self.keep = np.ones(n_rows, dtype=bool)
        self.steps = [FilterStep(start, 0, n_rows)]

    def apply(self, step: str, drop) -> int:
        """Remove the still-kept rows where ``drop`` is true; return how many were removed."""
        drop = np.asarray(drop, dtype=bool) & self.keep
        removed = int(drop.sum())
        self.keep &= ~drop
        self.steps.append(FilterStep(step, removed, int(self.keep.sum())))
        return removed

    def note(self, step: str) -> None:
        """Record a step that removes nothing (e.g. a merge), so the table shows it."""
        self.apply(step, np.zeros_like(self.keep))

    @property
    def table(self) -> list[FilterStep]:
        return list(self.steps)


def format_filtering_table(
    table: Sequence, class_counts: dict | None = None, *, width: int = 64
) -> str:
    """Render a filtering table (list of ``(step, removed, remaining)``) as aligned text.

    Parameters
    ----------
    table : sequence of (str, int, int)
        E.g. ``imageset.meta["filtering"]``.
    class_counts : dict, optional
        ``{class name: images}`` appended below the table (e.g. the final classes).
    width : int
        Longer step descriptions wrap onto continuation lines.

    Returns
    -------
    str
    """
    rows = []
    for i, entry in enumerate(table):
        try:
            step, removed, remaining = entry
        except (TypeError, ValueError):
            raise ValueError(
                f"table[{i}]={entry!r} must be a (step, rows removed, rows remaining) triple; "
                "pass imageset.meta['filtering']"
            ) from None
        rows.append((str(step), "-" if i == 0 else f"{int(removed):,}", f"{int(remaining):,}"))
    if class_counts:
        rows.append(("", "", ""))
        rows += [(f"  {name}", "", f"{int(n):,}") for name, n in class_counts.items()]
    header = ("Step", "Removed", "Remaining")
    width = check_int(width, "width", min_value=20)
    widths = [max(len(r[k]) for r in [header, *rows]) for k in range(3)]
    widths[0] = min(widths[0], width)
    lines = [f"{header[0]:<{widths[0]}}  {header[1]:>{widths[1]}}  {header[2]:>{widths[2]}}"]
    lines.append("-" * len(lines[0]))
    for a, b, c in rows:
        wrapped = textwrap.wrap(a, widths[0], subsequent_indent="    ") or [""]
        wrapped[-1] = f"{wrapped[-1]:<{widths[0]}}  {b:>{widths[1]}}  {c:>{widths[2]}}".rstrip()
        lines += wrapped
    return "\n".join(lines)


def read_csv_columns(path: Path, required: Iterable[str], *, what: str) -> dict[str, list[str]]:
    """Read a CSV into ``{column: list of str}``, failing clearly if ``required`` columns lack.

    Parameters
    ----------
    path : Path
    required : iterable of str
        Columns that must be in the header.
    what : str
        How to call the file in messages (e.g. ``"CheXpert train.csv"``).
    """
    required = list(required)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise ValueError(f"{what} {path} is empty; expected a header with {required}")
            header = [h.strip() for h in header]
            missing = [c for c in required if c not in header]
            if missing:
                raise ValueError(
                    f"{what} {path} lacks the column(s) {missing}; found {header}. Pass the "
                    "original file (its header must name these columns exactly)"
                )
            body = list(reader)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{what} {path} is not a UTF-8 text CSV ({exc})") from None
    except csv.Error as exc:
        raise ValueError(f"{what} {path} is not a readable CSV ({exc})") from None
    except OSError as exc:
        raise ValueError(f"cannot read {what} {path}: {exc}") from None
    body = [row for row in body if any(cell.strip() for cell in row)]  # blank lines
    index = {name: k for k, name in enumerate(header)}
    # Only the columns we use must be present in every row; trailing empty cells may be cut.
    need = max((index[c] for c in required), default=-1) + 1
    bad = [i + 2 for i, row in enumerate(body) if len(row) < need]
    if bad:
        raise ValueError(
            f"{what} {path}: {len(bad)} row(s) have fewer cells than the header "
            f"(first at line {bad[0]}); the file looks truncated or mis-quoted"
        )
    columns: dict[str, list[str]] = {}
    for name, k in index.items():
        if name and name not in columns:
            columns[name] = [row[k].strip() if k < len(row) else "" for row in body]
    return columns


def unknown_values_error(
    what: str, path: Path, bad: dict[str, dict[str, int]], n_rows: int, allowed: str
) -> ValueError:
    """Build the error for cells outside the allowed values.

    ``bad`` maps column → {value: rows}; ``n_rows`` is the number of distinct rows affected.
    """
    parts = []
    for column, values in bad.items():
        shown = ", ".join(
            f"{v!r} ({n} row{'s' if n != 1 else ''})"
            for v, n in sorted(values.items(), key=lambda kv: -kv[1])[:5]
        )
        parts.append(f"column {column!r}: {shown}")
    return ValueError(
        f"{what} {path}: {n_rows} row(s) hold values outside {allowed} — "
        + "; ".join(parts)
        + ". Fix or remove those rows"
    )


def check_missing_fraction(value) -> float:
    """Validate ``max_missing_fraction`` (a share in [0, 1])."""
    return check_float(value, "max_missing_fraction", min_value=0.0, max_value=1.0)


def check_missing(
    n_missing: int,
    n_total: int,
    max_missing_fraction: float,
    *,
    what: str,
    examples: Sequence[str],
    where: str,
) -> None:
    """Raise if more than ``max_missing_fraction`` of ``n_total`` image files are missing."""
    if n_total == 0:
        return
    if n_missing == n_total or n_missing / n_total > max_missing_fraction:
        shown = "; ".join(examples[:3])
        raise ValueError(
            f"{n_missing} of {n_total} image files listed in {what} "
            f"({100.0 * n_missing / n_total:.1f}%) were not found under {where} (e.g. {shown}); "
            f"max_missing_fraction={max_missing_fraction}. Check data_dir (it must hold the "
            "images as the CSV lists them), or pass a larger max_missing_fraction to train on "
            "the images that are there"
        )


def finish_image_set(
    log: FilterLog,
    resolved: Sequence[str | None],
    raw_paths: Sequence[str],
    labels: np.ndarray,
    class_names: Sequence[str],
    *,
    rows: dict[str, np.ndarray],
    what: str,
    where: str,
    source: str,
    meta: dict,
    max_missing_fraction: float,
    size,
    cache: bool,
    cache_dir,
    cache_name: str,
    n_jobs: int,
    progress: bool,
    on_error: str,
) -> ImageSet:
    """Drop rows whose file is missing or unreadable (counted), decode the rest, build the set.

    ``resolved``, ``raw_paths``, ``labels`` and every array of ``rows`` have one entry per CSV
    row; only rows ``log`` still keeps are considered.
    """
    candidates = np.flatnonzero(log.keep)
    missing = np.zeros(len(log.keep), dtype=bool)
    missing[candidates] = [resolved[i] is None for i in candidates]
    n_missing = int(missing.sum())
    examples = [raw_paths[i] for i in np.flatnonzero(missing)[:10]]
    log.apply("image file not found", missing)
    check_missing(
        n_missing, len(candidates), max_missing_fraction, what=what, examples=examples, where=where
    )
    kept_rows = np.flatnonzero(log.keep)
    if kept_rows.size == 0:
        raise ValueError(
            f"no rows of {what} are left after filtering:\n{format_filtering_table(log.table)}"
        )
    decoded = load_images(
        [resolved[i] for i in kept_rows],
        size,
        cache=cache,
        cache_dir=cache_dir,
        name=cache_name,
        n_jobs=n_jobs,
        progress=progress,
        on_error=on_error,
    )
    unreadable = np.zeros(len(log.keep), dtype=bool)
    unread_rows = np.setdiff1d(np.arange(len(kept_rows)), decoded.kept)
    unreadable[kept_rows[unread_rows]] = True
    log.apply("image file unreadable", unreadable)
    skipped = [{"path": p, "error": e} for p, e in decoded.unreadable]
    if not len(decoded.kept):
        raise ValueError(
            f"none of the {len(kept_rows)} image files of {what} could be read (first: "
            f"{skipped[0]['path']}: {skipped[0]['error']}); check that they are images"
        )
    if skipped:
        warnings.warn(
            f"skipped {len(skipped)} unreadable image file(s) of {len(kept_rows)} in {what} "
            f"(first: {skipped[0]['path']}: {skipped[0]['error']}); the list is in "
            "meta['skipped']",
            UserWarning,
            stacklevel=3,
        )
    final = kept_rows[decoded.kept]
    meta = dict(meta)
    meta.update(
        filtering=log.table,
        missing_files=n_missing,
        missing_examples=examples,
        skipped=skipped,
        converted_modes=dict(decoded.converted_modes),
        converted_to_grayscale=int(sum(decoded.converted_modes.values())),
        cache_file=decoded.cache_file,
        from_cache=decoded.from_cache,
        rows={"csv_row": final, **{k: np.asarray(v)[final] for k, v in rows.items()}},
    )
    return ImageSet(decoded.images, np.asarray(labels)[final], tuple(class_names), source, meta)


def filter_conditions(
    log: FilterLog,
    no_finding: np.ndarray,
    groups: np.ndarray,
    drops: Sequence[tuple[str, np.ndarray]],
) -> np.ndarray:
    """The seed's condition filters, in order; returns six-class labels (-1 where removed).

    Parameters
    ----------
    log : FilterLog
    no_finding : bool array (N,)
        "No Finding" is positive.
    groups : bool array (N, 5)
        Each (merged) sub-condition is positive, columns in ``SUBCONDITIONS`` order.
    drops : list of (step label, bool array (N,))
        Conditions whose positive rows are dropped, one table row each, applied last.
    """
    dropped = np.zeros(len(no_finding), dtype=bool)
    for _, mask in drops:
        dropped |= mask
    any_condition = groups.any(axis=1) | dropped
    log.apply(
        "finding but no specific condition (No Finding not set, no condition positive)",
        ~no_finding & ~any_condition,
    )
    log.apply("No Finding together with a condition", no_finding & any_condition)
    log.apply("several sub-conditions (after merging)", groups.sum(axis=1) >= 2)
    for label, mask in drops:
        log.apply(label, mask)
    return np.where(log.keep, single_class_labels(no_finding, groups, dropped), -1)


def single_class_labels(no_finding, groups, other) -> np.ndarray:
    """Six-class label per row where exactly one class applies, else -1.

    0 (normal): No Finding positive and no condition; k + 1: sub-condition k alone (no other
    condition, No Finding not set).
    """
    n_groups = groups.sum(axis=1)
    normal = no_finding & (n_groups == 0) & ~other
    single = ~no_finding & (n_groups == 1) & ~other
    labels = np.full(len(no_finding), -1, dtype=np.int64)
    labels[normal] = 0
    labels[single] = np.argmax(groups[single], axis=1) + 1
    return labels


def binary_abnormal(no_finding, groups, other) -> np.ndarray:
    """1 (abnormal) unless No Finding is positive and no condition is; 0 (normal) otherwise."""
    return (~(no_finding & ~groups.any(axis=1) & ~other)).astype(np.int64)


def parse_columns(
    columns: dict[str, list[str]],
    names: Sequence[str],
    parse,
    *,
    what: str,
    path: Path,
    allowed: str,
) -> np.ndarray:
    """Parse label columns into a float matrix ``(N, len(names))``.

    ``parse(text) -> float | None`` maps one cell's text (stripped) to its value, ``None`` for
    values outside the schema; rows with such values are counted and reported in one error.
    """
    n = len(columns[names[0]]) if names else 0
    out = np.empty((n, len(names)), dtype=np.float64)
    bad_rows = np.zeros(n, dtype=bool)
    bad: dict[str, dict[str, int]] = {}
    for j, name in enumerate(names):
        # parse each distinct text once: 224k rows hold only a handful of distinct values
        texts, inverse = np.unique(np.asarray(columns[name], dtype=str), return_inverse=True)
        values = [parse(t) for t in texts]
        unknown = [k for k, v in enumerate(values) if v is None]
        table = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        out[:, j] = table[inverse.reshape(-1)] if n else []
        if unknown:
            hit = np.isin(inverse.reshape(-1), unknown)
            bad_rows |= hit
            counts = np.bincount(inverse.reshape(-1), minlength=len(texts))
            bad[name] = {str(texts[k]): int(counts[k]) for k in unknown}
    if bad:
        raise unknown_values_error(what, path, bad, int(bad_rows.sum()), allowed)
    return out


def check_load_options(size, on_error, n_jobs, cache) -> None:
    """Validate the image-decoding options early, before any CSV is read."""
    check_size(size, allow_none=False)
    check_on_error(on_error)
    check_int(n_jobs, "n_jobs", min_value=1)
    if not isinstance(cache, bool):
        raise TypeError(f"cache={cache!r} must be True or False")
