"""Turn a user's ``device`` argument into a ``torch.device``."""

from __future__ import annotations

import torch


def resolve_device(device="cpu") -> torch.device:
    """Return the ``torch.device`` named by ``device``.

    Parameters
    ----------
    device : str or torch.device, default "cpu"
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or a ``torch.device``. ``"auto"``
        picks the first CUDA GPU when one is visible, the CPU otherwise.

    Raises
    ------
    ValueError
        If CUDA is asked for but no (or not that many) CUDA GPU is visible, or the
        name is not a CPU/CUDA device.
    TypeError
        If ``device`` is neither a string nor a ``torch.device``.
    """
    if isinstance(device, torch.device):
        dev = device
        spelled = str(device)
    elif isinstance(device, str):
        spelled = device.strip().lower()
        if spelled == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        try:
            dev = torch.device(spelled)
        except (RuntimeError, ValueError):
            raise ValueError(
                f"device={device!r} is not a device name; pass 'cpu', 'cuda', 'cuda:N' or 'auto'"
            ) from None
    else:
        raise TypeError(
            f"device={device!r} must be a string or torch.device; pass e.g. device='cpu'"
        )
    if dev.type == "cpu":
        return torch.device("cpu")
    if dev.type != "cuda":
        raise ValueError(
            f"device={spelled!r} is not supported; pass 'cpu', 'cuda', 'cuda:N' or 'auto'"
        )
    if not torch.cuda.is_available():
        raise ValueError(f"device={spelled!r} but no CUDA GPU is visible; pass device='cpu'")
    count = torch.cuda.device_count()
    if dev.index is not None and dev.index >= count:
        raise ValueError(
            f"device={spelled!r} but only {count} CUDA GPU(s) are visible; "
            f"pass device='cuda:0'..'cuda:{count - 1}' or device='cpu'"
        )
    return dev
