"""Write a balanced copy of an image folder (``deepbalance resample``).

:func:`resample_folder` reads a folder (or CSV) the way ``deepbalance compare`` does, fits a
registered method's sampler on the training images, and writes ``out``:

- every real image, hard-linked to the original when the file system allows (else copied;
  ``link=False`` always copies), at its path relative to the source (CSV sources:
  ``<class>/<path>``); test and validation images of a source with splits are written
  unchanged under their split folder and never resampled;
- each synthetic image as a PNG in its class folder (``synthetic-<method>-<n>.png``, in the
  training split's folder when the source has splits);
- ``provenance.csv``: ``file,class,synthetic,base_file,neighbour_file,lambda`` per image, from
  the sampler's ``provenance_`` (base and neighbour are the real images a synthetic one was
  interpolated between, ``lambda`` the interpolation factor; empty where the strategy has none);
- ``.sampler/``: the fitted sampler. Latent samplers (DeepSMOTE, ...) are saved with
  ``save()`` (safetensors + JSON, with the training images when the sampler adds their detail
  back, ``residual=True``: one byte per uint8 pixel; ``LatentOversampler.load`` reloads it and
  can generate more);
  pixel samplers learn nothing beyond the images themselves, so ``.sampler/sampler.json`` holds
  their class and parameters only — refitting it on the real images with the same
  ``random_state`` reproduces the synthetic ones. The folder is hidden so that reading ``out``
  as an image folder does not take it for a class.

Nothing is half-written: the folder is built in a temporary folder beside ``out`` and renamed
into place at the end; an interrupted run removes it (a killed process can leave a hidden
``.<out>.*.tmp`` folder, never a partial ``out``, and the next run into ``out`` deletes it).
"""

from __future__ import annotations

import csv
import glob
import io
import json
import math
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.user_images import MAX_BAD_FRACTION, read_inventory, scan_images

__all__ = ["PROVENANCE_COLUMNS", "ResampleResult", "resample_folder"]

PROVENANCE_COLUMNS = ("file", "class", "synthetic", "base_file", "neighbour_file", "lambda")
SAMPLER_FOLDER = ".sampler"


@dataclass(frozen=True)
class ResampleResult:
    """What :func:`resample_folder` wrote.

    Attributes
    ----------
    out : Path
    counts : dict
        ``{class: (real, synthetic)}`` of the resampled (training) images.
    n_real, n_synthetic : int
        Images written (real ones include test/validation images).
    linked : int
        Real images hard-linked rather than copied.
    sampler_path : Path
    """

    out: Path
    counts: dict
    n_real: int
    n_synthetic: int
    linked: int
    sampler_path: Path


def _check_out(out, source: Path, overwrite: bool) -> Path:
    if isinstance(out, bytes) or not isinstance(out, str | os.PathLike):
        raise TypeError(f"out={out!r} must be a folder path; pass e.g. out='balanced'")
    if not isinstance(overwrite, bool):
        raise TypeError(f"overwrite={overwrite!r} must be True or False")
    path = Path(out).expanduser().resolve()
    folder = source if source.is_dir() else source.parent
    if path == folder or folder in path.parents:
        raise ValueError(
            f"out={str(out)!r} is inside the source folder {folder}; it would be read as a "
            "class folder next time: pick a folder outside it, e.g. out='../balanced'"
        )
    if path in folder.parents:
        raise ValueError(
            f"out={str(out)!r} contains the source {folder}; replacing it would delete your "
            "images: pick another folder"
        )
    if path.exists() and not overwrite:
        raise ValueError(
            f"out={str(out)!r} exists; pass --overwrite (overwrite=True) to replace it, or "
            "choose another folder"
        )
    if path.exists() and not path.is_dir():
        raise ValueError(f"out={str(out)!r} is a file; pass a folder path")
    return path


#: In a work folder beside ``out``: the id of the process building it.
OWNER_FILE = ".owner-pid"


