"""Image classifiers, built by name from the image shape and the number of classes.

Every classifier is a :class:`Classifier`: an embedding network ``body`` followed by one
``head``, so ``forward(x) == head(embed(x))``. The head is linear, or with
``create_classifier(..., head="cosine")`` a :class:`CosineHead` (scaled cosine similarities,
the normalised classifier LDAM trains). Losses that work on embeddings (triplet pretraining,
CLE-SMOTE's cap) use :meth:`Classifier.embed`.

Inputs are float tensors ``(N, C, H, W)`` (the trainer feeds standardised pixels).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_choice, check_float, check_int, check_positive
from ..registry import Registry
from .resnet import resnet_body

CLASSIFIERS: Registry = Registry("classifier")
#: Classification heads: ``"linear"`` (``nn.Linear``) or ``"cosine"`` (:class:`CosineHead`).
HEADS = ("linear", "cosine")
#: Default scale of the cosine head: Cao et al. 2019's ``s = 30``.
DEFAULT_COSINE_SCALE = 30.0


class CosineHead(nn.Module):
    """Normalised linear classifier: logit ``c`` is ``scale * cos(embedding, w_c)``.

    The last layer LDAM trains on (Cao et al. 2019's implementation details and their released
    code's ``NormedLinear``: normalised embeddings times normalised class weights, no bias, the
    loss scaled by ``s = 30``). Here
    the scale is part of the head, so the logits the model predicts with are the ones its loss
    was computed on (softmax probabilities included), not the bare cosines.

    Parameters
    ----------
    in_features, out_features : int
    scale : float
        Multiplier of the cosines, > 0.

    Attributes
    ----------
    weight : Parameter (out_features, in_features)
        One direction per class (its norm does not matter); initialised as ``nn.Linear``'s,
        uniform in a cube, which gives the same distribution of directions as the released
        code's ``uniform_(-1, 1)``.
    """

    def __init__(self, in_features: int, out_features: int, scale: float = DEFAULT_COSINE_SCALE):
        super().__init__()
        self.in_features = check_int(in_features, "in_features", min_value=1)
        self.out_features = check_int(out_features, "out_features", min_value=1)
        self.scale = check_scale(scale)
        self.weight = nn.Parameter(torch.empty(self.out_features, self.in_features))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw new class directions (classifier retraining re-initialises the head)."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cosines = F.linear(F.normalize(x, dim=1), F.normalize(self.weight, dim=1))
        return self.scale * cosines

    def extra_repr(self) -> str:
        return f"{self.in_features} -> {self.out_features}, scale={self.scale}"


def check_scale(scale, name: str = "scale") -> float:
    """A cosine head's (or LDAM's) logit scale: a finite number > 0."""
    return check_positive(
        scale,
        name,
        meaning="the multiplier of the cosine logits, 30 in Cao et al. 2019",
        example=f"{DEFAULT_COSINE_SCALE:g}",
    )


class Classifier(nn.Module):
    """An embedding network plus a classification head (``nn.Linear``; ``create_classifier``
    can swap in a :class:`CosineHead`).

    Parameters
    ----------
    body : nn.Module
        Maps images ``(N, C, H, W)`` to embeddings ``(N, embedding_dim)``.
    embedding_dim : int
        Width of the embedding (the penultimate layer).
    n_classes : int
        Number of outputs of the head.
    image_shape : tuple
        ``(C, H, W)`` the network was built for.
    """

    def __init__(self, body: nn.Module, embedding_dim: int, n_classes: int, image_shape):
        super().__init__()
        self.body = body
        self.head = nn.Linear(embedding_dim, n_classes)
        self.embedding_dim = int(embedding_dim)
        self.n_classes = int(n_classes)
        self.image_shape = tuple(int(s) for s in image_shape)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer embedding, shape ``(N, embedding_dim)``."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits, shape ``(N, n_classes)``."""
        return self.head(self.embed(x))


def check_image_shape(image_shape) -> tuple[int, int, int]:
    """Return ``image_shape`` as ``(C, H, W)``; accepts ``(H, W)`` for one channel."""
    try:
        shape = tuple(image_shape)
    except TypeError:
        raise TypeError(
            f"image_shape={image_shape!r} must be a tuple (C, H, W); pass e.g. (1, 28, 28)"
        ) from None
    if len(shape) == 2:
        shape = (1, *shape)
    if len(shape) != 3:
        raise ValueError(
            f"image_shape={image_shape!r} must have 3 entries (C, H, W); pass e.g. (1, 28, 28)"
        )
    return tuple(check_int(s, "image_shape entry", min_value=1) for s in shape)  # type: ignore[return-value]


