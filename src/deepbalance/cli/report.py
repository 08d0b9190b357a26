"""``deepbalance report``: the markdown/HTML report of a results store, and its main tables."""

from __future__ import annotations

import sys

from .common import EXIT_OK, guarded, print_json, stdout_console

__all__ = ["add_report_parser"]


@guarded
def report(args) -> int:
    """Write the markdown/HTML report of a store and print its main tables."""
    from ..bench.report import load_protocols, print_tables, tables_data, write_report
    from ..bench.store import Store

    # read-only: a missing, empty or foreign file is refused and left as it was
    with Store(args.store, read_only=True) as store:
        protocols = load_protocols(store, args.spec)
        written = write_report(store, args.out, spec=args.spec, html_output=args.html)
        if args.json:
            print_json(tables_data(store, protocols=protocols))
        else:
            print_tables(store, console=stdout_console(markup=True), protocols=protocols)
    message = f"wrote {written[0]}" + (f" and {written[1]}" if args.html else "")
    print(message, file=sys.stderr if args.json else sys.stdout)
    return EXIT_OK


def add_report_parser(subparsers) -> None:
    """Register ``report`` on ``deepbalance``'s sub-parsers."""
    rep = subparsers.add_parser(
        "report",
        help="write a report (markdown/HTML, figures) from a results store",
        description="Tables of mean ± std and variance over seeds beside the papers' numbers, "
        "significance of the top method, curves, per-class recall and sample grids.",
    )
    rep.add_argument("store", metavar="STORE", help="results store (e.g. results.sqlite)")
    rep.add_argument("--out", default="report", help="output folder (default: report)")
    rep.add_argument("--html", action="store_true", help="also write report.html")
    rep.add_argument("--spec", help="only this spec's results")
    rep.add_argument(
        "--json", action="store_true", help="print the tables as JSON (unrounded numbers)"
    )
    rep.set_defaults(func=report)
