"""Reference outputs of the pixel samplers, made by the implementation of commit b04ad42
(imbalanced-learn's own fit_resample on the whole float array), before chunked generation.

Run from the repository root: ``python tests/samplers/data/make_pixel_reference.py``.
"""

import warnings

import numpy as np

from deepbalance.samplers import PixelADASYN, PixelSMOTE, RandomOversampler

rs = np.random.RandomState(7)
counts = [40, 15, 9, 6]
y = np.concatenate([np.full(c, i) for i, c in enumerate(counts)])
X8 = rs.randint(0, 256, size=(len(y), 1, 6, 5)).astype(np.uint8)
# class 3 sits far from the others so ADASYN cannot weight it (falls back to SMOTE)
X8[y == 3] = rs.randint(250, 256, size=((y == 3).sum(), 1, 6, 5))
Xf = rs.normal(size=(len(y), 12)).astype(np.float64) * 3
Xf32 = (rs.uniform(size=(len(y), 2, 4, 4))).astype(np.float32)
out = {"X8": X8, "y": y, "Xf": Xf, "Xf32": Xf32}
cases = {
    "smote": lambda s: PixelSMOTE(random_state=s),
    "adasyn": lambda s: PixelADASYN(random_state=s),
    "random": lambda s: RandomOversampler(random_state=s),
    "smote_k3": lambda s: PixelSMOTE(
        random_state=s, k_neighbors=3, sampling_strategy={1: 30, 2: 20}
    ),
}
for name, make in cases.items():
    for xname in ("X8", "Xf", "Xf32"):
        for seed in (0, 1):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                s = make(seed)
                Xr, yr = s.fit_resample(out[xname], y)
            key = f"{name}-{xname}-{seed}"
            out[key + "-X"] = Xr
            out[key + "-y"] = yr
            p = s.provenance_
            out[key + "-base"] = p.base_index
            out[key + "-nb"] = p.neighbor_index
            out[key + "-lam"] = p.lam
            print(key, Xr.shape, Xr.dtype)
np.savez_compressed("tests/samplers/data/pixel_reference.npz", **out)
