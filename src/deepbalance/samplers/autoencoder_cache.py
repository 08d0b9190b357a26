"""A cache of trained autoencoders, without pickle.

The autoencoder cache (``cache_dir`` of a latent sampler) holds one safetensors
file per trained autoencoder, named by a hash of the autoencoder config, its architecture
(the modules the config builds, so a changed network never loads stale weights), the library
version, training settings, seed and training data; its JSON metadata carries the config and
history.
Files are written to a temporary name and renamed, so a reader never sees half an
entry; an unreadable entry is ignored (and retrained) with a warning.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from .._checks import atomic_path
from .._version import __version__
from ..nets.autoencoder_training import TrainSettings
from ..nets.autoencoders import AutoencoderConfig, ConvAutoencoder, build_autoencoder

CACHE_FORMAT = "deepbalance-autoencoder-cache"
CACHE_VERSION = 1

__all__ = ["CACHE_FORMAT", "cache_key", "load_cached_autoencoder", "store_cached_autoencoder"]


def cache_key(
    config: AutoencoderConfig, settings: TrainSettings, seed: int, X01: np.ndarray, y
) -> str:
    """Hex SHA-256 naming an autoencoder trained with these settings on this data (``X01``
    as the sampler got it: uint8, uint16 or float, hashed a chunk at a time)."""
    h = hashlib.sha256()
    spec = {
        "format": CACHE_FORMAT,
        "version": CACHE_VERSION,
        "config": config.to_dict(),
        "architecture": architecture(config),
        "deepbalance": __version__,
        "settings": settings.to_dict(),
        "seed": int(seed),
        "shape": list(X01.shape),
        "dtype": str(np.asarray(X01[:0]).dtype),
    }
    h.update(json.dumps(spec, sort_keys=True).encode())
    step = max(1, (1 << 24) // max(1, int(np.prod(X01.shape[1:]))))  # bounded temporaries
    for start in range(0, len(X01), step):
        h.update(np.ascontiguousarray(X01[start : start + step]).tobytes())
    h.update(np.ascontiguousarray(y, dtype=np.int64).tobytes())
    return h.hexdigest()


def architecture(config: AutoencoderConfig) -> str:
    """The modules ``config`` builds, with every parameter's name and shape, as text."""
    with torch.device("meta"):  # shapes only: no weights allocated, no random numbers drawn
        model = build_autoencoder(config)
    shapes = ", ".join(f"{k}: {list(v.shape)}" for k, v in model.state_dict().items())
    return f"{model}\n{shapes}"


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
        "version": CACHE_VERSION,
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
