"""Per-class diagnostics of a sampler's synthetic images: are they the right class, new,
varied, and how well does the autoencoder reconstruct the class?

:func:`synthetic_diagnostics` measures, for every class that received synthetic rows:

- **fidelity**: the share of its synthetic images that a classifier trained on the *real*
  training rows only assigns to the class. ``reference_recall`` is the same classifier's
  recall on real images of the class (held-out images when given, otherwise 5-fold
  cross-validated predictions on the training rows), so a fidelity far below it means the
  synthetic images look less like the class than real images do.
- **novelty**: median distance from each synthetic image to its nearest real training image
  of the class, divided by the median distance from each real image to its nearest *other*
  real image of the class. About 1: as far from the real images as they are from each other;
  near 0: near-copies; well above 1: off the class's image manifold (e.g. blurry decodings).
- **diversity**: mean pairwise distance among the synthetic images of the class divided by
  the same among its real images (1: as varied as the real ones).
- **reconstruction_mse**: for samplers with an autoencoder (``autoencoder_``), the mean
  squared reconstruction error in [0, 1] pixel units of the class's held-out images (or of
  its training images when no held-out set is given; ``reconstruction_split`` says which).

Distances are Euclidean on pixels in [0, 1]; novelty and diversity are ratios, so they read
the same at every image size. Pairwise and nearest-neighbour searches use scikit-learn on at
most ``max_images`` images per class (a seeded subsample).
"""

from __future__ import annotations

import numpy as np

from .._checks import INTEGER_SCALES, check_int, check_random_state

#: columns of each row of :func:`synthetic_diagnostics`, in order
COLUMNS = (
    "class",
    "n_real",
    "n_synthetic",
    "fidelity",
    "reference_recall",
    "novelty",
    "diversity",
    "reconstruction_mse",
    "reconstruction_split",
)


def _as_unit_rows(X, name: str) -> np.ndarray:
    """Images as float32 rows in [0, 1] (uint8 / uint16 scaled, floats checked)."""
    X = np.asarray(X)
    if X.ndim < 2:
        raise ValueError(f"{name} has shape {X.shape}; pass images (N, C, H, W) or rows (N, D)")
    if X.dtype in INTEGER_SCALES:
        rows = X.reshape(len(X), -1).astype(np.float32) / INTEGER_SCALES[X.dtype]
    elif np.issubdtype(X.dtype, np.floating):
        rows = X.reshape(len(X), -1).astype(np.float32)
        if rows.size and (not np.isfinite(rows).all() or rows.min() < 0 or rows.max() > 1):
            raise ValueError(
                f"{name} holds floats outside [0, 1] (min {np.nanmin(rows):.3g}, max "
                f"{np.nanmax(rows):.3g}); pass uint8 images or floats scaled to [0, 1]"
            )
    else:
        raise TypeError(f"{name} has dtype {X.dtype}; pass uint8 images or floats in [0, 1]")
    return rows


def _subsample(rows: np.ndarray, max_images: int, rng) -> np.ndarray:
    if len(rows) <= max_images:
        return rows
    return rows[np.sort(rng.choice(len(rows), max_images, replace=False))]


def _nearest(query: np.ndarray, reference: np.ndarray, *, exclude_self: bool) -> np.ndarray:
    from sklearn.neighbors import NearestNeighbors

    k = 2 if exclude_self else 1
    nn = NearestNeighbors(n_neighbors=k).fit(reference)
    dist, _ = nn.kneighbors(query)
    return dist[:, k - 1]


def _mean_pairwise(rows: np.ndarray) -> float:
    from sklearn.metrics import pairwise_distances

    if len(rows) < 2:
        return float("nan")
    d = pairwise_distances(rows)
    return float(d[np.triu_indices(len(rows), 1)].mean())


def _default_classifier(random_state: int):
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    # balanced class weights: the real training rows are imbalanced, and an unweighted model
    # would call most minority images "majority", real or synthetic alike
    return make_pipeline(
        PCA(n_components=0.95, svd_solver="full", random_state=random_state),
        LogisticRegression(class_weight="balanced", max_iter=1000),
    )