def create_classifier(
    name: str, image_shape, n_classes: int, *, head: str = "linear", head_scale=None, **params
) -> Classifier:
    """Build the classifier registered as ``name`` for ``image_shape`` and ``n_classes``.

    Parameters
    ----------
    name : str
        One of ``CLASSIFIERS.names()``: ``"fast-cnn"`` (the default), ``"small-cnn"``,
        ``"cle-cnn"``, ``"mlp"``, ``"resnet18"``, ``"resnet50"``.
    image_shape : tuple
        ``(C, H, W)`` (or ``(H, W)`` for grayscale).
    n_classes : int
        Number of classes (>= 2).
    head : {"linear", "cosine"}
        The classification head: ``nn.Linear`` (the default), or a :class:`CosineHead` on the
        same embedding (LDAM's normalised classifier).
    head_scale : float, optional
        The cosine head's scale (default 30, Cao et al. 2019); only with ``head="cosine"``.
    **params
        Architecture options of that classifier (e.g. ``hidden=(256, 128)`` for ``"mlp"``).
    """
    builder = CLASSIFIERS.get(name)
    shape = check_image_shape(image_shape)
    n_classes = check_int(n_classes, "n_classes", min_value=2)
    check_choice(head, "head", HEADS)
    if head_scale is not None and head != "cosine":
        raise ValueError(
            f"head_scale={head_scale!r} scales a cosine head, but head={head!r}; pass "
            "head='cosine' as well or drop head_scale"
        )
    scale = DEFAULT_COSINE_SCALE if head_scale is None else check_scale(head_scale, "head_scale")
    try:
        model = builder(shape, n_classes, **params)
    except TypeError as err:
        if "unexpected keyword" not in str(err):
            raise
        raise TypeError(f"classifier {name!r}: {err}; see help({builder.__name__})") from None
    if head == "cosine":
        model.head = CosineHead(model.embedding_dim, n_classes, scale)
    return model


def _check_widths(widths, name: str, n: int | None = None) -> tuple[int, ...]:
    widths = (widths,) if isinstance(widths, int) else tuple(widths)
    if n is not None and len(widths) != n:
        raise ValueError(f"{name}={widths!r} must have {n} entries; pass e.g. {name}=(32, 64)")
    return tuple(check_int(w, f"{name} entry", min_value=1) for w in widths)


