"""Compact ResNet-18 / ResNet-50 (He et al., 2016), sized from the image shape.

Written here because torchvision is not a dependency. The layer layout follows the
reference implementations exactly, so parameter counts match them: ResNet-18 with the
CIFAR stem and 10 classes has 11,173,962 parameters, ResNet-50 with the ImageNet stem and
1000 classes has 25,557,032.
"""

from __future__ import annotations

import torch
from torch import nn

from .._checks import check_choice, check_int

STEMS = ("auto", "cifar", "imagenet")
#: images at most this many pixels on their shorter side get the CIFAR stem under ``stem="auto"``
AUTO_CIFAR_MAX_SIDE = 64


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with an identity (or 1x1 projection) shortcut."""

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = _projection(in_planes, planes * self.expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (strided, as in torchvision's "ResNet v1.5"), 1x1 expand."""

    expansion = 4

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = _projection(in_planes, planes * self.expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + self.shortcut(x))


def _projection(in_planes: int, out_planes: int, stride: int) -> nn.Module:
    if stride == 1 and in_planes == out_planes:
        return nn.Identity()
    return nn.Sequential(
        nn.Conv2d(in_planes, out_planes, 1, stride, bias=False), nn.BatchNorm2d(out_planes)
    )


def _stem(kind: str, in_channels: int) -> nn.Sequential:
    if kind == "cifar":  # 3x3 stride-1 convolution, no max-pool: keeps 32x32 resolution
        conv = nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False)
        return nn.Sequential(conv, nn.BatchNorm2d(64), nn.ReLU(inplace=True))
    conv = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(64), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))


def resolve_stem(stem: str, image_shape) -> str:
    """``"auto"`` → ``"cifar"`` for images up to 64 px on the shorter side, else ``"imagenet"``."""
    check_choice(stem, "stem", STEMS)
    if stem != "auto":
        return stem
    return "cifar" if min(image_shape[1:]) <= AUTO_CIFAR_MAX_SIDE else "imagenet"


class ResNetBody(nn.Module):
    """Stem + four stages + global average pooling: images → ``(N, 512 * expansion)``."""

    def __init__(self, block, layers, *, in_channels: int, stem: str):
        super().__init__()
        self.stem = _stem(stem, in_channels)
        stages, in_planes = [], 64
        for i, (planes, n_blocks) in enumerate(zip((64, 128, 256, 512), layers, strict=True)):
            blocks = []
            for j in range(n_blocks):
                stride = 2 if (i > 0 and j == 0) else 1
                blocks.append(block(in_planes, planes, stride))
                in_planes = planes * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.out_features = in_planes
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.pool(self.stages(self.stem(x))), 1)


def resnet_body(depth: int, image_shape, *, stem: str = "auto") -> ResNetBody:
    """The convolutional part of ResNet-``depth`` (18 or 50) for ``image_shape`` (C, H, W)."""
    check_int(depth, "depth")
    specs = {18: (BasicBlock, (2, 2, 2, 2)), 50: (Bottleneck, (3, 4, 6, 3))}
    if depth not in specs:
        raise ValueError(f"depth={depth} is not supported; pass depth=18 or depth=50")
    block, layers = specs[depth]
    stem = resolve_stem(stem, image_shape)
    return ResNetBody(block, layers, in_channels=image_shape[0], stem=stem)
