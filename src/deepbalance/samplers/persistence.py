"""Saving fitted latent samplers, without pickle.

A saved sampler is a folder with two files:

``config.json``
    Format marker and version, the sampler's class and parameters, the latent
    strategy (a name, or an allowed class and its parameters), the autoencoder
    config, the class labels, the caller's image layout (ndim, dtype, shape), the
    training history and the SHA-256 of the weights file.
``weights.safetensors``
    The autoencoder's weights (``autoencoder.*``), every training image's latent
    code (``latent``) and its encoded label (``latent_labels``): what generating
    new images of a class needs (SMOTE between the class's codes, or the
    calibration distribution fitted on all codes). With ``residual=True`` also the
    fitted images (``images``, (N, C, H, W) in their own dtype: one byte per value
    for uint8), whose detail ``generate`` adds back, unless saved with
    ``include_images=False``. Its metadata holds the SHA-256 of ``config.json``
    (canonical JSON, without the weights checksum), so each file covers the other.

Loading builds nothing the files name beyond an allow-list: the sampler class is
one of :data:`SAVEABLE_SAMPLERS` (``LatentOversampler`` and its presets, which
register themselves with :func:`register_saveable`) and a strategy class one of
:func:`saveable_strategies` (imbalanced-learn's over-samplers and
:class:`~deepbalance.samplers.calibration.WeightedCalibration`); the stored labels
are checked against the stored classes, and stored images against the codes' count and
the layout's shape and dtype. The checksums detect damaged, truncated or edited files;
they do not authenticate them, so load only saves you trust. A load that fails returns
nothing: the sampler is assembled only once every part has been checked. Saves of format
versions 2 and 3 (the autoencoder's settings as flat sampler parameters; 2 before images were
stored) still load, their settings folded into an ``Autoencoder``.

The folder is written beside its destination under a temporary name and renamed
into place, so a reader never sees half a save. The autoencoder cache lives in
:mod:`deepbalance.samplers.autoencoder_cache` (its names are re-exported here).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path

import imblearn.over_sampling
import numpy as np
import torch
from imblearn.over_sampling.base import BaseOverSampler
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from .._checks import fsync_directory, fsync_file
from .._version import __version__
from ..nets.autoencoders import AutoencoderConfig, build_autoencoder
from .autoencoder import Autoencoder
from .autoencoder_cache import (
    CACHE_FORMAT,
    cache_key,
    load_cached_autoencoder,
    store_cached_autoencoder,
)
from .base import INTEGER_SCALES, ImageLayout
from .calibration import WeightedCalibration

__all__ = [
    "CACHE_FORMAT",
    "CONFIG_FILE",
    "FORMAT",
    "FORMAT_VERSION",
    "SAVEABLE_SAMPLERS",
    "WEIGHTS_FILE",
    "cache_key",
    "config_sha256",
    "load_cached_autoencoder",
    "load_sampler",
    "register_saveable",
    "save_sampler",
    "saveable_strategies",
    "store_cached_autoencoder",
    "strategy_from_json",
    "strategy_to_json",
]

FORMAT = "deepbalance-latent-sampler"
#: 2: config.json covered by a checksum in the weights' metadata; 3: the fitted images
#: (``residual=True``) stored beside the codes; 4: the autoencoder's settings nested
#: (``"autoencoder": {"class": ..., "params": {...}}``) instead of flat sampler parameters
FORMAT_VERSION = 4
#: format versions :func:`load_sampler` reads (2: saved without images; 2 and 3: flat)
READABLE_VERSIONS = (2, 3, 4)
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.safetensors"
#: layouts a saved sampler may restore images to
LAYOUT_DTYPES = (*(d.str for d in INTEGER_SCALES), *(np.dtype(t).str for t in ("f2", "f4", "f8")))

#: ``"module:qualname"`` -> sampler class that :func:`load_sampler` may build
SAVEABLE_SAMPLERS: dict[str, type] = {}


def _class_path(kind: type) -> str:
    return f"{kind.__module__}:{kind.__qualname__}"


def register_saveable(cls: type) -> type:
    """Allow :func:`load_sampler` to build sampler class ``cls`` (usable as a decorator)."""
    if not isinstance(cls, type) or not hasattr(cls, "_strategy_spec"):
        raise TypeError(f"cls={cls!r} must be a LatentOversampler class")
    SAVEABLE_SAMPLERS[_class_path(cls)] = cls
    return cls


def saveable_strategies() -> dict[str, type]:
    """``"module:qualname"`` -> strategy class a save may name: imbalanced-learn's
    over-samplers and :class:`~deepbalance.samplers.calibration.WeightedCalibration`."""
    allowed = {_class_path(WeightedCalibration): WeightedCalibration}
    for name in imblearn.over_sampling.__all__:
        obj = getattr(imblearn.over_sampling, name)
        if isinstance(obj, type) and issubclass(obj, BaseOverSampler):
            allowed[_class_path(obj)] = obj
    return allowed


# ---------------------------------------------------------------- parameters as JSON


def _encode_param(value):
    """``value`` as JSON-native data that :func:`_decode_param` turns back, or raise TypeError."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (list, tuple)):
        return [_encode_param(v) for v in value]
    if isinstance(value, dict):
        # keys may be ints (class labels): keep them typed as [key, value] pairs
        return {"__items__": [[_encode_param(k), _encode_param(v)] for k, v in value.items()]}
    raise TypeError(type(value).__name__)