def _remove_abandoned(out_path: Path) -> None:
    """Delete the ``.<out>.*.tmp`` / ``.old`` work folders of processes that were killed
    (their owner process no longer runs); folders of a live process are left alone."""
    for folder in out_path.parent.glob(f".{glob.escape(out_path.name)}.*"):
        if not folder.is_dir() or folder.suffix not in (".tmp", ".old"):
            continue
        try:
            pid = int((folder / OWNER_FILE).read_text(encoding="utf-8").strip())
        except (OSError, ValueError):
            continue  # not one of ours, or still being created: leave it
        if not _process_alive(pid):
            shutil.rmtree(folder, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _place(src: Path, dst: Path, link: bool) -> bool:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if link:
        try:
            os.link(src, dst)
            return True
        except OSError:
            pass  # another file system, or links not allowed: copy
    shutil.copy2(src, dst)
    return False


def _png(image: np.ndarray) -> bytes:
    from PIL import Image

    array = image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array), mode="L" if image.shape[0] == 1 else "RGB").save(
        buffer, format="PNG"
    )
    return buffer.getvalue()


def _sampler_record(sampler, method, class_names) -> dict:
    params = {k: v for k, v in sampler.get_params(deep=False).items()}
    return {
        "format": "deepbalance-pixel-sampler",
        "class": f"{type(sampler).__module__}.{type(sampler).__name__}",
        "method": method.name,
        "params": json.loads(json.dumps(params, default=repr)),
        "classes": list(class_names),
        "synthetic_per_class": {
            class_names[int(k)]: int(v) for k, v in sampler.sampling_strategy_.items()
        },
        "note": "a pixel sampler has no learned state: rebuild it with these parameters and "
        "fit_resample the real images of this folder to regenerate the synthetic ones",
    }


