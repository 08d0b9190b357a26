"""The ``deepbalance`` command line.

``build_parser`` creates one sub-command per ``add_<command>_parser(subparsers)`` function; each
sets its handler with ``set_defaults(func=handler)``, a ``handler(args) -> int``. Other command
groups attach the same way (the benchmark's ``bench`` and ``report`` come from
``deepbalance.bench.cli.add_parsers`` when that module is present).

Bad input (unknown dataset or profile, missing files, bad parameters, usage errors) exits with
status 2 and one line ``error: ...`` on stderr; a runtime failure (a run that crashed, a store
or file that cannot be written) exits with status 1, also with one line;
``deepbalance --debug ...`` shows the traceback instead. ``--json`` prints a command's table as
JSON; off a terminal, tables are printed whole (no cell cut or wrapped).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from functools import partial

from ._version import __version__

PROG = "deepbalance"
EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
#: Console width off a terminal: no table reaches it, so no cell is cut or wrapped.
UNLIMITED_WIDTH = 100_000


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line on stderr, exit status 2."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"error: {_one_line(message)} (see '{self.prog} --help')\n")


def _one_line(text: str) -> str:
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
        from .bench.store import StoreError, StoreWriteError
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
    text = _one_line(str(exc)) or type(exc).__name__
    if exit_status(exc) == EXIT_FAILURE and not isinstance(exc, OSError):
        return f"{type(exc).__name__}: {text} (rerun with --debug for the traceback)"
    return text


def _console():
    """A rich console on the current stdout; off a terminal its width has no limit."""
    from rich.console import Console

    # Created per call so output follows the current sys.stdout (e.g. pytest's capture);
    # markup off: names, paths and descriptions may hold brackets.
    console = Console(file=sys.stdout, highlight=False, markup=False)
    if console.is_terminal:
        return console
    # files, pipes, logs: nothing limits the width, so every cell stays whole on its line
    return Console(file=sys.stdout, highlight=False, markup=False, width=UNLIMITED_WIDTH)


def _print_json(data) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n")


def _add_json(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--json", action="store_true", help=f"print {what} as JSON")


def _table(title: str, columns, **options):
    from rich.table import Table

    table = Table(title=title, **options)
    for column in columns:
        name, kwargs = column if isinstance(column, tuple) else (column, {})
        table.add_column(name, **kwargs)
    return table


def _row(table, *cells) -> None:
    from rich.text import Text

    table.add_row(*(Text(str(cell)) for cell in cells))


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


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"{text!r} must look like key=value, e.g. rho=10")
    return key.strip(), value


def _collect(pairs: Sequence[tuple[str, str]] | None, flag: str) -> dict:
    result = {}
    for key, value in pairs or ():
        if key in result:
            raise ValueError(f"{flag} {key}= is given twice; give each key once")
        result[key] = parse_value(value)
    return result


# --------------------------------------------------------------------------------------------
# datasets


def add_datasets_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "datasets",
        help="list the datasets, whether they are available here and how many images",
        description="List the registered datasets: available here or not, where, images per split.",
    )
    parser.add_argument("--data-dir", help="look only in this folder")
    _add_json(parser, "the list")
    parser.set_defaults(func=run_datasets)
    return parser


def run_datasets(args) -> int:
    from .data.registry import list_datasets

    infos = list_datasets(data_dir=args.data_dir)
    if getattr(args, "json", False):
        _print_json(
            [
                {
                    "name": info.name,
                    "available": bool(info.available),
                    "n_images": dict(info.n_images or {}),
                    "location": info.location,
                    "description": info.description,
                }
                for info in infos
            ]
        )
        return EXIT_OK

    columns = [
        ("name", {"no_wrap": True}),
        "available",
        ("images", {"justify": "right"}),
        ("location", {"overflow": "fold"}),
        "description",
    ]
    table = _table("Datasets", columns)
    for info in infos:
        images = ", ".join(f"{split} {n}" for split, n in (info.n_images or {}).items())
        available = "yes" if info.available else "no"
        _row(table, info.name, available, images or "-", info.location or "-", info.description)
    _console().print(table)
    return 0


# --------------------------------------------------------------------------------------------
# profiles


def add_profiles_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "profiles",
        help="list the imbalance profiles with their source papers",
        description="List the imbalance profiles usable with 'describe --profile' and "
        "deepbalance.data.make_imbalanced.",
    )
    _add_json(parser, "the list")
    parser.set_defaults(func=run_profiles)
    return parser


def run_profiles(args) -> int:
    from .data.profiles import list_profiles

    if getattr(args, "json", False):
        _print_json(
            [
                {
                    "name": profile.name,
                    "source": profile.source,
                    "description": profile.description,
                    "counts": None if profile.counts is None else [int(n) for n in profile.counts],
                    "params": {name: _plain(v) for name, v in profile.params.items()},
                }
                for profile in list_profiles()
            ]
        )
        return EXIT_OK

    columns = [("name", {"no_wrap": True}), "source", "counts / description", "parameters"]
    table = _table("Imbalance profiles", columns)
    for profile in list_profiles():
        if profile.counts is not None:
            what = " ".join(str(n) for n in profile.counts)
        else:
            what = profile.description
        params = ", ".join(
            name if default is None else f"{name}={_format_default(default)}"
            for name, default in profile.params.items()
        )
        _row(table, profile.name, profile.source, what, params or "-")
    console = _console()
    console.print(table)
    console.print(
        "Try one: deepbalance describe DATASET --profile NAME [--param key=value ...]",
        soft_wrap=True,
    )
    return 0


def _plain(value):
    """A parameter default as JSON data (tuples become lists)."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _format_default(value) -> str:
    if isinstance(value, tuple | list):
        return ",".join(str(v) for v in value)
    return str(value)


