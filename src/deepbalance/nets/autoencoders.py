"""DCGAN-style convolutional autoencoders sized from the image shape.

The architecture follows DeepSMOTE's official encoder: stride-2 convolutions
(kernel 4, padding 1) doubling the width ``dim_h → 2·dim_h → 4·dim_h → 8·dim_h``,
BatchNorm after every convolution but the first, LeakyReLU(0.2), then a Linear
layer to the latent code. ``first_batchnorm=True`` adds BatchNorm after the first
convolution too, as the dissertation's encoder has it ("four convolutional layers, each
followed by batch normalization", Mandal 2024 §5.3). The number of stride-2 stages comes
from the image size: ``min(4, floor(log2(min(H, W))))`` (4 for 28×28, as the official script;
3 for 8×8), so any ``H, W >= 8`` works. Larger images get more stages, one per
halving, until the last feature map is at most ``TOP_SIZE`` (8) pixels on its
smaller side (5 stages for 224×224: 224 → 112 → 56 → 28 → 14 → 7; 6 for 512), the
widths staying at ``8·dim_h`` beyond the fourth stage; every size below 144 px keeps
the four stages it always had. Without them the Linear layers to and from the code
grow with the image (``8·dim_h · (H/16) · (W/16)`` inputs: 50,176 at 224 px with
dim_h 32, 30 M weights each), and so does the training time.

The decoder mirrors the encoder exactly: a Linear layer (+ReLU) to the encoder's
last feature map, then one ``ConvTranspose2d(k=4, s=2, p=1)`` per stage with
``output_padding`` 0 or 1 chosen so every stage undoes the matching encoder stage
(28 → 14 → 7 → 3 → 1 is decoded 1 → 3 → 7 → 14 → 28), BatchNorm + ReLU between
stages and Tanh at the end. The output therefore has exactly the input's
``(C, H, W)`` with no crop or interpolation. (The official 28×28 decoder instead
starts from a 7×7 map and uses two stride-1 transposed convolutions; that only
works for 28×28, the mirror works for every size.)

Data range: the decoder ends in Tanh, as the official network, so the modules work
in "model space" ``[-1, 1]``; :func:`encode_images` and :func:`decode_latents` map
from and to the library's ``[0, 1]`` images. Reconstruction MSE reported in the
training history is measured in model space (4× the MSE in ``[0, 1]`` pixels).

Variants (Mandal 2024, §3.4–3.7)
-------------------------------------
``plain``
    Reconstruction MSE (DeepSMOTE's objective; eq. 3.1).
``denoising``
    Eq. 3.3: ``L = MSE(g(f(x)), x) + denoising_weight · MSE(g(f(x̃)), x)`` with
    ``x̃ = x + N(0, noise_std²)`` (``noise_std`` in ``[0, 1]`` pixel units): the clean
    reconstruction (eq. 3.1) plus λ times the reconstruction of the clean image from the
    noisy input (eq. 3.2). The dissertation gives no λ; the default 1 weighs both alike.
``sparse``
    §3.5: ``L = MSE + sparsity · Σ_l (1/m_l) Σ_j |a_j^l|``, the mean absolute activation of
    every hidden layer l summed over the layers (:meth:`ConvAutoencoder.hidden_activations`:
    each encoder stage after its LeakyReLU, the code, the decoder's Linear layer after its
    ReLU and each decoder stage after its ReLU — every layer but the input and the output).
    ``sparse_layers="code"`` keeps the older penalty on the code alone (``sparsity · mean|z|``).
``vae``
    The encoder outputs a mean and a log-variance; training samples ``z = μ + σ·ε``.
    ``vae_scale="dissertation"`` (default) is eq. 3.11/3.12 on the dissertation's scale:
    ``L = L_recon + beta · KL(q(z|x) ‖ N(0, I))`` with ``L_recon`` the per-element MSE of
    eq. 3.4 measured in ``[0, 1]`` pixel units (the library's image range; the dissertation
    does not state its pixel range) and the KL summed over the latent dimensions (batch
    mean), so ``beta = 1`` and ``beta = 2`` are Table 5.1/5.3's βVAE rows. Against a
    per-element mean the KL weighs heavily: reconstructions are blurrier than the plain
    autoencoder's, as §5.2 reports. On scikit-learn's 8×8 digits (latent 32, dim_h 16, 30
    epochs, Adam 1e-3) the held-out model-space MSE was 0.31 for beta = 1 and 2 — no better
    than the mean image (0.29), i.e. the posterior collapsed — against 0.051 for
    ``vae_scale="per-pixel"`` with beta = 0.1 and 0.033 for the plain autoencoder; the
    dissertation's good βVAE numbers suggest its code summed the reconstruction error, which
    eq. 3.4 does not say. ``vae_scale="per-pixel"`` is the older, much weaker scaling
    ``MSE_model + beta · KL / D`` (D = values per image, MSE in model space; the same
    objective, up to a factor 4, as the dissertation scale with ``beta / (4 D)``): there
    ``beta = 1`` is the ELBO of a Gaussian decoder with variance 1/2 in model space.
    :meth:`ConvAutoencoder.encode` returns the mean, which is what oversampling interpolates.

The loss terms are plain functions (:func:`reconstruction_mse`, :func:`denoising_loss`,
:func:`sparsity_penalty`, :func:`kl_divergence`, :func:`vae_loss`) so each can be checked
against a hand computation.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .._checks import INTEGER_SCALES, check_choice, check_float, check_int

VARIANTS = ("plain", "denoising", "sparse", "vae")
#: stages of images up to 143 px (the official script's four for 28×28)
MAX_STAGES = 4
#: larger images get extra stages until the last feature map is at most this many pixels
TOP_SIZE = 8
#: which activations the sparse penalty covers: every hidden layer (Mandal 2024 §3.5) or the code
SPARSE_LAYERS = ("hidden", "code")
#: scale of the VAE objective: Mandal 2024 eq. 3.4 + 3.11 (per-element MSE + beta·KL) or KL / D
VAE_SCALES = ("dissertation", "per-pixel")


def default_latent_dim(image_shape) -> int:
    """DeepSMOTE's latent size: 300 for images up to 28 px, 600 above."""
    return 300 if max(image_shape[1:]) <= 28 else 600


