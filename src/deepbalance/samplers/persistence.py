"""Saving fitted latent samplers and caching trained autoencoders, without pickle.

A saved sampler is a folder with two files:

``config.json``
    Format marker and version, the sampler's class and parameters, the latent
    strategy (a name, or a deepbalance/imbalanced-learn class and its parameters),
    the autoencoder config, the class labels, the caller's image layout (ndim,
    dtype, shape), the training history and the SHA-256 of the weights file.
``weights.safetensors``
    The autoencoder's weights (``autoencoder.*``), every training image's latent
    code (``latent``) and its encoded label (``latent_labels``): what generating
    new images of a class needs (SMOTE between the class's codes, or the
    calibration distribution fitted on all codes).

The folder is written beside its destination under a temporary name and renamed
into place, so a reader never sees half a save.

The autoencoder cache (``cache_dir``) holds one safetensors file per trained
autoencoder, named by a hash of the autoencoder config, training settings, seed
and training data; its JSON metadata carries the config and history.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from .._checks import atomic_path
from .._version import __version__
from ..nets.autoencoder_training import TrainSettings
from ..nets.autoencoders import AutoencoderConfig, ConvAutoencoder, build_autoencoder
from .base import ImageLayout

FORMAT = "deepbalance-latent-sampler"
FORMAT_VERSION = 1
CACHE_FORMAT = "deepbalance-autoencoder-cache"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.safetensors"
#: modules whose classes a saved strategy may name (nothing else is imported on load)
TRUSTED_MODULES = ("deepbalance.", "imblearn.")


# ---------------------------------------------------------------- autoencoder cache


def cache_key(
    config: AutoencoderConfig, settings: TrainSettings, seed: int, X01: np.ndarray, y
) -> str:
    """Hex SHA-256 naming an autoencoder trained with these settings on this data."""
    h = hashlib.sha256()
    spec = {
        "format": CACHE_FORMAT,
        "version": FORMAT_VERSION,
        "config": config.to_dict(),
        "settings": settings.to_dict(),
        "seed": int(seed),
        "shape": list(X01.shape),
    }
    h.update(json.dumps(spec, sort_keys=True).encode())
    h.update(np.ascontiguousarray(X01, dtype=np.float32).tobytes())
    h.update(np.ascontiguousarray(y, dtype=np.int64).tobytes())
    return h.hexdigest()


def _cache_file(cache_dir, key: str) -> Path:
    return Path(cache_dir) / f"autoencoder-{key[:40]}.safetensors"


def load_cached_autoencoder(cache_dir, key: str, device) -> tuple[ConvAutoencoder, list] | None:
    """The cached ``(model, history)`` under ``key``, or None when absent or unreadable."""
    path = _cache_file(cache_dir, key)
    if not path.is_file():
        return None
    try:
        meta = _read_metadata(path)
        info = json.loads(meta["deepbalance"])
        if info.get("format") != CACHE_FORMAT or info.get("key") != key:
            return None
        model = build_autoencoder(AutoencoderConfig.from_dict(info["config"]))
        model.load_state_dict(load_file(path))
    except Exception as err:  # a damaged entry is retrained and overwritten, not fatal
        warnings.warn(f"ignoring unreadable autoencoder cache {path}: {err}", stacklevel=3)
        return None
    return model.to(device).eval(), info["history"]


def store_cached_autoencoder(cache_dir, key: str, model: ConvAutoencoder, history) -> Path:
    """Write ``model`` and its history to the cache under ``key`` (atomically)."""
    path = _cache_file(cache_dir, key)
    info = {
        "format": CACHE_FORMAT,
        "version": FORMAT_VERSION,
        "key": key,
        "config": model.config.to_dict(),
        "history": history,
    }
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic_path(path, suffix=".safetensors") as tmp:
        save_file(tensors, str(tmp), metadata={"deepbalance": json.dumps(info)})
    return path


def _read_metadata(path: Path) -> dict:
    with safe_open(str(path), framework="pt") as f:
        return f.metadata() or {}


# ---------------------------------------------------------------- parameters as JSON


def _plain(value):
    """``value`` as JSON-native data, or raise TypeError."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        # keys may be ints (class labels): keep them typed as [key, value] pairs
        return {"__items__": [[_plain(k), _plain(v)] for k, v in value.items()]}
    raise TypeError(type(value).__name__)


def _unplain(value):
    if isinstance(value, dict) and "__items__" in value:
        return {_unplain(k): _unplain(v) for k, v in value["__items__"]}
    if isinstance(value, list):
        return [_unplain(v) for v in value]
    return value


def strategy_to_json(spec):
    """A strategy spec (name, imblearn over-sampler or LatentStrategy) as JSON data."""
    if isinstance(spec, str):
        return {"name": spec}
    kind = type(spec)
    if not kind.__module__.startswith(TRUSTED_MODULES) or not hasattr(spec, "get_params"):
        raise ValueError(
            f"strategy={spec!r} cannot be saved: only names and deepbalance/imbalanced-learn "
            "strategies with plain parameters can; pass strategy by name or refit after loading"
        )
    try:
        params = {k: _plain(v) for k, v in spec.get_params(deep=False).items()}
    except TypeError as err:
        raise ValueError(
            f"strategy={spec!r} has a parameter of type {err} that cannot be saved as JSON; "
            "use plain values (numbers, strings) for its parameters"
        ) from None
    return {"class": f"{kind.__module__}:{kind.__qualname__}", "params": params}


