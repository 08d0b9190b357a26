"""``deepbalance resample``: write a balanced copy of an image folder (see
:func:`deepbalance.workflows.resample.resample_folder`)."""

from __future__ import annotations

from .common import collect, key_value, parse_size, plain_warnings, stdout_console

__all__ = ["add_resample_parser"]


def run_resample(args) -> int:
    """Handler of ``deepbalance resample``."""
    with plain_warnings():
        return _run_resample(args)


def _run_resample(args) -> int:
    from rich.table import Table
    from rich.text import Text

    from ..workflows.resample import resample_folder

    result = resample_folder(
        args.source,
        args.out,
        method=args.method,
        seed=args.seed,
        size=parse_size(args.size),
        mode=args.mode,
        overwrite=args.overwrite,
        link=not args.copy,
        sampler_params=collect(args.sampler_param, "--sampler-param") or None,
        device=args.device,
    )
    console = stdout_console()
    table = Table(title=f"{result.out} ({args.method}, seed {args.seed})")
    for name in ("class", "real", "synthetic", "total"):
        table.add_column(name, justify="right" if name != "class" else "left")
    for name, (real, syn) in result.counts.items():
        table.add_row(Text(name), Text(str(real)), Text(str(syn)), Text(str(real + syn)))
    console.print(table)
    how = f"{result.linked} hard-linked, {result.n_real - result.linked} copied"
    console.print(f"real images: {result.n_real} ({how}); synthetic PNGs: {result.n_synthetic}")
    console.print(f"provenance: {result.out / 'provenance.csv'}; sampler: {result.sampler_path}")
    return 0


def add_resample_parser(subparsers):
    """Register ``deepbalance resample`` on the command line's sub-parsers."""
    parser = subparsers.add_parser(
        "resample",
        help="write a balanced copy of your image folder (real + synthetic PNGs, provenance)",
        description="Fit a method's sampler on a folder (or CSV) of images and write a balanced "
        "folder: the real images (hard-linked or copied), synthetic PNGs in the same class "
        "folders, provenance.csv and the fitted sampler (.sampler/). Built in a temporary "
        "folder and renamed at the end.",
    )
    parser.add_argument("source", metavar="FOLDER|labels.csv")
    parser.add_argument("--out", required=True, help="the balanced folder to write")
    parser.add_argument(
        "--method",
        default="deepsmote",
        help="a method with a sampler (default: deepsmote, DeepSMOTE() with its defaults: "
        "residual decodings + copies of real images; deepsmote-published: the paper's plain "
        "decodings)",
    )
    parser.add_argument("--seed", type=int, default=0, help="sampler seed (default: 0)")
    parser.add_argument("--size", help="resize to N or HxW before resampling")
    parser.add_argument(
        "--mode", choices=("L", "RGB"), help="L: 1 channel, RGB: 3 (default: inferred)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    parser.add_argument("--copy", action="store_true", help="copy real images, never hard-link")
    parser.add_argument(
        "--sampler-param",
        action="append",
        type=key_value,
        metavar="KEY=VALUE",
        help="sampler parameter (repeatable), e.g. --sampler-param epochs=5",
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    parser.set_defaults(func=run_resample)
    return parser
