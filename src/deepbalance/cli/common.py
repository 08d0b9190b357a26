"""What every ``deepbalance`` command shares: exit statuses, error lines, the console, JSON
output, and the parsing of ``key=value``, sizes, seeds and subsets.

Bad input (unknown dataset or profile, missing files, bad parameters, usage errors) exits with
status 2 and one line ``error: ...`` on stderr; a runtime failure (a run that crashed, a store
or file that cannot be written) exits with status 1, also with one line;
``deepbalance --debug ...`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import warnings
from collections.abc import Sequence
from contextlib import contextmanager

from .._console import UNLIMITED_WIDTH, make_console

__all__ = [
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "PROG",
    "UNLIMITED_WIDTH",
    "UsageParser",
    "add_json",
    "collect",
    "stdout_console",
    "error_message",
    "exit_status",
    "fail",
    "guarded",
    "key_value",
    "n_seeds",
    "one_line",
    "parse_seeds",
    "parse_size",
    "parse_subset",
    "parse_value",
    "plain_warnings",
    "print_json",
    "row",
    "table",
]

PROG = "deepbalance"
EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class UsageParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line on stderr, exit status 2."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"error: {one_line(message)} (see '{self.prog} --help')\n")


def one_line(text) -> str:
    """``text`` with every run of white space (newlines included) as one space."""
    return " ".join(str(text).split())


def exit_status(exc: BaseException) -> int:
    """The exit status for an exception a command raised.

    :data:`EXIT_USAGE` (2) for bad input: ``ValueError``/``TypeError``/``LookupError``,
    missing files (``FileNotFoundError``, ``NotADirectoryError``, ``IsADirectoryError``),
    a file that is not a results store, a missing optional dependency (``ImportError``).
    :data:`EXIT_FAILURE` (1) for failures while doing the work: a store that cannot be
    written, other ``OSError`` (permissions, disk full), anything else.
    """
    try:
        from ..bench.store import StoreError, StoreWriteError
    except ImportError:  # the benchmark is optional
        StoreError = StoreWriteError = ()  # noqa: N806
    if StoreWriteError and isinstance(exc, StoreWriteError):
        return EXIT_FAILURE
    if StoreError and isinstance(exc, StoreError):
        return EXIT_USAGE
    if isinstance(exc, FileNotFoundError | NotADirectoryError | IsADirectoryError):
        return EXIT_USAGE
    if isinstance(exc, OSError):
        return EXIT_FAILURE
    if isinstance(exc, ValueError | TypeError | LookupError | ImportError):
        return EXIT_USAGE
    return EXIT_FAILURE


def error_message(exc: BaseException) -> str:
    """One line for ``error: ...``; unexpected exception types are named."""
    text = one_line(str(exc)) or type(exc).__name__
    if exit_status(exc) == EXIT_FAILURE and not isinstance(exc, OSError):
        return f"{type(exc).__name__}: {text} (rerun with --debug for the traceback)"
    return text


def fail(message: str, status: int = EXIT_USAGE) -> int:
    """Print ``error: message`` (one line) on stderr; return ``status``."""
    print(f"error: {one_line(message)}", file=sys.stderr)
    return status


def guarded(handler):
    """Turn a handler's exceptions into one ``error:`` line: status 2 for bad input, 1 for
    failures (``--debug``: raise them)."""

    def run(args) -> int:
        try:
            return handler(args)
        except Exception as exc:
            if getattr(args, "debug", False):
                raise
            return fail(error_message(exc), exit_status(exc))

    run.__name__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run


@contextmanager
def plain_warnings():
    """Show warnings as one ``warning: ...`` line on stderr (the command line's style)."""

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"warning: {one_line(message)}", file=sys.stderr)

    before = warnings.showwarning
    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = before


# --------------------------------------------------------------------------------------------
# output


def stdout_console(*, markup: bool = False):
    """A rich console on the current stdout; off a terminal its width has no limit."""
    return make_console(sys.stdout, markup=markup)