def _import_trusted(path: str, what: str, base: type | None = None):
    module, _, name = path.partition(":")
    if not module.startswith(TRUSTED_MODULES) or not name:
        raise ValueError(f"saved {what} names {path!r}, which is not a deepbalance/imblearn class")
    try:
        obj = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise ValueError(
            f"saved {what} {path!r} does not exist in this installation; was it saved by "
            "another deepbalance version?"
        ) from None
    if not isinstance(obj, type) or (base is not None and not issubclass(obj, base)):
        raise ValueError(f"saved {what} {path!r} is not a {base.__name__ if base else 'class'}")
    return obj


def strategy_from_json(data):
    """Inverse of :func:`strategy_to_json`."""
    if "name" in data:
        return data["name"]
    cls = _import_trusted(data["class"], "strategy")
    return cls(**{k: _unplain(v) for k, v in data["params"].items()})


# ---------------------------------------------------------------- saving samplers


@contextmanager
def _atomic_dir(path: Path):
    """Yield a temporary folder beside ``path``; swap it into place on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, old / "previous")
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_sampler(sampler, path) -> Path:
    """Save a fitted :class:`~deepbalance.samplers.latent.LatentOversampler` to folder ``path``.

    Returns the folder. An existing save at ``path`` is replaced; any other existing
    file or non-empty folder is refused.
    """
    from .latent import LatentOversampler

    if not isinstance(sampler, LatentOversampler):
        raise TypeError(f"sampler must be a LatentOversampler, got {type(sampler).__name__}")
    if not hasattr(sampler, "latent_"):
        raise ValueError(
            f"{type(sampler).__name__} is not fitted; call fit_resample(X, y) before save()"
        )
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path={path!r} must be a str or path-like")
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
        if name == "random_state" and isinstance(value, np.random.RandomState):
            warnings.warn(
                "random_state is a RandomState instance and is saved as None; pass an int "
                "random_state to save a reproducible sampler",
                UserWarning,
                stacklevel=3,
            )
            value = None
        try:
            params[name] = _plain(value)
        except TypeError:
            raise ValueError(
                f"{name}={value!r} cannot be saved as JSON; set a plain value with "
                f"sampler.set_params({name}=...) before save()"
            ) from None
    kind = type(sampler)
    layout = sampler.layout_
    model = sampler.autoencoder_
    tensors = {
        f"autoencoder.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()
    }
    tensors["latent"] = torch.from_numpy(np.ascontiguousarray(sampler.latent_, dtype=np.float32))
    tensors["latent_labels"] = torch.from_numpy(
        np.ascontiguousarray(sampler.latent_labels_, dtype=np.int64)
    )
    classes = np.asarray(sampler.classes_)
    config = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "deepbalance_version": __version__,
        "sampler": f"{kind.__module__}:{kind.__qualname__}",
        "params": params,
        "strategy": strategy_to_json(sampler._strategy_spec()),
        "autoencoder": model.config.to_dict(),
        "classes": [_plain(c) for c in classes.tolist()],
        "classes_dtype": classes.dtype.str,
        "layout": {
            "ndim": layout.ndim,
            "dtype": np.dtype(layout.dtype).str,
            "image_shape": list(layout.image_shape),
        },
        "history": sampler.history_,
    }
    with _atomic_dir(path) as tmp:
        save_file(tensors, str(tmp / WEIGHTS_FILE), metadata={"format": FORMAT})
        config["weights_sha256"] = _sha256(tmp / WEIGHTS_FILE)
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=1))
    return path


def load_sampler(path, *, device="cpu"):
    """Load a sampler saved by :func:`save_sampler`; it can ``generate`` without refitting.

    Raises
    ------
    FileNotFoundError
        If ``path`` or one of its files is missing.
    ValueError
        If the folder is not a deepbalance sampler save, or its files are corrupted.
    """
    from ..nets.device import resolve_device
    from .latent import LatentOversampler

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
    if config.get("version") != FORMAT_VERSION:
        raise ValueError(
            f"{config_path} has format version {config.get('version')!r}; this deepbalance "
            f"reads version {FORMAT_VERSION} — load it with the version that saved it"
        )
    if not weights_path.is_file():
        raise FileNotFoundError(f"{weights_path} is missing; the save is incomplete")
    if _sha256(weights_path) != config.get("weights_sha256"):
        raise ValueError(f"{weights_path} is corrupted (checksum differs from {CONFIG_FILE})")
    try:
        tensors = load_file(str(weights_path))
        cls = _import_trusted(config["sampler"], "sampler", LatentOversampler)
        params = {k: _unplain(v) for k, v in config["params"].items()}
        if "strategy" in cls._get_param_names():
            params["strategy"] = strategy_from_json(config["strategy"])
        params["device"] = device
        sampler = cls(**params)
        ae_config = AutoencoderConfig.from_dict(config["autoencoder"])
        model = build_autoencoder(ae_config)
        prefix = "autoencoder."
        model.load_state_dict(
            {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        )
        layout_info = config["layout"]
        layout = ImageLayout(
            int(layout_info["ndim"]),
            np.dtype(layout_info["dtype"]),
            tuple(int(s) for s in layout_info["image_shape"]),
        )
        classes = np.array(config["classes"], dtype=np.dtype(config["classes_dtype"]))
        latent = tensors["latent"].numpy()
        latent_labels = tensors["latent_labels"].numpy()
    except (KeyError, TypeError, RuntimeError, SafetensorError) as err:
        raise ValueError(
            f"{str(path)!r} is an incomplete or corrupted sampler save: {err}"
        ) from err
    sampler.autoencoder_ = model.to(resolve_device(device)).eval()
    sampler.latent_ = latent
    sampler.latent_labels_ = latent_labels
    sampler.classes_ = classes
    sampler.image_shape_ = layout.image_shape
    sampler.layout_ = layout
    sampler.history_ = config["history"]
    sampler.autoencoder_from_cache_ = False
    return sampler