def _decode_param(value):
    if isinstance(value, dict) and "__items__" in value:
        return {_decode_param(k): _decode_param(v) for k, v in value["__items__"]}
    if isinstance(value, list):
        return [_decode_param(v) for v in value]
    return value


def strategy_to_json(spec):
    """A strategy spec (name, imblearn over-sampler or WeightedCalibration) as JSON data."""
    if isinstance(spec, str):
        return {"name": spec}
    kind = type(spec)
    if _class_path(kind) not in saveable_strategies():
        raise ValueError(
            f"strategy={spec!r} cannot be saved: only strategy names, imbalanced-learn "
            "over-samplers and WeightedCalibration with plain parameters can; pass strategy "
            "by name or refit after loading"
        )
    try:
        params = {k: _encode_param(v) for k, v in spec.get_params(deep=False).items()}
    except TypeError as err:
        raise ValueError(
            f"strategy={spec!r} has a parameter of type {err} that cannot be saved as JSON; "
            "use plain values (numbers, strings) for its parameters"
        ) from None
    return {"class": _class_path(kind), "params": params}


def _allowed(path, allowed: dict[str, type], what: str) -> type:
    if not isinstance(path, str) or path not in allowed:
        raise ValueError(
            f"saved {what} names {path!r}, which is not an allowed {what} class (one of "
            f"{', '.join(sorted(allowed))}); the save is damaged or was not written by "
            "deepbalance"
        )
    return allowed[path]


def _build(cls: type, params, what: str):
    if not isinstance(params, dict):
        raise ValueError(f"saved {what} parameters must be a JSON object, got {params!r}")
    unknown = sorted(set(params) - set(cls._get_param_names()))
    if unknown:
        raise ValueError(
            f"saved {what} {cls.__name__} has unknown parameters {unknown}; was it saved by "
            "another deepbalance version?"
        )
    return cls(**{k: _decode_param(v) for k, v in params.items()})


def strategy_from_json(data):
    """Inverse of :func:`strategy_to_json`; builds only classes of :func:`saveable_strategies`."""
    if not isinstance(data, dict):
        raise ValueError(f"saved strategy must be a JSON object, got {data!r}")
    if "name" in data:
        if not isinstance(data["name"], str):
            raise ValueError(f"saved strategy name {data['name']!r} must be a string")
        return data["name"]
    cls = _allowed(data.get("class"), saveable_strategies(), "strategy")
    return _build(cls, data.get("params", {}), "strategy")