def stage_sizes(size: int, n_stages: int) -> list[int]:
    """Spatial sizes through ``n_stages`` stride-2 convolutions (k=4, p=1): ``s → s // 2``."""
    sizes = [int(size)]
    for _ in range(n_stages):
        sizes.append(sizes[-1] // 2)
    return sizes


@dataclass(frozen=True)
class AutoencoderConfig:
    """Everything needed to rebuild an autoencoder (weights aside).

    Parameters
    ----------
    image_shape : tuple (C, H, W)
        Shape of one image; ``H, W >= 8``.
    variant : {"plain", "denoising", "sparse", "vae"}
    latent_dim : int or None
        Size of the code; None picks :func:`default_latent_dim`.
    dim_h : int
        Width of the first convolution (the official script uses 64).
    noise_std, sparsity, beta : float
        Variant settings (used by "denoising", "sparse" and "vae" respectively).
    denoising_weight : float
        λ of eq. 3.3 (Mandal 2024): weight of the reconstruction from the noisy input ("denoising").
    sparse_layers : {"hidden", "code"}
        Activations the "sparse" penalty covers: every hidden layer (§3.5) or the code only.
    vae_scale : {"dissertation", "per-pixel"}
        Scale of the "vae" objective (module docstring).
    first_batchnorm : bool
        BatchNorm after the first convolution as well (Mandal 2024 §5.3); the default False
        is DeepSMOTE's official encoder, without it.
    """

    image_shape: tuple[int, int, int]
    variant: str = "plain"
    latent_dim: int | None = None
    dim_h: int = 32
    noise_std: float = 0.1
    sparsity: float = 1e-3
    beta: float = 1.0
    denoising_weight: float = 1.0
    sparse_layers: str = "hidden"
    vae_scale: str = "dissertation"
    first_batchnorm: bool = False

    def __post_init__(self):
        shape = self.image_shape
        if not isinstance(shape, (tuple, list)) or len(shape) != 3:
            raise ValueError(
                f"image_shape={shape!r} must be (C, H, W); pass e.g. image_shape=(1, 28, 28)"
            )
        shape = tuple(check_int(s, "image_shape", min_value=1) for s in shape)
        if min(shape[1:]) < 8:
            raise ValueError(
                f"image_shape={shape} is too small for the convolutional autoencoder; "
                "images must be at least 8x8 — resize them or use a pixel-space sampler"
            )
        object.__setattr__(self, "image_shape", shape)
        check_choice(self.variant, "autoencoder", VARIANTS)
        latent = default_latent_dim(shape) if self.latent_dim is None else self.latent_dim
        object.__setattr__(self, "latent_dim", check_int(latent, "latent_dim", min_value=1))
        object.__setattr__(self, "dim_h", check_int(self.dim_h, "dim_h", min_value=1))
        object.__setattr__(
            self, "noise_std", check_float(self.noise_std, "noise_std", min_value=0.0)
        )
        object.__setattr__(self, "sparsity", check_float(self.sparsity, "sparsity", min_value=0.0))
        object.__setattr__(self, "beta", check_float(self.beta, "beta", min_value=0.0))
        object.__setattr__(
            self,
            "denoising_weight",
            check_float(self.denoising_weight, "denoising_weight", min_value=0.0),
        )
        check_choice(self.sparse_layers, "sparse_layers", SPARSE_LAYERS)
        check_choice(self.vae_scale, "vae_scale", VAE_SCALES)
        if not isinstance(self.first_batchnorm, bool):
            raise TypeError(
                f"first_batchnorm={self.first_batchnorm!r} must be True (BatchNorm after every "
                "convolution, Mandal 2024 §5.3) or False (none after the first, DeepSMOTE)"
            )

    @property
    def n_stages(self) -> int:
        """Stride-2 stages: ``min(4, floor(log2(min(H, W))))``, plus one per halving while
        the last feature map's smaller side exceeds ``TOP_SIZE`` (module docstring)."""
        side = min(self.image_shape[1:])
        n = min(MAX_STAGES, int(math.floor(math.log2(side))))
        while stage_sizes(side, n)[-1] > TOP_SIZE:
            n += 1
        return n

    @property
    def widths(self) -> list[int]:
        """Channels of each encoder stage: ``dim_h · 2**i``, at most ``8 · dim_h``."""
        return [self.dim_h * 2 ** min(i, 3) for i in range(self.n_stages)]

    def to_dict(self) -> dict:
        """JSON-friendly dict (inverse of :meth:`from_dict`)."""
        d = asdict(self)
        d["image_shape"] = list(self.image_shape)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> AutoencoderConfig:
        d = dict(d)
        d["image_shape"] = tuple(d["image_shape"])
        return cls(**d)


class ConvAutoencoder(nn.Module):
    """Convolutional autoencoder working on images in ``[-1, 1]`` (see the module docstring).

    Parameters
    ----------
    config : AutoencoderConfig
    """

    def __init__(self, config: AutoencoderConfig):
        super().__init__()
        if not isinstance(config, AutoencoderConfig):
            raise TypeError(f"config must be an AutoencoderConfig, got {type(config).__name__}")
        self.config = config
        c, h, w = config.image_shape
        n = config.n_stages
        widths = config.widths
        self._hs, self._ws = stage_sizes(h, n), stage_sizes(w, n)
        self._top = (widths[-1], self._hs[-1], self._ws[-1])
        flat = int(np.prod(self._top))

        enc: list[nn.Module] = []
        in_ch = c
        for i, width in enumerate(widths):
            enc.append(nn.Conv2d(in_ch, width, 4, 2, 1, bias=False))
            if i > 0 or config.first_batchnorm:
                enc.append(nn.BatchNorm2d(width))
            enc.append(nn.LeakyReLU(0.2, inplace=True))
            in_ch = width
        self.encoder_conv = nn.Sequential(*enc)
        n_out = 2 * config.latent_dim if config.variant == "vae" else config.latent_dim
        self.encoder_fc = nn.Linear(flat, n_out)

        self.decoder_fc = nn.Sequential(nn.Linear(config.latent_dim, flat), nn.ReLU(inplace=True))
        dec: list[nn.Module] = []
        for i in reversed(range(n)):
            out_ch = widths[i - 1] if i > 0 else c
            pad = (self._hs[i] - 2 * self._hs[i + 1], self._ws[i] - 2 * self._ws[i + 1])
            dec.append(
                nn.ConvTranspose2d(widths[i], out_ch, 4, 2, 1, output_padding=pad, bias=i == 0)
            )
            if i > 0:
                dec += [nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True)]
        dec.append(nn.Tanh())
        self.decoder_conv = nn.Sequential(*dec)

    def encode_distribution(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Return ``(mean, log_variance)``; the log-variance is None unless the variant is "vae"."""
        return self._split(self.encoder_fc(self.encoder_conv(x).flatten(1)))

    def _split(self, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.config.variant == "vae":
            mu, logvar = out.chunk(2, dim=1)
            return mu, logvar
        return out, None

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Latent code of ``x`` (the mean for a VAE)."""
        return self.encode_distribution(x)[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images in ``[-1, 1]`` of shape ``(n, C, H, W)`` from codes ``z``."""
        return self.decoder_conv(self.decoder_fc(z).view(len(z), *self._top))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def hidden_activations(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Reconstruction of ``x`` and the activations of every hidden layer (Mandal 2024, §3.5).

        The hidden layers are, in order: each encoder stage after its LeakyReLU, the code
        (the encoder's Linear output; the mean for a VAE), the decoder's Linear layer after
        its ReLU and each decoder stage but the last after its ReLU — ``2 · n_stages + 1``
        layers. The input and the output (after Tanh) are not hidden layers.

        Returns
        -------
        reconstruction : tensor (n, C, H, W)
        activations : list of tensors, each (n, ...)
        """
        acts: list[torch.Tensor] = []
        h = x
        for module in self.encoder_conv:
            h = module(h)
            if isinstance(module, (nn.LeakyReLU, nn.ReLU)):
                acts.append(h)
        z = self._split(self.encoder_fc(h.flatten(1)))[0]
        acts.append(z)
        h = self.decoder_fc(z)
        acts.append(h)
        h = h.view(len(z), *self._top)
        for module in self.decoder_conv:
            h = module(h)
            if isinstance(module, nn.ReLU):
                acts.append(h)
        return h, acts

    def training_loss(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The variant's objective on a batch ``x`` in ``[-1, 1]`` (module docstring).

        Returns the total and its parts: ``"recon"`` the reconstruction MSE in model space
        (for "denoising" the sum of eq. 3.3's two terms) and ``"regularizer"`` the variant's
        extra term (L1 of §3.5, or beta·KL; 0 for "plain" and "denoising").
        """
        cfg = self.config
        zero = x.new_zeros(())
        if cfg.variant == "denoising":
            recon_clean = self(x)
            if cfg.noise_std > 0 and cfg.denoising_weight > 0:
                noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
                x_noisy = x + (2.0 * cfg.noise_std) * noise  # [0, 1] units → model space
                recon_noisy = self(x_noisy)
            else:
                recon_noisy = recon_clean
            loss = denoising_loss(x, recon_clean, recon_noisy, cfg.denoising_weight)
            return loss, {"recon": loss, "regularizer": zero}
        if cfg.variant == "sparse":
            if cfg.sparse_layers == "hidden":
                out, acts = self.hidden_activations(x)
            else:
                z = self.encode(x)
                out, acts = self.decode(z), [z]
            recon = reconstruction_mse(out, x)
            regularizer = cfg.sparsity * sparsity_penalty(acts)
            return recon + regularizer, {"recon": recon, "regularizer": regularizer}
        if cfg.variant == "vae":
            mu, logvar = self.encode_distribution(x)
            eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
            out = self.decode(mu + torch.exp(0.5 * logvar) * eps)
            total, recon_term, kl_term = vae_loss(
                x, out, mu, logvar, beta=cfg.beta, scale=cfg.vae_scale
            )
            return total, {"recon": reconstruction_mse(out, x), "regularizer": kl_term}
        recon = reconstruction_mse(self(x), x)
        return recon, {"recon": recon, "regularizer": zero}


def reconstruction_mse(reconstruction: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``(1/n) Σ_i (x_i − x̂_i)²`` over every element of the batch (Mandal 2024, eq. 3.1/3.4)."""
    return F.mse_loss(reconstruction, x)


def denoising_loss(
    x: torch.Tensor, recon_clean: torch.Tensor, recon_noisy: torch.Tensor, weight: float
) -> torch.Tensor:
    """Eq. 3.3 of Mandal 2024: ``MSE(recon_clean, x) + weight · MSE(recon_noisy, x)``.

    ``recon_clean = g(f(x))`` (eq. 3.1), ``recon_noisy = g(f(x̃))`` (eq. 3.2), both compared
    with the clean ``x``; ``weight`` is λ.
    """
    return reconstruction_mse(recon_clean, x) + weight * reconstruction_mse(recon_noisy, x)


def sparsity_penalty(activations) -> torch.Tensor:
    """``Σ_l (1/m_l) Σ_j |a_j^l|`` of Mandal 2024 §3.5, averaged over the batch.

    Parameters
    ----------
    activations : list of tensors (n, ...)
        One per hidden layer l; ``m_l`` is the number of its neurons (elements per sample).
    """
    if not activations:
        raise ValueError("activations is empty; pass one tensor per hidden layer")
    return sum(a.abs().flatten(1).mean(dim=1).mean() for a in activations)


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(mu, exp(logvar)) ‖ N(0, I))`` summed over the latent dimensions, batch mean
    (Mandal 2024, eq. 3.5/3.10): ``-1/2 Σ_j (1 + logvar_j − mu_j² − exp(logvar_j))``."""
    return (-0.5 * torch.sum(1.0 + logvar - mu.pow(2) - logvar.exp(), dim=1)).mean()


def vae_loss(
    x: torch.Tensor,
    reconstruction: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    *,
    beta: float,
    scale: str = "dissertation",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The β-VAE objective ``(total, reconstruction term, beta · KL term)`` (Mandal 2024, eq. 3.11).

    ``x`` and ``reconstruction`` are in model space ``[-1, 1]``.

    - ``scale="dissertation"``: ``MSE_[0,1] + beta · KL``, the per-element MSE of eq. 3.4 in
      ``[0, 1]`` pixel units (a quarter of the model-space MSE) plus beta times
      :func:`kl_divergence`.
    - ``scale="per-pixel"``: ``MSE_model + beta · KL / D``, D the values per image.
    """
    check_choice(scale, "vae_scale", VAE_SCALES)
    mse = reconstruction_mse(reconstruction, x)
    kl = kl_divergence(mu, logvar)
    if scale == "dissertation":
        recon_term, kl_term = mse / 4.0, beta * kl
    else:
        recon_term, kl_term = mse, beta * kl / float(x[0].numel())
    return recon_term + kl_term, recon_term, kl_term


def build_autoencoder(config: AutoencoderConfig) -> ConvAutoencoder:
    """Create the autoencoder described by ``config`` (weights from torch's current RNG)."""
    return ConvAutoencoder(config)


def autoencoder_parameter_count(config: AutoencoderConfig) -> int:
    """Number of weights of the autoencoder ``config`` describes (without building it)."""
    c, h, w = config.image_shape
    widths = config.widths
    flat = widths[-1] * stage_sizes(h, len(widths))[-1] * stage_sizes(w, len(widths))[-1]
    n_out = 2 * config.latent_dim if config.variant == "vae" else config.latent_dim
    convs = sum(16 * a * b for a, b in zip([c, *widths[:-1]], widths, strict=True))
    encoder_norms = widths if config.first_batchnorm else widths[1:]
    norms = 2 * sum(encoder_norms) + 2 * sum(widths[:-1])  # BatchNorm weight and bias
    linear = flat * n_out + n_out + config.latent_dim * flat + flat
    return 2 * convs + norms + linear + c


def autoencoder_activation_count(config: AutoencoderConfig) -> int:
    """Values in the feature maps of one image's encoding and decoding (forward pass)."""
    c, h, w = config.image_shape
    widths = config.widths
    hs, ws = stage_sizes(h, len(widths)), stage_sizes(w, len(widths))
    maps = sum(width * hh * ww for width, hh, ww in zip(widths, hs[1:], ws[1:], strict=True))
    return 2 * maps + c * h * w


def to_model_range(x01: torch.Tensor) -> torch.Tensor:
    """``[0, 1]`` images → model space ``[-1, 1]``."""
    return x01 * 2.0 - 1.0


def to_unit_range(x: torch.Tensor) -> torch.Tensor:
    """Model space ``[-1, 1]`` → ``[0, 1]`` images (clipped)."""
    return ((x + 1.0) * 0.5).clamp_(0.0, 1.0)


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def encode_images(model: ConvAutoencoder, X01: np.ndarray, *, batch_size: int = 512) -> np.ndarray:
    """Latent codes (float32, shape ``(N, latent_dim)``) of images: float in ``[0, 1]``, or
    uint8 / uint16 (scaled a batch at a time, see :func:`unit_rows`)."""
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    device = _device_of(model)
    model.eval()
    out = [
        model.encode(to_model_range(unit_batch(X01, slice(i, i + batch_size), device))).cpu()
        for i in range(0, len(X01), batch_size)
    ]
    if not out:
        return np.zeros((0, model.config.latent_dim), np.float32)
    return torch.cat(out).numpy()


def unit_rows(X: np.ndarray, rows) -> np.ndarray:
    """``X[rows]`` as float32 in ``[0, 1]``: uint8 / 255, uint16 / 65535, floats as given.

    Converting a batch at a time gives exactly the values of converting the whole array
    first, so uint8 sets (and memory maps of them) never need a float copy.
    """
    part = np.asarray(X[rows])
    scale = INTEGER_SCALES.get(part.dtype)
    if scale is not None:
        return part / np.float32(scale)
    return np.ascontiguousarray(part, dtype=np.float32)


def unit_batch(X: np.ndarray, rows, device) -> torch.Tensor:
    """:func:`unit_rows` as a tensor on ``device``."""
    return torch.from_numpy(unit_rows(X, rows)).to(device)


@torch.no_grad()
def decode_latents(model: ConvAutoencoder, Z: np.ndarray, *, batch_size: int = 512) -> np.ndarray:
    """Float32 images ``(n, C, H, W)`` in ``[0, 1]`` decoded from latent codes ``Z``."""
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    Z = np.asarray(Z, dtype=np.float32)
    if Z.ndim != 2 or Z.shape[1] != model.config.latent_dim:
        raise ValueError(
            f"Z has shape {Z.shape}; pass codes of shape (n, {model.config.latent_dim})"
        )
    device = _device_of(model)
    model.eval()
    Zt = torch.from_numpy(np.ascontiguousarray(Z))
    out = [
        to_unit_range(model.decode(Zt[i : i + batch_size].to(device))).cpu()
        for i in range(0, len(Zt), batch_size)
    ]
    if not out:
        return np.zeros((0, *model.config.image_shape), np.float32)
    return torch.cat(out).numpy()