# --------------------------------------------------------------------------------------------
# describe


def add_describe_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "describe",
        help="per-class image counts of a dataset, optionally after an imbalance profile",
        description="Print the per-class counts, total and imbalance ratio of a dataset split, "
        "optionally after applying an imbalance profile.",
        epilog="examples:\n"
        "  deepbalance describe fashion-mnist --profile deepsmote-mnist\n"
        "  deepbalance describe digits --profile longtail --param rho=10\n"
        "  deepbalance describe digits --profile cle-binary --param classes=3,5",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("dataset", help="dataset name (see 'deepbalance datasets')")
    parser.add_argument("--split", default="train", help="split to load (default: train)")
    parser.add_argument("--data-dir", help="folder holding the dataset files")
    parser.add_argument(
        "--download", action="store_true", help="fetch missing files from the official mirrors"
    )
    parser.add_argument(
        "--option",
        action="append",
        type=_key_value,
        metavar="KEY=VALUE",
        help="dataset option (repeatable), e.g. --option size=32",
    )
    parser.add_argument("--profile", help="imbalance profile (see 'deepbalance profiles')")
    parser.add_argument("--seed", type=int, default=0, help="profile seed (default: 0)")
    parser.add_argument(
        "--param",
        action="append",
        type=_key_value,
        metavar="KEY=VALUE",
        help="profile parameter (repeatable): numbers, lists a,b,c, dicts {0:100,1:10}",
    )
    _add_json(parser, "the counts")
    parser.set_defaults(func=run_describe)
    return parser


def run_describe(args) -> int:
    from .data.profiles import make_imbalanced
    from .data.registry import load_dataset

    options = _collect(args.option, "--option")
    params = _collect(args.param, "--param")
    if params and not args.profile:
        raise ValueError("--param sets profile parameters; give --profile NAME too")
    data = load_dataset(
        args.dataset, args.split, data_dir=args.data_dir, download=args.download, **options
    )
    title = f"{args.dataset} ({args.split})"
    if args.profile:
        data = make_imbalanced(data, args.profile, seed=args.seed, **params)
        title += f", profile {args.profile}, seed {args.seed}"

    counts = data.class_counts()
    total = int(counts.sum())
    c, h, w = data.image_shape
    if getattr(args, "json", False):
        _print_json(
            {
                "dataset": args.dataset,
                "split": args.split,
                "profile": args.profile,
                "seed": args.seed if args.profile else None,
                "params": {k: _plain(v) for k, v in params.items()},
                "source": data.source,
                "image_shape": [int(c), int(h), int(w)],
                "n_classes": int(data.n_classes),
                "total": total,
                "imbalance_ratio": float(data.imbalance_ratio()),
                "classes": [
                    {
                        "index": index,
                        "name": str(name),
                        "count": int(n),
                        "share": float(n) / total if total else None,
                    }
                    for index, (name, n) in enumerate(zip(data.class_names, counts, strict=True))
                ],
            }
        )
        return EXIT_OK
    columns = [
        ("#", {"justify": "right"}),
        ("class", {"footer": "total"}),
        ("images", {"justify": "right", "footer": str(total)}),
        ("share", {"justify": "right", "footer": "100.0%" if total else "-"}),
    ]
    table = _table(title, columns, show_footer=True)
    for index, (name, n) in enumerate(zip(data.class_names, counts, strict=True)):
        _row(table, index, name, int(n), f"{100.0 * n / total:.1f}%" if total else "-")
    console = _console()
    console.print(table)
    console.print(f"source: {data.source}", soft_wrap=True)
    console.print(f"images: {total} of shape {c}x{h}x{w}, {data.n_classes} classes")
    console.print(f"imbalance ratio (largest / smallest class): {data.imbalance_ratio():.2f}")
    return 0


# --------------------------------------------------------------------------------------------
# the parser and the entry point


def _add_bench_parsers(subparsers) -> None:
    try:
        from .bench import cli as bench_cli
    except ImportError as exc:
        if getattr(exc, "name", None) not in ("deepbalance.bench", "deepbalance.bench.cli"):
            # The module exists but fails to import: say so instead of hiding the commands.
            print(f"warning: bench commands unavailable: {_one_line(exc)}", file=sys.stderr)
        return
    bench_cli.add_parsers(subparsers)


def add_compare_parser(subparsers):
    from .bench.compare import add_compare_parser as add

    return add(subparsers)


def add_resample_parser(subparsers):
    from .resample import add_resample_parser as add

    return add(subparsers)


def build_parser() -> argparse.ArgumentParser:
    """The ``deepbalance`` parser with every sub-command attached."""
    parser = _Parser(
        prog=PROG,
        description="Deep oversampling for imbalanced image data: datasets, imbalance "
        "profiles, samplers and a benchmark.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show the full traceback when a command fails"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    add_datasets_parser(subparsers)
    add_profiles_parser(subparsers)
    add_describe_parser(subparsers)
    _add_bench_parsers(subparsers)
    add_compare_parser(subparsers)
    add_resample_parser(subparsers)
    parser.set_defaults(func=partial(_no_command, tuple(subparsers.choices)))
    return parser


def _no_command(commands: tuple[str, ...], args) -> int:
    raise ValueError(f"choose a command: {', '.join(commands)} (see '{PROG} --help')")


def _fail(message: str, status: int = EXIT_USAGE) -> int:
    print(f"error: {_one_line(message)}", file=sys.stderr)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    0 on success, 2 on bad input (usage errors included), 1 when the work failed (see
    :func:`exit_status`), 130 when interrupted.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        return _fail(error_message(exc), exit_status(exc))