def resample_folder(
    source,
    out,
    *,
    method: str = "deepsmote",
    seed: int = 0,
    size=None,
    mode: str | None = None,
    overwrite: bool = False,
    link: bool = True,
    sampling_strategy="auto",
    sampler_params: dict | None = None,
    device: str = "cpu",
    max_bad: float = MAX_BAD_FRACTION,
) -> ResampleResult:
    """Write a balanced copy of an image folder (or CSV) to ``out`` (module notes).

    Parameters
    ----------
    source : path
        A folder with one sub-folder per class (or ``train/``... split folders: only ``train``
        is resampled), or a CSV of ``path,label[,split]``.
    out : path
        The folder to write; refused if it exists unless ``overwrite``.
    method : str
        A registered method with a sampler (``random-oversampling``, ``pixel-smote``,
        ``deepsmote`` = ``DeepSMOTE()`` with its defaults, ``deepsmote-published``, ...); its
        loss-level parts do not apply here.
    seed : int
        The sampler's ``random_state``.
    size : int or (H, W), optional
        Resize the images the sampler sees (and so the synthetic ones); real files are copied
        as they are.
    mode : {None, "L", "RGB"}
        ``None``: 1 channel when every file is grayscale.
    overwrite : bool
        Replace an existing ``out``.
    link : bool
        Hard-link real images when possible (False: always copy).
    sampling_strategy
        As in imbalanced-learn (default ``"auto"``: every class up to the largest).
    sampler_params : dict, optional
        Extra sampler parameters (e.g. ``{"epochs": 5}`` for DeepSMOTE's autoencoder).
    device : str
    max_bad : float
        Largest share of files that may be skipped as not images or undecodable.

    Returns
    -------
    ResampleResult
    """
    from .._checks import check_int
    from ..methods import METHODS, get_method

    seed = check_int(seed, "seed", min_value=0, max_value=2**32 - 1)
    if not isinstance(link, bool):
        raise TypeError(f"link={link!r} must be True or False")
    found = (
        get_method(method, sampler_params=sampler_params) if sampler_params else get_method(method)
    )
    if found.sampler is None:
        with_sampler = [n for n, m in METHODS.items() if m.sampler is not None]
        raise ValueError(
            f"method={method!r} changes the training loss, not the data, so it has no images to "
            f"write; pick a method with a sampler: {', '.join(with_sampler)}"
        )
    inventory = scan_images(source)
    out_path = _check_out(out, inventory.source, overwrite)
    decoded = read_inventory(inventory, size=size, mode=mode, max_bad=max_bad)
    train_rows = [i for i, s in enumerate(decoded.splits) if s in ("", "train")]
    class_names = tuple(sorted({decoded.classes[i] for i in train_rows}))
    train = decoded.image_set(class_names, train_rows)
    sampler = found.make_sampler(random_state=seed, device=device)
    sampler.set_params(sampling_strategy=sampling_strategy)
    X, y = sampler.fit_resample(train.images, train.labels)
    mask = np.asarray(sampler.synthetic_mask_, dtype=bool)
    synthetic, synthetic_labels = np.asarray(X)[mask], np.asarray(y)[mask]
    provenance = sampler.provenance_
    if getattr(sampler, "soft_labels_", None) is not None:
        warnings.warn(
            f"method {method!r} gives its synthetic rows soft labels (a share of another "
            "class), which a folder of images cannot hold: each file goes under its base "
            "class, which holds at least half of its target; the provenance file keeps the "
            "other class (neighbor) and its share (lam)",
            UserWarning,
            stacklevel=2,
        )

    def target(i: int) -> str:
        file = decoded.files[i]
        if inventory.kind != "csv":
            return file
        split = decoded.splits[i]
        return "/".join(p for p in (split, decoded.classes[i], file) if p)

    real_paths = {i: target(i) for i in range(len(decoded.files))}
    taken = set(real_paths.values())
    prefix = "train/" if decoded.splits[train_rows[0]] == "train" else ""
    stem = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in found.name)
    syn_paths = []
    counter = 0
    for label in synthetic_labels:
        while True:
            counter += 1
            name = f"{prefix}{class_names[int(label)]}/synthetic-{stem}-{counter:06d}.png"
            if name not in taken:
                break
        taken.add(name)
        syn_paths.append(name)

    out_path.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(out_path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_path.name}.", suffix=".tmp", dir=out_path.parent))
    (tmp / OWNER_FILE).write_text(f"{os.getpid()}\n", encoding="utf-8")
    linked = 0
    try:
        for i, rel in real_paths.items():
            linked += _place(inventory.root / decoded.files[i], tmp / rel, link)
        for image, rel in zip(synthetic, syn_paths, strict=True):
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_bytes(_png(np.asarray(image, dtype=np.uint8)))
        with open(tmp / "provenance.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(PROVENANCE_COLUMNS)
            for i, rel in real_paths.items():
                writer.writerow([rel, decoded.classes[i], 0, "", "", ""])
            for j, rel in enumerate(syn_paths):
                record = provenance[j]
                base, neighbour, lam = record["base_index"], record["neighbor_index"], record["lam"]
                writer.writerow(
                    [
                        rel,
                        class_names[int(synthetic_labels[j])],
                        1,
                        real_paths[train_rows[base]] if base is not None and base >= 0 else "",
                        real_paths[train_rows[neighbour]]
                        if neighbour is not None and neighbour >= 0
                        else "",
                        "" if lam is None or not math.isfinite(lam) else f"{lam:.6g}",
                    ]
                )
        sampler_path = tmp / SAMPLER_FOLDER
        if hasattr(sampler, "save") and hasattr(sampler, "latent_"):
            sampler.save(sampler_path)
        else:
            sampler_path.mkdir()
            (sampler_path / "sampler.json").write_text(
                json.dumps(_sampler_record(sampler, found, class_names), indent=2, sort_keys=True)
                + "\n",
                encoding="utf-8",
            )
        (tmp / OWNER_FILE).unlink()
        if out_path.exists():
            old = Path(
                tempfile.mkdtemp(prefix=f".{out_path.name}.", suffix=".old", dir=out_path.parent)
            )
            (old / OWNER_FILE).write_text(f"{os.getpid()}\n", encoding="utf-8")
            os.replace(out_path, old / "previous")
            os.replace(tmp, out_path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    counts = {}
    for c, name in enumerate(class_names):
        counts[name] = (int((train.labels == c).sum()), int((synthetic_labels == c).sum()))
    return ResampleResult(
        out=out_path,
        counts=counts,
        n_real=len(real_paths),
        n_synthetic=len(syn_paths),
        linked=linked,
        sampler_path=out_path / SAMPLER_FOLDER,
    )
