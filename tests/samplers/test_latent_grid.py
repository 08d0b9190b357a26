import numpy as np
import pytest
import torch
from PIL import Image

from deepbalance.samplers.grid import image_grid, sampler_grid
from deepbalance.samplers.pixel import RandomOversampler
from deepbalance.samplers.presets import DeepSMOTE


def _png(path):
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as img:
        img.load()
        return img.size


def test_image_grid_writes_png(tiny_images, tmp_path):
    X, y = tiny_images
    rng = np.random.RandomState(0)
    syn = rng.randint(0, 256, size=(9, 1, 8, 8)).astype(np.uint8)
    path = image_grid(
        X, y, syn, np.repeat([1, 2, 3], 3), tmp_path / "grid.png", class_names={1: "one"}
    )
    width, height = _png(path)
    assert width > height > 0  # four class rows, 16 image columns
    assert list(tmp_path.iterdir()) == [path]  # atomic: no temporary left behind
    rgb = rng.rand(4, 3, 16, 16).astype(np.float32)
    path = image_grid(rgb, [0, 0, 1, 1], None, [], tmp_path / "sub" / "rgb.png", title="t")
    assert _png(path)[0] > 0


def test_image_grid_errors(tiny_images, tmp_path):
    X, y = tiny_images
    with pytest.raises(ValueError, match="real_labels"):
        image_grid(X, y[:-1], X, y, tmp_path / "g.png")
    with pytest.raises(ValueError, match="same shape"):
        image_grid(X, y, X[:, :, :4], y, tmp_path / "g.png")
    with pytest.raises(ValueError, match="n_per_class=0"):
        image_grid(X, y, X, y, tmp_path / "g.png", n_per_class=0)
    with pytest.raises(TypeError, match="path"):
        image_grid(X, y, X, y, None)


def test_sampler_grid_latent_and_pixel(tiny_images, tmp_path):
    torch.set_num_threads(1)
    X, y = tiny_images
    sampler = DeepSMOTE(
        random_state=0,
        k_neighbors=3,
        autoencoder=DeepSMOTE.default_autoencoder().set_params(
            dim_h=4, latent_dim=8, epochs=1, batch_size=16
        ),
    )
    sampler.fit_resample(X, y)
    assert _png(sampler_grid(sampler, X, y, tmp_path / "latent.png", n_per_class=4))[0] > 0
    pixel = RandomOversampler(random_state=0)
    assert _png(sampler_grid(pixel, X, y, tmp_path / "pixel.png"))[0] > 0
