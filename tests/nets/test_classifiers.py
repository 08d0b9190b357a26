"""Classifier registry: shapes for every classifier and image size, embed/forward, ResNet sizes."""

import pytest
import torch

from deepbalance.nets import CLASSIFIERS, create_classifier


def n_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", CLASSIFIERS.names())
@pytest.mark.parametrize("image_shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32)])
def test_shapes_and_head_on_embedding(name, image_shape):
    torch.manual_seed(0)
    model = create_classifier(name, image_shape, 3).eval()
    x = torch.randn(2, *image_shape)
    with torch.no_grad():
        emb = model.embed(x)
        logits = model(x)
    assert emb.shape == (2, model.embedding_dim)
    assert logits.shape == (2, 3)
    torch.testing.assert_close(logits, model.head(emb))
    assert model.n_classes == 3 and model.image_shape == image_shape


def test_resnet18_cifar_parameter_count():
    # the widely used CIFAR ResNet-18 (3x3 stride-1 stem, no max-pool), 10 classes
    assert n_params(create_classifier("resnet18", (3, 32, 32), 10, stem="cifar")) == 11_173_962


def test_resnet50_imagenet_parameter_count():
    # torchvision's resnet50 (1000 classes)
    model = create_classifier("resnet50", (3, 224, 224), 1000, stem="imagenet")
    assert n_params(model) == 25_557_032


def test_stems_differ_only_by_first_conv_and_head():
    # ImageNet stem: 7*7*3*64 conv weights instead of 3*3*3*64; the head grows with the classes
    r18_in = n_params(create_classifier("resnet18", (3, 224, 224), 1000, stem="imagenet"))
    assert r18_in == 11_173_962 + (7 * 7 - 3 * 3) * 3 * 64 + 990 * 513 == 11_689_512
    r50_cifar = n_params(create_classifier("resnet50", (3, 32, 32), 10, stem="cifar"))
    assert r50_cifar == 25_557_032 - (7 * 7 - 3 * 3) * 3 * 64 - 990 * 2049 == 23_520_842


def test_auto_stem_follows_image_size():
    small = create_classifier("resnet18", (3, 32, 32), 10)
    large = create_classifier("resnet18", (3, 128, 128), 10)
    assert small.body.stem[0].kernel_size == (3, 3) and len(small.body.stem) == 3
    assert large.body.stem[0].kernel_size == (7, 7) and len(large.body.stem) == 4


def test_cle_cnn_layout():
    model = create_classifier("cle-cnn", (1, 28, 28), 2)
    kinds = [type(m).__name__ for m in model.body]
    assert kinds == [
        "Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d", "Dropout", "Flatten",
        "Linear", "ReLU", "Linear", "ReLU",
    ]  # fmt: skip


def test_mlp_has_two_hidden_layers():
    model = create_classifier("mlp", (1, 28, 28), 10, hidden=(32, 16))
    linear = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [(784, 32), (32, 16), (16, 10)]


def test_small_cnn_uses_batch_norm():
    model = create_classifier("small-cnn", (1, 28, 28), 10)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"name": "resnet-18"}, ValueError, "resnet18"),
        ({"n_classes": 1}, ValueError, "n_classes"),
        ({"image_shape": (1, 2, 3, 4)}, ValueError, "image_shape"),
        ({"image_shape": (0, 8, 8)}, ValueError, "image_shape"),
        ({"hidden": 3}, TypeError, "small-cnn"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, match):
    args = {"name": "small-cnn", "image_shape": (1, 8, 8), "n_classes": 3} | kwargs
    name, shape, k = args.pop("name"), args.pop("image_shape"), args.pop("n_classes")
    with pytest.raises(error, match=match):
        create_classifier(name, shape, k, **args)


def test_bad_stem_is_named():
    with pytest.raises(ValueError, match="stem"):
        create_classifier("resnet50", (3, 32, 32), 10, stem="tiny")


@pytest.mark.parametrize(
    "shape, n_features",
    [((1, 28, 28), 128 * 3 * 3), ((3, 32, 32), 128 * 4 * 4), ((1, 224, 224), 128 * 4 * 4)],
)
def test_fast_cnn_pools_early_and_caps_the_head(shape, n_features):
    model = create_classifier("fast-cnn", shape, 10)
    pools = [m for m in model.body if isinstance(m, torch.nn.MaxPool2d)]
    assert len(pools) == 3 and model.embedding_dim == n_features
    assert model(torch.zeros(2, *shape)).shape == (2, 10)
    if shape == (1, 28, 28):  # three conv-BN-ReLU-pool blocks and one linear layer
        assert sum(p.numel() for p in model.parameters()) == 104_426