def synthetic_diagnostics(
    sampler,
    X,
    y,
    X_res,
    y_res,
    *,
    X_holdout=None,
    y_holdout=None,
    classes=None,
    classifier=None,
    max_images: int = 1000,
    random_state=0,
) -> list[dict]:
    """Per-class fidelity, novelty, diversity and reconstruction error of synthetic images.

    Parameters
    ----------
    sampler : fitted sampler
        One whose ``fit_resample(X, y)`` returned ``(X_res, y_res)``; its ``synthetic_mask_``
        marks the synthetic rows. Latent samplers (with ``autoencoder_``) also get the
        reconstruction error.
    X, y : array
        The real training images and labels the sampler was fitted on.
    X_res, y_res : array
        What ``fit_resample`` returned.
    X_holdout, y_holdout : array, optional
        Real images not used for fitting (e.g. a validation or test split): the fidelity
        classifier's reference recall and the reconstruction error are measured on them.
    classes : sequence, optional
        Classes to report (default: every class with synthetic rows); each must have
        synthetic rows.
    classifier : scikit-learn classifier, optional
        Trained on the real rows ``(X, y)`` as flat pixel rows in [0, 1]; default PCA (95 %
        of the variance) + class-balanced logistic regression.
    max_images : int
        Images per class used for distances (seeded subsample above it).
    random_state : int or RandomState

    Returns
    -------
    list of dict
        One row per class with the keys of :data:`COLUMNS` (see the module notes).
    """
    mask = getattr(sampler, "synthetic_mask_", None)
    if mask is None:
        raise ValueError(
            f"sampler {type(sampler).__name__} is not fitted (no synthetic_mask_); call "
            "fit_resample(X, y) first and pass its output as X_res, y_res"
        )
    max_images = check_int(max_images, "max_images", min_value=2)
    rng = check_random_state(random_state)
    real = _as_unit_rows(X, "X")
    res = _as_unit_rows(X_res, "X_res")
    y, y_res = np.asarray(y), np.asarray(y_res)
    mask = np.asarray(mask, dtype=bool)
    if len(y) != len(real) or len(y_res) != len(res):
        raise ValueError(
            f"X has {len(real)} rows and y {len(y)} labels, X_res {len(res)} rows and y_res "
            f"{len(y_res)}; pass the sampler's input and output unchanged"
        )
    if mask.shape != (len(res),):
        raise ValueError(
            f"the sampler's synthetic_mask_ covers {mask.size} rows but X_res has {len(res)}; "
            "pass the X_res, y_res of the sampler's last fit_resample"
        )
    if res.shape[1] != real.shape[1]:
        raise ValueError(f"X_res rows have {res.shape[1]} values but X rows {real.shape[1]}")
    syn, y_syn = res[mask], y_res[mask]
    with_synthetic = list(np.unique(y_syn))
    if classes is None:
        classes = with_synthetic
    else:
        classes = list(classes)
        missing = [c for c in classes if c not in set(with_synthetic)]
        if missing:
            raise ValueError(
                f"classes={classes!r}: {missing} got no synthetic rows from this sampler, so "
                f"there is nothing to diagnose; choose among {with_synthetic}"
            )
    holdout = None
    if (X_holdout is None) != (y_holdout is None):
        raise ValueError("pass both X_holdout and y_holdout, or neither")
    if X_holdout is not None:
        holdout = (_as_unit_rows(X_holdout, "X_holdout"), np.asarray(y_holdout))
        if len(holdout[0]) != len(holdout[1]):
            raise ValueError(
                f"X_holdout has {len(holdout[0])} rows but y_holdout {len(holdout[1])} labels"
            )

    seed = int(rng.randint(2**31 - 1))
    model = _default_classifier(seed) if classifier is None else classifier
    model.fit(real, y)
    pred_syn = model.predict(syn) if len(syn) else np.empty(0, dtype=y.dtype)
    if holdout is not None:
        ref_true, ref_pred = holdout[1], model.predict(holdout[0])
    else:
        from sklearn.base import clone
        from sklearn.model_selection import StratifiedKFold, cross_val_predict

        n_splits = int(min(5, np.bincount(np.unique(y, return_inverse=True)[1]).min()))
        ref_true, ref_pred = y[:0], y[:0]  # a 1-image class: no cross-validated reference
        if n_splits >= 2:
            folds = StratifiedKFold(n_splits, shuffle=True, random_state=seed)
            ref_true, ref_pred = y, cross_val_predict(clone(model), real, y, cv=folds)

    recon = _reconstruction_errors(sampler, real, y, holdout)
    rows = []
    for c in classes:
        real_c = _subsample(real[y == c], max_images, rng)
        syn_c = _subsample(syn[y_syn == c], max_images, rng)
        if len(real_c) >= 2:
            own = np.median(_nearest(real_c, real_c, exclude_self=True))
            novelty = float(np.median(_nearest(syn_c, real_c, exclude_self=False)) / own)
            novelty = novelty if own > 0 else float("nan")
        else:
            novelty = float("nan")  # one real image: no real-to-real distance to compare with
        real_spread = _mean_pairwise(real_c)
        diversity = _mean_pairwise(syn_c) / real_spread if real_spread > 0 else float("nan")
        ref = ref_true == c
        rows.append(
            {
                "class": c.item() if hasattr(c, "item") else c,
                "n_real": int((y == c).sum()),
                "n_synthetic": int((y_syn == c).sum()),
                "fidelity": float(np.mean(pred_syn[y_syn == c] == c)),
                "reference_recall": float(np.mean(ref_pred[ref] == c)) if ref.any() else np.nan,
                "novelty": novelty,
                "diversity": float(diversity),
                "reconstruction_mse": recon[0].get(c, float("nan")) if recon else float("nan"),
                "reconstruction_split": recon[1] if recon else None,
            }
        )
    return rows