@CLASSIFIERS.register("cle-cnn")
def cle_cnn(
    image_shape,
    n_classes: int,
    *,
    channels=(6, 16),
    kernel_size: int = 5,
    hidden: int = 120,
    embedding_dim: int = 84,
    dropout: float = 0.25,
) -> Classifier:
    """CLE-SMOTE's network: two conv layers each followed by 2x2 max pooling, dropout after
    the second conv block, two fully connected layers, ReLU after every layer; the embedding is
    the second fully connected layer's output and the head the added linear layer.

    The widths default to LeNet-5's (6 and 16 5x5 filters, 120 and 84 units), the classic
    network of exactly this layout; padding keeps the spatial size through each convolution.
    """
    c1, c2 = _check_widths(channels, "channels", 2)
    k = check_int(kernel_size, "kernel_size", min_value=1)
    if k % 2 == 0:
        raise ValueError(f"kernel_size={k} must be odd so padding keeps the size; pass e.g. 5")
    hidden = check_int(hidden, "hidden", min_value=1)
    embedding_dim = check_int(embedding_dim, "embedding_dim", min_value=1)
    dropout = check_float(dropout, "dropout", min_value=0.0, max_value=1.0, max_inclusive=False)
    c, h, w = image_shape
    if min(h, w) < 4:
        raise ValueError(f"cle-cnn pools twice and needs images >= 4x4, got {h}x{w}")
    body = nn.Sequential(
        nn.Conv2d(c, c1, k, padding=k // 2),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, k, padding=k // 2),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Dropout(dropout),
        nn.Flatten(),
        nn.Linear(c2 * (h // 4) * (w // 4), hidden),
        nn.ReLU(inplace=True),
        nn.Linear(hidden, embedding_dim),
        nn.ReLU(inplace=True),
    )
    return Classifier(body, embedding_dim, n_classes, image_shape)


@CLASSIFIERS.register("mlp")
def mlp(image_shape, n_classes: int, *, hidden=(512, 256), dropout: float = 0.0) -> Classifier:
    """Two-hidden-layer perceptron on flattened pixels (ReLU after each hidden layer);
    the embedding is the second hidden layer."""
    h1, h2 = _check_widths(hidden, "hidden", 2)
    dropout = check_float(dropout, "dropout", min_value=0.0, max_value=1.0, max_inclusive=False)
    n_in = image_shape[0] * image_shape[1] * image_shape[2]
    body = nn.Sequential(
        nn.Flatten(),
        nn.Linear(n_in, h1),
        nn.ReLU(inplace=True),
        nn.Dropout(dropout),
        nn.Linear(h1, h2),
        nn.ReLU(inplace=True),
    )
    return Classifier(body, h2, n_classes, image_shape)


@CLASSIFIERS.register("small-cnn")
def small_cnn(image_shape, n_classes: int, *, channels=(16, 32, 64)) -> Classifier:
    """A fast CPU default: three 3x3 conv + batch-norm + ReLU blocks (the first two followed
    by 2x2 max pooling) and global average pooling; the embedding has ``channels[-1]`` units."""
    widths = _check_widths(channels, "channels")
    c, h, w = image_shape
    layers: list[nn.Module] = []
    in_ch = c
    for i, out_ch in enumerate(widths):
        layers += [nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False), nn.BatchNorm2d(out_ch)]
        layers.append(nn.ReLU(inplace=True))
        if i < len(widths) - 1 and min(h, w) >> (i + 1) >= 1:
            layers.append(nn.MaxPool2d(2))
        in_ch = out_ch
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    return Classifier(nn.Sequential(*layers), in_ch, n_classes, image_shape)


@CLASSIFIERS.register("fast-cnn")
def fast_cnn(
    image_shape, n_classes: int, *, channels=(32, 64, 128), max_grid: int = 4
) -> Classifier:
    """The default CPU classifier: conv + batch-norm + ReLU blocks, each followed by 2x2 max
    pooling (pooling early keeps the later, wider convolutions cheap), then one linear layer
    on the flattened feature map. With the default widths it has about 104k parameters on
    28x28 grayscale images and trains Fashion-MNIST-LT in about a minute on two CPU cores.

    Parameters
    ----------
    channels : sequence of int
        Width of each block (one 2x2 pooling per block while the map is at least 2 px).
    max_grid : int
        Feature maps larger than ``max_grid`` x ``max_grid`` after the last block are
        average-pooled to that size, so large images do not make the linear layer huge.
    """
    widths = _check_widths(channels, "channels")
    max_grid = check_int(max_grid, "max_grid", min_value=1)
    c, h, w = image_shape
    layers: list[nn.Module] = []
    in_ch = c
    for out_ch in widths:
        layers += [
            nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.ReLU(inplace=True),
        ]
        if min(h, w) >= 2:
            layers.append(nn.MaxPool2d(2))
            h, w = h // 2, w // 2
        in_ch = out_ch
    if max(h, w) > max_grid:
        h, w = min(h, max_grid), min(w, max_grid)
        layers.append(nn.AdaptiveAvgPool2d((h, w)))
    layers.append(nn.Flatten())
    return Classifier(nn.Sequential(*layers), in_ch * h * w, n_classes, image_shape)


@CLASSIFIERS.register("resnet18")
def resnet18(image_shape, n_classes: int, *, stem: str = "auto") -> Classifier:
    """ResNet-18. ``stem="cifar"``: 3x3 stride-1 convolution, no max-pool (the CIFAR variant);
    ``"imagenet"``: 7x7 stride-2 convolution and max-pool; ``"auto"``: CIFAR stem for images up
    to 64 px on the shorter side."""
    body = resnet_body(18, image_shape, stem=stem)
    return Classifier(body, body.out_features, n_classes, image_shape)


@CLASSIFIERS.register("resnet50")
def resnet50(image_shape, n_classes: int, *, stem: str = "auto") -> Classifier:
    """ResNet-50 (bottleneck blocks, stride on the 3x3 convolution); ``stem`` as in
    :func:`resnet18`."""
    body = resnet_body(50, image_shape, stem=stem)
    return Classifier(body, body.out_features, n_classes, image_shape)