def print_json(data) -> None:
    """``data`` as indented JSON on stdout (NaN refused)."""
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n")


def add_json(parser: argparse.ArgumentParser, what: str) -> None:
    """Add ``--json`` (print ``what`` as JSON) to ``parser``."""
    parser.add_argument("--json", action="store_true", help=f"print {what} as JSON")


def table(title: str, columns, **options):
    """A rich table; each column is a name or ``(name, column options)``."""
    from rich.table import Table

    out = Table(title=title, **options)
    for column in columns:
        name, kwargs = column if isinstance(column, tuple) else (column, {})
        out.add_column(name, **kwargs)
    return out


def row(to, *cells) -> None:
    """Add a row of ``cells`` to table ``to``, each printed as plain text."""
    from rich.text import Text

    to.add_row(*(Text(str(cell)) for cell in cells))


# --------------------------------------------------------------------------------------------
# --param key=value parsing


def parse_value(text: str):
    """A ``--param`` value: int, float, true/false/none, ``a,b,c`` or ``[a, b]`` (a list),
    ``{k: v, ...}`` (a dict), else the string itself."""
    text = text.strip()
    if text.startswith("{") and text.endswith("}"):
        result = {}
        for item in filter(None, (s.strip() for s in text[1:-1].split(","))):
            key, sep, value = item.partition(":")
            if not sep:
                raise ValueError(f"dict entry {item!r} must look like key:value, e.g. {{0:100}}")
            result[_scalar(key)] = _scalar(value)
        return result
    bracketed = text[:1] in "[(" and text[-1:] in "])" and len(text) >= 2
    if bracketed:
        text = text[1:-1]
    if bracketed or "," in text:
        return [_scalar(s) for s in text.split(",") if s.strip()]
    return _scalar(text)


def _scalar(text: str):
    text = text.strip()
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text.strip("'\"")


def key_value(text: str) -> tuple[str, str]:
    """An argparse type: ``key=value`` as ``(key, value)``."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"{text!r} must look like key=value, e.g. rho=10")
    return key.strip(), value


def collect(pairs: Sequence[tuple[str, str]] | None, flag: str) -> dict:
    """``{key: parse_value(value)}`` of repeated ``flag key=value`` options; a key given twice
    is refused."""
    result = {}
    for key, value in pairs or ():
        if key in result:
            raise ValueError(f"{flag} {key}= is given twice; give each key once")
        result[key] = parse_value(value)
    return result


# --------------------------------------------------------------------------------------------
# sizes, seeds, subsets


def parse_size(text: str | None):
    """``--size``: ``N`` or ``HxW`` as an int or ``(H, W)``; None stays None."""
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*(?:[xX]\s*(\d+)\s*)?", text)
    if not match:
        raise ValueError(f"--size {text!r} must be N or HxW (height x width), e.g. 64 or 48x64")
    h = int(match.group(1))
    return (h, int(match.group(2))) if match.group(2) else h


def parse_seeds(text: str | None):
    """``--seeds``: the seeds themselves, ``0`` or ``0,1,2`` (``--n-seeds`` counts)."""
    if text is None:
        return None
    cleaned = text.strip().strip("[]")
    try:
        seeds = [int(s) for s in cleaned.split(",") if s.strip()]
    except ValueError:
        seeds = []
    if not seeds or any(s < 0 for s in seeds):
        raise ValueError(
            f"--seeds {text!r} must be seeds >= 0, one or a comma-separated list (e.g. 0 or "
            "0,1,2); for the spec's first N seeds pass --n-seeds N"
        )
    return seeds


def n_seeds(text: str) -> int:
    """``--n-seeds``: a count >= 1 (an argparse type: bad values are usage errors)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} must be a count >= 1 (e.g. 5: the spec's first 5 seeds)"
        )
    return value


def parse_subset(text: str | None):
    """``--subset``: a fraction (``0.1``) or a count (``2000``); None stays None."""
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise ValueError(
            f"--subset {text!r} must be a fraction in (0, 1] (e.g. 0.1) or a count (e.g. 2000)"
        ) from None
