"""``deepbalance resample``: a balanced folder written back, atomically, with provenance."""

import csv

import numpy as np
import pytest
from PIL import Image

from deepbalance.cli import main
from deepbalance.data import load_dataset
from deepbalance.samplers import DeepSMOTE
from deepbalance.workflows.resample import PROVENANCE_COLUMNS, resample_folder


def make_folder(root, counts=(20, 8, 6)):
    rng = np.random.RandomState(0)
    for c, n in enumerate(counts):
        (root / f"class{c}").mkdir(parents=True)
        for i in range(n):
            img = rng.randint(0, 60, (12, 12)).astype(np.uint8)
            img[:, 2 + 3 * c : 4 + 3 * c] += 180
            Image.fromarray(img).save(root / f"class{c}" / f"{i:03d}.png")
    return root


def read_provenance(out):
    with open(out / "provenance.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return rows


def test_resample_deepsmote_writes_a_balanced_folder(tmp_path, capsys):
    imgs = make_folder(tmp_path / "imgs")
    out = tmp_path / "balanced"
    argv = ["resample", str(imgs), "--method", "deepsmote", "--out", str(out)]
    tiny = ["--sampler-param", "epochs=1", "--sampler-param", "dim_h=4"]
    assert main(argv + tiny) == 0
    assert "synthetic PNGs: 26" in capsys.readouterr().out
    balanced = load_dataset("image-folder", data_dir=out)
    assert balanced.class_counts().tolist() == [20, 20, 20]
    assert balanced.image_shape == (1, 12, 12)  # grayscale in, grayscale out
    rows = read_provenance(out)
    assert tuple(rows[0]) == PROVENANCE_COLUMNS and len(rows) == 60
    synthetic = [r for r in rows if r["synthetic"] == "1"]
    assert len(synthetic) == 26 and all(r["file"].startswith(r["class"] + "/") for r in rows)
    for row in synthetic:
        assert (out / row["file"]).is_file()
        assert (
            row["base_file"].startswith(row["class"] + "/") and (out / row["base_file"]).is_file()
        )
    # DeepSMOTE()'s defaults: decoded rows between two real images, and copies of real ones
    decoded = [r for r in synthetic if r["neighbour_file"]]
    copies = [r for r in synthetic if not r["neighbour_file"]]
    assert len(decoded) == 13 and len(copies) == 13
    for row in decoded:
        assert row["neighbour_file"].startswith(row["class"] + "/")
        assert 0.0 <= float(row["lambda"]) <= 1.0
    assert {r["lambda"] for r in copies} == {""}
    real = [r for r in rows if r["synthetic"] == "0"]
    assert {r["base_file"] for r in real} == {""}
    assert (out / "class0" / "000.png").read_bytes() == (imgs / "class0" / "000.png").read_bytes()
    # the fitted sampler reloads and generates more of a class (its save holds the images
    # the residual decodings add back)
    sampler = DeepSMOTE.load(out / ".sampler")
    assert sampler.residual and sampler.images_.shape == (34, 1, 12, 12)
    assert sampler.generate(3, 2).shape == (3, 1, 12, 12)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left

    # an existing folder needs --overwrite
    assert main(argv + tiny) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert (
        main(
            [
                "resample",
                str(imgs),
                "--method",
                "random-oversampling",
                "--out",
                str(out),
                "--overwrite",
            ]
        )
        == 0
    )
    assert (out / ".sampler" / "sampler.json").is_file() and not (
        out / ".sampler" / "config.json"
    ).exists()
    rows = read_provenance(out)
    assert {r["neighbour_file"] for r in rows if r["synthetic"] == "1"} == {""}


def test_pixel_smote_is_reproducible_and_copies_when_asked(tmp_path):
    imgs = make_folder(tmp_path / "imgs")
    a = resample_folder(imgs, tmp_path / "a", method="pixel-smote", seed=3, link=False)
    b = resample_folder(imgs, tmp_path / "b", method="pixel-smote", seed=3)
    assert a.linked == 0 and b.linked in (0, 34)  # hard links where the file system allows
    assert a.counts == {"class0": (20, 0), "class1": (8, 12), "class2": (6, 14)}
    for row in read_provenance(a.out):
        assert (a.out / row["file"]).read_bytes() == (b.out / row["file"]).read_bytes()


def test_an_interrupted_run_leaves_no_output(tmp_path, monkeypatch):
    imgs = make_folder(tmp_path / "imgs")
    out = tmp_path / "balanced"
    import deepbalance.workflows.resample as module

    def fail(image):
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "_png", fail)
    with pytest.raises(KeyboardInterrupt):
        resample_folder(imgs, out, method="random-oversampling")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["imgs"]
    # an existing output survives an interrupted overwrite untouched
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(KeyboardInterrupt):
        resample_folder(imgs, out, method="random-oversampling", overwrite=True)
    assert (out / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["balanced", "imgs"]


def test_work_folders_of_killed_runs_are_removed_by_the_next_run(tmp_path):
    import os
    import subprocess
    import sys

    imgs = make_folder(tmp_path / "imgs")
    # a process that has exited: its pid is free (not reused this quickly)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    abandoned = tmp_path / ".balanced.k1ll3d.tmp"
    (abandoned / "class0").mkdir(parents=True)
    (abandoned / ".owner-pid").write_text(f"{dead}\n")
    running = tmp_path / ".balanced.l1ve.tmp"  # another run, still going
    running.mkdir()
    (running / ".owner-pid").write_text(f"{os.getpid()}\n")
    foreign = tmp_path / ".balanced.notes.tmp"  # not a work folder of ours: no owner file
    foreign.mkdir()
    result = resample_folder(imgs, tmp_path / "balanced", method="random-oversampling")
    assert not abandoned.exists() and running.is_dir() and foreign.is_dir()
    assert not (result.out / ".owner-pid").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["imgs", "balanced", running.name, foreign.name]
    )


def test_bad_arguments(tmp_path):
    imgs = make_folder(tmp_path / "imgs", counts=(10, 3))
    with pytest.raises(
        ValueError, match="changes the training loss, not the data.*random-oversampling"
    ):
        resample_folder(imgs, tmp_path / "o", method="logit-adjustment")
    with pytest.raises(ValueError, match="inside the source folder"):
        resample_folder(imgs, imgs / "balanced", method="random-oversampling")
    with pytest.raises(ValueError, match="contains the source"):
        resample_folder(imgs, tmp_path, method="random-oversampling", overwrite=True)
    with pytest.raises(ValueError, match=r"class 1 has 3 samples; k_neighbors=5 needs at least 6"):
        resample_folder(imgs, tmp_path / "o", method="pixel-smote")
    assert not (tmp_path / "o").exists()
    # random oversampling works on a class of any size
    assert resample_folder(imgs, tmp_path / "o", method="random-oversampling").n_synthetic == 7


def test_latent_mixup_warns_that_a_folder_keeps_only_the_base_class(tmp_path):
    imgs = make_folder(tmp_path / "imgs")
    out = tmp_path / "mixed"
    with pytest.warns(UserWarning, match=r"soft labels .* each file goes under its base class"):
        resample_folder(
            imgs, out, method="latent-mixup", sampler_params={"epochs": 1, "dim_h": 4}, seed=0
        )
    mixed = [r for r in read_provenance(out) if r["synthetic"] == "1" and r["neighbour_file"]]
    assert mixed  # the other class and its share are in the provenance
    for row in mixed:
        assert not row["neighbour_file"].startswith(row["class"] + "/")
        assert 0.0 <= float(row["lambda"]) <= 0.5
