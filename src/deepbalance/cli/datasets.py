"""``deepbalance datasets``, ``profiles`` and ``describe``: what data there is and how it is
imbalanced."""

from __future__ import annotations

import argparse

from .._plain import plain
from .common import EXIT_OK, add_json, collect, key_value, print_json, row, stdout_console, table

# --------------------------------------------------------------------------------------------
# datasets


def add_datasets_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "datasets",
        help="list the datasets, whether they are available here and how many images",
        description="List the registered datasets: available here or not, where, images per split.",
    )
    parser.add_argument("--data-dir", help="look only in this folder")
    add_json(parser, "the list")
    parser.set_defaults(func=run_datasets)
    return parser


def run_datasets(args) -> int:
    from ..data.registry import list_datasets

    infos = list_datasets(data_dir=args.data_dir)
    if getattr(args, "json", False):
        print_json(
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
    shown = table("Datasets", columns)
    for info in infos:
        images = ", ".join(f"{split} {n}" for split, n in (info.n_images or {}).items())
        available = "yes" if info.available else "no"
        row(shown, info.name, available, images or "-", info.location or "-", info.description)
    stdout_console().print(shown)
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
    add_json(parser, "the list")
    parser.set_defaults(func=run_profiles)
    return parser


def run_profiles(args) -> int:
    from ..data.profiles import list_profiles

    if getattr(args, "json", False):
        print_json(
            [
                {
                    "name": profile.name,
                    "source": profile.source,
                    "description": profile.description,
                    "counts": None if profile.counts is None else [int(n) for n in profile.counts],
                    "params": {name: plain(v, unknown="str") for name, v in profile.params.items()},
                }
                for profile in list_profiles()
            ]
        )
        return EXIT_OK

    columns = [("name", {"no_wrap": True}), "source", "counts / description", "parameters"]
    shown = table("Imbalance profiles", columns)
    for profile in list_profiles():
        if profile.counts is not None:
            what = " ".join(str(n) for n in profile.counts)
        else:
            what = profile.description
        params = ", ".join(
            name if default is None else f"{name}={_format_default(default)}"
            for name, default in profile.params.items()
        )
        row(shown, profile.name, profile.source, what, params or "-")
    out = stdout_console()
    out.print(shown)
    out.print(
        "Try one: deepbalance describe DATASET --profile NAME [--param key=value ...]",
        soft_wrap=True,
    )
    return 0


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
        type=key_value,
        metavar="KEY=VALUE",
        help="dataset option (repeatable), e.g. --option size=32",
    )
    parser.add_argument("--profile", help="imbalance profile (see 'deepbalance profiles')")
    parser.add_argument("--seed", type=int, default=0, help="profile seed (default: 0)")
    parser.add_argument(
        "--param",
        action="append",
        type=key_value,
        metavar="KEY=VALUE",
        help="profile parameter (repeatable): numbers, lists a,b,c, dicts {0:100,1:10}",
    )
    add_json(parser, "the counts")
    parser.set_defaults(func=run_describe)
    return parser


def run_describe(args) -> int:
    from ..data.profiles import make_imbalanced
    from ..data.registry import load_dataset

    options = collect(args.option, "--option")
    params = collect(args.param, "--param")
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
        print_json(
            {
                "dataset": args.dataset,
                "split": args.split,
                "profile": args.profile,
                "seed": args.seed if args.profile else None,
                "params": {k: plain(v, unknown="str") for k, v in params.items()},
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
    shown = table(title, columns, show_footer=True)
    for index, (name, n) in enumerate(zip(data.class_names, counts, strict=True)):
        row(shown, index, name, int(n), f"{100.0 * n / total:.1f}%" if total else "-")
    out = stdout_console()
    out.print(shown)
    out.print(f"source: {data.source}", soft_wrap=True)
    out.print(f"images: {total} of shape {c}x{h}x{w}, {data.n_classes} classes")
    out.print(f"imbalance ratio (largest / smallest class): {data.imbalance_ratio():.2f}")
    return 0