def config_sha256(config: dict) -> str:
    """Hex SHA-256 of a sampler config as canonical JSON, without its ``weights_sha256``."""
    body = {k: v for k, v in config.items() if k != "weights_sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- saving samplers


@contextmanager
def _atomic_dir(path: Path):
    """Yield a temporary folder beside ``path``; swap it into place on success.

    Its files and the folder are flushed to disk (fsync) before the rename, and the
    parent folder after it, so a crash leaves the old save or the new one, whole.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        for file in tmp.iterdir():
            fsync_file(file)
        fsync_directory(tmp)
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, old / "previous")
            os.replace(tmp, path)
            fsync_directory(path.parent)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
            fsync_directory(path.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_sampler(sampler, path, *, include_images=True) -> Path:
    """Save a fitted :class:`~deepbalance.samplers.latent.LatentOversampler` to folder ``path``.

    Parameters
    ----------
    sampler : LatentOversampler or one of its presets
        Fitted (``fit_resample`` was called).
    path : str or path-like
        Folder to write. An existing save there is replaced; any other existing
        file or non-empty folder is refused.
    include_images : bool, default=True
        Store the fitted images when the sampler has ``residual=True`` (N·C·H·W values in
        their dtype, e.g. one byte each for uint8), so the loaded sampler generates without
        ``X``; see :meth:`LatentOversampler.save`.

    Returns
    -------
    Path
        The folder.
    """
    if _class_path(type(sampler)) not in SAVEABLE_SAMPLERS:
        raise TypeError(
            f"sampler must be a LatentOversampler or one of its presets (or a subclass "
            f"registered with register_saveable), got {type(sampler).__name__}"
        )
    if not hasattr(sampler, "latent_"):
        raise ValueError(
            f"{type(sampler).__name__} is not fitted; call fit_resample(X, y) before save()"
        )
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path={path!r} must be a str or path-like")
    if not isinstance(include_images, bool):
        raise TypeError(f"include_images={include_images!r} must be True or False")
    path = Path(path)
    if path.exists() and not (path / CONFIG_FILE).is_file():
        if path.is_file() or any(path.iterdir()):
            raise ValueError(
                f"path={str(path)!r} exists and is not a saved sampler; pass a new folder name"
            )
    params = {}
    for name, value in sampler.get_params(deep=False).items():
        if name == "strategy":
            continue
        if name == "autoencoder" and isinstance(value, Autoencoder):
            params[name] = {"class": _class_path(Autoencoder), "params": value.get_params()}
            continue
        if name == "random_state" and isinstance(value, np.random.RandomState):
            warnings.warn(
                "random_state is a RandomState instance and is saved as None; pass an int "
                "random_state to save a reproducible sampler",
                UserWarning,
                stacklevel=3,
            )
            value = None
        try:
            params[name] = _encode_param(value)
        except TypeError:
            raise ValueError(
                f"{name}={value!r} cannot be saved as JSON; set a plain value with "
                f"sampler.set_params({name}=...) before save()"
            ) from None
    layout = sampler.layout_
    model = sampler.autoencoder_
    tensors = {
        f"autoencoder.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()
    }
    tensors["latent"] = torch.from_numpy(np.ascontiguousarray(sampler.latent_, dtype=np.float32))
    tensors["latent_labels"] = torch.from_numpy(
        np.ascontiguousarray(sampler.latent_labels_, dtype=np.int64)
    )
    images = getattr(sampler, "images_", None)
    with_images = bool(include_images and sampler.residual is True and images is not None)
    if with_images:
        tensors["images"] = torch.from_numpy(np.ascontiguousarray(images))
    classes = np.asarray(sampler.classes_)
    config = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "deepbalance_version": __version__,
        "sampler": _class_path(type(sampler)),
        "params": params,
        "strategy": strategy_to_json(sampler._strategy_spec()),
        "autoencoder": model.config.to_dict(),
        "classes": [_encode_param(c) for c in classes.tolist()],
        "classes_dtype": classes.dtype.str,
        "layout": {
            "ndim": layout.ndim,
            "dtype": np.dtype(layout.dtype).str,
            "image_shape": list(layout.image_shape),
        },
        "history": sampler.history_,
        "images": with_images,
    }
    config = json.loads(json.dumps(config))  # exactly what a reader will see
    metadata = {"format": FORMAT, "config_sha256": config_sha256(config)}
    with _atomic_dir(path) as tmp:
        save_file(tensors, str(tmp / WEIGHTS_FILE), metadata=metadata)
        config["weights_sha256"] = _sha256(tmp / WEIGHTS_FILE)
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=1))
    return path


def _check_stored_labels(classes, latent, latent_labels, ae_config, config_path):
    """The stored codes, labels and classes must agree (a damaged save fails here)."""
    if classes.ndim != 1 or len(classes) < 2 or len(np.unique(classes)) != len(classes):
        raise ValueError(
            f"{config_path} lists classes {classes.tolist()!r}; a save holds two or more "
            "distinct classes"
        )
    if not np.array_equal(np.sort(classes), classes):
        raise ValueError(f"{config_path} lists classes {classes.tolist()!r} out of order")
    if latent.ndim != 2 or latent.shape[1] != ae_config.latent_dim:
        raise ValueError(
            f"the stored latent codes have shape {tuple(latent.shape)} but the autoencoder's "
            f"latent_dim is {ae_config.latent_dim}; the save is corrupted"
        )
    if latent_labels.shape != (len(latent),):
        raise ValueError(
            f"the save holds {len(latent)} latent codes but labels of shape "
            f"{tuple(latent_labels.shape)}; the save is corrupted"
        )
    counts = np.bincount(latent_labels, minlength=len(classes)) if latent_labels.size else []
    if latent_labels.size == 0 or latent_labels.min() < 0 or len(counts) != len(classes):
        raise ValueError(
            f"the stored labels do not index the {len(classes)} classes of {config_path}; "
            "the save is corrupted"
        )
    empty = [classes[i].item() for i in np.flatnonzero(np.asarray(counts) == 0)]
    if empty:
        raise ValueError(
            f"{config_path} lists classes {empty!r} that no stored label has; the save is corrupted"
        )


def _check_stored_images(images, latent, layout, stored, weights_path):
    """The stored images (or their absence) must agree with the config, codes and layout."""
    if not isinstance(stored, bool):
        raise ValueError(f"{weights_path.parent / CONFIG_FILE} has images={stored!r}, not a bool")
    if stored != (images is not None):
        held = "holds no images" if images is None else "holds images"
        said = "lists them" if stored else "lists none"
        raise ValueError(
            f"{weights_path} {held} but its {CONFIG_FILE} {said}; the save is corrupted — "
            "save the sampler again"
        )
    if images is None:
        return
    expected = (len(latent), *layout.image_shape)
    if tuple(images.shape) != expected:
        raise ValueError(
            f"{weights_path} holds images of shape {tuple(images.shape)} but {len(latent)} "
            f"latent codes of {layout.image_shape} images, which need {expected}; the save is "
            "corrupted — save the sampler again"
        )
    if images.dtype != layout.dtype:
        raise ValueError(
            f"{weights_path} holds {images.dtype} images but the fitted images were "
            f"{layout.dtype}; the save is corrupted — save the sampler again"
        )
    if images.dtype.kind == "f" and not (
        np.isfinite(images).all() and images.min() >= 0.0 and images.max() <= 1.0
    ):
        raise ValueError(
            f"{weights_path} holds float images outside [0, 1] (or NaN); the save is corrupted"
        )


def _layout(info, ae_config, config_path) -> ImageLayout:
    ndim = int(info["ndim"])
    dtype = np.dtype(info["dtype"])
    shape = tuple(int(s) for s in info["image_shape"])
    if ndim not in (2, 3, 4) or dtype.str not in LAYOUT_DTYPES:
        raise ValueError(
            f"{config_path} has layout ndim={ndim}, dtype={dtype}; a save restores 2-D to 4-D "
            "uint8, uint16 or float images"
        )
    if shape != tuple(ae_config.image_shape):
        raise ValueError(
            f"{config_path} has image_shape {shape} but its autoencoder takes "
            f"{tuple(ae_config.image_shape)}; the save is corrupted"
        )
    return ImageLayout(ndim, dtype, shape)


def load_sampler(path, *, device="cpu"):
    """Load a sampler saved by :func:`save_sampler`; it can ``generate`` without refitting.

    Parameters
    ----------
    path : str or path-like
        Folder written by :func:`save_sampler`.
    device : str or torch.device, default="cpu"

    Returns
    -------
    LatentOversampler
        Of the saved class, fitted.

    Raises
    ------
    FileNotFoundError
        If ``path`` or one of its files is missing.
    ValueError
        If the folder is not a deepbalance sampler save, its files are corrupted or
        edited (checksums), or it names classes outside the allow-list.
    """
    from ..nets.device import resolve_device

    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path={path!r} must be a str or path-like")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no saved sampler at {str(path)!r}; check the path")
    config_path, weights_path = path / CONFIG_FILE, path / WEIGHTS_FILE
    if not config_path.is_file():
        raise ValueError(
            f"{str(path)!r} is not a saved deepbalance sampler (no {CONFIG_FILE}); pass the "
            "folder written by sampler.save(path)"
        )
    try:
        config = json.loads(config_path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{config_path} is corrupted (not JSON: {err})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ValueError(f"{config_path} is not a deepbalance sampler config (format marker)")
    if config.get("version") not in READABLE_VERSIONS:
        raise ValueError(
            f"{config_path} has format version {config.get('version')!r}; this deepbalance "
            f"reads versions {', '.join(map(str, READABLE_VERSIONS))} — load it with the "
            "version that saved it"
        )
    if not weights_path.is_file():
        raise FileNotFoundError(f"{weights_path} is missing; the save is incomplete")
    if _sha256(weights_path) != config.get("weights_sha256"):
        raise ValueError(
            f"{weights_path} is corrupted or truncated ({weights_path.stat().st_size} bytes; "
            f"its SHA-256 differs from the one {CONFIG_FILE} records) — save the sampler again"
        )
    try:
        with safe_open(str(weights_path), framework="pt") as f:
            stored = (f.metadata() or {}).get("config_sha256")
    except SafetensorError as err:
        raise ValueError(f"{weights_path} is corrupted: {err}") from None
    if stored != config_sha256(config):
        raise ValueError(
            f"{config_path} does not match its checksum in {WEIGHTS_FILE}: it was edited or "
            "damaged after saving; save the sampler again"
        )
    try:
        cls = _allowed(config["sampler"], SAVEABLE_SAMPLERS, "sampler")
        params = dict(config["params"])
        if config["version"] < 4:  # flat autoencoder parameters, as LatentOversampler took them
            params = cls.fold_autoencoder_params(params)
        elif isinstance(params.get("autoencoder"), dict):
            stored = params["autoencoder"]
            kind = _allowed(
                stored.get("class"), {_class_path(Autoencoder): Autoencoder}, "autoencoder"
            )
            params["autoencoder"] = _build(kind, stored.get("params"), "autoencoder")
        if "strategy" in cls._get_param_names():
            params["strategy"] = strategy_from_json(config["strategy"])
        params["device"] = device
        sampler = _build(cls, params, "sampler")
        ae_config = AutoencoderConfig.from_dict(config["autoencoder"])
        layout = _layout(config["layout"], ae_config, config_path)
        classes = np.array(config["classes"], dtype=_classes_dtype(config["classes_dtype"]))
        tensors = load_file(str(weights_path))
        latent = tensors["latent"].numpy()
        latent_labels = tensors["latent_labels"].numpy()
        _check_stored_labels(classes, latent, latent_labels, ae_config, config_path)
        images = tensors["images"].numpy() if "images" in tensors else None
        _check_stored_images(images, latent, layout, config.get("images", False), weights_path)
        model = build_autoencoder(ae_config)
        prefix = "autoencoder."
        model.load_state_dict(
            {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        )
    except (KeyError, TypeError, RuntimeError, SafetensorError) as err:
        raise ValueError(
            f"{str(path)!r} is an incomplete or corrupted sampler save: {err}"
        ) from err
    sampler.autoencoder_ = model.to(resolve_device(device)).eval()
    sampler.latent_ = latent
    sampler.latent_labels_ = latent_labels
    sampler.images_ = images
    sampler.classes_ = classes
    sampler.image_shape_ = layout.image_shape
    sampler.layout_ = layout
    sampler.history_ = config["history"]
    sampler.autoencoder_from_cache_ = False
    return sampler


def _classes_dtype(text) -> np.dtype:
    dtype = np.dtype(text)
    if dtype.kind not in "biufU":
        raise ValueError(f"saved classes_dtype {text!r} is not a label dtype (ints or strings)")
    return dtype
