import copy
import math

import numpy as np
import pytest
import torch

from deepbalance.nets import (
    VARIANTS,
    AutoencoderConfig,
    ConvAutoencoder,
    TrainSettings,
    build_autoencoder,
    decode_latents,
    encode_images,
    resolve_device,
    train_autoencoder,
)
from deepbalance.nets import autoencoder_training as training
from deepbalance.nets import autoencoders as ae
from deepbalance.nets.autoencoders import default_latent_dim

pytestmark = pytest.mark.usefixtures("one_thread")


def _images01(tiny_images):
    X, y = tiny_images
    return (X / 255.0).astype(np.float32), y


# ------------------------------------------------------------------ device


def test_resolve_device_cpu_forms():
    assert resolve_device() == torch.device("cpu")
    assert resolve_device("CPU") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_resolve_device_cuda_absent():
    msg = "device='cuda' but no CUDA GPU is visible; pass device='cpu'"
    with pytest.raises(ValueError, match=msg):
        resolve_device("cuda")
    with pytest.raises(ValueError, match="no CUDA GPU"):
        resolve_device(torch.device("cuda:1"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_resolve_device_cuda_present():
    assert resolve_device("cuda").type == "cuda"
    assert resolve_device("cuda:0") == torch.device("cuda:0")
    n = torch.cuda.device_count()
    with pytest.raises(ValueError, match=f"only {n} CUDA"):
        resolve_device(f"cuda:{n}")


def test_resolve_device_bad_values():
    with pytest.raises(ValueError, match="not a device name"):
        resolve_device("gpu0")
    with pytest.raises(ValueError, match="not supported"):
        resolve_device("meta")
    with pytest.raises(TypeError, match="device=3"):
        resolve_device(3)


# ------------------------------------------------------------------ architecture


@pytest.mark.parametrize(
    "shape", [(1, 8, 8), (3, 8, 8), (1, 28, 28), (3, 32, 32), (1, 64, 64), (3, 64, 64), (2, 9, 13)]
)
@pytest.mark.parametrize("variant", VARIANTS)
def test_shapes_every_variant_and_size(shape, variant):
    torch.manual_seed(0)
    model = build_autoencoder(AutoencoderConfig(shape, variant, latent_dim=7, dim_h=2))
    x = torch.rand(3, *shape) * 2 - 1
    z = model.encode(x)
    assert z.shape == (3, 7)
    out = model.decode(z)
    assert out.shape == (3, *shape)
    assert out.min() >= -1 and out.max() <= 1  # tanh output
    loss, parts = model.training_loss(x)
    assert loss.ndim == 0 and torch.isfinite(loss) and set(parts) == {"recon", "regularizer"}


def test_architecture_follows_deepsmote():
    model = build_autoencoder(AutoencoderConfig((1, 28, 28), dim_h=4))
    convs = [m for m in model.encoder_conv if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [4, 8, 16, 32]  # dim_h .. 8 dim_h, 4 stages
    assert all(c.kernel_size == (4, 4) and c.stride == (2, 2) for c in convs)
    norms = [m for m in model.encoder_conv if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(norms) == 3  # after every convolution but the first
    assert isinstance(model.decoder_conv[-1], torch.nn.Tanh)
    assert model.config.latent_dim == 300
    assert default_latent_dim((3, 32, 32)) == 600 and default_latent_dim((1, 8, 8)) == 300
    assert AutoencoderConfig((1, 8, 8)).n_stages == 3


def test_first_batchnorm_puts_batchnorm_after_every_convolution():
    # Mandal 2024 §5.3: "four convolutional layers, each followed by batch normalization"
    for first, n_norms in ((False, 3), (True, 4)):
        cfg = AutoencoderConfig((1, 28, 28), dim_h=4, first_batchnorm=first)
        model = build_autoencoder(cfg)
        layers = list(model.encoder_conv)
        after = [layers[i + 1] for i, m in enumerate(layers) if isinstance(m, torch.nn.Conv2d)]
        norms = [isinstance(m, torch.nn.BatchNorm2d) for m in after]
        assert norms == [first, True, True, True] and sum(norms) == n_norms
        n_weights = sum(p.numel() for p in model.parameters())
        assert ae.autoencoder_parameter_count(cfg) == n_weights
        assert len(model.hidden_activations(torch.zeros(2, 1, 28, 28))[1]) == 9  # 2 · 4 + 1
        assert AutoencoderConfig.from_dict(cfg.to_dict()) == cfg
    assert AutoencoderConfig((1, 8, 8)).first_batchnorm is False  # DeepSMOTE's by default
    with pytest.raises(TypeError, match="first_batchnorm='yes' must be True"):
        AutoencoderConfig((1, 8, 8), first_batchnorm="yes")


def test_config_errors_and_round_trip():
    with pytest.raises(ValueError, match="at least 8x8"):
        AutoencoderConfig((1, 4, 4))
    with pytest.raises(ValueError, match="autoencoder='gan'"):
        AutoencoderConfig((1, 8, 8), "gan")
    with pytest.raises(ValueError, match="dim_h=0"):
        AutoencoderConfig((1, 8, 8), dim_h=0)
    with pytest.raises(TypeError):
        ConvAutoencoder({"image_shape": (1, 8, 8)})
    cfg = AutoencoderConfig((1, 8, 8), "vae", latent_dim=5, beta=2.0)
    assert AutoencoderConfig.from_dict(cfg.to_dict()) == cfg


def test_vae_kl_term_and_mean_encoding():
    torch.manual_seed(0)
    cfg = AutoencoderConfig((1, 8, 8), "vae", latent_dim=6, dim_h=2, beta=3.0)
    model = build_autoencoder(cfg).eval()
    x = torch.rand(4, 1, 8, 8) * 2 - 1
    mu, logvar = model.encode_distribution(x)
    kl = -0.5 * torch.sum(1 + logvar - mu**2 - logvar.exp(), dim=1).mean()
    total, parts = model.training_loss(x, torch.Generator().manual_seed(0))
    # Mandal 2024 eq. 3.11 on the dissertation's scale: beta times the summed KL, no 1/D
    assert torch.allclose(parts["regularizer"], 3.0 * kl)
    eps = torch.randn(mu.shape, generator=torch.Generator().manual_seed(0))
    out = model.decode(mu + torch.exp(0.5 * logvar) * eps)
    mse_model = torch.nn.functional.mse_loss(out, x)
    assert torch.allclose(parts["recon"], mse_model)
    assert torch.allclose(total, mse_model / 4 + 3.0 * kl)  # MSE in [0, 1] units + beta KL
    assert parts["regularizer"] > 0
    assert torch.equal(model.encode(x), mu)  # oversampling uses the mean
    old = build_autoencoder(
        AutoencoderConfig((1, 8, 8), "vae", latent_dim=6, dim_h=2, beta=3.0, vae_scale="per-pixel")
    )
    old.load_state_dict(model.state_dict())
    total, parts = old.eval().training_loss(x, torch.Generator().manual_seed(0))
    assert torch.allclose(parts["regularizer"], 3.0 * kl / 64)
    assert torch.allclose(total, mse_model + 3.0 * kl / 64)
    zero = build_autoencoder(AutoencoderConfig((1, 8, 8), "vae", latent_dim=6, dim_h=2, beta=0.0))
    assert zero.training_loss(x)[1]["regularizer"] == 0


def test_loss_terms_by_hand():
    x = torch.zeros(1, 1, 2, 2)
    ones = torch.ones(1, 1, 2, 2)
    assert ae.reconstruction_mse(ones * 3, x).item() == 9.0
    # eq. 3.3: clean MSE 1 + 0.5 * noisy MSE 4
    assert ae.denoising_loss(x, ones, 2 * ones, 0.5).item() == 3.0
    # §3.5: layer 1 mean |a| = (1 + 1 + 2 + 0) / 4 = 1, layer 2 (3 + 3) / 2 = 3; per sample,
    # then the batch mean: sample 2 has zeros -> (4 + 0) / 2
    a1 = torch.tensor([[1.0, -1.0, 2.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    a2 = torch.tensor([[[3.0], [-3.0]], [[0.0], [0.0]]])
    assert ae.sparsity_penalty([a1, a2]).item() == 2.0
    with pytest.raises(ValueError, match="activations"):
        ae.sparsity_penalty([])
    # KL(N(1, 1) || N(0, 1)) = 1/2; KL(N(0, 2) || N(0, 1)) = (2 - 1 - ln 2) / 2
    mu = torch.tensor([[1.0, 0.0]])
    logvar = torch.tensor([[0.0, math.log(2.0)]])
    kl = 1.0 - 0.5 * math.log(2.0)
    assert ae.kl_divergence(mu, logvar).item() == pytest.approx(kl)
    # model-space MSE 1 = [0, 1]-unit MSE 1/4; beta = 2
    total, recon, reg = ae.vae_loss(x, ones, mu, logvar, beta=2.0)
    assert (total.item(), recon.item()) == (pytest.approx(0.25 + 2 * kl), 0.25)
    assert reg.item() == pytest.approx(2 * kl)
    total, recon, reg = ae.vae_loss(x, ones, mu, logvar, beta=2.0, scale="per-pixel")
    assert total.item() == pytest.approx(1.0 + 2 * kl / 4) and recon.item() == 1.0
    with pytest.raises(ValueError, match="vae_scale='x'"):
        ae.vae_loss(x, ones, mu, logvar, beta=1.0, scale="x")


def test_sparse_penalty_covers_every_hidden_layer():
    torch.manual_seed(0)
    x = torch.rand(4, 1, 8, 8) * 2 - 1
    sparse = build_autoencoder(AutoencoderConfig((1, 8, 8), "sparse", dim_h=2, sparsity=0.5))
    sparse.eval()
    seen = []
    hooks = [
        m.register_forward_hook(lambda _m, _i, out: seen.append(out.detach().clone()))
        for m in sparse.modules()
        if isinstance(m, (torch.nn.LeakyReLU, torch.nn.ReLU)) or m is sparse.encoder_fc
    ]
    _, parts = sparse.training_loss(x)
    for h in hooks:
        h.remove()
    # 3 encoder stages, the code, the decoder's Linear + ReLU, 2 decoder stages (8x8: 3 stages)
    assert len(seen) == 2 * 3 + 1
    expected = 0.5 * sum(a.abs().flatten(1).mean(dim=1).mean() for a in seen)
    assert torch.allclose(parts["regularizer"], expected)
    assert torch.allclose(parts["recon"], torch.nn.functional.mse_loss(sparse(x), x))
    code_only = build_autoencoder(
        AutoencoderConfig((1, 8, 8), "sparse", dim_h=2, sparsity=0.5, sparse_layers="code")
    )
    code_only.load_state_dict(sparse.state_dict())
    _, parts = code_only.eval().training_loss(x)
    assert torch.allclose(parts["regularizer"], 0.5 * code_only.encode(x).abs().mean())
    assert not torch.allclose(parts["regularizer"], expected)


def test_denoising_loss_is_eq_3_3():
    torch.manual_seed(1)
    x = torch.rand(4, 1, 8, 8) * 2 - 1
    cfg = AutoencoderConfig((1, 8, 8), "denoising", dim_h=2, noise_std=0.3, denoising_weight=0.7)
    noisy = build_autoencoder(cfg).eval()
    clean_loss = torch.nn.functional.mse_loss(noisy(x), x)
    total, parts = noisy.training_loss(x, torch.Generator().manual_seed(0))
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    noisy_loss = torch.nn.functional.mse_loss(noisy(x + 0.6 * noise), x)  # 0.3 in [0, 1] units
    assert torch.allclose(total, clean_loss + 0.7 * noisy_loss)
    assert torch.allclose(parts["recon"], total) and parts["regularizer"] == 0
    noisy.config = AutoencoderConfig((1, 8, 8), "denoising", dim_h=2, noise_std=0.0)
    assert torch.allclose(noisy.training_loss(x)[0], 2 * clean_loss)  # x~ = x, lambda = 1
    with pytest.raises(ValueError, match="denoising_weight=-1"):
        AutoencoderConfig((1, 8, 8), "denoising", denoising_weight=-1.0)
    with pytest.raises(ValueError, match="sparse_layers='all'"):
        AutoencoderConfig((1, 8, 8), "sparse", sparse_layers="all")


def test_encode_decode_helpers_map_ranges():
    torch.manual_seed(0)
    model = build_autoencoder(AutoencoderConfig((1, 8, 8), latent_dim=5, dim_h=2))
    X01 = np.random.RandomState(0).rand(7, 1, 8, 8).astype(np.float32)
    Z = encode_images(model, X01, batch_size=3)
    assert Z.shape == (7, 5) and Z.dtype == np.float32
    expected = model.eval().encode(torch.from_numpy(X01) * 2 - 1).detach().numpy()
    np.testing.assert_allclose(Z, expected, rtol=1e-5, atol=1e-6)
    imgs = decode_latents(model, Z, batch_size=4)
    assert imgs.shape == (7, 1, 8, 8) and imgs.min() >= 0 and imgs.max() <= 1
    with pytest.raises(ValueError, match=r"shape \(7, 4\)"):
        decode_latents(model, Z[:, :4])


# ------------------------------------------------------------------ penalties


def _class_batch():
    torch.manual_seed(0)
    model = build_autoencoder(AutoencoderConfig((1, 8, 8), latent_dim=5, dim_h=2))
    return model, torch.rand(6, 1, 8, 8) * 2 - 1


def _grad_norms(model):
    enc = [p.grad for n, p in model.named_parameters() if n.startswith("encoder")]
    dec = [p.grad for n, p in model.named_parameters() if n.startswith("decoder")]
    norm = lambda gs: sum(0.0 if g is None else g.abs().sum().item() for g in gs)  # noqa: E731
    return norm(enc), norm(dec)


def test_deepsmote_penalty_trains_the_decoder_only():
    model, xc = _class_batch()
    model.train()
    training.deepsmote_penalty(model, xc).backward()
    enc, dec = _grad_norms(model)
    assert enc == 0.0 and dec > 0.0
    # codes and images are permuted together: the same as reconstructing the batch
    model.eval()
    same = torch.nn.functional.mse_loss(model.decode(model.encode(xc)), xc)
    assert torch.allclose(training.deepsmote_penalty(model, xc), same)


def test_permute_penalty_trains_both_and_compares_other_members():
    model, xc = _class_batch()
    model.train()
    training.permute_penalty(model, xc, torch.Generator().manual_seed(0)).backward()
    enc, dec = _grad_norms(model)
    assert enc > 0.0 and dec > 0.0
    partner = training.derangement(6, torch.Generator().manual_seed(0))
    assert sorted(partner.tolist()) == list(range(6))
    assert (partner != torch.arange(6)).all()  # every image is compared with another member
    model.eval()
    expected = torch.nn.functional.mse_loss(model.decode(model.encode(xc)), xc[partner])
    pen = training.permute_penalty(model, xc, torch.Generator().manual_seed(0))
    assert torch.allclose(pen, expected)


@pytest.mark.parametrize("penalty", training.PENALTIES)
def test_each_penalty_trains(tiny_images, penalty):
    X01, y = _images01(tiny_images)
    cfg = AutoencoderConfig((1, 8, 8), latent_dim=8, dim_h=4)
    settings = TrainSettings(epochs=2, batch_size=16, penalty=penalty, patience=None)
    model, history = train_autoencoder(cfg, X01, y, settings, seed=0)
    assert len(history) == 2 and not model.training
    assert all(np.isfinite(h["loss"]) for h in history)
    assert (history[-1]["penalty"] > 0) == (penalty is not None)


@pytest.mark.parametrize("batchnorm", training.PENALTY_BATCHNORMS)
@pytest.mark.parametrize("variant", ["plain", "denoising"])
@pytest.mark.parametrize("penalty", ["deepsmote", "permute"])
@pytest.mark.parametrize("parallel", [False, True])
def test_penalty_task_equals_one_model_doing_both_passes(variant, penalty, parallel, batchnorm):
    torch.manual_seed(0)
    model = build_autoencoder(AutoencoderConfig((1, 8, 8), variant, latent_dim=6, dim_h=4))
    model.train()
    reference = copy.deepcopy(model)
    x, xc = torch.rand(10, 1, 8, 8) * 2 - 1, torch.rand(7, 1, 8, 8) * 2 - 1

    def penalty_of(m, generator):
        if penalty == "deepsmote":
            return training.deepsmote_penalty(m, xc)
        return training.permute_penalty(m, xc, generator)

    # one model doing both passes; with "running" the penalty batch goes through BatchNorm in
    # eval mode with the running statistics of before the loss's batch moves them (the task
    # copies them when it starts), so its backward runs before that batch's forward
    if batchnorm == "running":
        bns = training._batchnorms(reference)
        for bn in bns:
            bn.eval()
        pen = penalty_of(reference, torch.Generator().manual_seed(2))
        pen.backward()
        for bn in bns:
            bn.train()
        loss = reference.training_loss(x, torch.Generator().manual_seed(1))[0]
        loss.backward()
        total_ref = loss.detach() + pen.detach()
    else:
        # the training loss, then the penalty, one backward through their sum
        loss = reference.training_loss(x, torch.Generator().manual_seed(1))[0]
        total_ref = loss + penalty_of(reference, torch.Generator().manual_seed(2))
        total_ref.backward()

    task = training._PenaltyTask(
        model, penalty, torch.Generator().manual_seed(2), parallel, batchnorm
    )
    task.start(xc)
    loss = model.training_loss(x, torch.Generator().manual_seed(1))[0]
    loss.backward()
    total = loss.detach() + task.finish()
    task.close()
    assert total.item() == pytest.approx(total_ref.item(), rel=1e-6)
    for (name, p), q in zip(model.named_parameters(), reference.parameters(), strict=True):
        assert torch.allclose(p.grad, q.grad, rtol=1e-5, atol=1e-7), name
    for (name, a), b in zip(model.named_buffers(), reference.buffers(), strict=True):
        assert torch.allclose(a.float(), b.float(), rtol=1e-5, atol=1e-7), name
    # the replica shares the weights: a step on the model moves it too
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    for p, q in zip(model.parameters(), task.replica.parameters(), strict=True):
        assert p.data_ptr() == q.data_ptr()


def test_penalty_on_a_second_thread_gives_the_same_weights(tiny_images):
    X01, y = _images01(tiny_images)
    cfg = AutoencoderConfig((1, 8, 8), latent_dim=8, dim_h=4)
    settings = TrainSettings(epochs=2, batch_size=16, penalty="deepsmote", patience=None)
    one, h1 = train_autoencoder(cfg, X01, y, settings, seed=0)  # one thread: in turn
    torch.set_num_threads(2)  # the penalty on a second thread, one thread per task
    two, h2 = train_autoencoder(cfg, X01, y, settings, seed=0)
    assert torch.get_num_threads() == 2  # restored after training
    assert [h["loss"] for h in h1] == [h["loss"] for h in h2]
    s1, s2 = one.state_dict(), two.state_dict()
    assert all(torch.equal(s1[k], s2[k]) for k in s1)


# ------------------------------------------------------------------ training loop


def test_plateau_stops_early(tiny_images):
    X01, y = _images01(tiny_images)
    cfg = AutoencoderConfig((1, 8, 8), latent_dim=8, dim_h=4)
    settings = TrainSettings(epochs=10, batch_size=16, patience=2, min_delta=100.0)
    _, history = train_autoencoder(cfg, X01, y, settings, seed=0)
    assert len(history) == 3  # epoch 1 sets the reference; 2 and 3 fail to beat it by 100
    settings = TrainSettings(epochs=3, batch_size=16, patience=None, min_delta=100.0)
    assert len(train_autoencoder(cfg, X01, y, settings, seed=0)[1]) == 3


def test_min_epochs_holds_off_the_plateau_stop(tiny_images):
    X01, y = _images01(tiny_images)
    cfg = AutoencoderConfig((1, 8, 8), latent_dim=8, dim_h=4)
    settings = TrainSettings(epochs=10, batch_size=16, patience=2, min_delta=100.0, min_epochs=5)
    _, history = train_autoencoder(cfg, X01, y, settings, seed=0)
    assert len(history) == 5  # the plateau is reached at epoch 3, the stop waits for epoch 5
    with pytest.raises(ValueError, match="min_epochs=11 is too large; pass min_epochs<=10"):
        TrainSettings(epochs=10, min_epochs=11)


def test_best_weights_are_restored(tiny_images):
    X01, y = _images01(tiny_images)
    cfg = AutoencoderConfig((1, 8, 8), latent_dim=8, dim_h=4)
    # a huge learning rate makes the held-out loss bounce, so the best epoch is not the last
    settings = TrainSettings(
        epochs=6, batch_size=8, lr=0.5, patience=None, validation_fraction=0.25
    )
    model, history = train_autoencoder(cfg, X01, y, settings, seed=0)
    val = [h["val_recon"] for h in history]
    assert int(np.argmin(val)) != len(val) - 1
    _, val_rows = training._split(len(X01), 0.25, np.random.RandomState(0))
    x = torch.from_numpy(X01[val_rows]) * 2 - 1
    with torch.no_grad():
        mse = torch.nn.functional.mse_loss(model(x), x).item()
    assert mse == pytest.approx(min(val), rel=1e-5)


def test_training_is_deterministic(tiny_images):
    X01, y = _images01(tiny_images)
    cfg = AutoencoderConfig((1, 8, 8), "denoising", latent_dim=8, dim_h=4)
    settings = TrainSettings(epochs=2, batch_size=16, penalty="permute")
    m1, h1 = train_autoencoder(cfg, X01, y, settings, seed=3)
    m2, h2 = train_autoencoder(cfg, X01, y, settings, seed=3)
    m3, _ = train_autoencoder(cfg, X01, y, settings, seed=4)
    assert [h["loss"] for h in h1] == [h["loss"] for h in h2]
    s1, s2, s3 = m1.state_dict(), m2.state_dict(), m3.state_dict()
    assert all(torch.equal(s1[k], s2[k]) for k in s1)
    assert not all(torch.equal(s1[k], s3[k]) for k in s1)


def test_global_torch_rng_is_left_alone(tiny_images):
    X01, y = _images01(tiny_images)
    cfg = AutoencoderConfig((1, 8, 8), latent_dim=8, dim_h=4)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    train_autoencoder(cfg, X01, y, TrainSettings(epochs=1, batch_size=16), seed=0)
    assert torch.equal(torch.rand(3), expected)


def test_nan_loss_raises(tiny_images, monkeypatch):
    X01, y = _images01(tiny_images)

    def nan_loss(self, x, generator=None):
        value = self.decode(self.encode(x)).sum() * float("nan")
        return value, {"recon": value, "regularizer": value}

    monkeypatch.setattr(ConvAutoencoder, "training_loss", nan_loss)
    cfg = AutoencoderConfig((1, 8, 8), latent_dim=8, dim_h=4)
    with pytest.raises(FloatingPointError, match="loss became nan at epoch 1, batch 0; lower lr"):
        train_autoencoder(cfg, X01, y, TrainSettings(epochs=1, batch_size=16), seed=0)


def test_settings_and_input_errors(tiny_images):
    X01, y = _images01(tiny_images)
    cfg = AutoencoderConfig((1, 8, 8), latent_dim=8, dim_h=4)
    with pytest.raises(ValueError, match="penalty='smote'"):
        TrainSettings(penalty="smote")
    with pytest.raises(ValueError, match="validation_fraction=1.0"):
        TrainSettings(validation_fraction=1.0)
    with pytest.raises(ValueError, match="epochs=0"):
        TrainSettings(epochs=0)
    with pytest.raises(ValueError, match=r"expects \(N, \*\(1, 8, 8\)\)"):
        train_autoencoder(cfg, X01[:, :, :4], y, TrainSettings(epochs=1), seed=0)
    with pytest.raises(ValueError, match="48 labels for 49 images"):
        train_autoencoder(cfg, X01, y[:-1], TrainSettings(epochs=1), seed=0)


def test_single_image_batches_are_avoided():
    # 17 images with batch_size 16 would leave a batch of one, which BatchNorm rejects
    rng = np.random.RandomState(0)
    X01 = rng.rand(17, 1, 8, 8).astype(np.float32)
    y = np.array([0] * 16 + [1])  # class 1 has one image: never a penalty batch
    cfg = AutoencoderConfig((1, 8, 8), latent_dim=4, dim_h=2)
    settings = TrainSettings(epochs=1, batch_size=16, penalty="deepsmote")
    _, history = train_autoencoder(cfg, X01, y, settings, seed=0)
    assert np.isfinite(history[0]["loss"])
    assert [len(b) for b in training._batches(17, 16, rng)] == [17]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_training_on_cuda(tiny_images):
    X01, y = _images01(tiny_images)
    cfg = AutoencoderConfig((1, 8, 8), "vae", latent_dim=8, dim_h=4)
    settings = TrainSettings(epochs=2, batch_size=16, penalty="permute")
    model, history = train_autoencoder(cfg, X01, y, settings, seed=0, device="cuda")
    assert next(model.parameters()).is_cuda and len(history) == 2
    assert decode_latents(model, encode_images(model, X01)).shape == X01.shape