def _reconstruction_errors(sampler, real, y, holdout):
    """``({class: mse}, split)`` of the sampler's autoencoder, or None without one."""
    model = getattr(sampler, "autoencoder_", None)
    if model is None:
        return None
    from ..nets.autoencoders import decode_latents, encode_images

    rows, labels, split = (real, y, "train") if holdout is None else (*holdout, "holdout")
    shape = tuple(model.config.image_shape)
    out = {}
    for c in np.unique(labels):
        images = rows[labels == c].reshape(-1, *shape)
        errors = []
        for start in range(0, len(images), 512):  # batches: bounded memory at any size
            block = images[start : start + 512]
            decoded = decode_latents(model, encode_images(model, block))
            errors.append(np.square(decoded - block).reshape(len(block), -1).mean(axis=1))
        out[c.item() if hasattr(c, "item") else c] = float(np.concatenate(errors).mean())
    return out, split


def format_diagnostics(rows: list[dict], class_names=None) -> str:
    """A markdown table of :func:`synthetic_diagnostics` rows."""
    head = "| class | real | synthetic | fidelity | real recall | novelty | diversity | recon MSE |"
    lines = [head, "|---|---|---|---|---|---|---|---|"]

    def f(v, digits=3):
        return "–" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.{digits}f}"

    for r in rows:
        name = r["class"]
        if class_names is not None and isinstance(name, (int, np.integer)):
            name = class_names[int(name)]
        recon = f(r["reconstruction_mse"], 4)
        if r["reconstruction_split"]:
            recon += f" ({r['reconstruction_split']})"
        lines.append(
            f"| {name} | {r['n_real']} | {r['n_synthetic']} | {f(r['fidelity'])} "
            f"| {f(r['reference_recall'])} | {f(r['novelty'], 2)} | {f(r['diversity'], 2)} "
            f"| {recon} |"
        )
    return "\n".join(lines)
