"""Which datasets keep their labels under a horizontal flip (for ``augment="auto"``).

A mirrored shirt is still a shirt, but a mirrored "2" or "7" is no digit, and a chest X-ray
flipped left to right puts the heart on the wrong side. Datasets not listed here (including
``image-folder``: we cannot know what a user's classes are) are treated as not flip-safe.
"""

from __future__ import annotations

HFLIP_PRESERVES_LABEL: dict[str, bool] = {
    "fashion-mnist": True,
    "cifar10": True,
    "celeba": True,
    "mnist": False,
    "digits": False,
    "svhn": False,
    "chexpert": False,
    "chestxray14": False,
    "image-folder": False,
}


def hflip_preserves_label(dataset: str | None) -> bool:
    """True when horizontal flips keep the labels of ``dataset`` (a registry name).

    Unknown names and None give False: without knowing the classes, a flip is not safe.
    """
    if dataset is not None and not isinstance(dataset, str):
        raise TypeError(f"dataset={dataset!r} must be a dataset name such as 'fashion-mnist'")
    return HFLIP_PRESERVES_LABEL.get(dataset, False) if dataset else False
